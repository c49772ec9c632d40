// Replication checkers. Online: the high watermark a serving leader exposes never moves back.
// At the end of a run, once the cluster has settled: no acknowledged acks=all write is lost,
// the committed prefixes of all replicas agree, at most one node had writes acknowledged per
// (partition, epoch), consumers never saw an offset above the high watermark nor a value
// that later vanished, and offsets are dense and increasing.
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import { decodeRecords } from '../../runtime/storage/record-batch.js';
import type { ReplicaView, SimCluster } from '../cluster.js';
import { type DataHistory, partitionKey } from '../workloads/produce-consume.js';
import type { ViolationLog } from './types.js';

export const ackedWritesDurable = 'acked-writes-durable';
export const replicaPrefixAgreement = 'replica-prefix-agreement';
export const highWatermarkMonotonic = 'high-watermark-monotonic';
export const oneLeaderPerEpoch = 'one-leader-per-epoch';
export const consumerBelowHighWatermark = 'consumer-below-hw';
export const denseOffsets = 'dense-offsets';
export const idempotentNoDuplicates = 'idempotent-no-duplicates';

export const replicationCheckerNames = [
  ackedWritesDurable, replicaPrefixAgreement, highWatermarkMonotonic, oneLeaderPerEpoch, consumerBelowHighWatermark, denseOffsets,
  idempotentNoDuplicates,
] as const;

const utf8 = new TextDecoder();

/**
 * Watches every serving leader (ready, with its high watermark inside its own epoch, which is
 * when it answers consumers): within a partition the watermark never goes back, neither in one
 * epoch nor from an older epoch to a newer one.
 */
export class HighWatermarkChecker {
  private readonly byEpoch = new Map<string, Map<number, number>>();

  constructor(private readonly violations: ViolationLog) {}

  observe(view: ReplicaView, atMs: number): void {
    const ctx = view.context;
    if (ctx.role !== 'leader' || !ctx.ready || ctx.highWatermark < ctx.epochStartOffset) return;
    const key = `${ctx.topicId}/${ctx.partition}`;
    let epochs = this.byEpoch.get(key);
    if (epochs === undefined) {
      epochs = new Map();
      this.byEpoch.set(key, epochs);
    }
    const seen = epochs.get(ctx.leaderEpoch) ?? -1;
    if (ctx.highWatermark < seen) {
      this.violations.report(highWatermarkMonotonic, atMs, `${view.actorId} epoch ${ctx.leaderEpoch} on node ${view.node}: high watermark went from ${seen} back to ${ctx.highWatermark}`);
    }
    epochs.set(ctx.leaderEpoch, Math.max(seen, ctx.highWatermark));
    for (const [epoch, hw] of epochs) {
      if (epoch < ctx.leaderEpoch && hw > ctx.highWatermark) {
        this.violations.report(highWatermarkMonotonic, atMs, `${view.actorId}: leader of epoch ${ctx.leaderEpoch} on node ${view.node} serves high watermark ${ctx.highWatermark}, below ${hw} of epoch ${epoch}`);
      }
    }
  }
}

/** One partition's committed log as a checker reads it (from the simulated disk, or from a real client's read to the end). */
export interface PartitionLog {
  /** offset -> value, below the leader's high watermark */
  values: Map<number, string>;
  highWatermark: number;
}

/** The settled leader of each partition (the ready leader of the highest epoch). */
export function settledLeaders(cluster: SimCluster): Map<string, ReplicaView> {
  const leaders = new Map<string, ReplicaView>();
  for (const view of cluster.replicas()) {
    const ctx = view.context;
    if (ctx.role !== 'leader' || !ctx.ready) continue;
    const key = partitionKey(ctx.topic, ctx.partition);
    const best = leaders.get(key);
    if (best === undefined || best.context.leaderEpoch < ctx.leaderEpoch) leaders.set(key, view);
  }
  return leaders;
}

function readLog(cluster: SimCluster, leader: ReplicaView, violations: ViolationLog, atMs: number): PartitionLog {
  const values = new Map<number, string>();
  const hw = leader.context.highWatermark;
  let expected = leader.context.logStartOffset;
  for (const batch of cluster.storedBatches(leader.node, leader.actorId)) {
    if (batch.firstOffset >= hw) break;
    if (batch.firstOffset !== expected) {
      violations.report(denseOffsets, atMs, `${leader.actorId} on node ${leader.node}: batch at offset ${batch.firstOffset}, expected ${expected}`);
    }
    const header = readBatchHeader(batch.bytes, 0);
    for (const record of decodeRecords(batch.bytes, header)) {
      values.set(record.offset, record.value === null ? '' : utf8.decode(record.value));
    }
    expected = batch.lastOffset + 1;
  }
  return { values, highWatermark: hw };
}

/** Runs the end-of-run checks on a settled cluster. */
export function checkReplication(cluster: SimCluster, history: DataHistory, violations: ViolationLog, atMs: number): void {
  for (const anomaly of history.anomalies) violations.report(consumerBelowHighWatermark, atMs, anomaly);
  const leaders = settledLeaders(cluster);
  const logs = new Map<string, PartitionLog>();
  for (const [key, leader] of leaders) logs.set(key, readLog(cluster, leader, violations, atMs));
  checkHistoryAgainstLogs(history, logs, violations, atMs);

  // The committed prefix (below the leader's watermark) is byte for byte the same on every replica.
  for (const view of cluster.replicas()) {
    const key = partitionKey(view.context.topic, view.context.partition);
    const leader = leaders.get(key);
    if (leader === undefined || leader.node === view.node || leader.context.topicId !== view.context.topicId) continue;
    const committedEnd = Math.min(leader.context.highWatermark, view.context.logEndOffset);
    const mine = cluster.storedBatches(view.node, view.actorId).filter((b) => b.lastOffset < committedEnd);
    const theirs = cluster.storedBatches(leader.node, leader.actorId).filter((b) => b.lastOffset < committedEnd);
    const differs = mine.length !== theirs.length || mine.some((b, i) => !sameBytes(b.bytes, theirs[i]!.bytes));
    if (differs) {
      violations.report(replicaPrefixAgreement, atMs, `${key}: node ${view.node} and leader node ${leader.node} differ below offset ${committedEnd}`);
    }
  }
}

/**
 * The checks that need only the clients' history and each partition's committed log: no
 * acknowledged write lost, the idempotent producer's values written once, one acknowledging
 * node per (partition, epoch), and what consumers read still there (the clients' own
 * anomalies are the caller's to report). The real-process nemesis
 * (runtime/ops/chaos.ts) runs them on logs read back through a Kafka client.
 */
export function checkHistoryAgainstLogs(history: DataHistory, logs: ReadonlyMap<string, PartitionLog>, violations: ViolationLog, atMs: number): void {
  // No acknowledged write lost: each acked value sits at its offset below the watermark.
  for (const write of history.acked) {
    const key = partitionKey(write.topic, write.partition);
    const log = logs.get(key);
    if (log === undefined) {
      violations.report(ackedWritesDurable, atMs, `${key}: no leader after settling, cannot confirm the write at ${write.baseOffset}`);
      continue;
    }
    write.values.forEach((value, i) => {
      const offset = write.baseOffset + i;
      const found = log.values.get(offset);
      if (found !== value) {
        violations.report(ackedWritesDurable, atMs, `${key}: acknowledged "${value}" at offset ${offset} (epoch ${write.leaderEpoch}, node ${write.node}) is ${found === undefined ? 'missing' : `"${found}"`} (high watermark ${log.highWatermark})`);
      }
    });
  }

  // The idempotent producer's values are written once, however often they were retried
  // (a value resent under a new producer epoch is outside that promise).
  for (const [key, log] of logs) {
    const seen = new Set<string>();
    for (const [offset, value] of log.values) {
      if (!value.startsWith('p0-') || history.resentAcrossEpochs.has(value)) continue;
      if (seen.has(value)) violations.report(idempotentNoDuplicates, atMs, `${key}: "${value}" from the idempotent producer is in the log twice (again at offset ${offset})`);
      seen.add(value);
    }
  }

  // At most one node's writes acknowledged per (partition, epoch).
  const ackers = new Map<string, number>();
  for (const write of history.acked) {
    const key = `${partitionKey(write.topic, write.partition)}@${write.leaderEpoch}`;
    const node = ackers.get(key);
    if (node !== undefined && node !== write.node) {
      violations.report(oneLeaderPerEpoch, atMs, `${key}: writes acknowledged by node ${node} and node ${write.node}`);
    }
    ackers.set(key, write.node);
  }

  // What consumers read never changes afterwards.
  for (const [key, consumed] of history.consumed) {
    const log = logs.get(key);
    if (log === undefined) continue;
    for (const [offset, value] of consumed.values) {
      if (offset >= log.highWatermark) continue; // read below an earlier watermark, checked online
      const found = log.values.get(offset);
      if (found !== value) {
        violations.report(consumerBelowHighWatermark, atMs, `${key}: a consumer read "${value}" at offset ${offset}, the log now holds ${found === undefined ? 'nothing' : `"${found}"`}`);
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
