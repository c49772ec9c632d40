// A node's storage port: Raft stores in the metadata directory (raft-store.ts) and one
// partition log per replica actor (partition-log.ts), each log's operations run in order.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LogOp, LogResult, RaftDurableState, StorageOp } from '../../actors/protocol/effects.js';
import type { StoragePort } from '../kernel/ports.js';
import { topicLogConfig } from './topic-config.js';
import { CorruptRecordError, InvalidAppendError, OffsetOutOfRangeError, PartitionLog, defaultLogConfig, type LogConfig } from './partition-log.js';
import type { FileStoragePort } from './raft-store.js';

const legalStoreName = /^[A-Za-z0-9._-]+$/;

export class NodeStorage implements StoragePort {
  private readonly logs = new Map<string, Promise<PartitionLog>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly configs = new Map<string, LogConfig>();

  constructor(
    private readonly raft: FileStoragePort,
    private readonly logDir: string,
    private readonly logger: Logger,
    private readonly onFatal: (error: Error) => void,
    /** What every log opens with unless configureLog says otherwise (log.* keys of server.properties). */
    private readonly defaults: LogConfig = defaultLogConfig,
  ) {}

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

  async close(): Promise<void> {
    await Promise.all(this.queues.values());
    for (const log of this.logs.values()) await (await log).close();
    await this.raft.close();
  }

  private log(store: string): Promise<PartitionLog> {
    let log = this.logs.get(store);
    if (log === undefined) {
      log = PartitionLog.open(join(this.logDir, store), store, 0, this.configs.get(store) ?? this.defaults, this.logger.child({ actor: store }));
      this.logs.set(store, log);
    }
    return log;
  }

  private async deleteLog(store: string): Promise<LogResult> {
    const log = this.logs.get(store);
    this.logs.delete(store);
    this.configs.delete(store);
    if (log !== undefined) await (await log).abandon();
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
            producers: log.producerSnapshot(),
          };
        case 'logAppend': {
          const result = await log.append(op.bytes, op.leaderEpoch >= 0 ? op.leaderEpoch : undefined);
          return { kind: 'appended', firstOffset: result.firstOffset, lastOffset: result.lastOffset, logEndOffset: log.logEndOffset };
        }
        case 'logFlush':
          await log.waitDurable(op.offset);
          return { kind: 'flushed', flushedOffset: log.flushedOffset };
        case 'logRead': {
          const result = await log.read(op.offset, op.maxBytes, op.maxOffset);
          return { kind: 'read', bytes: result.bytes, firstOffset: result.firstOffset, nextOffset: result.nextOffset };
        }
        case 'logTruncate':
          return { kind: 'truncated', logEndOffset: await log.truncateTo(op.offset) };
        case 'logOffsetForTime': {
          const found = await log.offsetForTime(op.timestamp, op.maxOffset);
          return { kind: 'offsetForTime', offset: found.offset, timestamp: found.timestamp };
        }
      }
    } catch (error) {
      if (error instanceof CorruptRecordError) return { kind: 'failed', code: 'corrupt', message: error.message };
      if (error instanceof OffsetOutOfRangeError) return { kind: 'failed', code: 'out_of_range', message: error.message };
      if (error instanceof InvalidAppendError) return { kind: 'failed', code: 'invalid', message: error.message };
      // Anything else is the disk failing under us: the node cannot go on safely.
      this.onFatal(error as Error);
      return { kind: 'failed', code: 'corrupt', message: (error as Error).message };
    }
  }
}
