// What the log cleaner does with transactions (KIP-98's cleaner section, Kafka's
// CleanedTransactionMetadata), shared by the real cleaner (cleaner.ts) and the simulated one
// (sim/log-cleaner.ts), which both walk a pass's batches in log order from the log start:
// - a data batch of an aborted transaction (the aborted-transaction index names it) goes
//   whole, and its records never enter the offset map;
// - a committed transaction's records are deduplicated like any other (they enter the map,
//   supersede and are superseded by key);
// - a marker, commit or abort, goes once no batch of its transaction is left before it (it
//   would otherwise be needed: a replica or a group coordinator replaying the log resolves
//   that data with it), delete.retention.ms has passed since a pass first found it so
//   (KIP-534's two phases: a reader that fetched the data before it went gets that long to
//   read on to the marker) and every replica has fetched past it (a follower that has the
//   data but not the marker would otherwise keep the transaction open, its last stable offset
//   stuck);
// - a removed abort marker takes its transaction out of the storage's aborted index (Kafka
//   rewrites the .txnindex of the segments it cleans). A consumer told of an aborted
//   transaction drops that producer's transactional records until it meets the abort marker,
//   so an entry handed out without its marker would drop the producer's later committed
//   records: a read_committed answer lists only the aborted transactions whose data it
//   holds (partition-machine.ts), and a log holding data of a transaction holds its marker,
//   so what the replica's in-memory index still lists never matters once the marker is gone.
// Compressed batches stay as they are (the cleaner does not decompress), except that an
// aborted one goes whole (that needs no look inside).
import type { BatchHeader } from '../../actors/protocol/record-batch.js';
import { controlTypes } from '../../actors/protocol/record-batch.js';
import type { AbortedTxn } from '../../actors/partition/txn-index.js';

/** A marker a pass found with no data of its transaction left, and when it first did. */
export interface EmptyTxnMarker {
  offset: number;
  sinceMs: number;
}

/** Markers tracked in the cleaner checkpoint; beyond this the newest are forgotten (they wait longer, never shorter). */
export const emptyTxnMarkersMax = 4096;

/** What a pass does with a batch as a whole. */
export type TxnBatchAction =
  /** Judge its records one by one (plain or committed records, uncompressed). */
  | 'records'
  /** Leave it as it is (compressed, a marker that stays, a control batch of unknown type). */
  | 'keep'
  /** Drop it whole (aborted data, a marker whose time has come), or empty it when it must stay. */
  | 'remove';

/** The pass's settings for markers (those of its tombstones). */
export interface TxnCleaningRules {
  now: number;
  deleteRetentionMs: number;
  /** Every replica has fetched below it: only there may a marker go. */
  tombstoneHorizon: number;
  /** Markers earlier passes found without data, in offset order. */
  emptyMarkers: readonly EmptyTxnMarker[];
  /**
   * False in a pass's later rounds over segments it already rewrote (cleaner.ts merges them):
   * such a round does not see the whole log, so it keeps every marker.
   */
  judgeMarkers: boolean;
}

/** Whether a transactional data batch lies in an aborted transaction of the index. */
export function isAbortedBatch(byProducer: ReadonlyMap<number, readonly AbortedTxn[]>, header: BatchHeader): boolean {
  const list = byProducer.get(header.producerId);
  if (list === undefined) return false;
  // Disjoint per producer, in marker order: the first ending after the batch is the only candidate.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.lastOffset <= header.baseOffset) lo = mid + 1;
    else hi = mid;
  }
  const txn = list[lo];
  return txn !== undefined && txn.firstOffset <= header.baseOffset;
}

/** The aborted index by producer, each list in marker order. */
export function abortedByProducer(aborted: readonly AbortedTxn[]): Map<number, AbortedTxn[]> {
  const byProducer = new Map<number, AbortedTxn[]>();
  for (const txn of aborted) {
    const list = byProducer.get(txn.producerId) ?? [];
    list.push(txn);
    byProducer.set(txn.producerId, list);
  }
  for (const list of byProducer.values()) list.sort((a, b) => a.lastOffset - b.lastOffset);
  return byProducer;
}

/**
 * Whether a batch's records go into the offset map: uncompressed, not a marker, not aborted.
 * Stateless, so the map's read of the dirty part can start anywhere.
 */
export function mapsRecords(byProducer: ReadonlyMap<number, readonly AbortedTxn[]>, header: BatchHeader): boolean {
  if (header.compression !== 0 || header.isControl) return false;
  return !(header.isTransactional && header.producerId >= 0 && isAbortedBatch(byProducer, header));
}

/** Test-only cleaner bugs that concern transactions (sim/log-cleaner.ts CleanerBugs). */
export interface TxnCleanerBugs {
  /** Removes markers (after delete.retention.ms) whatever data of their transaction is left (and, in the simulator, whatever producer state needs). */
  dropMarkersEarly?: boolean;
  /** Treats aborted data as committed: it stays and its records enter the offset map. */
  keepAbortedAsCommitted?: boolean;
}

/**
 * The transaction state of one pass, fed every batch in log order from the log start.
 * `retained` says the storage keeps the batch for producer state: a marker then stays. A
 * batch to remove that the storage must keep (producer state, the shape of the log) is
 * emptied instead; a marker or a compressed batch then stays as it is.
 */
export class TxnPass {
  private readonly aborted: Map<number, AbortedTxn[]>;
  /** Producers with a transactional data batch read since their last marker. */
  private readonly withData = new Set<number>();
  private readonly knownEmpty: Map<number, number>;
  /** Markers found without data and kept, for the checkpoint. */
  readonly emptyMarkers: EmptyTxnMarker[] = [];
  /** Offsets of the abort markers this pass removes: their transactions leave the aborted index once swapped out. */
  readonly abortMarkersRemoved: number[] = [];

  constructor(aborted: readonly AbortedTxn[], private readonly rules: TxnCleaningRules, private readonly bugs: TxnCleanerBugs = {}) {
    this.aborted = bugs.keepAbortedAsCommitted === true ? new Map() : abortedByProducer(aborted);
    this.knownEmpty = new Map(rules.emptyMarkers.map((m) => [m.offset, m.sinceMs]));
  }

  /** Whether the batch's records go into the offset map. */
  mapsRecords(header: BatchHeader): boolean {
    return mapsRecords(this.aborted, header);
  }

  /** What to do with the next batch of the log. */
  next(header: BatchHeader, retained: boolean): TxnBatchAction {
    if (header.producerId < 0 || !header.isTransactional) return header.compression === 0 && !header.isControl ? 'records' : 'keep';
    if (header.isControl) return this.marker(header, retained);
    this.withData.add(header.producerId);
    if (isAbortedBatch(this.aborted, header)) return 'remove';
    return header.compression === 0 ? 'records' : 'keep';
  }

  private marker(header: BatchHeader, retained: boolean): TxnBatchAction {
    const hadData = this.withData.delete(header.producerId);
    const abort = header.controlType === controlTypes.abort;
    if (!this.rules.judgeMarkers || (header.controlType !== controlTypes.commit && !abort)) return 'keep';
    const early = this.bugs.dropMarkersEarly === true;
    if (hadData && !early) return 'keep';
    const { now, deleteRetentionMs, tombstoneHorizon } = this.rules;
    const sinceMs = this.knownEmpty.get(header.baseOffset) ?? now;
    if (!retained && header.baseOffset < tombstoneHorizon && now - sinceMs >= deleteRetentionMs) {
      if (abort) this.abortMarkersRemoved.push(header.baseOffset);
      return 'remove';
    }
    if (this.emptyMarkers.length < emptyTxnMarkersMax) this.emptyMarkers.push({ offset: header.baseOffset, sinceMs });
    return 'keep';
  }
}

/**
 * The markers to remember after a pass that judged the markers below `endOffset`:
 * what it found below, what was known above.
 */
export function emptyMarkersAfterPass(before: readonly EmptyTxnMarker[], found: readonly EmptyTxnMarker[], endOffset: number): EmptyTxnMarker[] {
  return [...found.filter((m) => m.offset < endOffset), ...before.filter((m) => m.offset >= endOffset)].slice(0, emptyTxnMarkersMax);
}

/** The aborted index without the transactions whose abort markers a pass removed (`removed`, marker offsets). */
export function withoutRemovedAborts<T extends AbortedTxn>(aborted: readonly T[], removed: readonly number[]): T[] {
  if (removed.length === 0) return aborted.slice();
  const gone = new Set(removed);
  return aborted.filter((t) => !gone.has(t.lastOffset));
}
