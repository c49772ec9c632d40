// The compaction workload: a compacted topic, one producer per partition writing many updates
// to few keys (acks=all, one batch at a time, retried until acknowledged), some of them
// tombstones, and one consumer per partition that reads the partition from the beginning
// again and again while the cleaners rewrite it. Every record carries its key's sequence
// number (a `seq` header, since a tombstone has no value), increasing per key: the checkers
// (sim/checkers/compaction.ts) judge what consumers saw and what the logs hold by it.
//
// Half of each partition's keys are cold: written only in the first half of the production
// window, so that their latest values lie in the cleaned part of the log, not in its active
// tail, when the run ends.
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { type FetchResponse, type ProduceResponse, acksAll, consumerReplicaId } from '../../actors/protocol/messages.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import { type RecordInput, decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import { SimClient } from './sim-client.js';
import { clientTimeoutMs, fetchMaxWaitMs, produceRequestTimeoutMs, retryBackoffMs } from './produce-consume.js';

export const compactionTopicName = 'ledger';
export const compactionTopicPartitions = 3;
export const compactionKeysPerPartition = 6;
/** Small batches, so that logs have many and cleaning has work often. */
export const compactionRecordsPerBatchMax = 3;
export const tombstoneProbability = 0.1;
/** Small, so that a consumer's pass takes several fetches and cleaning lands between them. */
export const compactionFetchMaxBytes = 1024;
/** A consumer waits this long between the end of a pass and the next from offset 0. */
export const passGapMinMs = 50;
export const passGapMaxMs = 400;

/** The compacted topic's settings: tombstones expire and dirty logs are cleaned within a run. */
export const compactionTopicConfigs = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'delete.retention.ms', value: '3000' },
  { name: 'min.cleanable.dirty.ratio', value: '0.3' },
  { name: 'min.compaction.lag.ms', value: '100' },
] as const;

/** One record as written or read: its key, its key's sequence number, and whether it is a tombstone. */
export interface KeyedRecord {
  key: string;
  seq: number;
  tombstone: boolean;
}

/** Everything written to one key: each attempt's record, and the highest sequence acknowledged. */
export interface KeyHistory {
  partition: number;
  /** seq -> the record sent with it (acknowledged or not). */
  attempted: Map<number, KeyedRecord>;
  /** -1 until a write of the key is acknowledged. */
  lastAckedSeq: number;
}

export interface CompactionStats {
  updatesAttempted: number;
  updatesAcked: number;
  tombstonesAcked: number;
  produceErrors: Record<string, number>;
  /** Passes from offset 0 up to the high watermark that consumers finished. */
  consumerPasses: number;
  recordsRead: number;
  fetches: number;
}

/** What the consumers see, record by record, for the online checkers. */
export interface CompactionReadObserver {
  /** A record read at `offset` in pass `pass` of the partition's consumer. */
  record(partition: number, pass: number, offset: number, record: KeyedRecord, atMs: number): void;
}

export const compactionClientActor = 'compaction-client';

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** The record's key and sequence as the consumer decodes them, or null for a record the workload did not write. */
export function decodeKeyedRecord(record: { key: Uint8Array | null; value: Uint8Array | null; headers: ReadonlyArray<{ key: string; value: Uint8Array | null }> }): KeyedRecord | null {
  const seqHeader = record.headers.find((h) => h.key === 'seq');
  if (record.key === null || seqHeader?.value == null) return null;
  return { key: utf8Decode.decode(record.key), seq: Number(utf8Decode.decode(seqHeader.value)), tombstone: record.value === null };
}

export function keyName(partition: number, index: number): string {
  return `k${partition}-${index}`;
}

export class CompactionWorkload {
  readonly keys = new Map<string, KeyHistory>();
  readonly stats: CompactionStats = {
    updatesAttempted: 0, updatesAcked: 0, tombstonesAcked: 0, produceErrors: {}, consumerPasses: 0, recordsRead: 0, fetches: 0,
  };
  private readonly client: SimClient;
  /** Producers still in their production window, and writes outstanding. */
  private producersRunning = 0;
  private producersBusy = 0;

  constructor(
    clientNode: number, clusterId: string, nodeIds: number[], network: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    tracer: Tracer,
    private readonly observer: CompactionReadObserver,
  ) {
    this.client = new SimClient({
      clientNode, actor: compactionClientActor, clusterId, nodeIds, network, scheduler, tracer, answerKinds: ['ProduceResponse', 'FetchResponse'],
    });
  }

  /** Producers have stopped and none has a write outstanding. */
  get idle(): boolean {
    return this.producersRunning === 0 && this.producersBusy === 0;
  }

  /** One producer and one consumer per partition; producers stop at `untilMs`. */
  start(untilMs: number): void {
    this.producersRunning = compactionTopicPartitions;
    const coldUntilMs = this.scheduler.now + (untilMs - this.scheduler.now) / 2;
    for (let partition = 0; partition < compactionTopicPartitions; partition++) {
      for (let i = 0; i < compactionKeysPerPartition; i++) {
        this.keys.set(keyName(partition, i), { partition, attempted: new Map(), lastAckedSeq: -1 });
      }
      this.scheduler.after(this.prng.int(0, 200), () => this.nextBatch(partition, untilMs, coldUntilMs));
      this.scheduler.after(this.prng.int(0, 500), () => this.consumePass(partition, 1));
    }
  }

  private nextBatch(partition: number, untilMs: number, coldUntilMs: number): void {
    if (this.scheduler.now >= untilMs) {
      this.producersRunning -= 1;
      return;
    }
    // Hot keys are the first half; cold keys take writes only until coldUntilMs.
    const keyCount = this.scheduler.now < coldUntilMs ? compactionKeysPerPartition : Math.ceil(compactionKeysPerPartition / 2);
    const chosen = new Set<number>();
    const count = this.prng.int(1, compactionRecordsPerBatchMax);
    // One record per key in a batch: a resent batch then repeats each key's sequence, never goes back.
    for (let i = 0; i < count; i++) chosen.add(this.prng.int(0, keyCount - 1));
    const records: KeyedRecord[] = [...chosen].map((index) => {
      const key = keyName(partition, index);
      const history = this.keys.get(key)!;
      const record = { key, seq: history.attempted.size + 1, tombstone: this.prng.chance(tombstoneProbability) };
      history.attempted.set(record.seq, record);
      return record;
    });
    this.stats.updatesAttempted += records.length;
    this.producersBusy += 1;
    this.produce(partition, records, untilMs, () => {
      this.producersBusy -= 1;
      this.scheduler.after(this.prng.int(20, 150), () => this.nextBatch(partition, untilMs, coldUntilMs));
    });
  }

  /** Sends the batch until it is acknowledged, or until the production window is over. */
  private produce(partition: number, records: KeyedRecord[], untilMs: number, done: () => void): void {
    const bytes = encodeRecordBatch(records.map((r): RecordInput => ({
      key: utf8.encode(r.key),
      value: r.tombstone ? null : utf8.encode(`${r.key}=${r.seq}`),
      headers: [{ key: 'seq', value: utf8.encode(String(r.seq)) }],
      timestamp: Math.floor(this.scheduler.now),
    })));
    const retry = (): void => {
      if (this.scheduler.now >= untilMs) done();
      else this.scheduler.after(retryBackoffMs, () => this.produce(partition, records, untilMs, done));
    };
    this.client.sendToPartition(compactionTopicName, partition, 'ProduceRequest', (requestId) => ({
      requestId, topic: compactionTopicName, partition, acks: acksAll, timeoutMs: produceRequestTimeoutMs, records: bytes, leaderEpoch: -1, transactionalId: '',
    }), clientTimeoutMs, (body) => {
      const response = body as ProduceResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        const name = errorName(response.errorCode);
        this.stats.produceErrors[name] = (this.stats.produceErrors[name] ?? 0) + 1;
        retry();
        return;
      }
      for (const record of records) {
        const history = this.keys.get(record.key)!;
        history.lastAckedSeq = Math.max(history.lastAckedSeq, record.seq);
        if (record.tombstone) this.stats.tombstonesAcked += 1;
        else this.stats.updatesAcked += 1;
      }
      done();
    }, retry);
  }

  /**
   * Reads the partition from offset 0 to the high watermark, then starts over after a short
   * gap. A fetch goes on after the last batch it got (lastOffset + 1: a batch the cleaner
   * emptied still moves the reader on).
   */
  private consumePass(partition: number, pass: number, offset = 0): void {
    this.stats.fetches += 1;
    const again = (delayMs: number, nextPass: number, nextOffset: number): void => {
      this.scheduler.after(delayMs, () => this.consumePass(partition, nextPass, nextOffset));
    };
    this.client.sendToPartition(compactionTopicName, partition, 'FetchRequest', (requestId) => ({
      requestId, topic: compactionTopicName, partition, replicaId: consumerReplicaId, fetchOffset: offset, lastFetchedEpoch: -1,
      currentLeaderEpoch: -1, maxBytes: compactionFetchMaxBytes, maxWaitMs: fetchMaxWaitMs, minBytes: 1, isolationLevel: 0,
    }), clientTimeoutMs, (body) => {
      const response = body as FetchResponse;
      if (response.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        again(retryBackoffMs, pass + 1, 0);
        return;
      }
      if (response.errorCode !== ErrorCode.NONE) {
        again(retryBackoffMs, pass, offset);
        return;
      }
      const next = this.readBatches(partition, pass, offset, response.records);
      if (next >= response.highWatermark) {
        this.stats.consumerPasses += 1;
        again(this.prng.int(passGapMinMs, passGapMaxMs), pass + 1, 0);
      } else {
        // Nothing below the watermark came back (a leader still catching up its reads): not a busy loop.
        again(next === offset ? retryBackoffMs : 0, pass, next);
      }
    }, () => again(0, pass, offset));
  }

  /** Hands every record to the observer; returns where the next fetch starts. */
  private readBatches(partition: number, pass: number, offset: number, bytes: Uint8Array): number {
    let next = offset;
    let position = 0;
    while (position < bytes.length) {
      const header = readBatchHeader(bytes, position);
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < offset) continue;
        const keyed = decodeKeyedRecord(record);
        if (keyed === null) continue;
        this.stats.recordsRead += 1;
        this.observer.record(partition, pass, record.offset, keyed, this.scheduler.now);
      }
      next = Math.max(next, header.lastOffset + 1);
      position += header.sizeBytes;
    }
    return next;
  }
}
