// One transactional id's state and the transitions the transaction coordinator may make, as
// Apache Kafka's TransactionCoordinator and TransactionMetadata decide them (KIP-98, with the
// producer-id recovery of KIP-360 and PRODUCER_FENCED of KIP-588).
//
// Every change goes through the log: a request either gets an answer straight away (an error,
// or nothing to change) or a transition, which the coordinator writes to __transaction_state
// and applies only once the write is replicated. While a transition is being written the id
// is pending, and every other request for it is told CONCURRENT_TRANSACTIONS (retriable).
//
// States: Empty → Ongoing (AddPartitionsToTxn) → PrepareCommit | PrepareAbort (EndTxn, or an
// abort the coordinator starts: a timeout, or InitProducerId fencing an open transaction) →
// CompleteCommit | CompleteAbort (every partition has its marker) → Ongoing or Empty again.
// An abort the coordinator starts bumps the producer epoch in the PrepareAbort it writes, so
// that the producer of the open transaction is fenced: its epoch is now too old everywhere.
//
// Pure: plain data in, decisions out; time arrives as arguments.
import { ErrorCode } from '../protocol/errors.js';
import type { TxnLogValue, TxnPartition, TxnStatusName } from './txn-records.js';

/** RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH */
export const noProducerId = -1;
export const noProducerEpoch = -1;

/** Kafka rotates to a new producer id before the epoch reaches Short.MaxValue (the fence needs one more). */
const producerEpochExhaustedAt = 0x7fff - 1;

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= producerEpochExhaustedAt;
}

/** A transactional id's state as the log records it; a transition is one to move to once the log has it (Kafka's TxnTransitMetadata). */
export interface TxnTransit {
  producerId: number;
  /** The producer id before the last rotation (KIP-360), or -1. */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last bump the producer asked for (a retried InitProducerId), or -1. */
  lastProducerEpoch: number;
  timeoutMs: number;
  /** Never PrepareEpochFence here: a fence is written as PrepareAbort; Dead only in the transition that removes an id. */
  state: TxnStatusName;
  /** The partitions of the open transaction, sorted (topic, partition), without repeats. */
  partitions: TxnPartition[];
  /** When the open transaction started, or -1. */
  startMs: number;
  lastUpdateMs: number;
}

/** The transactional id's state: what the log last said, plus what is being written. */
export interface TxnMetadata extends TxnTransit {
  transactionalId: string;
  /** The transition being written to the log (null: none). */
  pending: TxnTransit | null;
}

/** What a request comes to: an answer now, or a transition to write first. */
export type TxnDecision =
  | { kind: 'answer'; errorCode: number }
  | { kind: 'write'; transit: TxnTransit };

const answer = (errorCode: number): TxnDecision => ({ kind: 'answer', errorCode });
const write = (transit: TxnTransit): TxnDecision => ({ kind: 'write', transit });

export function compareTxnPartitions(a: TxnPartition, b: TxnPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

/** The union, sorted and without repeats. */
export function mergeTxnPartitions(current: readonly TxnPartition[], added: readonly TxnPartition[]): TxnPartition[] {
  const merged = [...current, ...added].sort(compareTxnPartitions);
  return merged.filter((p, i) => i === 0 || compareTxnPartitions(merged[i - 1]!, p) !== 0);
}

function containsAll(current: readonly TxnPartition[], wanted: readonly TxnPartition[]): boolean {
  return wanted.every((w) => current.some((c) => compareTxnPartitions(c, w) === 0));
}

function transitFrom(meta: TxnMetadata, changes: Partial<TxnTransit>): TxnTransit {
  return {
    producerId: meta.producerId,
    lastProducerId: meta.lastProducerId,
    producerEpoch: meta.producerEpoch,
    lastProducerEpoch: meta.lastProducerEpoch,
    timeoutMs: meta.timeoutMs,
    state: meta.state,
    partitions: meta.partitions,
    startMs: meta.startMs,
    lastUpdateMs: meta.lastUpdateMs,
    ...changes,
  };
}

/** A transactional id seen for the first time: a new producer id, no epoch yet. */
export function newTxnMetadata(transactionalId: string, producerId: number, timeoutMs: number, nowMs: number): TxnMetadata {
  return {
    transactionalId, producerId, lastProducerId: noProducerId, producerEpoch: noProducerEpoch, lastProducerEpoch: noProducerEpoch,
    timeoutMs, state: 'Empty', partitions: [], startMs: -1, lastUpdateMs: nowMs, pending: null,
  };
}

/** The metadata the log's value describes (after a load, or a write of it). */
export function txnMetadataFromLog(transactionalId: string, value: TxnLogValue): TxnMetadata {
  return {
    transactionalId,
    producerId: value.producerId,
    lastProducerId: value.previousProducerId,
    producerEpoch: value.producerEpoch,
    lastProducerEpoch: noProducerEpoch,
    timeoutMs: value.transactionTimeoutMs,
    state: value.status,
    partitions: value.status === 'Empty' ? [] : mergeTxnPartitions([], value.partitions),
    startMs: value.startTimestampMs,
    lastUpdateMs: value.lastUpdateTimestampMs,
    pending: null,
  };
}

/** The log value a transition writes. */
export function txnLogValue(transit: TxnTransit): TxnLogValue {
  return {
    producerId: transit.producerId,
    previousProducerId: transit.lastProducerId,
    nextProducerId: noProducerId,
    producerEpoch: transit.producerEpoch,
    transactionTimeoutMs: transit.timeoutMs,
    status: transit.state,
    partitions: transit.state === 'Empty' ? [] : transit.partitions,
    lastUpdateTimestampMs: transit.lastUpdateMs,
    startTimestampMs: transit.startMs,
  };
}

/** The write of `transit` succeeded: the metadata becomes it. */
export function completeTransit(meta: TxnMetadata, transit: TxnTransit): void {
  meta.producerId = transit.producerId;
  meta.lastProducerId = transit.lastProducerId;
  meta.producerEpoch = transit.producerEpoch;
  meta.lastProducerEpoch = transit.lastProducerEpoch;
  meta.timeoutMs = transit.timeoutMs;
  meta.state = transit.state;
  meta.partitions = transit.partitions;
  meta.startMs = transit.startMs;
  meta.lastUpdateMs = transit.lastUpdateMs;
  meta.pending = null;
}

// ---------------------------------------------------------------------------------------------
// InitProducerId

export interface InitProducerIdAsk {
  timeoutMs: number;
  /** The producer id and epoch the producer holds (KIP-360), or null for a new producer. */
  expected: { producerId: number; producerEpoch: number } | null;
}

/**
 * InitProducerId for an id the coordinator knows (a new one is made with newTxnMetadata
 * first). Writes Empty with the next epoch (or a new producer id when the epoch is used up),
 * or, with a transaction open, a fencing abort, after which the producer is to retry.
 * `nextProducerId` is asked only when a new producer id is needed.
 */
export function decideInitProducerId(meta: TxnMetadata, ask: InitProducerIdAsk, nowMs: number, nextProducerId: () => number): TxnDecision {
  if (meta.pending !== null) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
  const { expected } = ask;
  if (expected !== null && !acceptsExpectedProducer(meta, expected)) return answer(ErrorCode.PRODUCER_FENCED);
  switch (meta.state) {
    case 'PrepareCommit':
    case 'PrepareAbort':
      return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    case 'Ongoing':
      return write(fencingAbort(meta, nowMs));
    case 'Empty':
    case 'CompleteCommit':
    case 'CompleteAbort': {
      if (isEpochExhausted(meta.producerEpoch) && (expected === null || expected.producerEpoch === meta.producerEpoch)) {
        return write(transitFrom(meta, {
          producerId: nextProducerId(), lastProducerId: meta.producerId, producerEpoch: 0,
          lastProducerEpoch: expected === null ? noProducerEpoch : meta.producerEpoch,
          timeoutMs: ask.timeoutMs, state: 'Empty', partitions: [], startMs: -1, lastUpdateMs: nowMs,
        }));
      }
      const epochs = nextEpochs(meta, expected);
      if (epochs === null) return answer(ErrorCode.PRODUCER_FENCED);
      return write(transitFrom(meta, {
        producerEpoch: epochs.producerEpoch, lastProducerEpoch: epochs.lastProducerEpoch,
        timeoutMs: ask.timeoutMs, state: 'Empty', partitions: [], startMs: -1, lastUpdateMs: nowMs,
      }));
    }
    default:
      throw new Error(`transactional id ${meta.transactionalId} is ${meta.state}, which it is never left in`);
  }
}

/**
 * KIP-360: the producer's id and epoch are accepted when the id has no epoch yet, when the
 * producer id is the current one (its epoch is checked next), or when it is the previous one
 * and its epoch was used up (a retry of the rotation whose answer was lost).
 */
function acceptsExpectedProducer(meta: TxnMetadata, expected: { producerId: number; producerEpoch: number }): boolean {
  return meta.producerEpoch === noProducerEpoch
    || expected.producerId === meta.producerId
    || (expected.producerId === meta.lastProducerId && isEpochExhausted(expected.producerEpoch));
}

/** The epoch bump of InitProducerId; a retry of the last bump gets the same epoch again. */
function nextEpochs(meta: TxnMetadata, expected: { producerEpoch: number } | null): { producerEpoch: number; lastProducerEpoch: number } | null {
  const bumped = meta.producerEpoch + 1;
  if (expected === null) return { producerEpoch: bumped, lastProducerEpoch: noProducerEpoch };
  if (meta.producerEpoch === noProducerEpoch || expected.producerEpoch === meta.producerEpoch) {
    return { producerEpoch: bumped, lastProducerEpoch: meta.producerEpoch };
  }
  if (expected.producerEpoch === meta.lastProducerEpoch) return { producerEpoch: meta.producerEpoch, lastProducerEpoch: meta.lastProducerEpoch };
  return null;
}

/**
 * The abort the coordinator starts (InitProducerId over an open transaction, or a timeout):
 * PrepareAbort with the epoch bumped, so that the producer of the transaction is fenced. At
 * the last epoch there is no bump (Kafka refuses to overflow); the next InitProducerId then
 * rotates the producer id.
 */
export function fencingAbort(meta: TxnMetadata, nowMs: number): TxnTransit {
  const producerEpoch = meta.producerEpoch >= 0x7fff ? meta.producerEpoch : meta.producerEpoch + 1;
  return transitFrom(meta, { producerEpoch, lastProducerEpoch: noProducerEpoch, state: 'PrepareAbort', lastUpdateMs: nowMs });
}

// ---------------------------------------------------------------------------------------------
// AddPartitionsToTxn, AddOffsetsToTxn

/** The producer's id and epoch must be the current ones (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED). */
function checkProducer(meta: TxnMetadata | undefined, producerId: number, producerEpoch: number): number {
  if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
  return ErrorCode.NONE;
}

/**
 * Adds partitions to the transaction, opening it if none is open. Partitions already in the
 * open transaction need no write.
 */
export function decideAddPartitions(
  meta: TxnMetadata | undefined, producerId: number, producerEpoch: number, partitions: readonly TxnPartition[], nowMs: number,
): TxnDecision {
  const producerError = checkProducer(meta, producerId, producerEpoch);
  if (producerError !== ErrorCode.NONE) return answer(producerError);
  const known = meta!;
  if (known.pending !== null) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
  if (known.state === 'PrepareCommit' || known.state === 'PrepareAbort') return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
  if (known.state === 'Ongoing' && containsAll(known.partitions, partitions)) return answer(ErrorCode.NONE);
  const opening = known.state !== 'Ongoing';
  return write(transitFrom(known, {
    state: 'Ongoing',
    partitions: mergeTxnPartitions(opening ? [] : known.partitions, partitions),
    startMs: opening ? nowMs : known.startMs,
    lastUpdateMs: nowMs,
  }));
}

// ---------------------------------------------------------------------------------------------
// EndTxn

/**
 * EndTxn from the producer: PrepareCommit or PrepareAbort for an open transaction. A retry of
 * an end already complete is answered NONE; one still sending its markers,
 * CONCURRENT_TRANSACTIONS; the opposite of an end already decided, or an end with no
 * transaction open, INVALID_TXN_STATE.
 */
export function decideEndTxn(meta: TxnMetadata | undefined, producerId: number, producerEpoch: number, commit: boolean, nowMs: number): TxnDecision {
  const producerError = checkProducer(meta, producerId, producerEpoch);
  if (producerError !== ErrorCode.NONE) return answer(producerError);
  const known = meta!;
  if (known.pending !== null) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
  switch (known.state) {
    case 'Ongoing':
      return write(transitFrom(known, { state: commit ? 'PrepareCommit' : 'PrepareAbort', lastUpdateMs: nowMs }));
    case 'CompleteCommit':
      return answer(commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
    case 'CompleteAbort':
      return answer(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE);
    case 'PrepareCommit':
      return answer(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
    case 'PrepareAbort':
      return answer(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
    case 'Empty':
      return answer(ErrorCode.INVALID_TXN_STATE);
    default:
      throw new Error(`transactional id ${known.transactionalId} is ${known.state}, which it is never left in`);
  }
}

/** Every marker of a prepared end is written: CompleteCommit or CompleteAbort, no partitions left. */
export function completion(meta: TxnMetadata, nowMs: number): TxnTransit {
  if (meta.state !== 'PrepareCommit' && meta.state !== 'PrepareAbort') {
    throw new Error(`transactional id ${meta.transactionalId}: no end to complete in ${meta.state}`);
  }
  return transitFrom(meta, { state: meta.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', partitions: [], lastUpdateMs: nowMs });
}

/** The removal of an expired id: written as a tombstone; once it is in the log the id is forgotten. */
export function expiry(meta: TxnMetadata, nowMs: number): TxnTransit {
  return transitFrom(meta, { state: 'Dead', partitions: [], lastUpdateMs: nowMs });
}

// ---------------------------------------------------------------------------------------------
// Timers

/** An open transaction older than its timeout, with nothing being written: to abort (fenced). */
export function hasTimedOut(meta: TxnMetadata, nowMs: number): boolean {
  return meta.state === 'Ongoing' && meta.pending === null && meta.startMs + meta.timeoutMs <= nowMs;
}

/**
 * transactional.id.expiration.ms: an id with no transaction open or ending that has not been
 * used for that long is removed (a tombstone in the log).
 */
export function hasExpired(meta: TxnMetadata, nowMs: number, expirationMs: number): boolean {
  const idle = meta.state === 'Empty' || meta.state === 'CompleteCommit' || meta.state === 'CompleteAbort';
  return idle && meta.pending === null && meta.lastUpdateMs + expirationMs <= nowMs;
}
