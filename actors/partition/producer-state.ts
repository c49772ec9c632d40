// Idempotent producers (KIP-98): per producer id, the epoch and the sequence numbers of its
// last few batches, so that a leader drops a retried batch (answering with the offset the
// first copy got) and refuses one that skips ahead. Built from batch headers, so every
// replica can rebuild it from its log and a new leader knows what the old one accepted.
import type { BatchHeader } from '../protocol/record-batch.js';
import type { ProducerSnapshot } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';

/** Kafka keeps the last five batches per producer (max.in.flight.requests.per.connection <= 5). */
export const producerBatchesKept = 5;

export interface ProducerBatch {
  firstSequence: number;
  lastSequence: number;
  /** -1 while the append that wrote it is still in flight. */
  firstOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  batches: ProducerBatch[];
}

export type ProducerStates = Map<number, ProducerEntry>;

/** The header fields producer state is built from. */
export type ProducerHeader = Pick<BatchHeader, 'producerId' | 'producerEpoch' | 'baseSequence' | 'lastOffsetDelta' | 'baseOffset' | 'lastOffset'>;

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: ProducerBatch }
  | { kind: 'refuse'; errorCode: number; message: string };

const int32Max = 0x7fffffff;

function nextSequence(sequence: number): number {
  return sequence === int32Max ? 0 : sequence + 1;
}

/** Whether a batch from an idempotent producer may be appended, is a retry, or is refused. */
export function checkSequence(states: ProducerStates, header: ProducerHeader): SequenceCheck {
  if (header.producerId < 0) return { kind: 'append' };
  const entry = states.get(header.producerId);
  if (header.baseSequence < 0) {
    // No sequence: a coordinator's transactional write (offsets), checked by epoch alone.
    if (entry !== undefined && header.producerEpoch < entry.epoch) {
      return { kind: 'refuse', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${header.producerId} epoch ${header.producerEpoch} is older than ${entry.epoch}` };
    }
    return { kind: 'append' };
  }
  const lastSequence = sequenceEnd(header);
  if (entry === undefined) {
    if (header.baseSequence === 0) return { kind: 'append' };
    return { kind: 'refuse', errorCode: ErrorCode.UNKNOWN_PRODUCER_ID, message: `no state for producer ${header.producerId} (sequence ${header.baseSequence})` };
  }
  if (header.producerEpoch < entry.epoch) {
    return { kind: 'refuse', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${header.producerId} epoch ${header.producerEpoch} is older than ${entry.epoch}` };
  }
  if (header.producerEpoch > entry.epoch) {
    if (header.baseSequence === 0) return { kind: 'append' };
    return { kind: 'refuse', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${header.producerId} epoch ${header.producerEpoch} starts at sequence ${header.baseSequence}, not 0` };
  }
  const duplicate = entry.batches.find((b) => b.firstSequence === header.baseSequence && b.lastSequence === lastSequence);
  if (duplicate !== undefined) return { kind: 'duplicate', batch: duplicate };
  const latest = entry.batches[entry.batches.length - 1];
  if (latest === undefined || header.baseSequence === nextSequence(latest.lastSequence)) return { kind: 'append' };
  return {
    kind: 'refuse', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    message: `producer ${header.producerId} sent sequence ${header.baseSequence}, expected ${nextSequence(latest.lastSequence)}`,
  };
}

function sequenceEnd(header: ProducerHeader): number {
  const end = header.baseSequence + header.lastOffsetDelta;
  return end > int32Max ? end - int32Max - 1 : end;
}

/**
 * Records a batch as written (offsets known) or as being written (offsets -1). A batch
 * without a sequence (a transaction marker, a coordinator's write) only moves the epoch:
 * after a marker that fenced the producer, its older epoch is refused here too.
 */
export function recordBatch(states: ProducerStates, header: ProducerHeader, firstOffset: number, lastOffset: number): ProducerBatch | null {
  if (header.producerId < 0) return null;
  let entry = states.get(header.producerId);
  if (entry === undefined || header.producerEpoch > entry.epoch) {
    entry = { producerId: header.producerId, epoch: header.producerEpoch, batches: [] };
    states.set(header.producerId, entry);
  }
  if (header.baseSequence < 0) return null;
  const batch: ProducerBatch = { firstSequence: header.baseSequence, lastSequence: sequenceEnd(header), firstOffset, lastOffset };
  entry.batches.push(batch);
  if (entry.batches.length > producerBatchesKept) entry.batches.shift();
  return batch;
}

/** Forgets a batch whose append failed. */
export function forgetBatch(states: ProducerStates, producerId: number, batch: ProducerBatch): void {
  const entry = states.get(producerId);
  if (entry === undefined) return;
  entry.batches = entry.batches.filter((b) => b !== batch);
}

/**
 * Drops what a truncation removed: batches at or above `offset`. A producer keeps its epoch
 * even when none of its batches is left (a marker may have fenced it; being fenced once too
 * often is safe, its coordinator bumped the epoch anyway).
 */
export function truncateProducers(states: ProducerStates, offset: number): void {
  for (const entry of states.values()) {
    entry.batches = entry.batches.filter((b) => b.firstOffset >= 0 && b.lastOffset < offset);
  }
}

/**
 * Notes a batch read back from a log (recovery, a follower's fetch), once: a batch at or
 * below what is known of its producer is already counted.
 */
export function replayBatch(states: ProducerStates, header: ProducerHeader): void {
  if (header.producerId < 0) return;
  const entry = states.get(header.producerId);
  if (header.baseSequence < 0) {
    recordBatch(states, header, header.baseOffset, header.lastOffset);
    return;
  }
  const known = entry?.batches[entry.batches.length - 1]?.lastOffset ?? -1;
  if (entry !== undefined && header.producerEpoch === entry.epoch && header.lastOffset <= known) return;
  recordBatch(states, header, header.baseOffset, header.lastOffset);
}

export function snapshotProducers(states: ProducerStates): ProducerSnapshot[] {
  return [...states.values()]
    .sort((a, b) => a.producerId - b.producerId)
    .map((e) => ({ producerId: e.producerId, epoch: e.epoch, batches: e.batches.filter((b) => b.firstOffset >= 0).map((b) => ({ ...b })) }));
}

export function producersFromSnapshot(snapshot: readonly ProducerSnapshot[]): ProducerStates {
  const states: ProducerStates = new Map();
  for (const e of snapshot) states.set(e.producerId, { producerId: e.producerId, epoch: e.epoch, batches: e.batches.map((b) => ({ ...b })) });
  return states;
}
