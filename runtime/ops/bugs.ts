// Test-only protocol bugs, by name, to show that the simulator's checkers catch them.
// Reachable only through the hidden `--bug` flag of `logmesh sim` and the tests.
import type { SimBugs } from '../../sim/cluster.js';

export const bugSwitches: Record<string, SimBugs> = {
  'vote-without-log-check': { controller: { grantVoteWithoutLogCheck: true }, broker: {} },
  'vote-twice': { controller: { voteTwiceInTerm: true }, broker: {} },
  'skip-prev-log-check': { controller: { skipPrevLogCheck: true }, broker: {} },
  'commit-without-quorum': { controller: { commitWithoutQuorum: true }, broker: {} },
  'broker-skips-records': { controller: {}, broker: { skipLastFetchedEntry: true } },
  /** The group coordinator ignores committed offsets when it loads after a failover (run with --workload groups). */
  'forget-offsets-on-load': { controller: {}, broker: { group: { forgetOffsetsOnLoad: true } } },
};
