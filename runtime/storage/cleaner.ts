// The log cleaner (cleanup.policy=compact), as Kafka's LogCleaner does it: the closed segments
// of a log are a clean part (already compacted) followed by a dirty part; a pass builds an
// offset map (key -> latest offset) from the dirty part, then rewrites every closed segment up
// to where the map ends, keeping a record only when no later record has its key. Offsets never
// change. This module holds the decisions (is a log worth cleaning, which tombstones have
// expired), the pass's two reads (map, rewrite), the cleaner checkpoint and the completion of
// an interrupted swap at recovery; PartitionLog drives a pass and swaps segments in its queue.
//
// Swap, crash-safe (Kafka's sequence): a group of old segments [B, E) is rewritten into
// `B.log.cleaned` (+ .index/.timeindex.cleaned) and fsynced; renaming the log file to
// `B.log.swap` commits it; the old segments' files are deleted, then the .swap files become
// the live `B.log`. At open, `.cleaned` files are deleted (the old segments are intact) and a
// `.swap` file replaces every segment whose base lies in [B, E), E being one past the last
// offset in the swap file: the cleaner always keeps the group's last batch (empty if all its
// records went, as Kafka keeps a producer's last batch) so that E is the old group's end.
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  type BatchHeader, batchFieldOffsets, batchHeaderBytes, batchOverheadBytes, readBatchHeader, scanBatches,
} from '../../actors/protocol/record-batch.js';
import { CheckpointError, checkpointInteger, readCheckpoint, syncDirectory, writeCheckpoint } from './checkpoint.js';
import { type RecordSpan, rebuildBatch, recordSpans } from './compacted-batch.js';
import { type EmptyTxnMarker, type TxnBatchAction, type TxnPass, abortedByProducer, emptyMarkersAfterPass, mapsRecords } from './cleaner-txns.js';
import type { AbortedTxn } from '../../actors/partition/txn-index.js';
import { type OffsetMap, keyDigest } from './offset-map.js';
import { crc32c } from './record-batch.js';
import { Segment, segmentNameDigits } from './segment.js';

export const cleanerCheckpointFile = 'cleaner-offset-checkpoint';
/** log.cleaner.io.buffer.size: how much of a segment a pass reads at a time. */
export const cleanerReadChunkBytes = 1024 * 1024;
/** Rows of first-clean times kept in the checkpoint; older rows merge (tombstones then live longer, never shorter). */
export const cleanedRangesMax = 1024;
/** Offsets in a segment's index are relative 32-bit values. */
const relativeOffsetMax = 0x7fffffff;

/** The compaction settings of one log (topic configs; Kafka's defaults). */
export interface CompactionConfig {
  /** cleanup.policy includes compact. */
  compact: boolean;
  /** delete.retention.ms: how long a tombstone stays after the cleaner first passed it. */
  deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: records younger than this are not cleaned. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a log whose oldest dirty record is older is cleaned whatever its ratio. */
  maxCompactionLagMs: number;
}

export const defaultCompactionConfig: CompactionConfig = {
  compact: false,
  deleteRetentionMs: 24 * 3600 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};

/** Where a pass can be told to stop, for crash tests: after the .cleaned files are written, after the .swap rename, after the old segments are deleted. */
export type CleanerStep = 'cleaned' | 'swap' | 'deleted';

/** A pass stopped by a test hook: the files are left as a crash at that step would leave them. */
export class CleanerStoppedError extends Error {
  constructor(readonly step: CleanerStep) {
    super(`log cleaner stopped after step "${step}" (test hook)`);
  }
}

/** A cleaner read found bytes that are not whole, valid batches. */
export class CleanerCorruptionError extends Error {
  constructor(readonly file: string, readonly position: number, readonly reason: string) {
    super(`${file}: corrupt record batch at byte ${position} met by the log cleaner: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------
// The cleaner checkpoint: the first dirty offset and when offsets were first cleaned.

/** Offsets below `endOffset` had all been cleaned once by `cleanedAtMs`. */
export interface CleanedRange {
  endOffset: number;
  cleanedAtMs: number;
}

export interface CleanerCheckpoint {
  firstDirtyOffset: number;
  /** Increasing in both fields. The first range holding an offset says when it was first cleaned. */
  cleaned: CleanedRange[];
  /** Commit markers a pass found with no data of their transaction left (cleaner-txns.ts), in offset order; absent when none. */
  emptyMarkers?: EmptyTxnMarker[];
}

/**
 * When the cleaner first passed `offset`, or null when it has not yet. A tombstone stays
 * until delete.retention.ms after that (KIP-534's rule; the time is kept per range of
 * offsets in the checkpoint instead of in each batch's header).
 */
export function firstCleanedAt(checkpoint: CleanerCheckpoint, offset: number): number | null {
  for (const range of checkpoint.cleaned) if (offset < range.endOffset) return range.cleanedAtMs;
  return null;
}

/**
 * The checkpoint after a pass that covered every offset below `endOffset` at `now`; `emptyMarkers`,
 * when given, are the commit markers below `endOffset` the pass found without data.
 */
export function afterPass(
  checkpoint: CleanerCheckpoint, endOffset: number, now: number, deleteRetentionMs: number, emptyMarkers?: readonly EmptyTxnMarker[],
): CleanerCheckpoint {
  let cleaned = [...checkpoint.cleaned];
  const last = cleaned[cleaned.length - 1];
  if (last === undefined || last.endOffset < endOffset) cleaned.push({ endOffset, cleanedAtMs: Math.max(now, last?.cleanedAtMs ?? now) });
  // Below the last range whose tombstones have all expired, earlier ranges say nothing more.
  let expired = -1;
  for (let i = 0; i < cleaned.length; i++) if (now - cleaned[i]!.cleanedAtMs >= deleteRetentionMs) expired = i;
  if (expired > 0) cleaned = cleaned.slice(expired);
  while (cleaned.length > cleanedRangesMax) cleaned.shift();
  const markers = emptyMarkers === undefined ? checkpoint.emptyMarkers ?? [] : emptyMarkersAfterPass(checkpoint.emptyMarkers ?? [], emptyMarkers, endOffset);
  return withMarkers({ firstDirtyOffset: Math.max(checkpoint.firstDirtyOffset, endOffset), cleaned }, markers);
}

/** The checkpoint with its empty commit markers (the field left out when there are none). */
function withMarkers(checkpoint: CleanerCheckpoint, markers: EmptyTxnMarker[]): CleanerCheckpoint {
  return markers.length === 0 ? checkpoint : { ...checkpoint, emptyMarkers: markers };
}

/** The checkpoint once the log holds only offsets in [start, end) (retention, truncation). */
export function clampCheckpoint(checkpoint: CleanerCheckpoint, start: number, end: number): CleanerCheckpoint {
  const cleaned: CleanedRange[] = [];
  for (const range of checkpoint.cleaned) {
    cleaned.push({ endOffset: Math.min(range.endOffset, end), cleanedAtMs: range.cleanedAtMs });
    if (range.endOffset >= end) break;
  }
  const firstDirtyOffset = Math.min(Math.max(checkpoint.firstDirtyOffset, start), end);
  const markers = (checkpoint.emptyMarkers ?? []).filter((m) => m.offset >= start && m.offset < end);
  // A range ending at or below the start covers only offsets that are gone.
  return withMarkers({ firstDirtyOffset, cleaned: cleaned.filter((r) => r.endOffset > start) }, markers);
}

export async function readCleanerCheckpoint(dir: string, topic: string, partition: number, logger: Logger): Promise<CleanerCheckpoint | null> {
  const path = join(dir, cleanerCheckpointFile);
  try {
    const rows = await readCheckpoint(path);
    if (rows === null) return null;
    const own = rows.find((r) => r[0] === topic && Number(r[1]) === partition);
    const cleaned = rows
      .filter((r) => r[0] === 'cleaned-below')
      .map((r) => ({ endOffset: checkpointInteger(path, r[1]), cleanedAtMs: checkpointInteger(path, r[2]) }));
    const markers = rows
      .filter((r) => r[0] === 'empty-txn-marker')
      .map((r) => ({ offset: checkpointInteger(path, r[1]), sinceMs: checkpointInteger(path, r[2]) }))
      .sort((a, b) => a.offset - b.offset);
    return withMarkers({ firstDirtyOffset: own === undefined ? 0 : checkpointInteger(path, own[2]), cleaned }, markers);
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    // Cleaning everything again is only work; tombstones then wait a whole delete.retention.ms more.
    logger.warn({ file: path }, `${error.message}; the whole log counts as dirty`);
    return null;
  }
}

/** Written (atomically, fsynced) only after the segments it describes are swapped in. */
export async function writeCleanerCheckpoint(dir: string, topic: string, partition: number, checkpoint: CleanerCheckpoint): Promise<void> {
  await writeCheckpoint(join(dir, cleanerCheckpointFile), [
    [topic, partition, checkpoint.firstDirtyOffset],
    ...checkpoint.cleaned.map((r) => ['cleaned-below', r.endOffset, r.cleanedAtMs]),
    ...(checkpoint.emptyMarkers ?? []).map((m) => ['empty-txn-marker', m.offset, m.sinceMs]),
  ]);
}

// ---------------------------------------------------------------------------------------
// Decisions: the cleanable part, its dirty ratio, the cleaner lag.

export interface CleanerStatus {
  firstDirtyOffset: number;
  /** Where the cleanable part ends: the active segment, or the first segment younger than min.compaction.lag.ms. */
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes); 0 when there is nothing to clean. */
  dirtyRatio: number;
  /** How long the oldest uncleaned record of a closed segment has waited (0 when none waits). */
  cleanerLagMs: number;
  maxCompactionLagExceeded: boolean;
  /** What the cleaner loop asks: compacted, something cleanable, and over the ratio or the max lag. */
  needsCleaning: boolean;
}

/**
 * The state of a log for the cleaner. `segments` ends with the active segment. A segment that
 * holds an offset at or above the high watermark is not cleanable: as in Kafka, only committed
 * records are compacted (an uncommitted suffix may be truncated, and a compacted one would
 * leave the replica with gaps where the new leader has records). Bytes of the segment that
 * holds the first dirty offset are split at the index entry before it (within
 * index.interval.bytes of the truth).
 */
export function cleanerStatus(
  segments: readonly Segment[], logStartOffset: number, firstDirty: number, now: number, config: CompactionConfig, highWatermark = Infinity,
): CleanerStatus {
  const active = segments[segments.length - 1]!;
  const closed = segments.slice(0, -1);
  const firstDirtyOffset = Math.min(Math.max(firstDirty, logStartOffset), active.baseOffset);
  let firstUncleanableOffset = active.baseOffset;
  let dirtyTimestamp = -1;
  for (const segment of closed) {
    if (segment.nextOffset <= firstDirtyOffset || segment.size === 0) continue;
    if (dirtyTimestamp < 0) dirtyTimestamp = segment.firstTimestamp ?? segment.maxTimestamp;
    const young = config.minCompactionLagMs > 0 && segment.maxTimestamp > now - config.minCompactionLagMs;
    if (young || segment.nextOffset > highWatermark) {
      firstUncleanableOffset = Math.max(firstDirtyOffset, segment.baseOffset);
      break;
    }
  }
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (const segment of closed) {
    if (segment.baseOffset >= firstUncleanableOffset) break;
    if (segment.nextOffset <= firstDirtyOffset) cleanBytes += segment.size;
    else if (segment.baseOffset >= firstDirtyOffset) dirtyBytes += segment.size;
    else {
      const split = segment.lookup(firstDirtyOffset);
      cleanBytes += split;
      dirtyBytes += segment.size - split;
    }
  }
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  const cleanerLagMs = dirtyTimestamp < 0 ? 0 : Math.max(0, now - dirtyTimestamp);
  const maxCompactionLagExceeded = dirtyTimestamp >= 0 && cleanerLagMs > config.maxCompactionLagMs;
  return {
    firstDirtyOffset, firstUncleanableOffset, cleanBytes, dirtyBytes, dirtyRatio, cleanerLagMs, maxCompactionLagExceeded,
    needsCleaning: config.compact && dirtyBytes > 0 && (dirtyRatio >= config.minCleanableDirtyRatio || maxCompactionLagExceeded),
  };
}

// ---------------------------------------------------------------------------------------
// Reading segments batch by batch, in bounded chunks.

interface SegmentBatch {
  /** The chunk the batch is in; `header.position` is relative to it. */
  bytes: Uint8Array;
  header: BatchHeader;
}

/** Every batch of a (closed) segment from file position `from`, CRC-checked, reading `chunkBytes` at a time. */
export async function* segmentBatches(segment: Segment, from: number, chunkBytes: number): AsyncGenerator<SegmentBatch> {
  const end = segment.size;
  let position = from;
  while (position < end) {
    let chunk: Uint8Array = await segment.read(position, Math.min(chunkBytes, end - position));
    let scan = scanBatches(chunk, 0, chunk.length, crc32c);
    if (scan.headers.length === 0 && scan.error?.reason === 'truncated' && chunk.length >= batchOverheadBytes) {
      // One batch larger than the chunk: read exactly it.
      const size = batchOverheadBytes + new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getInt32(batchFieldOffsets.batchLength);
      if (size > chunk.length && position + size <= end) {
        chunk = await segment.read(position, size);
        scan = scanBatches(chunk, 0, chunk.length, crc32c);
      }
    }
    for (const header of scan.headers) yield { bytes: chunk, header };
    const cutByChunk = scan.error?.reason === 'truncated' && scan.validEnd > 0 && position + chunk.length < end;
    if (scan.error !== null && !cutByChunk) throw new CleanerCorruptionError(segment.logPath, position + scan.validEnd, scan.error.reason);
    position += scan.validEnd;
  }
}

// ---------------------------------------------------------------------------------------
// A pass.

export interface OffsetMapBuild {
  /** The map covers the dirty offsets in [from, endOffset). */
  endOffset: number;
  bytesRead: number;
}

/**
 * Fills `map` from the dirty part [from, to) of the closed segments, batch by batch, until
 * the next batch could overflow it; the pass then covers only that prefix and the next pass
 * goes on from its end. Compressed batches, markers and the data of the `aborted`
 * transactions are left out (cleaner-txns.ts).
 */
export async function buildOffsetMap(
  closed: readonly Segment[], from: number, to: number, map: OffsetMap, chunkBytes: number, aborted: readonly AbortedTxn[] = [],
): Promise<OffsetMapBuild> {
  const abortedIndex = abortedByProducer(aborted);
  let bytesRead = 0;
  for (const segment of closed) {
    if (segment.nextOffset <= from || segment.size === 0) continue;
    if (segment.baseOffset >= to) break;
    const start = segment.baseOffset >= from ? 0 : segment.lookup(from);
    for await (const { bytes, header } of segmentBatches(segment, start, chunkBytes)) {
      if (header.lastOffset < from) continue;
      if (header.baseOffset >= to) return { endOffset: to, bytesRead };
      if (mapsRecords(abortedIndex, header)) {
        const keyed = recordSpans(bytes, header).filter((span) => span.key !== null);
        if (map.size + keyed.length > map.entriesMax) {
          if (map.size === 0) {
            throw new RangeError(`the cleaner's offset map (${map.entriesMax} keys) cannot hold the ${keyed.length} records of the batch at offset ${header.baseOffset}`);
          }
          return { endOffset: header.baseOffset, bytesRead };
        }
        for (const span of keyed) map.put(keyDigest(span.key!), span.offset);
      }
      bytesRead += header.sizeBytes;
    }
  }
  return { endOffset: to, bytesRead };
}

/** Consecutive segments rewritten into one: together at most segment.bytes, offsets within 32 bits of the first. */
export function groupSegments(segments: readonly Segment[], segmentBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let current: Segment[] = [];
  let size = 0;
  for (const segment of segments) {
    const head = current[0];
    if (head !== undefined && (size + segment.size > segmentBytes || segment.nextOffset - 1 - head.baseOffset > relativeOffsetMax)) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(segment);
    size += segment.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export interface GroupCleaning {
  map: OffsetMap;
  now: number;
  checkpoint: CleanerCheckpoint;
  deleteRetentionMs: number;
  /**
   * Every replica has fetched past it: an expired tombstone above it stays (a lagging replica
   * may still hold the value it deleted, and must get it).
   */
  tombstoneHorizon: number;
  /** Base offsets of the batches idempotent-producer state points at: kept even when emptied. */
  producerBatchOffsets: ReadonlySet<number>;
  /** The pass's transaction state, fed every batch of every group in log order. */
  txns: TxnPass;
  indexIntervalBytes: number;
  chunkBytes: number;
}

/** What a rewrite removed (the real cleaner's group, the simulated cleaner's pass). */
export interface CleaningCounts {
  /** False when nothing was removed. */
  changed: boolean;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Data batches of aborted transactions removed (or emptied) and commit markers removed. */
  abortedBatchesRemoved: number;
  markersRemoved: number;
}

export interface CleanedGroup extends CleaningCounts {
  /** The rewritten segment, as `B.log.cleaned` (+ indexes), fsynced; when nothing changed the old segments stay and it is deleted. */
  segment: Segment;
  bytesRead: number;
}

/**
 * A tombstone goes once delete.retention.ms has passed since a pass first covered it (KIP-534)
 * and every replica has fetched past it. Kafka asks only the first; a replica that was away
 * longer than delete.retention.ms then catches up without the tombstone and keeps the value it
 * deleted for good. The cost: while a replica is away (dead, even), tombstones above what it
 * fetched stay, at most one per key.
 */
export function tombstoneExpired(offset: number, checkpoint: CleanerCheckpoint, now: number, deleteRetentionMs: number, tombstoneHorizon: number): boolean {
  if (offset >= tombstoneHorizon) return false;
  const cleanedAt = firstCleanedAt(checkpoint, offset);
  return cleanedAt !== null && now - cleanedAt >= deleteRetentionMs;
}

/** Why the cleaner keeps or drops one record. */
export type RecordVerdict = 'keep' | 'superseded' | 'expired-tombstone';

function keepRecord(span: RecordSpan, work: GroupCleaning): RecordVerdict {
  // Kafka's cleaner drops keyless records too: a compacted log cannot hold them.
  if (span.key === null) return 'superseded';
  const found = work.map.get(keyDigest(span.key));
  if (found.kind === 'latest' && span.offset < found.offset) return 'superseded';
  if (span.isTombstone) return tombstoneExpired(span.offset, work.checkpoint, work.now, work.deleteRetentionMs, work.tombstoneHorizon) ? 'expired-tombstone' : 'keep';
  return 'keep';
}

/** A batch read by cleanGroup, waiting to be written until the next shows whether it is the group's last. */
interface PendingBatch {
  /** The batch alone (a copy: the chunk it was read in is reused by the next read). */
  bytes: Uint8Array;
  header: BatchHeader;
  action: TxnBatchAction;
  /** For action 'records': its records and those kept; for 'remove' of an uncompressed data batch: its records. */
  spans: RecordSpan[];
  kept: RecordSpan[];
}

/**
 * Rewrites the group into `B.log.cleaned`. A batch keeps its surviving records; an emptied
 * batch (or one the transaction rules remove) is dropped unless producer state points at it
 * or it is the group's last (kept, empty, so that the swap file ends where the group ended;
 * a marker or a compressed batch is kept as it is then).
 */
export async function cleanGroup(dir: string, group: readonly Segment[], work: GroupCleaning): Promise<CleanedGroup> {
  const cleaned = await Segment.open(dir, group[0]!.baseOffset, true, '.cleaned');
  const result: CleanedGroup = {
    segment: cleaned, changed: false, bytesRead: 0, recordsRemoved: 0, tombstonesRemoved: 0, abortedBatchesRemoved: 0, markersRemoved: 0,
  };
  const retainedForProducer = (header: BatchHeader): boolean => header.producerId >= 0 && work.producerBatchOffsets.has(header.baseOffset);
  try {
    let pending: PendingBatch | null = null;
    const emit = async (isLast: boolean): Promise<void> => {
      if (pending === null) return;
      const { bytes, header, action, spans, kept } = pending;
      pending = null;
      const out = cleanedBatch(bytes, header, action, spans, kept, isLast || retainedForProducer(header), result);
      if (out !== null) cleaned.append(out, [readBatchHeader(out, 0)], work.indexIntervalBytes);
    };
    for (const segment of group) {
      result.bytesRead += segment.size;
      for await (const { bytes, header } of segmentBatches(segment, 0, work.chunkBytes)) {
        await emit(false);
        const action = work.txns.next(header, retainedForProducer(header));
        const own = bytes.slice(header.position, header.position + header.sizeBytes);
        const ownHeader = { ...header, position: 0 };
        const judged = action !== 'keep' && header.compression === 0 && !header.isControl;
        const spans = judged ? recordSpans(own, ownHeader) : [];
        const kept = action === 'records' ? spans.filter((span) => countVerdict(keepRecord(span, work), result)) : [];
        pending = { bytes: own, header: ownHeader, action, spans, kept };
      }
    }
    await emit(true);
    await cleaned.sealTimeIndex();
    await cleaned.flush();
    await cleaned.flushIndexes();
    return result;
  } catch (error) {
    await cleaned.delete();
    throw error;
  }
}

/** Counts a record's verdict; true when it stays. */
export function countVerdict(verdict: RecordVerdict, result: CleaningCounts): boolean {
  if (verdict === 'keep') return true;
  result.recordsRemoved += 1;
  if (verdict === 'expired-tombstone') result.tombstonesRemoved += 1;
  return false;
}

/**
 * What replaces a batch (alone in `bytes`) in the cleaned log, or null when it goes; counts
 * what went. `spans` are its records when they were judged, `kept` those that stay; `needed`
 * says the batch must stay, emptied if need be.
 */
export function cleanedBatch(
  bytes: Uint8Array, header: BatchHeader, action: TxnBatchAction, spans: readonly RecordSpan[], kept: readonly RecordSpan[], needed: boolean,
  result: CleaningCounts,
): Uint8Array | null {
  if (action === 'keep') return bytes;
  if (action === 'remove') {
    const opaque = header.isControl || header.compression !== 0;
    if (needed && (opaque || spans.length === 0)) return bytes;
    result.changed = true;
    if (header.isControl) result.markersRemoved += 1;
    else {
      result.abortedBatchesRemoved += 1;
      result.recordsRemoved += opaque ? header.recordCount : spans.length;
    }
    return needed ? rebuildBatch(bytes, header, []) : null;
  }
  if (kept.length === spans.length && kept.length > 0) return bytes;
  if (kept.length > 0) {
    result.changed = true;
    return rebuildBatch(bytes, header, kept);
  }
  if (needed) {
    // Emptied now, or already empty from an earlier pass.
    if (spans.length > 0) result.changed = true;
    return spans.length === 0 ? bytes : rebuildBatch(bytes, header, kept);
  }
  result.changed = true;
  return null;
}

/** Stops the pass here when a test asked for it. */
export function stopIfAsked(step: CleanerStep, stopAt: CleanerStep | undefined): void {
  if (stopAt === step) throw new CleanerStoppedError(step);
}

// ---------------------------------------------------------------------------------------
// Recovery.

const swapLogName = new RegExp(`^(\\d{${segmentNameDigits}})\\.log\\.swap$`);
const liveSegmentFile = new RegExp(`^(\\d{${segmentNameDigits}})\\.(log|index|timeindex)$`);

/**
 * At open: finishes the swaps a crash interrupted after their commit (the `.log.swap` rename).
 * Each swap file replaces the segments whose base lies in [B, E); its indexes are dropped and
 * rebuilt by recovery. `.cleaned` files (not committed) must be deleted before this runs.
 */
export async function completeInterruptedSwaps(dir: string, logger: Logger): Promise<number> {
  const names = await readdir(dir);
  let completed = 0;
  for (const name of names) {
    const match = swapLogName.exec(name);
    if (match === null) continue;
    const base = Number(match[1]);
    const end = await nextOffsetOfFile(join(dir, name), base);
    for (const other of names) {
      const live = liveSegmentFile.exec(other);
      if (live === null) continue;
      const otherBase = Number(live[1]);
      if (otherBase >= base && otherBase < end) await rm(join(dir, other), { force: true });
    }
    for (const other of names) if (other.startsWith(match[1]!) && other.endsWith('index.swap')) await rm(join(dir, other), { force: true });
    await syncDirectory(dir);
    await rename(join(dir, name), join(dir, name.slice(0, -'.swap'.length)));
    await syncDirectory(dir);
    completed += 1;
    logger.warn({ dir, segment: base, endOffset: end }, `recovery: completed the interrupted cleaner swap of ${name}, replacing the segments in [${base}, ${end})`);
  }
  return completed;
}

/** One past the last offset of the batches in a file (the file's base when it holds none), walking headers only. */
async function nextOffsetOfFile(path: string, base: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(batchHeaderBytes);
    let position = 0;
    let next = base;
    while (position + batchHeaderBytes <= size) {
      const { bytesRead } = await handle.read(header, 0, batchHeaderBytes, position);
      if (bytesRead < batchHeaderBytes) break;
      const parsed = readBatchHeader(header, 0);
      if (parsed.sizeBytes < batchHeaderBytes || position + parsed.sizeBytes > size) break;
      next = parsed.lastOffset + 1;
      position += parsed.sizeBytes;
    }
    return next;
  } finally {
    await handle.close();
  }
}
