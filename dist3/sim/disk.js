import { emptyDurableState } from '../actors/protocol/effects.js';
export const fsyncMinMs = 0.5;
export const fsyncMaxMs = 4;
export class SimDisk {
    scheduler;
    prng;
    durable = new Map();
    pending = new Map();
    lastCompletionMs = new Map();
    stats = { opsCompleted: 0, opsLostInCrash: 0, opsSurvivedCrashUnacked: 0 };
    constructor(scheduler, prng) {
        this.scheduler = scheduler;
        this.prng = prng;
    }
    load(store) {
        const state = this.durable.get(store) ?? emptyDurableState();
        return { term: state.term, votedFor: state.votedFor, snapshot: state.snapshot, entries: state.entries.slice() };
    }
    submit(store, op, done) {
        const queue = this.pending.get(store) ?? [];
        this.pending.set(store, queue);
        const latency = this.prng.int(fsyncMinMs * 1000, fsyncMaxMs * 1000) / 1000;
        // Completions of one store are ordered: never before the previous one.
        const at = Math.max(this.scheduler.now + latency, this.lastCompletionMs.get(store) ?? 0);
        this.lastCompletionMs.set(store, at);
        const entry = { op, cancel: () => { } };
        const event = this.scheduler.at(at, () => {
            queue.shift();
            this.apply(store, op);
            this.stats.opsCompleted += 1;
            done();
        });
        entry.cancel = () => this.scheduler.cancel(event);
        queue.push(entry);
    }
    /** The node lost power: unfinished operations are lost, except a random prefix. */
    crash() {
        for (const [store, queue] of this.pending) {
            const survivors = this.prng.int(0, queue.length);
            queue.forEach((pending, i) => {
                pending.cancel();
                if (i < survivors) {
                    this.apply(store, pending.op);
                    this.stats.opsSurvivedCrashUnacked += 1;
                }
                else {
                    this.stats.opsLostInCrash += 1;
                }
            });
            queue.length = 0;
        }
        this.lastCompletionMs.clear();
    }
    async close() { }
    apply(store, op) {
        const state = this.durable.get(store) ?? emptyDurableState();
        this.durable.set(store, applyStorageOp(state, op));
    }
}
/** What a durable store holds after one more operation. */
export function applyStorageOp(state, op) {
    switch (op.kind) {
        case 'hardState':
            return { ...state, term: op.term, votedFor: op.votedFor };
        case 'append': {
            const entries = state.entries.slice();
            for (const entry of op.entries) {
                const last = entries.length === 0 ? (state.snapshot?.lastIndex ?? 0) : entries[entries.length - 1].index;
                if (entry.index !== last + 1)
                    throw new Error(`durable log ends at ${last}, cannot append ${entry.index}`);
                entries.push(entry);
            }
            return { ...state, entries };
        }
        case 'truncate':
            return { ...state, entries: state.entries.filter((e) => e.index < op.fromIndex) };
        case 'snapshot':
            return {
                ...state,
                snapshot: { lastIndex: op.lastIndex, lastTerm: op.lastTerm, image: op.image },
                entries: op.discardLog ? [] : state.entries.filter((e) => e.index > op.lastIndex),
            };
    }
}
//# sourceMappingURL=disk.js.map