// The ports through which a host gives actors time, randomness, a network and a disk.
// The real runtime and the simulator each implement them; the kernel only uses these.
import type { LogOp, LogResult, StorageOp, RaftDurableState } from '../../actors/protocol/effects.js';

export type TimerHandle = unknown;

/** Also the clock handed to xstate's createActor, so `after` delays follow host time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Carries encoded envelopes between nodes. Delivery is best effort. */
export interface Transport {
  send(toNode: number, bytes: Uint8Array): void;
  /** Installs the function that receives every envelope addressed to this node. */
  onReceive(handler: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

/**
 * Durable Raft stores, one per actor that needs one (named by actor id). `submit` calls
 * `done` once the operation is on stable storage; operations on one store complete in order.
 */
export interface RaftStorage {
  load(store: string): RaftDurableState;
  submit(store: string, op: StorageOp, done: () => void): void;
  close(): Promise<void>;
}

/** Partition logs, one per replica actor (named by actor id); results in submission order per log. */
export interface LogStorage {
  submitLog(store: string, op: LogOp, done: (result: LogResult) => void): void;
  /**
   * Calls `done` with `flushed` once every offset below `offset` appended by an operation
   * submitted before this call is durable (or with `failed`). Operations submitted later do
   * not wait for it; it completes after every operation submitted before it.
   */
  flushLog(store: string, offset: number, done: (result: LogResult) => void): void;
  /**
   * Tells a log its replica's high watermark (the cleaner compacts only below it) and tombstone
   * horizon (it removes expired tombstones only below it). Optional: a log without a cleaner needs none.
   */
  noteHighWatermark?(store: string, offset: number, tombstoneHorizon: number): void;
  close(): Promise<void>;
}

/** Everything a node's actors keep on disk. */
export interface StoragePort extends RaftStorage, LogStorage {}

/** One line of a protocol trace (JSON Lines). */
export interface TraceEvent {
  /** Host time, ms. */
  t: number;
  node: number;
  actor: string;
  kind: string;
  id: string;
  parent: string;
  from?: string;
  /** The actor's state after handling the event, when it changed. */
  state?: string;
}

export interface Tracer {
  record(event: TraceEvent): void;
}
