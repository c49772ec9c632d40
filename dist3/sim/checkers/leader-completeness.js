// Leader completeness: a leader's log holds every entry committed before its term.
import { lastIndex, termAt, entryAt } from '../../actors/controller/raft-log.js';
import { entryDigest } from './types.js';
export const leaderCompleteness = 'leader-completeness';
export class LeaderCompletenessChecker {
    log;
    committed;
    lastState = new Map();
    constructor(log, committed) {
        this.log = log;
        this.committed = committed;
    }
    observe(view, atMs) {
        const was = this.lastState.get(view.node);
        this.lastState.set(view.node, view.state);
        if (view.state !== 'leader' || was === 'leader')
            return;
        const raftLog = view.context.log;
        for (const [index, entry] of this.committed.committed) {
            if (entry.term >= view.context.term || index <= raftLog.snapshotIndex)
                continue;
            if (index > lastIndex(raftLog)) {
                this.log.report(leaderCompleteness, atMs, `node ${view.node}, leader of term ${view.context.term}, lacks committed index ${index} (log ends at ${lastIndex(raftLog)})`);
                return;
            }
            const held = entryAt(raftLog, index);
            if (termAt(raftLog, index) !== entry.term || entryDigest(held) !== entry.digest) {
                this.log.report(leaderCompleteness, atMs, `node ${view.node}, leader of term ${view.context.term}, holds a different entry at committed index ${index}`);
                return;
            }
        }
    }
}
//# sourceMappingURL=leader-completeness.js.map