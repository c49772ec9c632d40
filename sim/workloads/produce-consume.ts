// Producers and consumers over the same request path the Kafka listener uses: ProduceRequest
// and FetchRequest envelopes addressed to partition replicas, following NOT_LEADER hints and
// retrying on timeouts, as a Kafka client does. Producers write acks=all batches of unique
// values; consumers read every partition from offset 0 below the high watermark. Both keep
// the history the replication checkers read.
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { type FetchResponse, type ProduceResponse, acksAll, consumerReplicaId } from '../../actors/protocol/messages.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import { decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import { SimClient, partitionKey } from './sim-client.js';

export { partitionKey };

export const produceRequestTimeoutMs = 3000;
/** The client gives up on an answer a little after the broker's own timeout. */
export const clientTimeoutMs = 4000;
export const retryBackoffMs = 100;
export const produceAttemptsMax = 40;
export const recordsPerBatchMax = 5;
export const fetchMaxWaitMs = 500;
export const fetchMaxBytes = 64 * 1024;

/** Producer 0 is idempotent (KIP-98): its producer id, epoch and per-partition sequences. */
export const idempotentProducerId = 4242;

interface IdempotenceState {
  epoch: number;
  /** The next sequence number per partition key. */
  sequences: Map<string, number>;
}

export interface DataTopic {
  name: string;
  partitions: number;
}

/** An acknowledged acks=all write: these values sit at baseOffset, baseOffset + 1, ... */
export interface AckedWrite {
  topic: string;
  partition: number;
  baseOffset: number;
  values: string[];
  leaderEpoch: number;
  node: number;
  atMs: number;
}

/** What consumers saw: the value at each offset, and the highest watermark each response carried. */
export interface ConsumedPartition {
  values: Map<number, string>;
  nextOffset: number;
  highWatermark: number;
}

export interface DataHistory {
  acked: AckedWrite[];
  produceAttempts: number;
  produceErrors: Record<string, number>;
  abandoned: number;
  /** Batches whose fate is unknown (the last attempt timed out or the leader moved). */
  uncertain: number;
  consumed: Map<string, ConsumedPartition>;
  fetches: number;
  /** Anything a client saw that breaks the contract; reported by the checkers. */
  anomalies: string[];
  /** Values the idempotent producer sent again under a new epoch (they may legitimately appear twice). */
  resentAcrossEpochs: Set<string>;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

export const dataClientActor = 'data-client';

export class ProduceConsumeWorkload {
  readonly history: DataHistory = {
    acked: [], produceAttempts: 0, produceErrors: {}, abandoned: 0, uncertain: 0, consumed: new Map(), fetches: 0, anomalies: [],
    resentAcrossEpochs: new Set(),
  };
  private readonly idempotence: IdempotenceState = { epoch: 0, sequences: new Map() };
  private readonly client: SimClient;
  private producersBusy = 0;
  private producing = false;

  constructor(
    clientNode: number,
    clusterId: string,
    nodeIds: number[],
    network: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    tracer: Tracer,
  ) {
    this.client = new SimClient({
      clientNode, actor: dataClientActor, clusterId, nodeIds, network, scheduler, tracer, answerKinds: ['ProduceResponse', 'FetchResponse'],
    });
  }

  /** No produce is outstanding. */
  get idle(): boolean {
    return this.producersBusy === 0;
  }

  /** Starts `producers` producers and one consumer per partition; producers stop at `untilMs`. */
  start(topics: DataTopic[], producers: number, untilMs: number): void {
    this.producing = true;
    const partitions = topics.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => ({ topic: t.name, partition: p })));
    for (const { topic, partition } of partitions) {
      this.history.consumed.set(partitionKey(topic, partition), { values: new Map(), nextOffset: 0, highWatermark: 0 });
      this.consume(topic, partition);
    }
    for (let id = 0; id < producers; id++) {
      let seq = 0;
      const next = (): void => {
        if (this.scheduler.now >= untilMs) {
          this.producing = false;
          return;
        }
        const target = this.prng.pick(partitions);
        const count = this.prng.int(1, recordsPerBatchMax);
        const values = Array.from({ length: count }, () => `p${id}-${(seq += 1)}`);
        this.producersBusy += 1;
        const idempotent = id === 0 ? this.claimSequence(target.topic, target.partition, values.length) : null;
        this.produce(target.topic, target.partition, values, 1, idempotent, () => {
          this.producersBusy -= 1;
          this.scheduler.after(this.prng.int(20, 200), next);
        });
      };
      this.scheduler.after(this.prng.int(0, 200), next);
    }
  }

  /** Whether every consumer has read up to the high watermark it last saw, and producers stopped. */
  caughtUp(highWatermarks: Map<string, number>): boolean {
    if (this.producing || this.producersBusy > 0) return false;
    for (const [key, hw] of highWatermarks) {
      const consumed = this.history.consumed.get(key);
      if (consumed !== undefined && consumed.nextOffset < hw) return false;
    }
    return true;
  }

  /** The sequence a new batch of `count` records starts at, for the idempotent producer. */
  private claimSequence(topic: string, partition: number, count: number): { epoch: number; sequence: number } {
    const key = partitionKey(topic, partition);
    const sequence = this.idempotence.sequences.get(key) ?? 0;
    this.idempotence.sequences.set(key, sequence + count);
    return { epoch: this.idempotence.epoch, sequence };
  }

  /**
   * What a Kafka client does when the broker has lost track of its sequence (or it gave up on
   * a batch, leaving a gap): a new epoch, every sequence from 0 again. A batch resent then
   * may be written twice; that is the limit of idempotence.
   */
  private bumpEpoch(): void {
    this.idempotence.epoch += 1;
    this.idempotence.sequences.clear();
  }

  private produce(
    topic: string, partition: number, values: string[], attempt: number, idempotent: { epoch: number; sequence: number } | null, done: () => void,
  ): void {
    if (attempt > produceAttemptsMax) {
      this.history.abandoned += 1;
      if (idempotent !== null) this.bumpEpoch();
      done();
      return;
    }
    this.history.produceAttempts += 1;
    const records = encodeRecordBatch(
      values.map((v) => ({ key: null, value: utf8.encode(v), timestamp: Math.floor(this.scheduler.now) })),
      idempotent === null ? {} : { producerId: idempotentProducerId, producerEpoch: idempotent.epoch, baseSequence: idempotent.sequence },
    );
    const retry = (uncertain: boolean, errorCode = 0): void => {
      if (uncertain && attempt === produceAttemptsMax) this.history.uncertain += 1;
      let next = idempotent;
      const sequenceLost = errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || errorCode === ErrorCode.UNKNOWN_PRODUCER_ID
        || errorCode === ErrorCode.INVALID_PRODUCER_EPOCH;
      if (idempotent !== null && sequenceLost) {
        if (idempotent.epoch === this.idempotence.epoch) this.bumpEpoch();
        next = this.claimSequence(topic, partition, values.length);
        for (const v of values) this.history.resentAcrossEpochs.add(v);
      }
      this.scheduler.after(retryBackoffMs, () => this.produce(topic, partition, values, attempt + 1, next, done));
    };
    this.client.sendToPartition(topic, partition, 'ProduceRequest', (requestId) => ({
      requestId, topic, partition, acks: acksAll, timeoutMs: produceRequestTimeoutMs, records, leaderEpoch: -1, transactionalId: '',
    }), clientTimeoutMs, (body, fromNode) => {
      const response = body as ProduceResponse;
      if (response.errorCode === ErrorCode.NONE) {
        this.history.acked.push({ topic, partition, baseOffset: response.baseOffset, values, leaderEpoch: response.leaderEpoch, node: fromNode, atMs: this.scheduler.now });
        done();
        return;
      }
      const name = errorName(response.errorCode);
      this.history.produceErrors[name] = (this.history.produceErrors[name] ?? 0) + 1;
      retry(response.errorCode === ErrorCode.REQUEST_TIMED_OUT || response.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER, response.errorCode);
    }, () => retry(true));
  }

  private consume(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    const state = this.history.consumed.get(key)!;
    const again = (delayMs: number): void => {
      this.scheduler.after(delayMs, () => this.consume(topic, partition));
    };
    this.history.fetches += 1;
    this.client.sendToPartition(topic, partition, 'FetchRequest', (requestId) => ({
      requestId, topic, partition, replicaId: consumerReplicaId, fetchOffset: state.nextOffset, lastFetchedEpoch: -1,
      currentLeaderEpoch: -1, maxBytes: fetchMaxBytes, maxWaitMs: fetchMaxWaitMs, minBytes: 1, isolationLevel: 0,
    }), clientTimeoutMs, (body) => {
      const response = body as FetchResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        again(retryBackoffMs);
        return;
      }
      this.readRecords(key, state, response);
      again(0);
    }, () => again(0));
  }

  private readRecords(key: string, state: ConsumedPartition, response: FetchResponse): void {
    state.highWatermark = Math.max(state.highWatermark, response.highWatermark);
    let position = 0;
    const bytes = response.records;
    while (position < bytes.length) {
      const header = readBatchHeader(bytes, position);
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < state.nextOffset) continue;
        if (record.offset >= response.highWatermark) {
          this.history.anomalies.push(`${key}: consumer got offset ${record.offset} at or above the high watermark ${response.highWatermark}`);
        }
        if (record.offset !== state.nextOffset) {
          this.history.anomalies.push(`${key}: consumer expected offset ${state.nextOffset}, got ${record.offset} (offsets not dense)`);
        }
        state.values.set(record.offset, record.value === null ? '' : utf8Decode.decode(record.value));
        state.nextOffset = record.offset + 1;
      }
      position += header.sizeBytes;
    }
  }
}
