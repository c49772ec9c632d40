// Log matching: if two logs hold an entry with the same index and term, the logs are
// identical up to that index.
import { lastIndex, termAt, entryAt } from '../../actors/controller/raft-log.js';
import { entryDigest } from './types.js';
export const logMatching = 'log-matching';
export class LogMatchingChecker {
    log;
    constructor(log) {
        this.log = log;
    }
    check(views, atMs) {
        for (let i = 0; i < views.length; i++) {
            for (let j = i + 1; j < views.length; j++)
                this.comparePair(views[i], views[j], atMs);
        }
    }
    comparePair(a, b, atMs) {
        const logA = a.context.log;
        const logB = b.context.log;
        const low = Math.max(logA.snapshotIndex, logB.snapshotIndex) + 1;
        let high = Math.min(lastIndex(logA), lastIndex(logB));
        // Find the highest index where both logs hold an entry of the same term...
        while (high >= low && termAt(logA, high) !== termAt(logB, high))
            high -= 1;
        // ...then everything from there down must be identical.
        for (let index = high; index >= low; index--) {
            const ea = entryAt(logA, index);
            const eb = entryAt(logB, index);
            if (entryDigest(ea) !== entryDigest(eb)) {
                this.log.report(logMatching, atMs, `nodes ${a.node} and ${b.node} agree on index ${high} (term ${termAt(logA, high)}) but differ at index ${index}`);
                return;
            }
        }
    }
}
//# sourceMappingURL=log-matching.js.map