// The on-disk log of one partition replica: segments of Kafka record batches, sparse
// indexes, a leader-epoch checkpoint and a recovery-point checkpoint, with appends that
// share fsyncs, reads served as file slices, truncation, retention, compaction (cleaner.ts)
// and crash recovery.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  type BatchHeader, InvalidBatchError, batchHeaderBytes, readBatchHeader, scanBatches, setBaseOffset,
  setPartitionLeaderEpoch,
} from '../../actors/protocol/record-batch.js';
import { crc32c, decodeRecords } from './record-batch.js';
import { CheckpointError, checkpointInteger, readCheckpoint, syncDirectory, writeCheckpoint } from './checkpoint.js';
import type { ProducerSnapshot, TxnSnapshot } from '../../actors/protocol/effects.js';
import {
  type PartitionTxns, copyTxns, emptyTxns, lastStableOffset, noteTxnBatch, pruneAborted, stabilizeTxns, truncateTxns,
} from '../../actors/partition/txn-index.js';
import {
  type ProducerStates, producersFromSnapshot, replayBatch, snapshotProducers, truncateProducers,
} from '../../actors/partition/producer-state.js';
import { Segment, segmentNameDigits } from './segment.js';
import {
  type CleanerCheckpoint, type CleanerStatus, type CleanerStep, CleanerStoppedError, type CompactionConfig, afterPass, buildOffsetMap, clampCheckpoint,
  cleanGroup, cleanerReadChunkBytes, cleanerStatus, completeInterruptedSwaps, defaultCompactionConfig, groupSegments,
  readCleanerCheckpoint, stopIfAsked, writeCleanerCheckpoint,
} from './cleaner.js';
import { TxnPass, withoutRemovedAborts } from './cleaner-txns.js';
import { type RecordSpan, recordSpans } from './compacted-batch.js';
import { OffsetMap, defaultOffsetMapBytes } from './offset-map.js';
import type { LogTail } from './tail-cache.js';

export interface LogConfig {
  /** log.segment.bytes */
  segmentBytes: number;
  /** log.roll.ms */
  segmentMs: number;
  /** index.interval.bytes */
  indexIntervalBytes: number;
  /** retention.ms; -1 keeps everything */
  retentionMs: number;
  /** retention.bytes; -1 keeps everything */
  retentionBytes: number;
  /** flush.messages: fsync after this many unflushed records (1: before every acknowledgement). */
  flushMessages: number;
  /** flush.ms: fsync at most this long after an append. */
  flushMs: number;
  /** message.max.bytes: the largest batch accepted. */
  maxBatchBytes: number;
  // Compaction (cleanup.policy, ...): absent means Kafka's default (see defaultCompactionConfig).
  /** cleanup.policy includes compact. */
  compact?: boolean;
  /** delete.retention.ms */
  deleteRetentionMs?: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio?: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs?: number;
  /** max.compaction.lag.ms */
  maxCompactionLagMs?: number;
}

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  flushMessages: 1,
  flushMs: 1000,
  maxBatchBytes: 1024 * 1024 + 12,
};

export const recoveryPointFile = 'recovery-point-offset-checkpoint';
export const leaderEpochFile = 'leader-epoch-checkpoint';
/** Idempotent producers' last batches below the recovery point (Kafka keeps .snapshot files). */
export const producerStateFile = 'producer-state-checkpoint';
/**
 * Transactions: the unstable ones and the aborted ones (Kafka keeps .txnindex files), as of
 * the log end named in its first entry; recovery replays the batches from there on.
 */
export const txnStateFile = 'transaction-state-checkpoint';
/** How much of a segment recovery reads at a time. */
export const recoveryChunkBytes = 8 * 1024 * 1024;

export class OffsetOutOfRangeError extends Error {
  constructor(readonly offset: number, readonly logStartOffset: number, readonly logEndOffset: number) {
    super(`offset ${offset} is outside the log [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** A batch whose bytes do not match its CRC (or structure) was found where a read wanted it. */
export class CorruptRecordError extends Error {
  constructor(readonly file: string, readonly position: number, readonly reason: string) {
    super(`${file}: corrupt record batch at byte ${position}: ${reason}`);
  }
}

export class InvalidAppendError extends Error {}

/**
 * A record the log refuses for what it is, not for the batch's bytes: a keyless record on a
 * compacted topic (Kafka: CorruptRecordException, INVALID_RECORD to the producer).
 */
export class InvalidRecordError extends InvalidAppendError {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/** How a cleaning pass went. */
export interface CleanStats {
  /** Bytes read to build the offset map and to rewrite segments. */
  bytesRead: number;
  /** Bytes of the segments written in place of old ones. */
  bytesWritten: number;
  recordsRemoved: number;
  /** Tombstones removed because delete.retention.ms had passed since they were first cleaned. */
  tombstonesRemoved: number;
  /** Data batches of aborted transactions removed (or emptied), commit markers removed (cleaner-txns.ts). */
  abortedBatchesRemoved: number;
  markersRemoved: number;
  dirtyRatioBefore: number;
  dirtyRatioAfter: number;
  /** The first dirty offset before and after the pass (after < the cleanable end: another pass is due). */
  firstDirtyBefore: number;
  firstDirtyAfter: number;
  segmentsSwapped: number;
  /** The log changed under the pass (truncation, retention, close): it stopped, the first dirty offset unmoved. */
  abandoned: boolean;
}

export interface CleanOptions {
  /** A map to reuse (the node's cleaner keeps one); otherwise one of offsetMapBytes is made for the pass. */
  offsetMap?: OffsetMap;
  offsetMapBytes?: number;
  /** Test hook: stop the pass after this step of the first swap, as a crash there would. */
  stopAt?: CleanerStep;
}

export interface AppendResult {
  firstOffset: number;
  lastOffset: number;
  recordCount: number;
  maxTimestamp: number;
}

export interface ReadResult {
  /** Whole record batches, as stored (the bytes of the file, not decoded). */
  bytes: Buffer;
  firstOffset: number;
  /** The offset after the last batch returned (where the next read starts). */
  nextOffset: number;
}

interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class PartitionLog {
  private segments: Segment[] = [];
  logStartOffset = 0;
  /** Idempotent producers' state, from every batch appended or recovered. */
  private producers: ProducerStates = new Map();
  /** Transactions, from every batch appended or recovered (actors/partition/txn-index.ts). */
  private txns: PartitionTxns = emptyTxns();
  /**
   * Whether the transaction state may differ from its checkpoint: a log that never sees a
   * transactional batch writes that checkpoint once, not at every roll (its older end stays
   * right: no batch after it has anything to replay).
   */
  private txnsDirty = true;
  /** Offsets below this are on disk (fsynced). */
  flushedOffset = 0;
  /** Offsets below this are known good: recovery starts here. */
  recoveryPoint = 0;
  private epochs: EpochEntry[] = [];
  private unflushedRecords = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private durableWaiters: Array<{ offset: number; resolve: () => void }> = [];
  /** Appends, truncations and retention run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The first dirty offset and when ranges of offsets were first cleaned. */
  private cleaner: CleanerCheckpoint = { firstDirtyOffset: 0, cleaned: [] };
  /** Cleaning passes run one at a time, beside the queue (only their swaps go through it). */
  private cleaning: Promise<unknown> = Promise.resolve();
  /** Truncations so far: a pass during which one happened does not move the first dirty offset. */
  private truncations = 0;
  /** Reads under way; segments swapped out are closed once none is. */
  private readsInFlight = 0;
  private retired: Segment[] = [];
  private highWatermark: number | null = null;
  /** During recovery: the log end the transaction checkpoint is as of. */
  private txnStateEnd = 0;
  /** Every replica of the partition holds the offsets below it: only there are expired tombstones removed. */
  private tombstoneHorizon: number | null = null;
  /** The node's cache of this log's latest batches (tail-cache.ts), when it has one: reads from its first batch on are answered from it. */
  private tail: LogTail | null = null;
  /** The topic's compaction settings, Kafka's defaults filled in. */
  readonly compaction: CompactionConfig;

  private constructor(
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
    readonly config: LogConfig,
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {
    const d = defaultCompactionConfig;
    this.compaction = {
      compact: config.compact ?? d.compact,
      deleteRetentionMs: config.deleteRetentionMs ?? d.deleteRetentionMs,
      minCleanableDirtyRatio: config.minCleanableDirtyRatio ?? d.minCleanableDirtyRatio,
      minCompactionLagMs: config.minCompactionLagMs ?? d.minCompactionLagMs,
      maxCompactionLagMs: config.maxCompactionLagMs ?? d.maxCompactionLagMs,
    };
  }

  /** Opens the log in `dir`, recovering from an unclean shutdown if there was one. */
  static async open(dir: string, topic: string, partition: number, config: LogConfig, logger: Logger, clock: () => number = Date.now): Promise<PartitionLog> {
    await mkdir(dir, { recursive: true });
    const log = new PartitionLog(dir, topic, partition, config, logger, clock);
    await log.recover();
    return log;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, the active one last. */
  get segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** The leader epochs and the offset each began at (the leader-epoch cache). */
  get epochEntries(): ReadonlyArray<Readonly<EpochEntry>> {
    return this.epochs;
  }

  producerSnapshot(): ProducerSnapshot[] {
    return snapshotProducers(this.producers);
  }

  txnSnapshot(): TxnSnapshot {
    return copyTxns(this.txns);
  }

  /** The last epoch and the offset where the log for it ends: the answer to OffsetForLeaderEpoch. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    let found = -1;
    for (let i = 0; i < this.epochs.length; i++) if (this.epochs[i]!.epoch <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const next = this.epochs[found + 1];
    return { epoch: this.epochs[found]!.epoch, endOffset: next === undefined ? this.logEndOffset : next.startOffset };
  }

  /**
   * Appends record batches. As leader (`leaderEpoch` given) the log assigns offsets and the
   * partition leader epoch in place; as follower the batches keep theirs, which must start
   * at the log end. Validates each batch (structure and CRC-32C) first: nothing of an invalid
   * append is written. Not durable until flushed (see waitDurable).
   * The log takes `bytes` over: as leader it writes the offsets into them, without a copy.
   */
  append(bytes: Uint8Array, leaderEpoch?: number): Promise<AppendResult> {
    return this.enqueue(() => this.appendNow(bytes, leaderEpoch));
  }

  /**
   * Resolves once every offset below `offset` is on disk. With flush.messages reached it
   * flushes now (sharing the fsync with everyone else waiting); otherwise the flush.ms timer
   * does it.
   */
  async waitDurable(offset: number): Promise<void> {
    if (this.flushedOffset >= offset) return;
    if (this.unflushedRecords >= this.config.flushMessages) {
      await this.flush();
      if (this.flushedOffset >= offset) return;
    }
    await new Promise<void>((resolve) => {
      this.durableWaiters.push({ offset, resolve });
      this.armFlushTimer();
    });
  }

  /**
   * fsyncs everything appended so far. Concurrent callers share one fsync: a caller that
   * arrives during a flush waits for it, then at most one more flush covers everyone.
   */
  async flush(): Promise<void> {
    while (this.flushing !== null) {
      const target = this.logEndOffset;
      await this.flushing;
      if (this.flushedOffset >= target) return;
    }
    const target = this.logEndOffset;
    if (this.flushedOffset >= target) return;
    this.flushing = (async () => {
      const records = this.unflushedRecords;
      // Sealed segments were synced when they rolled: usually only the active one is dirty.
      for (const segment of this.segments) if (segment.dirty) await segment.flush();
      this.flushedOffset = Math.max(this.flushedOffset, target);
      this.recoveryPoint = Math.max(this.recoveryPoint, target);
      this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
      this.releaseDurableWaiters();
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  /**
   * Keeps the batches appended from now on in `tail` as well, and answers reads from it
   * (NodeStorage gives every log its part of the node's tail cache).
   */
  cacheTail(tail: LogTail): void {
    this.tail?.clear();
    this.tail = tail;
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes` (at
   * least one batch, as Kafka does since KIP-74), never past `maxOffset` (exclusive, e.g.
   * the high watermark), from one segment. Every batch returned has had its CRC checked
   * (when it was appended, for a read the tail cache answers).
   */
  async read(offset: number, maxBytes: number, maxOffset = this.logEndOffset): Promise<ReadResult> {
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new OffsetOutOfRangeError(offset, this.logStartOffset, this.logEndOffset);
    }
    const limit = Math.min(maxOffset, this.logEndOffset);
    const cached = this.tail?.read(offset, maxBytes, limit) ?? null;
    if (cached !== null) return cached;
    // The cleaner's swap replaces the array, never edits it: a read keeps the segments it began with.
    const segments = this.segments;
    this.readsInFlight += 1;
    try {
      let segmentIndex = this.segmentFor(offset, segments);
      while (segmentIndex < segments.length) {
        const segment = segments[segmentIndex]!;
        const found = await this.readFromSegment(segment, offset, maxBytes, limit);
        if (found !== null) return found;
        // The offset lies in a gap at the end of this segment (after truncation or compaction).
        segmentIndex += 1;
        if (segmentIndex < segments.length) offset = Math.max(offset, segments[segmentIndex]!.baseOffset);
      }
      return { bytes: Buffer.alloc(0), firstOffset: offset, nextOffset: offset };
    } finally {
      this.readsInFlight -= 1;
      if (this.readsInFlight === 0 && this.retired.length > 0) await this.closeRetired();
    }
  }

  /** Drops every batch that holds an offset at or after `offset` (replica divergence). Returns the new log end. */
  truncateTo(offset: number): Promise<number> {
    return this.enqueue(() => this.truncateNow(offset));
  }

  /** Deletes whole segments past retention.ms or beyond retention.bytes; never the active one. */
  applyRetention(): Promise<number> {
    return this.enqueue(() => this.retentionNow());
  }

  /** Closes the active segment and starts a new one at the log end (Kafka's Log.roll); nothing happens while it is empty. */
  rollSegment(): Promise<void> {
    return this.enqueue(async () => {
      if (!this.active.isEmpty) await this.roll(this.logEndOffset);
    });
  }

  /** Writes the recovery-point and leader-epoch checkpoints. */
  checkpoint(): Promise<void> {
    return this.enqueue(() => this.checkpointNow());
  }

  /** Where the cleaner's next pass starts: offsets below it have been compacted. */
  get firstDirtyOffset(): number {
    return this.cleaner.firstDirtyOffset;
  }

  /**
   * The replica's high watermark and tombstone horizon, from its actor: the cleaner compacts
   * only segments wholly below the high watermark, and removes expired tombstones only below
   * the horizon (every replica, in the ISR or not, has fetched past it). Until it is told, the
   * log counts every closed segment as committed and every replica as caught up (a log used
   * alone, as in tests); the node's cleaner loop leaves such logs alone.
   */
  setHighWatermark(offset: number, tombstoneHorizon: number): void {
    this.highWatermark = offset;
    this.tombstoneHorizon = tombstoneHorizon;
    if (this.txns.unstable.length > 0) {
      stabilizeTxns(this.txns, offset);
      this.txnsDirty = true;
    }
  }

  /**
   * Where cleaning stops: the high watermark, or the last stable offset below it (Kafka's
   * cleaner leaves unstable transactions alone); while no watermark is known (a log used
   * alone, as in tests), everything up to the first open transaction.
   */
  private get cleanableEnd(): number {
    if (this.highWatermark !== null) return lastStableOffset(this.txns, this.highWatermark);
    return this.txns.unstable.find((t) => t.markerOffset < 0)?.firstOffset ?? Infinity;
  }

  get knowsHighWatermark(): boolean {
    return this.highWatermark !== null;
  }

  /** Dirty ratio, cleaner lag and whether the log is due for cleaning, at `now`. */
  cleanerStatus(now: number = this.clock()): CleanerStatus {
    return cleanerStatus(this.segments, this.logStartOffset, this.cleaner.firstDirtyOffset, now, this.compaction, this.cleanableEnd);
  }

  /** Dirty bytes / bytes of the cleanable part (for metrics). */
  get dirtyRatio(): number {
    return this.cleanerStatus().dirtyRatio;
  }

  /** How long the oldest uncleaned record of a closed segment has waited, in ms (for metrics). */
  get cleanerLagMs(): number {
    return this.cleanerStatus().cleanerLagMs;
  }

  /**
   * One cleaning pass (cleanup.policy=compact): compacts the committed closed segments up to
   * where the offset map ends, whatever the dirty ratio (the node's cleaner loop asks
   * cleanerStatus first), and removes the tombstones whose delete.retention.ms has passed.
   * Appends and reads go on meanwhile; each group of segments is swapped in inside the
   * operation queue. A log that is not compacted is left alone.
   */
  clean(now: number = this.clock(), options: CleanOptions = {}): Promise<CleanStats> {
    const pass = this.cleaning.then(() => this.cleanNow(now, options));
    this.cleaning = pass.catch(() => undefined);
    return pass;
  }

  async close(): Promise<void> {
    await this.cleaning;
    await this.enqueue(async () => {
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.flushTimer = null;
    });
    await this.flush();
    this.releaseDurableWaiters();
    await this.checkpointNow();
    this.closed = true;
    this.tail?.clear();
    for (const segment of this.segments) {
      await segment.flushIndexes();
      await segment.close();
    }
    await this.closeRetired();
  }

  /**
   * Lets go of the files as a crashed process would: no flush, no checkpoint. For tests that
   * simulate a crash; the log object is unusable afterwards.
   */
  async abandon(): Promise<void> {
    await this.cleaning;
    await this.queue;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.closed = true;
    this.tail?.clear();
    for (const segment of this.segments) await segment.close();
    await this.closeRetired();
  }

  // ---------------------------------------------------------------------------------------

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async appendNow(bytes: Uint8Array, leaderEpoch: number | undefined): Promise<AppendResult> {
    if (this.closed) throw new InvalidAppendError('the log is closed');
    const scan = scanBatches(bytes, 0, bytes.length, crc32c);
    if (scan.error !== null) throw new InvalidAppendError(`invalid record batch at byte ${scan.error.position}: ${scan.error.reason}`);
    if (scan.headers.length === 0) throw new InvalidAppendError('no record batches');
    let next = this.logEndOffset;
    for (const header of scan.headers) {
      if (header.sizeBytes > this.config.maxBatchBytes) throw new InvalidAppendError(`batch of ${header.sizeBytes} bytes exceeds ${this.config.maxBatchBytes}`);
      if (leaderEpoch !== undefined) {
        setBaseOffset(bytes, header.position, next);
        setPartitionLeaderEpoch(bytes, header.position, leaderEpoch);
        header.baseOffset = next;
        header.lastOffset = next + header.lastOffsetDelta;
        header.partitionLeaderEpoch = leaderEpoch;
      } else if (header.baseOffset < next) {
        throw new InvalidAppendError(`batch at offset ${header.baseOffset} is below the log end ${next}`);
      }
      next = header.lastOffset + 1;
    }
    if (leaderEpoch !== undefined && this.compaction.compact) this.refuseKeylessRecords(bytes, scan.headers);
    const first = scan.headers[0]!;
    if (this.shouldRoll(bytes.length, first)) await this.roll(first.baseOffset);
    this.active.append(bytes, scan.headers, this.config.indexIntervalBytes);
    this.tail?.append(bytes, scan.headers, this.active.baseOffset);
    let recordCount = 0;
    let maxTimestamp = -1;
    for (const header of scan.headers) {
      recordCount += header.recordCount;
      maxTimestamp = Math.max(maxTimestamp, header.maxTimestamp);
      if (header.producerId >= 0) {
        replayBatch(this.producers, header);
        if (header.isTransactional) {
          noteTxnBatch(this.txns, header);
          this.txnsDirty = true;
        }
      }
      // Only a new epoch writes the checkpoint: the usual append awaits nothing here.
      if (header.partitionLeaderEpoch > (this.epochs[this.epochs.length - 1]?.epoch ?? -1)) await this.noteEpoch(header.partitionLeaderEpoch, header.baseOffset);
    }
    this.unflushedRecords += recordCount;
    if (this.config.flushMessages > 1) this.armFlushTimer();
    return { firstOffset: first.baseOffset, lastOffset: next - 1, recordCount, maxTimestamp };
  }

  /**
   * A compacted log keeps the latest record per key: a record without one cannot be in it
   * (Kafka refuses the batch with INVALID_RECORD). Compressed batches cannot be looked into
   * here (no codecs in the repo) and pass; control batches carry their own keys.
   */
  private refuseKeylessRecords(bytes: Uint8Array, headers: readonly BatchHeader[]): void {
    for (const header of headers) {
      if (header.isControl || header.compression !== 0) continue;
      let spans: RecordSpan[];
      try {
        spans = recordSpans(bytes, header);
      } catch (error) {
        throw new InvalidAppendError(`invalid record batch at offset ${header.baseOffset}: ${(error as Error).message}`);
      }
      const keyless = spans.find((span) => span.key === null);
      if (keyless !== undefined) {
        throw new InvalidRecordError(keyless.offset,
          `compacted topic ${this.topic} partition ${this.partition} cannot accept a record without a key (the record at offset ${keyless.offset})`);
      }
    }
  }

  private shouldRoll(incomingBytes: number, first: BatchHeader): boolean {
    const active = this.active;
    if (active.isEmpty) return false;
    if (active.size + incomingBytes > this.config.segmentBytes) return true;
    // A compacted log rolls by max.compaction.lag.ms too (KIP-354): the active segment is never cleaned.
    const compaction = this.compaction;
    const rollMs = compaction.compact ? Math.min(this.config.segmentMs, compaction.maxCompactionLagMs) : this.config.segmentMs;
    if (active.firstTimestamp !== null && first.maxTimestamp - active.firstTimestamp >= rollMs) return true;
    // Relative offsets in the index are 32-bit.
    return first.lastOffset - active.baseOffset > 0x7fffffff;
  }

  private async roll(baseOffset: number): Promise<void> {
    const previous = this.active;
    await previous.sealTimeIndex();
    await previous.flush();
    await previous.flushIndexes();
    if (this.flushedOffset >= previous.baseOffset) this.flushedOffset = Math.max(this.flushedOffset, previous.nextOffset);
    this.segments.push(await Segment.open(this.dir, baseOffset, true));
    await this.checkpointNow();
  }

  private releaseDurableWaiters(): void {
    const waiting = this.durableWaiters;
    this.durableWaiters = waiting.filter((w) => w.offset > this.flushedOffset);
    for (const waiter of waiting) if (waiter.offset <= this.flushedOffset) waiter.resolve();
  }

  private armFlushTimer(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush().catch((error: Error) => this.logger.error({ err: error, dir: this.dir }, `flush failed: ${error.message}`));
    }, this.config.flushMs);
    this.flushTimer.unref();
  }

  private async noteEpoch(epoch: number, startOffset: number): Promise<void> {
    if (epoch < 0) return;
    const last = this.epochs[this.epochs.length - 1];
    if (last !== undefined && last.epoch >= epoch) return;
    this.epochs.push({ epoch, startOffset });
    await this.writeEpochCheckpoint();
  }

  private segmentFor(offset: number, segments: readonly Segment[]): number {
    let low = 0;
    let high = segments.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (segments[mid]!.baseOffset <= offset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  private async readFromSegment(segment: Segment, offset: number, maxBytes: number, limit: number): Promise<ReadResult | null> {
    const found = await this.batchHolding(segment, offset);
    if (found === null) return null;
    const start = found.position;
    let end = start;
    let firstOffset = -1;
    let nextOffset = offset;
    const window = await segment.read(start, Math.max(maxBytes, batchHeaderBytes));
    let at = 0;
    for (;;) {
      if (end >= segment.size) break;
      let header: BatchHeader;
      if (at + batchHeaderBytes <= window.length) header = this.parseHeader(segment, window, at, start);
      else header = await this.headerAt(segment, end);
      if (header.baseOffset >= limit) break;
      if (header.lastOffset >= limit) break; // never hand out part of a batch above the limit
      if (end > start && end - start + header.sizeBytes > maxBytes) break;
      if (firstOffset < 0) firstOffset = header.baseOffset;
      end += header.sizeBytes;
      at += header.sizeBytes;
      nextOffset = header.lastOffset + 1;
    }
    if (end === start) return { bytes: Buffer.alloc(0), firstOffset: offset, nextOffset: offset };
    const bytes = end - start <= window.length ? window.subarray(0, end - start) : await segment.read(start, end - start);
    const check = scanBatches(bytes, 0, bytes.length, crc32c);
    if (check.error !== null) {
      this.distrust(segment);
      throw new CorruptRecordError(segment.logPath, start + check.error.position, check.error.reason);
    }
    return { bytes, firstOffset, nextOffset };
  }

  /**
   * The first offset below `maxOffset` whose record timestamp is at or after `timestamp`
   * (ListOffsets by time), or -1. Segments are skipped by their largest timestamp and
   * searched from the time index; records are looked at only in the one batch that matters.
   */
  offsetForTime(timestamp: number, maxOffset = this.logEndOffset): Promise<{ offset: number; timestamp: number }> {
    return this.enqueue(() => this.findOffsetForTime(timestamp, maxOffset));
  }

  /**
   * The first record with the log's largest timestamp (ListOffsets' max timestamp, KIP-734), or
   * -1 when it lies at or past `maxOffset` or the log has no timestamps: Kafka finds it in the
   * whole log and then answers as not found when it is past the last fetchable offset. It is
   * the first record at or after that timestamp, so the lookup by time finds it.
   */
  offsetOfMaxTimestamp(maxOffset = this.logEndOffset): Promise<{ offset: number; timestamp: number }> {
    return this.enqueue(() => {
      let largest = -1;
      for (const segment of this.segments) if (segment.size > 0) largest = Math.max(largest, segment.maxTimestamp);
      return largest < 0 ? Promise.resolve({ offset: -1, timestamp: -1 }) : this.findOffsetForTime(largest, maxOffset);
    });
  }

  private async findOffsetForTime(timestamp: number, maxOffset: number): Promise<{ offset: number; timestamp: number }> {
    for (const segment of this.segments) {
      if (segment.size === 0 || segment.maxTimestamp < timestamp) continue;
      let startOffset = segment.baseOffset;
      for (let i = 0; i < segment.timeIndexTimestamp.length; i++) {
        if (segment.timeIndexTimestamp[i]! >= timestamp) break;
        startOffset = segment.baseOffset + segment.timeIndexRelative[i]!;
      }
      let position = segment.lookup(startOffset);
      while (position < segment.size) {
        const header = await this.headerAt(segment, position);
        if (header.baseOffset >= maxOffset) return { offset: -1, timestamp: -1 };
        if (header.maxTimestamp >= timestamp) {
          const batch = await segment.read(position, header.sizeBytes);
          if (header.compression !== 0) return { offset: header.baseOffset, timestamp: header.maxTimestamp };
          for (const record of decodeRecords(batch, readBatchHeader(batch, 0))) {
            if (record.timestamp >= timestamp && record.offset < maxOffset) return { offset: record.offset, timestamp: record.timestamp };
          }
        }
        position += header.sizeBytes;
      }
    }
    return { offset: -1, timestamp: -1 };
  }

  /**
   * A cut segment's largest timestamp. Segment.truncate takes it from the time index entries it
   * keeps, but an entry is added only at an index point, so batches after the last one may hold
   * a larger timestamp: they are read again, as Kafka's LogSegment.loadLargestTimestamp does.
   * Without this, a lookup by time skipped the segment for timestamps between the two.
   */
  private async restoreMaxTimestamp(segment: Segment): Promise<void> {
    const last = segment.timeIndexRelative.length - 1;
    let position = last < 0 ? 0 : segment.lookup(segment.baseOffset + segment.timeIndexRelative[last]!);
    while (position < segment.size) {
      const header = await this.headerAt(segment, position);
      if (header.maxTimestamp > segment.maxTimestamp) segment.maxTimestamp = header.maxTimestamp;
      position += header.sizeBytes;
    }
  }

  /** The first batch of the segment whose last offset is at or after `offset`, walking from the index entry. */
  private async batchHolding(segment: Segment, offset: number): Promise<{ position: number; header: BatchHeader } | null> {
    let position = segment.lookup(offset);
    while (position < segment.size) {
      const header = await this.headerAt(segment, position);
      if (header.lastOffset >= offset) return { position, header };
      position += header.sizeBytes;
    }
    return null;
  }

  private async headerAt(segment: Segment, position: number): Promise<BatchHeader> {
    const bytes = await segment.read(position, batchHeaderBytes);
    return this.parseHeader(segment, bytes, 0, position);
  }

  private parseHeader(segment: Segment, bytes: Uint8Array, at: number, base: number): BatchHeader {
    try {
      if (at + batchHeaderBytes > bytes.length) throw new InvalidBatchError('truncated', at);
      const header = readBatchHeader(bytes, at);
      if (header.magic !== 2 || header.sizeBytes < batchHeaderBytes || base + at + header.sizeBytes > segment.size) {
        throw new InvalidBatchError(`bad header (magic ${header.magic}, ${header.sizeBytes} bytes)`, at);
      }
      return header;
    } catch (error) {
      this.distrust(segment);
      const reason = error instanceof InvalidBatchError ? error.reason : (error as Error).message;
      throw new CorruptRecordError(segment.logPath, base + at, reason);
    }
  }

  /** A segment that served a corrupt batch is rescanned by the next recovery. */
  private distrust(segment: Segment): void {
    if (this.recoveryPoint > segment.baseOffset) {
      this.recoveryPoint = segment.baseOffset;
      void this.enqueue(() => this.checkpointNow()).catch(() => undefined);
    }
  }

  private async truncateNow(offset: number): Promise<number> {
    if (offset >= this.logEndOffset) return this.logEndOffset;
    // Counted before segments close: a cleaning pass reading them then knows why its reads fail.
    this.truncations += 1;
    this.tail?.clear();
    if (offset <= this.logStartOffset) {
      // Nothing survives: start over, empty, at `offset`.
      for (const segment of this.segments) await segment.delete();
      this.segments = [await Segment.open(this.dir, offset, true)];
      this.logStartOffset = offset;
    } else {
      while (this.segments.length > 1 && this.active.baseOffset >= offset) {
        await this.segments.pop()!.delete();
      }
      const segment = this.active;
      const found = await this.batchHolding(segment, offset);
      // The log now ends where the first dropped batch began, or at `offset` when that falls
      // in a gap compaction left (the offsets in between are not there to keep).
      if (found !== null) {
        await segment.truncate(found.position, Math.min(found.header.baseOffset, offset));
        await this.restoreMaxTimestamp(segment);
      }
    }
    const end = this.logEndOffset;
    this.flushedOffset = Math.min(this.flushedOffset, end);
    this.recoveryPoint = Math.min(this.recoveryPoint, end);
    if (this.cleaner.firstDirtyOffset > end || this.cleaner.cleaned.some((r) => r.endOffset > end)) {
      this.cleaner = clampCheckpoint(this.cleaner, this.logStartOffset, end);
      await writeCleanerCheckpoint(this.dir, this.topic, this.partition, this.cleaner);
    }
    truncateProducers(this.producers, end);
    truncateTxns(this.txns, end);
    this.txnsDirty = true;
    const kept = this.epochs.filter((e) => e.startOffset < end);
    if (kept.length !== this.epochs.length) {
      this.epochs = kept;
      await this.writeEpochCheckpoint();
    }
    await this.active.flush();
    await this.checkpointNow();
    return end;
  }

  private async retentionNow(): Promise<number> {
    const now = this.clock();
    let deleted = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const expired = this.config.retentionMs >= 0 && oldest.maxTimestamp >= 0 && now - oldest.maxTimestamp > this.config.retentionMs;
      const oversized = this.config.retentionBytes >= 0 && this.sizeBytes - oldest.size >= this.config.retentionBytes;
      if (!expired && !oversized) break;
      this.segments.shift();
      this.tail?.forgetBelow(this.segments[0]!.baseOffset);
      await oldest.delete();
      deleted += 1;
      this.logStartOffset = this.segments[0]!.baseOffset;
      this.logger.info({ dir: this.dir, segment: oldest.baseOffset, reason: expired ? 'retention.ms' : 'retention.bytes' },
        `deleted segment ${oldest.logPath} (${expired ? 'retention.ms' : 'retention.bytes'})`);
    }
    if (deleted > 0) {
      pruneAborted(this.txns, this.logStartOffset);
      this.txnsDirty = true;
      // Epoch entries that begin before the new start now begin at it.
      const live = this.epochs.filter((_, i) => (this.epochs[i + 1]?.startOffset ?? Infinity) > this.logStartOffset);
      if (live.length > 0 && live[0]!.startOffset < this.logStartOffset) live[0] = { ...live[0]!, startOffset: this.logStartOffset };
      this.epochs = live;
      await this.writeEpochCheckpoint();
      await this.checkpointNow();
    }
    return deleted;
  }

  private async checkpointNow(): Promise<void> {
    // Producer state first: if a crash falls in between, recovery rescans from the older
    // recovery point and replaying what the snapshot already holds is harmless.
    if (this.txnsDirty) {
      const txnRows: Array<Array<string | number>> = [['end', this.logEndOffset]];
      for (const t of this.txns.unstable) txnRows.push(['unstable', t.producerId, t.firstOffset, t.markerOffset, t.commit ? 1 : 0]);
      for (const t of this.txns.aborted) txnRows.push(['aborted', t.producerId, t.firstOffset, t.lastOffset]);
      this.txnsDirty = false;
      try {
        await writeCheckpoint(join(this.dir, txnStateFile), txnRows);
      } catch (error) {
        this.txnsDirty = true;
        throw error;
      }
    }
    const rows: Array<Array<number>> = [];
    for (const p of snapshotProducers(this.producers)) {
      // A producer without batches left keeps its epoch (a marker may have fenced it): one row with -1s.
      if (p.batches.length === 0) rows.push([p.producerId, p.epoch, -1, -1, -1, -1]);
      for (const b of p.batches) rows.push([p.producerId, p.epoch, b.firstSequence, b.lastSequence, b.firstOffset, b.lastOffset]);
    }
    await writeCheckpoint(join(this.dir, producerStateFile), rows);
    await writeCheckpoint(join(this.dir, recoveryPointFile), [[this.topic, this.partition, this.recoveryPoint], ['log-start', this.logStartOffset]]);
  }

  private async writeEpochCheckpoint(): Promise<void> {
    await writeCheckpoint(join(this.dir, leaderEpochFile), this.epochs.map((e) => [e.epoch, e.startOffset]));
  }

  // ---------------------------------------------------------------------------------------
  // Cleaning.

  private async cleanNow(now: number, options: CleanOptions): Promise<CleanStats> {
    const compaction = this.compaction;
    const segments = this.segments;
    const highWatermark = this.cleanableEnd;
    const before = cleanerStatus(segments, this.logStartOffset, this.cleaner.firstDirtyOffset, now, compaction, highWatermark);
    const stats: CleanStats = {
      bytesRead: 0, bytesWritten: 0, recordsRemoved: 0, tombstonesRemoved: 0, abortedBatchesRemoved: 0, markersRemoved: 0, dirtyRatioBefore: before.dirtyRatio, dirtyRatioAfter: before.dirtyRatio,
      firstDirtyBefore: before.firstDirtyOffset, firstDirtyAfter: before.firstDirtyOffset, segmentsSwapped: 0, abandoned: false,
    };
    // Even with nothing dirty a pass has work when tombstones in the clean part have expired.
    if (this.closed || !compaction.compact || segments.length < 2) return stats;
    const truncations = this.truncations;
    const closedSegments = segments.slice(0, -1);
    const map = options.offsetMap ?? OffsetMap.forBytes(options.offsetMapBytes ?? defaultOffsetMapBytes);
    try {
      // Clean segments above the high watermark (it can go back) are not rewritten either.
      const committed = closedSegments.filter((s) => s.nextOffset <= highWatermark);
      return await this.runPass(now, options, before, stats, committed, truncations, map);
    } catch (error) {
      // Segments the pass was reading were deleted and closed under it: not a disk failure.
      const changed = this.closed || this.truncations !== truncations || closedSegments.some((s) => !this.segments.includes(s));
      if (error instanceof CleanerStoppedError || !changed) throw error;
      this.logger.info({ dir: this.dir, reason: (error as Error).message }, 'cleaning pass abandoned: the log changed under it (truncation, retention or close)');
      stats.abandoned = true;
      return stats;
    }
  }

  private async runPass(
    now: number, options: CleanOptions, before: CleanerStatus, stats: CleanStats, closedSegments: Segment[], truncations: number, map: OffsetMap,
  ): Promise<CleanStats> {
    const compaction = this.compaction;
    map.clear();
    // The aborted transactions as of the pass's start: the cleanable part ends below every open one.
    const aborted = this.txns.aborted.slice();
    const built = await buildOffsetMap(closedSegments, before.firstDirtyOffset, before.firstUncleanableOffset, map, cleanerReadChunkBytes, aborted);
    stats.bytesRead += built.bytesRead;
    const producerBatchOffsets = new Set<number>();
    for (const producer of this.producers.values()) for (const b of producer.batches) producerBatchOffsets.add(b.firstOffset);
    const checkpoint = this.cleaner;
    const toClean = closedSegments.filter((s) => s.baseOffset < built.endOffset && s.size > 0);
    const closedEnd = closedSegments[closedSegments.length - 1]?.nextOffset ?? 0;
    // Groups are sized by the segments as they were: segments that shrank in a round are merged
    // by another over what it left, until no two neighbours fit in one (each such round merges
    // at least two segments, so this ends). Without it a log cleaned in one go keeps a run of
    // segments of one empty batch each until it is dirty again, and every fetch there returns
    // only that batch (librdkafka gives up after ten such answers in a row).
    let groups = groupSegments(toClean, this.config.segmentBytes);
    const tombstoneHorizon = this.tombstoneHorizon ?? Infinity;
    // The first round reads the log from its start and judges the markers; later rounds see only the segments they merge.
    const txnRules = { now, deleteRetentionMs: compaction.deleteRetentionMs, tombstoneHorizon, emptyMarkers: checkpoint.emptyMarkers ?? [] };
    const firstRound = new TxnPass(aborted, { ...txnRules, judgeMarkers: true });
    let txns = firstRound;
    while (groups.length > 0) {
      for (const group of groups) {
        const cleaned = await cleanGroup(this.dir, group, {
          map, now, checkpoint, deleteRetentionMs: compaction.deleteRetentionMs, tombstoneHorizon, producerBatchOffsets, txns,
          indexIntervalBytes: this.config.indexIntervalBytes, chunkBytes: cleanerReadChunkBytes,
        });
        stats.bytesRead += cleaned.bytesRead;
        // A lone segment with nothing removed stays as it is; several are merged into one even then.
        if (!cleaned.changed && group.length === 1) {
          await cleaned.segment.delete();
          continue;
        }
        const swapped = await this.enqueue(async () => {
          if (!await this.swapIn(group, cleaned.segment, options.stopAt)) return false;
          // Every abort marker the pass removed so far lay in this group or one swapped before it.
          this.forgetCleanedAborts(firstRound.abortMarkersRemoved);
          return true;
        });
        if (!swapped) {
          this.logger.info({ dir: this.dir }, 'cleaning pass abandoned: the log changed under it (truncation, retention or close)');
          stats.abandoned = true;
          return stats;
        }
        stats.bytesWritten += cleaned.segment.size;
        stats.recordsRemoved += cleaned.recordsRemoved;
        stats.tombstonesRemoved += cleaned.tombstonesRemoved;
        stats.abortedBatchesRemoved += cleaned.abortedBatchesRemoved;
        stats.markersRemoved += cleaned.markersRemoved;
        stats.segmentsSwapped += group.length;
      }
      txns = new TxnPass(aborted, { ...txnRules, judgeMarkers: false });
      const shrunk = this.segments.slice(0, -1).filter((s) => s.baseOffset < built.endOffset && s.nextOffset <= closedEnd && s.size > 0);
      groups = groupSegments(shrunk, this.config.segmentBytes).filter((group) => group.length > 1);
    }
    await this.enqueue(async () => {
      if (this.closed) return;
      // After a truncation during the pass, what now lies above the old first dirty offset may be new.
      const endOffset = this.truncations === truncations ? built.endOffset : checkpoint.firstDirtyOffset;
      const next = afterPass(this.cleaner, endOffset, now, compaction.deleteRetentionMs, firstRound.emptyMarkers);
      this.cleaner = clampCheckpoint(next, this.logStartOffset, this.logEndOffset);
      await writeCleanerCheckpoint(this.dir, this.topic, this.partition, this.cleaner);
    });
    const after = this.cleanerStatus(now);
    stats.dirtyRatioAfter = after.dirtyRatio;
    stats.firstDirtyAfter = after.firstDirtyOffset;
    this.logger.info({ dir: this.dir, ...stats, collisions: map.collisions },
      `cleaned ${this.topic}-${this.partition}: ${stats.recordsRemoved} records removed (${stats.tombstonesRemoved} tombstones, ${stats.abortedBatchesRemoved} aborted batches, ${stats.markersRemoved} markers), ${stats.bytesRead} bytes read, ${stats.bytesWritten} written, dirty ratio ${before.dirtyRatio.toFixed(3)} -> ${after.dirtyRatio.toFixed(3)}`);
    return stats;
  }

  /**
   * Replaces `group` with the cleaned segment (inside the queue): rename to .swap (the commit),
   * delete the old files, rename to the live name, then swap the segment list. Returns false,
   * and drops the cleaned files, when the group is no longer in the log as it was.
   */
  private async swapIn(group: readonly Segment[], cleaned: Segment, stopAt: CleanerStep | undefined): Promise<boolean> {
    const at = this.segments.indexOf(group[0]!);
    const intact = !this.closed && at >= 0 && at + group.length < this.segments.length && group.every((s, i) => this.segments[at + i] === s);
    if (!intact) {
      await cleaned.delete();
      return false;
    }
    try {
      stopIfAsked('cleaned', stopAt);
      await cleaned.renameTo('.swap');
      await syncDirectory(this.dir);
      stopIfAsked('swap', stopAt);
      for (const old of group) await old.removeFiles();
      await syncDirectory(this.dir);
      stopIfAsked('deleted', stopAt);
    } catch (error) {
      // Stopped (a test's crash) or the disk failed: the files stay for recovery to settle.
      await cleaned.close();
      throw error;
    }
    await cleaned.renameTo('');
    await syncDirectory(this.dir);
    // The index files were written under the .cleaned name; a crash before this point rebuilds them.
    this.segments = [...this.segments.slice(0, at), cleaned, ...this.segments.slice(at + group.length)];
    // Cached batches of the segments replaced would differ from what the files now hold.
    this.tail?.forgetBelow(this.segments[at + 1]!.baseOffset);
    this.retired.push(...group);
    if (this.readsInFlight === 0) await this.closeRetired();
    return true;
  }

  /**
   * Takes the transactions whose abort markers a swapped-in pass removed (their data went in an
   * earlier pass) out of the aborted index, as Kafka rewrites the .txnindex of cleaned
   * segments; the next checkpoint writes the shorter index.
   */
  private forgetCleanedAborts(markerOffsets: readonly number[]): void {
    const kept = withoutRemovedAborts(this.txns.aborted, markerOffsets);
    if (kept.length === this.txns.aborted.length) return;
    this.txns.aborted = kept;
    this.txnsDirty = true;
  }

  /** Closes the files of segments swapped out, once no read can still be using them. */
  private async closeRetired(): Promise<void> {
    const retired = this.retired;
    this.retired = [];
    for (const segment of retired) await segment.close();
  }

  // ---------------------------------------------------------------------------------------
  // Recovery.

  private async recover(): Promise<void> {
    // A cleaner pass that crashed: files not yet committed go, committed swaps complete.
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp') || name.endsWith('.deleted') || name.endsWith('.cleaned')) await rm(join(this.dir, name), { force: true });
    }
    await completeInterruptedSwaps(this.dir, this.logger);
    const names = await readdir(this.dir);
    for (const name of names) {
      if (name.endsWith('.swap')) await rm(join(this.dir, name), { force: true });
    }
    const bases = names
      .filter((name) => new RegExp(`^\\d{${segmentNameDigits}}\\.log$`).test(name))
      .map((name) => Number(name.slice(0, segmentNameDigits)))
      .sort((a, b) => a - b);
    for (const name of names) {
      const match = new RegExp(`^(\\d{${segmentNameDigits}})\\.(index|timeindex)$`).exec(name);
      if (match !== null && !bases.includes(Number(match[1]))) await rm(join(this.dir, name), { force: true });
    }
    const { recoveryPoint, logStart } = await this.readRecoveryPoint();
    const epochs = await this.readEpochCheckpoint();
    this.producers = await this.readProducerState();
    const txnState = await this.readTxnState();
    this.txns = txnState?.txns ?? emptyTxns();
    // Batches from here on are replayed into the transaction state; without one, the whole log is.
    this.txnStateEnd = txnState?.end ?? 0;
    let recoverFrom = epochs === null || txnState === null ? 0 : recoveryPoint;
    if (bases.length === 0) {
      this.segments = [await Segment.open(this.dir, Math.max(logStart, recoveryPoint), true)];
    } else {
      for (const base of bases) this.segments.push(await Segment.open(this.dir, base, false));
    }
    this.epochs = epochs ?? [];
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const nextBase = this.segments[i + 1]?.baseOffset ?? Infinity;
      if (nextBase <= recoverFrom) {
        // Below the recovery point: trust the log, check the indexes.
        const problem = await segment.loadIndexFiles();
        if (problem === null) {
          segment.nextOffset = nextBase;
          if (segment.size > 0 && segment.firstTimestamp === null) segment.firstTimestamp = segment.timeIndexTimestamp[0] ?? segment.maxTimestamp;
          continue;
        }
        this.logger.warn({ dir: this.dir, problem }, `rebuilding index: ${problem}`);
      }
      segment.resetIndexes();
      const stop = await this.scanSegment(segment, 0, epochs === null);
      await segment.writeIndexFiles();
      if (stop !== null) {
        for (const dropped of this.segments.splice(i + 1)) {
          this.logger.warn({ dir: this.dir }, `deleted segment ${dropped.logPath} after the torn write in ${segment.logPath}`);
          await dropped.delete();
        }
        break;
      }
    }
    this.logStartOffset = Math.max(this.segments[0]!.baseOffset, Math.min(logStart, this.logEndOffset));
    const end = this.logEndOffset;
    this.epochs = this.epochs.filter((e) => e.startOffset < end);
    truncateProducers(this.producers, end);
    truncateTxns(this.txns, end);
    pruneAborted(this.txns, this.logStartOffset);
    this.flushedOffset = end;
    this.recoveryPoint = end;
    const cleaner = await readCleanerCheckpoint(this.dir, this.topic, this.partition, this.logger);
    this.cleaner = clampCheckpoint(cleaner ?? { firstDirtyOffset: this.logStartOffset, cleaned: [] }, this.logStartOffset, end);
    await this.writeEpochCheckpoint();
    await this.checkpointNow();
  }

  /**
   * Scans a segment from `from`, checking every batch (structure and CRC-32C) and rebuilding
   * the in-memory indexes. At the first invalid batch the file is cut there. Returns the
   * position of the cut, or null when the whole segment was good.
   */
  private async scanSegment(segment: Segment, from: number, rebuildEpochs: boolean): Promise<number | null> {
    let position = from;
    while (position < segment.size) {
      const chunk = await segment.read(position, recoveryChunkBytes);
      const scan = scanBatches(chunk, 0, chunk.length, crc32c);
      for (const header of scan.headers) {
        segment.noteBatch(header, position + header.position, this.config.indexIntervalBytes);
        if (header.producerId >= 0) {
          replayBatch(this.producers, header);
          if (header.baseOffset >= this.txnStateEnd) noteTxnBatch(this.txns, header);
        }
        if (rebuildEpochs && header.partitionLeaderEpoch >= 0) {
          const last = this.epochs[this.epochs.length - 1];
          if (last === undefined || last.epoch < header.partitionLeaderEpoch) this.epochs.push({ epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset });
        }
      }
      const good = position + scan.validEnd;
      if (scan.error === null) {
        position = good;
        continue;
      }
      const truncatedByChunk = scan.error.reason === 'truncated' && position + chunk.length < segment.size;
      if (truncatedByChunk && scan.validEnd > 0) {
        position = good; // the next batch straddles the chunk boundary: read on from it
        continue;
      }
      if (truncatedByChunk) {
        // One batch larger than the chunk: read exactly it.
        const header = readBatchHeader(chunk, 0);
        const whole = await segment.read(position, header.sizeBytes);
        const single = scanBatches(whole, 0, whole.length, crc32c);
        if (single.error === null && single.headers.length === 1) {
          segment.noteBatch(single.headers[0]!, position, this.config.indexIntervalBytes);
          position += whole.length;
          continue;
        }
      }
      const dropped = segment.size - good;
      this.logger.warn({ file: segment.logPath, position: good, bytesDropped: dropped, reason: scan.error.reason },
        `recovery: truncated ${segment.logPath} at byte ${good}, dropping ${dropped} bytes (${scan.error.reason})`);
      await segment.truncate(good, segment.nextOffset);
      await this.restoreMaxTimestamp(segment);
      return good;
    }
    return null;
  }

  private async readRecoveryPoint(): Promise<{ recoveryPoint: number; logStart: number }> {
    const path = join(this.dir, recoveryPointFile);
    try {
      const entries = await readCheckpoint(path);
      if (entries === null) return { recoveryPoint: 0, logStart: 0 };
      const own = entries.find((e) => e[0] === this.topic && Number(e[1]) === this.partition);
      const start = entries.find((e) => e[0] === 'log-start');
      return {
        recoveryPoint: own === undefined ? 0 : checkpointInteger(path, own[2]),
        logStart: start === undefined ? 0 : checkpointInteger(path, start[1]),
      };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      this.logger.warn({ file: path }, `${error.message}; recovering the whole log`);
      return { recoveryPoint: 0, logStart: 0 };
    }
  }

  private async readProducerState(): Promise<ProducerStates> {
    const path = join(this.dir, producerStateFile);
    try {
      const rows = await readCheckpoint(path);
      if (rows === null) return new Map();
      const snapshot = new Map<number, ProducerSnapshot>();
      for (const row of rows) {
        const [producerId, epoch, firstSequence, lastSequence, firstOffset, lastOffset] = row.map((v) => checkpointInteger(path, v, true));
        const entry = snapshot.get(producerId!) ?? { producerId: producerId!, epoch: epoch!, batches: [] };
        if (firstOffset! >= 0) entry.batches.push({ firstSequence: firstSequence!, lastSequence: lastSequence!, firstOffset: firstOffset!, lastOffset: lastOffset! });
        snapshot.set(producerId!, entry);
      }
      return producersFromSnapshot([...snapshot.values()]);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      this.logger.warn({ file: path }, `${error.message}; idempotent producers start without state`);
      return new Map();
    }
  }

  /** The transaction state and the log end it is as of; null (recover the whole log) when absent or unreadable. */
  private async readTxnState(): Promise<{ txns: PartitionTxns; end: number } | null> {
    const path = join(this.dir, txnStateFile);
    try {
      const rows = await readCheckpoint(path);
      if (rows === null) return null;
      const txns = emptyTxns();
      let end = -1;
      for (const row of rows) {
        const n = (i: number) => checkpointInteger(path, row[i]);
        if (row[0] === 'end') end = n(1);
        else if (row[0] === 'unstable') txns.unstable.push({ producerId: n(1), firstOffset: n(2), markerOffset: checkpointInteger(path, row[3], true), commit: n(4) === 1 });
        else if (row[0] === 'aborted') txns.aborted.push({ producerId: n(1), firstOffset: n(2), lastOffset: n(3) });
        else throw new CheckpointError(`${path}: unknown entry "${row.join(' ')}"`);
      }
      if (end < 0) throw new CheckpointError(`${path}: no "end" entry`);
      txns.unstable.sort((a, b) => a.firstOffset - b.firstOffset);
      txns.aborted.sort((a, b) => a.lastOffset - b.lastOffset);
      return { txns, end };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      this.logger.warn({ file: path }, `${error.message}; rebuilding the transaction state from the whole log`);
      return null;
    }
  }

  private async readEpochCheckpoint(): Promise<EpochEntry[] | null> {
    const path = join(this.dir, leaderEpochFile);
    try {
      const entries = await readCheckpoint(path);
      if (entries === null) return null;
      return entries.map((e) => ({ epoch: checkpointInteger(path, e[0]), startOffset: checkpointInteger(path, e[1]) }));
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      this.logger.warn({ file: path }, `${error.message}; rebuilding the leader epochs from the log`);
      return null;
    }
  }
}

