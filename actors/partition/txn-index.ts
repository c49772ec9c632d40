// Transactions as one partition sees them (KIP-98): which are open, where the last stable
// offset is, and which were aborted (Kafka's .txnindex), built from batch headers alone so
// that a leader, its followers and the log's recovery all derive the same state.
//
// A transaction is unstable from its first batch here until its marker is below the high
// watermark: an open one may still abort, and a marker not yet replicated may be cut by a
// leader change, which reopens it. The last stable offset (LSO) is the first offset of the
// earliest unstable transaction, or the high watermark when none is; read_committed
// consumers read below it. Aborted transactions are kept until the log start passes their
// marker, so that a read_committed fetch can tell the consumer which records to drop.
import type { ProducerHeader } from './producer-state.js';
import type { TxnSnapshot } from '../protocol/effects.js';
import { controlTypes } from '../protocol/record-batch.js';

/**
 * A transaction with data in this partition whose marker is not below the high watermark
 * yet: firstOffset is where its data here begins, markerOffset -1 while it is open.
 */
export type UnstableTxn = TxnSnapshot['unstable'][number];

/** An aborted transaction (Kafka's AbortedTxn): its data lies in [firstOffset, lastOffset), its abort marker at lastOffset. */
export type AbortedTxn = TxnSnapshot['aborted'][number];

/** unstable in firstOffset order (at most one open transaction per producer); aborted in lastOffset (marker) order. */
export type PartitionTxns = TxnSnapshot;

export type TxnHeader = ProducerHeader & Partial<{ isTransactional: boolean; isControl: boolean; controlType: number }>;

export function emptyTxns(): PartitionTxns {
  return { unstable: [], aborted: [] };
}

export function copyTxns(txns: PartitionTxns): PartitionTxns {
  return { unstable: txns.unstable.map((t) => ({ ...t })), aborted: txns.aborted.map((t) => ({ ...t })) };
}

function openTxnOf(txns: PartitionTxns, producerId: number): UnstableTxn | undefined {
  return txns.unstable.find((t) => t.producerId === producerId && t.markerOffset < 0);
}

/** The open transaction's first offset for a producer here, or -1. */
export function openTxnFirstOffset(txns: PartitionTxns, producerId: number): number {
  return openTxnOf(txns, producerId)?.firstOffset ?? -1;
}

/**
 * Notes a batch appended to the log, in log order (callers replaying a log after a snapshot
 * replay only what the snapshot does not hold): a data batch of a transactional producer
 * opens its transaction here unless one is open; a marker closes it (an abort marker enters
 * the aborted index).
 */
export function noteTxnBatch(txns: PartitionTxns, header: TxnHeader): void {
  if (header.producerId < 0 || header.isTransactional !== true) return;
  if (header.isControl === true) {
    noteMarker(txns, header.producerId, header.baseOffset, header.controlType === controlTypes.commit);
    return;
  }
  if (openTxnOf(txns, header.producerId) !== undefined) return;
  insertByFirstOffset(txns.unstable, { producerId: header.producerId, firstOffset: header.baseOffset, markerOffset: -1, commit: false });
}

function noteMarker(txns: PartitionTxns, producerId: number, markerOffset: number, commit: boolean): void {
  const open = openTxnOf(txns, producerId);
  // A marker for a producer without data here (it added the partition and wrote nothing) has nothing to close.
  if (open === undefined || open.firstOffset > markerOffset) return;
  open.markerOffset = markerOffset;
  open.commit = commit;
  if (!commit) insertByLastOffset(txns.aborted, { producerId, firstOffset: open.firstOffset, lastOffset: markerOffset });
}

function insertByFirstOffset(list: UnstableTxn[], txn: UnstableTxn): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.firstOffset > txn.firstOffset) i--;
  list.splice(i, 0, txn);
}

function insertByLastOffset(list: AbortedTxn[], txn: AbortedTxn): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.lastOffset > txn.lastOffset) i--;
  if (list[i - 1]?.lastOffset === txn.lastOffset) return;
  list.splice(i, 0, txn);
}

/** Drops the transactions whose marker is below the high watermark: nothing can reopen them now. */
export function stabilizeTxns(txns: PartitionTxns, highWatermark: number): void {
  if (txns.unstable.some((t) => t.markerOffset >= 0 && t.markerOffset < highWatermark)) {
    txns.unstable = txns.unstable.filter((t) => t.markerOffset < 0 || t.markerOffset >= highWatermark);
  }
}

/** The last stable offset: below it, every transaction has a marker below the high watermark. */
export function lastStableOffset(txns: PartitionTxns, highWatermark: number): number {
  const first = txns.unstable[0];
  return first === undefined ? highWatermark : Math.min(first.firstOffset, highWatermark);
}

/**
 * What a truncation of the log to `end` leaves: transactions that began at or after it are
 * gone, ones whose marker was cut are open again, and aborted entries whose marker was cut
 * are forgotten. A transaction already stable cannot be reopened (its marker was below the
 * high watermark, which truncations stay above).
 */
export function truncateTxns(txns: PartitionTxns, end: number): void {
  txns.unstable = txns.unstable.filter((t) => t.firstOffset < end);
  for (const t of txns.unstable) {
    if (t.markerOffset >= end) {
      t.markerOffset = -1;
      t.commit = false;
    }
  }
  txns.aborted = txns.aborted.filter((t) => t.lastOffset < end);
}

/** Forgets aborted transactions whose marker is below the log start (retention removed them). */
export function pruneAborted(txns: PartitionTxns, logStartOffset: number): void {
  let drop = 0;
  while (drop < txns.aborted.length && txns.aborted[drop]!.lastOffset < logStartOffset) drop++;
  if (drop > 0) txns.aborted = txns.aborted.slice(drop);
}

/**
 * The aborted transactions a read_committed fetch of [fetchOffset, upperOffset) overlaps:
 * their data may be in it, so the consumer must know to drop it (Kafka's
 * collectAbortedTransactions).
 */
export function abortedOverlapping(txns: PartitionTxns, fetchOffset: number, upperOffset: number): AbortedTxn[] {
  const list = txns.aborted;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.lastOffset < fetchOffset) lo = mid + 1;
    else hi = mid;
  }
  const found: AbortedTxn[] = [];
  for (let i = lo; i < list.length; i++) if (list[i]!.firstOffset < upperOffset) found.push(list[i]!);
  return found;
}

/** Packs aborted transactions for FetchResponse.abortedTransactions: producer id and first offset, big-endian int64 each. */
export function packAborted(aborted: readonly AbortedTxn[]): Uint8Array {
  const bytes = new Uint8Array(aborted.length * 16);
  const view = new DataView(bytes.buffer);
  aborted.forEach((t, i) => {
    view.setBigInt64(i * 16, BigInt(t.producerId));
    view.setBigInt64(i * 16 + 8, BigInt(t.firstOffset));
  });
  return bytes;
}

/** The entries of a packed list (a length that is not a multiple of 16 is cut to one). */
export function unpackAborted(bytes: Uint8Array): Array<{ producerId: number; firstOffset: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Array<{ producerId: number; firstOffset: number }> = [];
  for (let at = 0; at + 16 <= bytes.length; at += 16) {
    entries.push({ producerId: Number(view.getBigInt64(at)), firstOffset: Number(view.getBigInt64(at + 8)) });
  }
  return entries;
}
