// State machine safety: every controller commits the same entry at each index. Also keeps
// the set of committed entries that leader completeness checks against.
import { entryAt } from '../../actors/controller/raft-log.js';
import { entryDigest } from './types.js';
export const committedAgreement = 'committed-agreement';
export class CommittedAgreementChecker {
    log;
    committed = new Map();
    seenCommit = new Map();
    constructor(log) {
        this.log = log;
    }
    observe(view, atMs) {
        const ctx = view.context;
        const from = this.seenCommit.get(view.node) ?? 0;
        if (ctx.commitIndex <= from) {
            if (ctx.commitIndex < from)
                this.seenCommit.set(view.node, ctx.commitIndex); // restarted
            return;
        }
        for (let index = from + 1; index <= ctx.commitIndex; index++) {
            const entry = entryAt(ctx.log, index);
            if (entry === undefined)
                continue; // already folded into a snapshot
            const digest = entryDigest(entry);
            const known = this.committed.get(index);
            if (known === undefined)
                this.committed.set(index, { term: entry.term, digest, node: view.node });
            else if (known.digest !== digest) {
                this.log.report(committedAgreement, atMs, `index ${index} committed as term ${known.term} on node ${known.node} but as term ${entry.term} on node ${view.node}`);
            }
        }
        this.seenCommit.set(view.node, ctx.commitIndex);
    }
}
//# sourceMappingURL=committed-agreement.js.map