// The simulated disk of one node: a storage port whose operations complete after a
// simulated fsync latency. A crash loses every operation not yet completed, except that a
// prefix of them may have reached the platter anyway (the PRNG decides how many).
import type { LogOp, LogResult, RaftDurableState, StorageOp } from '../actors/protocol/effects.js';
import { SimLogDisk } from './partition-disk.js';
import { emptyDurableState } from '../actors/protocol/effects.js';
import type { StoragePort } from '../runtime/kernel/ports.js';
import type { Scheduler } from './scheduler.js';
import type { Prng } from './prng.js';

export const fsyncMinMs = 0.5;
export const fsyncMaxMs = 4;

interface PendingOp {
  op: StorageOp;
  cancel: () => void;
}

export interface DiskStats {
  opsCompleted: number;
  opsLostInCrash: number;
  opsSurvivedCrashUnacked: number;
}

export class SimDisk implements StoragePort {
  private readonly durable = new Map<string, RaftDurableState>();
  private readonly pending = new Map<string, PendingOp[]>();
  private readonly lastCompletionMs = new Map<string, number>();
  readonly stats: DiskStats = { opsCompleted: 0, opsLostInCrash: 0, opsSurvivedCrashUnacked: 0 };
  /** The partition logs on this disk. */
  readonly logs: SimLogDisk;

  constructor(private readonly scheduler: Scheduler, private readonly prng: Prng) {
    this.logs = new SimLogDisk(scheduler, prng);
  }

  private slowdown = 1;

  /** Every later operation takes `factor` times as long (a disk under load, a dying disk). */
  setSlowdown(factor: number): void {
    this.slowdown = factor;
    this.logs.slowdown = factor;
  }

  submitLog(store: string, op: LogOp, done: (result: LogResult) => void): void {
    this.logs.submitLog(store, op, done);
  }

  flushLog(store: string, offset: number, done: (result: LogResult) => void): void {
    this.logs.flushLog(store, offset, done);
  }

  noteHighWatermark(store: string, offset: number, tombstoneHorizon: number): void {
    this.logs.noteHighWatermark(store, offset, tombstoneHorizon);
  }

  load(store: string): RaftDurableState {
    const state = this.durable.get(store) ?? emptyDurableState();
    return { term: state.term, votedFor: state.votedFor, snapshot: state.snapshot, entries: state.entries.slice() };
  }

  submit(store: string, op: StorageOp, done: () => void): void {
    const queue = this.pending.get(store) ?? [];
    this.pending.set(store, queue);
    const latency = (this.prng.int(fsyncMinMs * 1000, fsyncMaxMs * 1000) / 1000) * this.slowdown;
    // Completions of one store are ordered: never before the previous one.
    const at = Math.max(this.scheduler.now + latency, this.lastCompletionMs.get(store) ?? 0);
    this.lastCompletionMs.set(store, at);
    const entry: PendingOp = { op, cancel: () => {} };
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
  crash(): void {
    for (const [store, queue] of this.pending) {
      const survivors = this.prng.int(0, queue.length);
      queue.forEach((pending, i) => {
        pending.cancel();
        if (i < survivors) {
          this.apply(store, pending.op);
          this.stats.opsSurvivedCrashUnacked += 1;
        } else {
          this.stats.opsLostInCrash += 1;
        }
      });
      queue.length = 0;
    }
    this.lastCompletionMs.clear();
    this.logs.crash();
  }

  async close(): Promise<void> {}

  private apply(store: string, op: StorageOp): void {
    const state = this.durable.get(store) ?? emptyDurableState();
    this.durable.set(store, applyStorageOp(state, op));
  }
}

/** What a durable store holds after one more operation. */
export function applyStorageOp(state: RaftDurableState, op: StorageOp): RaftDurableState {
  switch (op.kind) {
    case 'hardState':
      return { ...state, term: op.term, votedFor: op.votedFor };
    case 'append': {
      const entries = state.entries.slice();
      for (const entry of op.entries) {
        const last = entries.length === 0 ? (state.snapshot?.lastIndex ?? 0) : entries[entries.length - 1]!.index;
        if (entry.index !== last + 1) throw new Error(`durable log ends at ${last}, cannot append ${entry.index}`);
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
