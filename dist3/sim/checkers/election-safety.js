export const electionSafety = 'election-safety';
export class ElectionSafetyChecker {
    log;
    leaderOfTerm = new Map();
    constructor(log) {
        this.log = log;
    }
    observe(view, atMs) {
        if (view.state !== 'leader')
            return;
        const term = view.context.term;
        const leader = this.leaderOfTerm.get(term);
        if (leader === undefined)
            this.leaderOfTerm.set(term, view.node);
        else if (leader !== view.node) {
            this.log.report(electionSafety, atMs, `term ${term} has two leaders: node ${leader} and node ${view.node}`);
        }
    }
    get termsWithLeader() {
        return this.leaderOfTerm.size;
    }
}
//# sourceMappingURL=election-safety.js.map