// A node's storage port: Raft stores in the metadata directory (raft-store.ts) and one
// partition log per replica actor (partition-log.ts), each log's operations run in order;
// the node's tail cache, which answers reads at the end of every log from memory
// (tail-cache.ts); and the node's log cleaner: one loop that cleans the dirtiest compacted
// log, one at a time.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LogOp, LogResult, RaftDurableState, StorageOp } from '../../actors/protocol/effects.js';
import type { StoragePort } from '../kernel/ports.js';
import { sealBytes } from '../kernel/local-payload.js';
import { TopicConfigError, topicLogConfig } from './topic-config.js';
import {
  type CleanStats, CorruptRecordError, InvalidAppendError, InvalidRecordError, OffsetOutOfRangeError, PartitionLog, defaultLogConfig, type LogConfig,
} from './partition-log.js';
import { OffsetMap, defaultOffsetMapBytes } from './offset-map.js';
import type { CleanerStatus } from './cleaner.js';
import type { FileStoragePort } from './raft-store.js';
import { TailCache, defaultTailCacheBytes } from './tail-cache.js';

const legalStoreName = /^[A-Za-z0-9._-]+$/;

export interface CleanerLoopConfig {
  /** log.cleaner.backoff.ms: the pause when no log needs cleaning. */
  backoffMs: number;
  /** log.cleaner.dedupe.buffer.size: the offset map's memory, reused by every pass. */
  offsetMapBytes: number;
}

export const defaultCleanerLoopConfig: CleanerLoopConfig = { backoffMs: 15_000, offsetMapBytes: defaultOffsetMapBytes };

export interface CleanerPass {
  store: string;
  stats: CleanStats;
}

/** Told of every cleaner pass and failure (the node's metrics). */
export interface CleanerObserver {
  passed(pass: CleanerPass): void;
  failed(error: Error): void;
}

/** One open log as DescribeLogDirs and the metrics see it. */
export interface LogStatus {
  /** The store: the partition actor's id, `<topic>-<partition>`. */
  store: string;
  sizeBytes: number;
  logEndOffset: number;
  /** Where the active segment (never cleaned) begins. */
  activeSegmentBaseOffset: number;
  compacted: boolean;
  cleaner: CleanerStatus;
}

export class NodeStorage implements StoragePort {
  private readonly logs = new Map<string, Promise<PartitionLog>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly flushes = new Map<string, Set<Promise<void>>>();
  private readonly configs = new Map<string, LogConfig>();
  /** Logs whose open has finished (the cleaner looks only at these). */
  private readonly opened = new Map<string, PartitionLog>();
  private cleanerTimer: NodeJS.Timeout | null = null;
  private cleanerPass: Promise<unknown> = Promise.resolve();
  private offsetMap: OffsetMap | null = null;
  private cleanerTurn: Promise<unknown> = Promise.resolve();
  private cleanerObserver: CleanerObserver | null = null;
  /** The latest batches of every log, within one budget (log.tail.cache.bytes). */
  readonly tailCache: TailCache;

  constructor(
    private readonly raft: FileStoragePort,
    private readonly logDir: string,
    private readonly logger: Logger,
    private readonly onFatal: (error: Error) => void,
    /** What every log opens with unless configureLog says otherwise (log.* keys of server.properties). */
    private readonly defaults: LogConfig = defaultLogConfig,
    /** log.tail.cache.bytes: 0 reads every log from its files. */
    tailCacheBytes: number = defaultTailCacheBytes,
  ) {
    this.tailCache = new TailCache(tailCacheBytes);
  }

  load(store: string): RaftDurableState {
    return this.raft.load(store);
  }

  submit(store: string, op: StorageOp, done: () => void): void {
    this.raft.submit(store, op, done);
  }

  /** Sets the log configuration (topic overrides) a store's log opens with. */
  configureLog(store: string, config: Partial<LogConfig>): void {
    this.configs.set(store, { ...this.defaults, ...config });
  }

  submitLog(store: string, op: LogOp, done: (result: LogResult) => void): void {
    if (!legalStoreName.test(store)) {
      done({ kind: 'failed', code: 'invalid', message: `illegal log name "${store}"` });
      return;
    }
    const previous = this.queues.get(store) ?? Promise.resolve();
    const next = previous.then(async () => done(await this.run(store, op)));
    this.queues.set(store, next.catch(() => undefined));
  }

  /** Tells a log its replica's high watermark and tombstone horizon, which bound its cleaner (see PartitionLog.setHighWatermark). */
  noteHighWatermark(store: string, offset: number, tombstoneHorizon: number): void {
    this.opened.get(store)?.setHighWatermark(offset, tombstoneHorizon);
  }

  /** Size and cleaner status of every open log at `now`. */
  logStatuses(now: number = Date.now()): LogStatus[] {
    return [...this.opened].map(([store, log]) => ({
      store, sizeBytes: log.sizeBytes, logEndOffset: log.logEndOffset, activeSegmentBaseOffset: log.segmentBaseOffsets.at(-1)!, compacted: log.compaction.compact, cleaner: log.cleanerStatus(now),
    }));
  }

  /** Tells `observer` of every cleaner pass from now on (null: no one). */
  observeCleaner(observer: CleanerObserver | null): void {
    this.cleanerObserver = observer;
  }

  /**
   * Starts the node's cleaner loop: every backoffMs (at once again after a pass that cleaned
   * something), the dirtiest log that needs cleaning gets one pass.
   */
  startCleaner(config: CleanerLoopConfig = defaultCleanerLoopConfig, clock: () => number = Date.now): void {
    if (this.cleanerTimer !== null) return;
    const tick = (): void => {
      const pass = this.cleanOnce(clock(), config)
        .catch((error: Error) => {
          this.logger.error({ err: error }, `log cleaner pass failed: ${error.message}`);
          return null;
        })
        .then((done) => {
          if (this.cleanerTimer === null) return;
          this.cleanerTimer = setTimeout(tick, done === null ? config.backoffMs : 0);
          this.cleanerTimer.unref();
        });
      this.cleanerPass = pass;
    };
    this.cleanerTimer = setTimeout(tick, config.backoffMs);
    this.cleanerTimer.unref();
  }

  /** Stops the cleaner loop, waiting for a pass under way. */
  async stopCleaner(): Promise<void> {
    if (this.cleanerTimer !== null) clearTimeout(this.cleanerTimer);
    this.cleanerTimer = null;
    await this.cleanerPass;
  }

  /**
   * One pass over the dirtiest log that needs cleaning (Kafka's grabFilthiestCompactedLog:
   * over min.cleanable.dirty.ratio or past max.compaction.lag.ms, highest ratio first), or
   * null when none does. A log whose high watermark the node has not been told is skipped.
   * Calls run one after the other: the passes share one offset map.
   */
  cleanOnce(now: number, config: CleanerLoopConfig = defaultCleanerLoopConfig): Promise<CleanerPass | null> {
    const pass = this.cleanerTurn.then(() => this.cleanDirtiest(now, config));
    this.cleanerTurn = pass.catch(() => undefined);
    pass.then((done) => {
      if (done !== null) this.cleanerObserver?.passed(done);
    }, (error: Error) => this.cleanerObserver?.failed(error));
    return pass;
  }

  private async cleanDirtiest(now: number, config: CleanerLoopConfig): Promise<CleanerPass | null> {
    let dirtiest: { store: string; log: PartitionLog; ratio: number } | null = null;
    for (const [store, log] of this.opened) {
      if (!log.knowsHighWatermark) continue;
      const status = log.cleanerStatus(now);
      if (!status.needsCleaning) continue;
      if (dirtiest === null || status.dirtyRatio > dirtiest.ratio) dirtiest = { store, log, ratio: status.dirtyRatio };
    }
    if (dirtiest === null) return null;
    this.offsetMap ??= OffsetMap.forBytes(config.offsetMapBytes);
    const stats = await dirtiest.log.clean(now, { offsetMap: this.offsetMap });
    return { store: dirtiest.store, stats };
  }

  /**
   * Waits for the operations submitted before it, then for the log to be durable up to
   * `offset`, outside the queue: appends and reads submitted later go on meanwhile, and one
   * fsync covers every append written before it began (PartitionLog.flush shares them).
   */
  flushLog(store: string, offset: number, done: (result: LogResult) => void): void {
    if (!legalStoreName.test(store)) {
      done({ kind: 'failed', code: 'invalid', message: `illegal log name "${store}"` });
      return;
    }
    const previous = this.queues.get(store) ?? Promise.resolve();
    const flush = previous.then(async () => {
      let result: LogResult;
      try {
        const log = await this.log(store);
        await log.waitDurable(Math.min(offset, log.logEndOffset));
        result = { kind: 'flushed', flushedOffset: log.flushedOffset };
      } catch (error) {
        result = this.failure(error as Error);
      }
      done(result);
    });
    const inFlight = this.flushes.get(store) ?? new Set<Promise<void>>();
    this.flushes.set(store, inFlight);
    inFlight.add(flush);
    void flush.finally(() => inFlight.delete(flush));
  }

  /** Flushes of this log still running: a truncation or a delete waits for them, so that no fsync races with the files going away. */
  private async flushesDone(store: string): Promise<void> {
    const inFlight = this.flushes.get(store);
    if (inFlight !== undefined) await Promise.all(inFlight);
  }

  async close(): Promise<void> {
    await this.stopCleaner();
    await Promise.all(this.queues.values());
    for (const store of this.flushes.keys()) await this.flushesDone(store);
    for (const log of this.logs.values()) await (await log).close();
    await this.raft.close();
  }

  private log(store: string): Promise<PartitionLog> {
    let log = this.logs.get(store);
    if (log === undefined) {
      log = PartitionLog.open(join(this.logDir, store), store, 0, this.configs.get(store) ?? this.defaults, this.logger.child({ actor: store }))
        .then((opened) => {
          if (this.tailCache.bytesMax > 0) opened.cacheTail(this.tailCache.forLog(store));
          return opened;
        });
      this.logs.set(store, log);
      log.then((opened) => this.opened.set(store, opened), () => undefined);
    }
    return log;
  }

  private async deleteLog(store: string): Promise<LogResult> {
    await this.flushesDone(store);
    const log = this.logs.get(store);
    this.logs.delete(store);
    this.opened.delete(store);
    this.configs.delete(store);
    if (log !== undefined) await (await log).abandon();
    this.tailCache.removeLog(store);
    await rm(join(this.logDir, store), { recursive: true, force: true });
    return { kind: 'deleted' };
  }

  private async run(store: string, op: LogOp): Promise<LogResult> {
    try {
      if (op.kind === 'logDelete') return await this.deleteLog(store);
      if (op.kind === 'logOpen' && !this.logs.has(store) && op.configs.length > 0) {
        this.configureLog(store, topicLogConfig(op.configs));
      }
      const log = await this.log(store);
      switch (op.kind) {
        case 'logOpen':
          return {
            kind: 'opened', logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset,
            epochs: log.epochEntries.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset })),
            producers: log.producerSnapshot(), txns: log.txnSnapshot(),
          };
        case 'logAppend': {
          const result = await log.append(op.bytes, op.leaderEpoch >= 0 ? op.leaderEpoch : undefined);
          return { kind: 'appended', firstOffset: result.firstOffset, lastOffset: result.lastOffset, logEndOffset: log.logEndOffset };
        }
        case 'logRead': {
          const result = await log.read(op.offset, op.maxBytes, op.maxOffset);
          // Read results are never written to (a fresh read, or views of the tail cache's
          // own copies), so the listener may pass them to the socket uncopied.
          return { kind: 'read', bytes: sealBytes(result.bytes), firstOffset: result.firstOffset, nextOffset: result.nextOffset };
        }
        case 'logTruncate':
          await this.flushesDone(store);
          return { kind: 'truncated', logEndOffset: await log.truncateTo(op.offset) };
        case 'logOffsetForTime': {
          const found = await log.offsetForTime(op.timestamp, op.maxOffset);
          return { kind: 'offsetForTime', offset: found.offset, timestamp: found.timestamp };
        }
        case 'logOffsetOfMaxTimestamp': {
          const found = await log.offsetOfMaxTimestamp(op.maxOffset);
          return { kind: 'offsetForTime', offset: found.offset, timestamp: found.timestamp };
        }
      }
    } catch (error) {
      return this.failure(error as Error);
    }
  }

  private failure(error: Error): LogResult {
    if (error instanceof CorruptRecordError) return { kind: 'failed', code: 'corrupt', message: error.message };
    if (error instanceof OffsetOutOfRangeError) return { kind: 'failed', code: 'out_of_range', message: error.message };
    // Before InvalidAppendError, which it extends.
    if (error instanceof InvalidRecordError) return { kind: 'failed', code: 'invalid_record', message: error.message };
    if (error instanceof InvalidAppendError) return { kind: 'failed', code: 'invalid', message: error.message };
    if (error instanceof TopicConfigError) return { kind: 'failed', code: 'invalid', message: error.message };
    // Anything else is the disk failing under us: the node cannot go on safely.
    this.onFatal(error);
    return { kind: 'failed', code: 'corrupt', message: error.message };
  }
}
