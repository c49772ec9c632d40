// The log cleaner of the simulated disk (cleanup.policy=compact), deciding and rewriting as
// the real one does (runtime/storage/cleaner.ts) with the same byte-level helpers: an offset
// map of the dirty part's latest offset per key, records kept only when no later record has
// their key, tombstones dropped once delete.retention.ms has passed since a pass first
// covered them and every replica has fetched past them (the tombstone horizon the replica
// reported), offsets never changed. The simulated log has batches where the real one has
// segments: the last `activeBatches` batches play the active segment (never cleaned), and only
// durable batches wholly below the high watermark the replica reported are cleanable.
//
// This module is pure: the status of a log and the plan of a pass (the batches that replace a
// prefix of the log). SimLogDisk runs passes on a timer, makes each take virtual time and swaps
// the plan in atomically when the pass ends, so that a crash leaves the old batches or the new.
import { type BatchHeader, readBatchHeader, setBaseOffset } from '../actors/protocol/record-batch.js';
import { producerBatchesKept } from '../actors/partition/producer-state.js';
import {
  type CleanerCheckpoint, type CompactionConfig, type RecordVerdict, afterPass, cleanedBatch, countVerdict, defaultCompactionConfig, tombstoneExpired,
} from '../runtime/storage/cleaner.js';
import { type TxnBatchAction, type TxnCleanerBugs, TxnPass } from '../runtime/storage/cleaner-txns.js';
import type { AbortedTxn } from '../actors/partition/txn-index.js';
import { type RecordSpan, recordSpans } from '../runtime/storage/compacted-batch.js';
import { OffsetMap, keyDigest } from '../runtime/storage/offset-map.js';
import { topicLogConfig } from '../runtime/storage/topic-config.js';
import type { ConfigEntry } from '../actors/protocol/messages.js';

/** How the simulated cleaner runs; set on the cluster by workloads that compact. */
export interface SimCleanerSettings {
  /** log.cleaner.backoff.ms: between two looks at the logs. */
  intervalMs: number;
  /** Each wait is intervalMs plus up to this much (from the node's cleaner Prng). */
  intervalJitterMs: number;
  /** The tail of a log the cleaner never touches, as the real one never touches the active segment. */
  activeBatches: number;
  /** A pass takes this long plus its bytes read at bytesPerMs: long enough for crashes to land in it. */
  passFixedMs: number;
  bytesPerMs: number;
  /** Distinct keys one pass maps (log.cleaner.dedupe.buffer.size); more keys take several passes. */
  offsetMapKeysMax: number;
}

export const defaultSimCleaner: SimCleanerSettings = {
  intervalMs: 1000, intervalJitterMs: 500, activeBatches: 3, passFixedMs: 150, bytesPerMs: 20, offsetMapKeysMax: 64,
};

/** Test-only cleaner bugs (runtime/ops/bugs.ts), to show that the compaction and transaction checkers catch them. */
export interface CleanerBugs extends TxnCleanerBugs {
  /** Cleans up to the active tail whatever the high watermark (uncommitted records too). */
  ignoreHighWatermark?: boolean;
  /** Removes expired tombstones whatever the replicas fetched (as Kafka does): a lagging replica keeps a deleted value. */
  ignoreTombstoneHorizon?: boolean;
  /** Keeps the first record of each key instead of the last. */
  keepFirstValue?: boolean;
  /** Closes the gaps a pass leaves by moving later batches down: offsets change. */
  renumberOffsets?: boolean;
  /**
   * Puts the cleaned batches in front of the old ones when the pass starts and removes the old
   * ones when it ends: meanwhile (and after a crash in between) a read from an offset gets the
   * cleaned copy, then the old batches again.
   */
  nonAtomicSwap?: boolean;
}

/** A batch as the cleaner sees it. */
export interface CleanerBatch {
  bytes: Uint8Array;
  firstOffset: number;
  lastOffset: number;
  durable: boolean;
  header: BatchHeader;
}

/** The compaction settings of a log opened with `configs` (Kafka's defaults for what they leave out). */
export function compactionConfigOf(configs: readonly ConfigEntry[]): CompactionConfig {
  let log: ReturnType<typeof topicLogConfig>;
  try {
    log = topicLogConfig(configs);
  } catch {
    // The controller refuses such configs; a log opened with one is not compacted.
    return defaultCompactionConfig;
  }
  const d = defaultCompactionConfig;
  return {
    compact: log.compact ?? d.compact,
    deleteRetentionMs: log.deleteRetentionMs ?? d.deleteRetentionMs,
    minCleanableDirtyRatio: log.minCleanableDirtyRatio ?? d.minCleanableDirtyRatio,
    minCompactionLagMs: log.minCompactionLagMs ?? d.minCompactionLagMs,
    maxCompactionLagMs: log.maxCompactionLagMs ?? d.maxCompactionLagMs,
  };
}

export interface SimCleanerStatus {
  /** Where the next pass's offset map starts: offsets below it have been compacted. */
  firstDirtyOffset: number;
  /** Batches [0, cleanableBatches) may be rewritten. */
  cleanableBatches: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
  /** Over min.cleanable.dirty.ratio, or the oldest dirty record waited past max.compaction.lag.ms. */
  needsCleaning: boolean;
}

/**
 * The cleanable prefix of a log and its dirty ratio. A batch is cleanable when it is durable,
 * before the active tail, wholly below the high watermark (null after a crash until the
 * replica reports one: nothing is cleanable then) and older than min.compaction.lag.ms.
 */
export function simCleanerStatus(
  batches: readonly CleanerBatch[], firstDirty: number, now: number, config: CompactionConfig, highWatermark: number | null,
  settings: SimCleanerSettings, bugs: CleanerBugs,
): SimCleanerStatus {
  const bound = bugs.ignoreHighWatermark === true ? Infinity : (highWatermark ?? -Infinity);
  let cleanable = 0;
  const tailStart = batches.length - settings.activeBatches;
  while (cleanable < tailStart) {
    const batch = batches[cleanable]!;
    const young = config.minCompactionLagMs > 0 && batch.header.maxTimestamp > now - config.minCompactionLagMs;
    if (!batch.durable || batch.lastOffset >= bound || young) break;
    cleanable += 1;
  }
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let oldestDirty = -1;
  for (let i = 0; i < cleanable; i++) {
    const batch = batches[i]!;
    if (batch.lastOffset < firstDirty) {
      cleanBytes += batch.bytes.length;
    } else {
      dirtyBytes += batch.bytes.length;
      if (oldestDirty < 0) oldestDirty = batch.header.baseTimestamp;
    }
  }
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  const lagExceeded = oldestDirty >= 0 && now - oldestDirty > config.maxCompactionLagMs;
  return {
    firstDirtyOffset: firstDirty, cleanableBatches: cleanable, cleanBytes, dirtyBytes, dirtyRatio,
    needsCleaning: config.compact && dirtyBytes > 0 && (dirtyRatio >= config.minCleanableDirtyRatio || lagExceeded),
  };
}

/** What a pass will swap in: batches [0, replacedBatches) of the log become `batches`. */
export interface CleanerPlan {
  replacedBatches: number;
  batches: Array<{ bytes: Uint8Array; firstOffset: number; lastOffset: number; header: BatchHeader }>;
  /** The checkpoint once the swap is done. */
  checkpoint: CleanerCheckpoint;
  bytesRead: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Data batches of aborted transactions removed (or emptied), markers removed (cleaner-txns.ts). */
  abortedBatchesRemoved: number;
  markersRemoved: number;
  /** Offsets of the abort markers the pass judged removable: their transactions leave the aborted index at the swap. */
  abortMarkersRemoved: number[];
  /** Whether anything changes (a pass that changes nothing still moves the checkpoint). */
  changed: boolean;
}

/**
 * Plans one pass over the cleanable prefix `batches[0, status.cleanableBatches)`: maps the
 * dirty part (as far as the map holds), then rewrites every batch up to where the map ends.
 * An emptied batch goes, unless it is the last of the rewritten range (the log keeps its
 * shape: the next batch's offsets do not move up into the gap), the first of its leader epoch
 * (this disk rebuilds the epoch cache from batch headers, where the real log keeps a file), the
 * first of the log (the log start stays), or one of a producer's last batches (its sequence
 * state) — then it stays, empty, as the real cleaner keeps a producer's last batch.
 * Transactions are handled by the real cleaner's rules (cleaner-txns.ts), from the log's
 * `aborted` transactions.
 */
export function planPass(
  batches: readonly CleanerBatch[], status: SimCleanerStatus, checkpoint: CleanerCheckpoint, now: number, config: CompactionConfig,
  tombstoneHorizon: number, aborted: readonly AbortedTxn[], settings: SimCleanerSettings, bugs: CleanerBugs,
): CleanerPlan | null {
  const cleanable = batches.slice(0, status.cleanableBatches);
  if (cleanable.length === 0) return null;
  const map = new OffsetMap(Math.ceil(settings.offsetMapKeysMax / 0.9) + 1);
  const txns = new TxnPass(aborted, {
    now, deleteRetentionMs: config.deleteRetentionMs, tombstoneHorizon, emptyMarkers: checkpoint.emptyMarkers ?? [], judgeMarkers: true,
  }, bugs);
  let bytesRead = 0;
  let mapEnd = cleanable[cleanable.length - 1]!.lastOffset + 1;
  for (const batch of cleanable) {
    if (batch.lastOffset < status.firstDirtyOffset || !txns.mapsRecords(batch.header)) continue;
    const keyed = recordSpans(batch.bytes, batch.header).filter((span) => span.key !== null);
    if (map.size + keyed.length > map.entriesMax && map.size > 0) {
      mapEnd = batch.firstOffset;
      break;
    }
    for (const span of keyed) {
      const digest = keyDigest(span.key!);
      // The bug keeps the first offset of each key: map.put keeps the highest.
      if (bugs.keepFirstValue === true && map.get(digest).kind !== 'absent') continue;
      map.put(digest, span.offset);
    }
    bytesRead += batch.bytes.length;
  }
  const toClean = cleanable.filter((b) => b.firstOffset < mapEnd);
  const retained = producerRetainedBatches(batches);
  const plan: CleanerPlan = {
    replacedBatches: toClean.length, batches: [], checkpoint, bytesRead, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0,
    abortedBatchesRemoved: 0, markersRemoved: 0, abortMarkersRemoved: txns.abortMarkersRemoved, changed: false,
  };
  toClean.forEach((batch, i) => {
    plan.bytesRead += batch.bytes.length;
    plan.bytesBefore += batch.bytes.length;
    const previous = i === 0 ? undefined : toClean[i - 1];
    // The bug drops markers whatever producer state needs too (so that it shows at the end of a run, not only in a replay meanwhile).
    const forProducer = retained.has(batch.firstOffset) && !(bugs.dropMarkersEarly === true && batch.header.isControl);
    const needed = i === 0 || i === toClean.length - 1 || forProducer
      || (previous !== undefined && batch.header.partitionLeaderEpoch > previous.header.partitionLeaderEpoch);
    const out = cleanBatch(batch, txns.next(batch.header, forProducer), needed, { map, checkpoint, now, config, tombstoneHorizon, bugs }, plan);
    if (out === null) return;
    plan.batches.push({ bytes: out, firstOffset: batch.firstOffset, lastOffset: batch.lastOffset, header: readBatchHeader(out, 0) });
    plan.bytesAfter += out.length;
  });
  if (bugs.renumberOffsets === true) renumber(plan);
  plan.checkpoint = afterPass(checkpoint, mapEnd, now, config.deleteRetentionMs, txns.emptyMarkers);
  return plan;
}

/** What a pass judges each record by. */
interface PassRules {
  map: OffsetMap;
  checkpoint: CleanerCheckpoint;
  now: number;
  config: CompactionConfig;
  tombstoneHorizon: number;
  bugs: CleanerBugs;
}

/** The batch that replaces `batch` (itself when nothing goes), or null when it goes whole: the real cleaner's cleanedBatch. */
function cleanBatch(batch: CleanerBatch, action: TxnBatchAction, needed: boolean, rules: PassRules, plan: CleanerPlan): Uint8Array | null {
  const { header } = batch;
  const judged = action !== 'keep' && header.compression === 0 && !header.isControl;
  const spans = judged ? recordSpans(batch.bytes, header) : [];
  const kept: RecordSpan[] = action === 'records' ? spans.filter((span) => countVerdict(keepRecord(span, rules), plan)) : [];
  return cleanedBatch(batch.bytes, header, action, spans, kept, needed, plan);
}

/** The real cleaner's rule (cleaner.ts keepRecord), over this pass's map, checkpoint and tombstone horizon. */
function keepRecord(span: RecordSpan, rules: PassRules): RecordVerdict {
  const { map, checkpoint, now, config, tombstoneHorizon, bugs } = rules;
  if (span.key === null) return 'superseded';
  const found = map.get(keyDigest(span.key));
  if (found.kind === 'latest' && (bugs.keepFirstValue === true ? span.offset > found.offset : span.offset < found.offset)) return 'superseded';
  if (span.isTombstone) {
    const horizon = bugs.ignoreTombstoneHorizon === true ? Infinity : tombstoneHorizon;
    return tombstoneExpired(span.offset, checkpoint, now, config.deleteRetentionMs, horizon) ? 'expired-tombstone' : 'keep';
  }
  return 'keep';
}

/** The bug: every rewritten batch moved down to follow the one before it, as if offsets were positions. */
function renumber(plan: CleanerPlan): void {
  let next = plan.batches[0]?.firstOffset ?? 0;
  plan.batches = plan.batches.map((batch) => {
    if (batch.firstOffset === next) {
      next = batch.lastOffset + 1;
      return batch;
    }
    const bytes = batch.bytes.slice();
    setBaseOffset(bytes, 0, next);
    const header = readBatchHeader(bytes, 0);
    next = header.lastOffset + 1;
    plan.changed = true;
    return { bytes, firstOffset: header.baseOffset, lastOffset: header.lastOffset, header };
  });
}

/** First offsets of each idempotent producer's last batches in the log (its sequence state at recovery). */
function producerRetainedBatches(batches: readonly CleanerBatch[]): Set<number> {
  const byProducer = new Map<number, number[]>();
  for (const batch of batches) {
    if (batch.header.producerId < 0) continue;
    const list = byProducer.get(batch.header.producerId) ?? [];
    list.push(batch.firstOffset);
    if (list.length > producerBatchesKept) list.shift();
    byProducer.set(batch.header.producerId, list);
  }
  return new Set([...byProducer.values()].flat());
}
