// Compaction checkers. Online, on what consumers read while the cleaners work: an offset,
// once read, always holds the same record (offsets never change; the record may only go), and
// within one pass from offset 0 offsets increase and no key's sequence goes back (no older
// value after a newer one). At the end, once the cluster has settled and each replica's log
// had a final cleaning pass: reading each replica's log from the beginning gives, for every
// key, its latest acknowledged value or a later one that was attempted (or no value, when the
// key's last write was a tombstone), offsets in order, and each key at most once in the part of
// the log the cleaner has compacted. And on compacted topics written in transactions: every
// transaction with data left in the part of a replica's log the cleaner has passed still has
// its marker there (cleaned-txns-resolved), or a replica replaying that log would hold the
// transaction open: its last stable offset stuck, a group coordinator's offsets pending.
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import { emptyTxns, noteTxnBatch } from '../../actors/partition/txn-index.js';
import { decodeRecords } from '../../runtime/storage/record-batch.js';
import type { SimCluster } from '../cluster.js';
import { type CompactionReadObserver, type KeyHistory, type KeyedRecord, decodeKeyedRecord } from '../workloads/compaction.js';
import { settledLeaders } from './replication.js';
import type { ViolationLog } from './types.js';
import { partitionKey } from '../workloads/sim-client.js';

export const compactedLatestValue = 'compacted-latest-value';
export const offsetsStable = 'offsets-stable';
export const compactedReadOrder = 'compacted-read-order';
export const cleanedTxnsResolved = 'cleaned-txns-resolved';
export const compactionCheckerNames = [compactedLatestValue, offsetsStable, compactedReadOrder, cleanedTxnsResolved] as const;

function describe(record: KeyedRecord): string {
  return `${record.key}#${record.seq}${record.tombstone ? ' (tombstone)' : ''}`;
}

/** Where one consumer is in its current pass. */
interface PassState {
  pass: number;
  lastOffset: number;
  /** key -> the highest sequence read in this pass */
  seqs: Map<string, number>;
}

/** The online checks, fed every record a consumer reads (and, at the end, every record the logs hold). */
export class CompactionReadChecker implements CompactionReadObserver {
  /** `${topic}/${partition}` -> offset -> the record first seen there */
  private readonly seen = new Map<string, Map<number, string>>();
  private readonly passes = new Map<number, PassState>();

  constructor(private readonly topic: string, private readonly violations: ViolationLog) {}

  record(partition: number, pass: number, offset: number, record: KeyedRecord, atMs: number): void {
    this.sameAsBefore(partition, offset, record, atMs, 'a consumer');
    let state = this.passes.get(partition);
    if (state === undefined || state.pass !== pass) {
      state = { pass, lastOffset: -1, seqs: new Map() };
      this.passes.set(partition, state);
    }
    const where = `${partitionKey(this.topic, partition)} pass ${pass}`;
    if (offset <= state.lastOffset) {
      this.violations.report(compactedReadOrder, atMs, `${where}: offset ${offset} read after offset ${state.lastOffset}`);
    }
    const newest = state.seqs.get(record.key) ?? -1;
    if (record.seq < newest) {
      this.violations.report(compactedReadOrder, atMs, `${where}: ${describe(record)} at offset ${offset} read after ${record.key}#${newest}, a newer value`);
    }
    state.lastOffset = Math.max(state.lastOffset, offset);
    state.seqs.set(record.key, Math.max(newest, record.seq));
  }

  /** Offsets never change: the record at an offset is the one seen there before, if any was. */
  sameAsBefore(partition: number, offset: number, record: KeyedRecord, atMs: number, reader: string): void {
    const key = partitionKey(this.topic, partition);
    let offsets = this.seen.get(key);
    if (offsets === undefined) {
      offsets = new Map();
      this.seen.set(key, offsets);
    }
    const text = describe(record);
    const before = offsets.get(offset);
    if (before === undefined) offsets.set(offset, text);
    else if (before !== text) this.violations.report(offsetsStable, atMs, `${key}: ${reader} read ${text} at offset ${offset}, where ${before} was read before`);
  }
}

/**
 * The end-of-run check of every replica of the topic on a live node whose log reaches the
 * settled leader's high watermark: its log below the watermark, read from the beginning.
 */
export function checkCompactedLogs(
  cluster: SimCluster, topic: string, keys: ReadonlyMap<string, KeyHistory>, reads: CompactionReadChecker, violations: ViolationLog, atMs: number,
): void {
  const leaders = settledLeaders(cluster);
  for (const view of cluster.replicas()) {
    if (view.context.topic !== topic) continue;
    const partition = view.context.partition;
    const leader = leaders.get(partitionKey(topic, partition));
    if (leader === undefined) {
      violations.report(compactedLatestValue, atMs, `${partitionKey(topic, partition)}: no leader after settling, cannot read the compacted log`);
      continue;
    }
    const highWatermark = leader.context.highWatermark;
    if (leader.context.topicId !== view.context.topicId || view.context.logEndOffset < highWatermark) continue;
    const where = `${partitionKey(topic, partition)} on node ${view.node}`;
    const cleanedBelow = cluster.cleanerCheckpoint(view.node, view.actorId).firstDirtyOffset;
    const latest = new Map<string, KeyedRecord>();
    const cleanedKeys = new Set<string>();
    let lastOffset = -1;
    for (const batch of cluster.storedBatches(view.node, view.actorId)) {
      if (batch.lastOffset >= highWatermark) break;
      for (const record of decodeRecords(batch.bytes, readBatchHeader(batch.bytes, 0))) {
        const keyed = decodeKeyedRecord(record);
        if (record.offset <= lastOffset) {
          violations.report(compactedLatestValue, atMs, `${where}: offset ${record.offset} after offset ${lastOffset}: records out of offset order`);
        }
        lastOffset = Math.max(lastOffset, record.offset);
        if (keyed === null) continue;
        reads.sameAsBefore(partition, record.offset, keyed, atMs, `node ${view.node}'s log`);
        if (record.offset < cleanedBelow) {
          if (cleanedKeys.has(keyed.key)) violations.report(compactedLatestValue, atMs, `${where}: ${keyed.key} twice below offset ${cleanedBelow}, which the cleaner has compacted (again at ${record.offset})`);
          cleanedKeys.add(keyed.key);
        }
        latest.set(keyed.key, keyed);
      }
    }
    for (const [key, history] of keys) {
      if (history.partition !== partition) continue;
      const problem = latestValueProblem(history, latest.get(key));
      if (problem !== null) violations.report(compactedLatestValue, atMs, `${where}: ${key} ${problem}`);
    }
  }
}

/**
 * Why the last record of a key in a log is wrong, or null: it must be a record that was sent,
 * at or after the last acknowledged one; no record at all is right only when a tombstone was
 * sent at or after it (or nothing was ever acknowledged).
 */
export function latestValueProblem(history: KeyHistory, found: KeyedRecord | undefined): string | null {
  const acked = history.lastAckedSeq;
  if (found === undefined) {
    if (acked < 0) return null;
    for (const [seq, record] of history.attempted) if (seq >= acked && record.tombstone) return null;
    return `has no value, but #${acked} (not a tombstone) was acknowledged`;
  }
  const sent = history.attempted.get(found.seq);
  if (sent === undefined || sent.tombstone !== found.tombstone) return `holds ${describe(found)}, which was never written`;
  if (found.seq < acked) return `holds ${describe(found)}, older than #${acked}, which was acknowledged`;
  return null;
}

/**
 * The end-of-run check of the transactions in compacted logs: on every replica of `topics`
 * whose log reaches the settled leader's high watermark, replaying its batch headers leaves no
 * transaction open that began below the cleaner's first dirty offset (the cleaner passes only
 * stable transactions, whose markers are below the high watermark).
 */
export function checkCleanedTxnsResolved(cluster: SimCluster, topics: readonly string[], violations: ViolationLog, atMs: number): void {
  const leaders = settledLeaders(cluster);
  for (const view of cluster.replicas()) {
    if (!topics.includes(view.context.topic)) continue;
    const leader = leaders.get(partitionKey(view.context.topic, view.context.partition));
    if (leader === undefined || leader.context.topicId !== view.context.topicId || view.context.logEndOffset < leader.context.highWatermark) continue;
    const cleanedBelow = cluster.cleanerCheckpoint(view.node, view.actorId).firstDirtyOffset;
    const txns = emptyTxns();
    for (const batch of cluster.storedBatches(view.node, view.actorId)) noteTxnBatch(txns, readBatchHeader(batch.bytes, 0));
    for (const txn of txns.unstable) {
      if (txn.markerOffset >= 0 || txn.firstOffset >= cleanedBelow) continue;
      violations.report(cleanedTxnsResolved, atMs,
        `${partitionKey(view.context.topic, view.context.partition)} on node ${view.node}: the transaction of producer ${txn.producerId} from offset ${txn.firstOffset} has no marker, below the cleaned offset ${cleanedBelow}`);
    }
  }
}
