// Effects: what an actor asks of its host. They leave a machine through xstate's `emit`;
// the host listens with `actor.on('*')`. Completions come back as events.
import { emit } from 'xstate';
import type { ConfigEntry, LogEntry, MetadataImageMessage, Outgoing } from './messages.js';

/** Durable operations of a Raft store. Each completes only once it is on stable storage. */
export type StorageOp =
  | { kind: 'hardState'; term: number; votedFor: number }
  | { kind: 'append'; entries: LogEntry[] }
  | { kind: 'truncate'; fromIndex: number }
  | { kind: 'snapshot'; lastIndex: number; lastTerm: number; image: MetadataImageMessage; discardLog: boolean };

/**
 * Operations on a partition replica's log. The store is named by the actor; results come
 * back as LogCompleted events, in submission order per store. Flushes are not among them:
 * see the `flush` effect.
 */
export type LogOp =
  /** Opens (creating if needed) the log with these topic-level overrides (segment.bytes, ...). */
  | { kind: 'logOpen'; configs: ConfigEntry[] }
  /** Removes the log and its files; a later logOpen starts an empty log. */
  | { kind: 'logDelete' }
  /** leaderEpoch >= 0: as leader, assign offsets and this epoch; -1: as follower, keep the batch's offsets. */
  | { kind: 'logAppend'; bytes: Uint8Array; leaderEpoch: number }
  | { kind: 'logRead'; offset: number; maxBytes: number; maxOffset: number }
  | { kind: 'logTruncate'; offset: number }
  /** The first offset whose record timestamp is at or after `timestamp`, below `maxOffset`. */
  | { kind: 'logOffsetForTime'; timestamp: number; maxOffset: number }
  /** The first record with the log's largest timestamp, if it lies below `maxOffset` (answered as offsetForTime). */
  | { kind: 'logOffsetOfMaxTimestamp'; maxOffset: number };

/** A leader epoch and the first offset written in it (the leader-epoch cache). */
export interface EpochStart { epoch: number; startOffset: number }

/** What a log knows of an idempotent producer: its epoch and its last batches (see actors/partition/producer-state.ts). */
export interface ProducerSnapshot {
  producerId: number;
  epoch: number;
  batches: Array<{ firstSequence: number; lastSequence: number; firstOffset: number; lastOffset: number }>;
}

/** What a log knows of transactions (see actors/partition/txn-index.ts, which defines the shapes). */
export interface TxnSnapshot {
  unstable: Array<{ producerId: number; firstOffset: number; markerOffset: number; commit: boolean }>;
  aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }>;
}

export type LogResult =
  | { kind: 'opened'; logStartOffset: number; logEndOffset: number; epochs: EpochStart[]; producers: ProducerSnapshot[]; txns: TxnSnapshot }
  | { kind: 'deleted' }
  | { kind: 'appended'; firstOffset: number; lastOffset: number; logEndOffset: number }
  | { kind: 'flushed'; flushedOffset: number }
  | { kind: 'read'; bytes: Uint8Array; firstOffset: number; nextOffset: number }
  | { kind: 'truncated'; logEndOffset: number }
  /** offset -1: no record that late. */
  | { kind: 'offsetForTime'; offset: number; timestamp: number }
  /**
   * corrupt: a batch failed its CRC; out_of_range: no such offset; invalid: a bad append;
   * invalid_record: a well-formed batch the log refuses for a record in it (a keyless record
   * on a compacted log).
   */
  | { kind: 'failed'; code: 'corrupt' | 'out_of_range' | 'invalid' | 'invalid_record'; message: string };

export type Effect =
  | { type: 'send'; message: Outgoing }
  /** `seq` numbers the actor's log operations; completions arrive in seq order. */
  | { type: 'log'; seq: number; op: LogOp }
  /**
   * Makes the log durable up to `offset`: completes (as LogFlushed with this token) once every
   * offset below it that an operation issued before this one appended is on disk. Out of band:
   * log operations issued after it do not wait for it, so appends and reads go on during the
   * fsync and one fsync serves every append that reached the page cache before it started.
   */
  | { type: 'flush'; token: number; offset: number }
  /**
   * Tells the actor's log its replica's high watermark (its cleaner compacts only below it) and
   * tombstone horizon (every assigned replica holds the offsets below it, so only there may the
   * cleaner remove expired tombstones; see PartitionContext.tombstoneHorizon). Fire and forget:
   * nothing comes back, and a host without a cleaner may ignore it.
   */
  | { type: 'highWatermark'; offset: number; tombstoneHorizon: number }
  /** `seq` numbers the actor's storage operations; completions arrive in seq order. */
  | { type: 'storage'; seq: number; op: StorageOp }
  /** Arms (or re-arms) the named timer; the host adds a random jitter in [0, jitterMs). */
  | { type: 'timer.set'; event: string; delayMs: number; jitterMs: number }
  | { type: 'timer.cancel'; event: string }
  /** Starts an actor on this node from a machine the host knows by name; ignored if it exists. */
  | { type: 'spawn'; actorId: string; machine: string; input: unknown }
  /** Stops the emitting actor once this step is done. */
  | { type: 'stop' }
  /** A line for the operator's log (the host writes it with the node and actor named). */
  | { type: 'note'; level: 'info' | 'warn' | 'error'; message: string };

/**
 * What a machine emits once per handled event: every effect of that step, in order. One
 * emit per step (rather than one per effect) keeps xstate's per-action overhead out of the
 * hot path.
 */
export type EffectBatch = { type: 'effects'; effects: Effect[] };

/** Events a host delivers that are not wire messages. */
export type StorageCompleted = { type: 'StorageCompleted'; seq: number; atMs: number };
export type LogCompleted = { type: 'LogCompleted'; seq: number; result: LogResult; atMs: number };
/** A flush completed: `result` is `flushed` (durable below flushedOffset) or `failed`. */
export type LogFlushed = { type: 'LogFlushed'; token: number; result: LogResult; atMs: number };
export type TimerFired<T extends string> = { type: T; atMs: number };

/** What a Raft store holds durably; a host reads it back after a restart. */
export interface RaftDurableState {
  term: number;
  votedFor: number;
  snapshot: { lastIndex: number; lastTerm: number; image: MetadataImageMessage } | null;
  entries: LogEntry[];
}

export function emptyDurableState(): RaftDurableState {
  return { term: 0, votedFor: -1, snapshot: null, entries: [] };
}

/**
 * Turns a step handler (context and event in, effects out) into the one xstate action a
 * transition runs: it notes the event's time in the context, lets the handler update the
 * context in place, and emits the effects as one batch.
 */
export function effectfulStep<TContext extends { nowMs: number }, TEvent extends { type: string; atMs: number }>(
  handler: (context: TContext, event: TEvent) => Effect[],
) {
  return emit<TContext, TEvent, undefined, TEvent, EffectBatch>(({ context, event }) => {
    if (event.atMs > context.nowMs) context.nowMs = event.atMs;
    return { type: 'effects', effects: handler(context, event) };
  });
}
