export const bugSwitches = {
    'vote-without-log-check': { controller: { grantVoteWithoutLogCheck: true }, broker: {} },
    'vote-twice': { controller: { voteTwiceInTerm: true }, broker: {} },
    'skip-prev-log-check': { controller: { skipPrevLogCheck: true }, broker: {} },
    'commit-without-quorum': { controller: { commitWithoutQuorum: true }, broker: {} },
    'broker-skips-records': { controller: {}, broker: { skipLastFetchedEntry: true } },
};
//# sourceMappingURL=bugs.js.map