// The nemesis's clients: real kafkajs clients against the real cluster, recording a history in
// the simulator's shapes (sim/workloads/produce-consume.ts DataHistory, sim/workloads/groups.ts
// GroupHistory) so that the simulator's checkers run on it unchanged.
// - an idempotent producer (acks=all, one partition per send: kafkajs 2.2.4 retries a send
//   spanning brokers with new sequence numbers after one broker's NOT_LEADER), one loop per
//   partition writing unique values `p0-<partition>-<n>`; a send that fails after kafkajs' own
//   retries is indeterminate (`info`): the value is never sent again and the producer is
//   replaced (a new producer id), so that a later value never reuses the failed one's sequence;
// - a consumer group of two members that commit what they consumed (kafkajs auto-commit after
//   each batch); each acknowledged commit (COMMIT_OFFSETS) is an AckedCommit;
// - a monitor that asks the group's committed offsets (OffsetFetch) every second;
// - a probe producer that tells when every partition takes an acks=all write again.
// Every operation is an invoke and then an ok, fail or info, with its time (ms since start).
import { Kafka, type Admin, type Consumer, type Producer, logLevel } from 'kafkajs';
import type { AckedWrite, DataHistory } from '../../sim/workloads/produce-consume.js';
import { partitionKey } from '../../sim/workloads/produce-consume.js';
import { type GroupHistory, newGroupHistory } from '../../sim/workloads/groups.js';

export const chaosTopic = 'chaos';
export const chaosPartitions = 3;
export const chaosGroup = 'chaos-group';
const groupMembers = 2;
/** A send's own timeout and kafkajs' retries: about 10 s before a send is given up as indeterminate. */
const sendTimeoutMs = 4000;
const sendPauseMs = 25;
const monitorIntervalMs = 1000;
const probeTimeoutMs = 1500;
const consumerSessionTimeoutMs = 6000;

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface Operation {
  process: string;
  type: OpType;
  f: 'produce' | 'probe' | 'offset-fetch' | 'commit' | 'consume';
  value?: string;
  partition?: number;
  offset?: number;
  error?: string;
  atMs: number;
}

export interface ClientHistory {
  ops: Operation[];
  data: DataHistory;
  groups: GroupHistory;
  /** Producer replacements after an indeterminate send; consumer crashes kafkajs reported. */
  producerRestarts: number;
  consumerCrashes: number;
}

export function newClientHistory(): ClientHistory {
  return {
    ops: [],
    data: {
      acked: [], produceAttempts: 0, produceErrors: {}, abandoned: 0, uncertain: 0, consumed: new Map(), fetches: 0, anomalies: [],
      resentAcrossEpochs: new Set(),
    },
    groups: newGroupHistory(),
    producerRestarts: 0,
    consumerCrashes: 0,
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolvePause) => setTimeout(resolvePause, ms));

function errorText(error: unknown): string {
  const e = error as { name?: string; message?: string; type?: string };
  return `${e.type ?? e.name ?? 'Error'}: ${(e.message ?? String(error)).split('\n')[0]}`;
}

export class ChaosWorkload {
  readonly history = newClientHistory();
  private readonly kafka: Kafka;
  private readonly started = performance.now();
  private running = false;
  private seq = 0;
  private readonly loops: Array<Promise<void>> = [];
  private readonly consumers: Consumer[] = [];
  private admin: Admin | null = null;
  private probe: Producer | null = null;
  private probeCount = 0;

  constructor(bootstrap: string[]) {
    this.kafka = new Kafka({
      clientId: 'logmesh-chaos', brokers: bootstrap, logLevel: logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 5000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  now(): number {
    return performance.now() - this.started;
  }

  /** Creates the topic (replication factor 3) and starts producers, consumers and the monitor. */
  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.admin.createTopics({ topics: [{ topic: chaosTopic, numPartitions: chaosPartitions, replicationFactor: 3 }], waitForLeaders: true });
    this.probe = this.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await this.probe.connect();
    this.running = true;
    for (let partition = 0; partition < chaosPartitions; partition++) this.loops.push(this.produceLoop(partition));
    for (let member = 0; member < groupMembers; member++) this.consumers.push(await this.startConsumer(`member-${member}`));
    this.loops.push(this.monitorLoop());
  }

  /** Stops producing and monitoring, disconnects the members (they commit what they consumed). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.consumers.map((consumer) => consumer.disconnect().catch(() => {})));
    await this.probe?.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    this.running = false;
    await Promise.all(this.consumers.map((consumer) => consumer.disconnect().catch(() => {})));
    await this.probe?.disconnect().catch(() => {});
    await this.admin?.disconnect().catch(() => {});
  }

  /** One acks=all write to every partition through the probe producer; true when all were acknowledged. */
  async probeAll(): Promise<boolean> {
    const results = await Promise.all(Array.from({ length: chaosPartitions }, (_, partition) => this.probeOne(partition)));
    return results.every((ok) => ok);
  }

  /** Whether every partition of the topic has all three replicas in sync (false on any error). */
  async isrFull(): Promise<boolean> {
    try {
      const { topics } = await this.admin!.fetchTopicMetadata({ topics: [chaosTopic] });
      const partitions = topics[0]?.partitions ?? [];
      return partitions.length === chaosPartitions && partitions.every((p) => p.isr.length === 3);
    } catch {
      return false;
    }
  }

  /** The group's committed offsets once everything settled (the checkers' final OffsetFetch). */
  async finalOffsetFetch(): Promise<void> {
    const sentSeq = this.nextSeq();
    const answer = await this.admin!.fetchOffsets({ groupId: chaosGroup, topics: [chaosTopic] });
    const offsets = new Map<string, number>();
    for (const topic of answer) for (const p of topic.partitions) offsets.set(partitionKey(topic.topic, p.partition), Number(p.offset));
    this.history.groups.finalFetch = { sentSeq, answeredSeq: this.nextSeq(), offsets };
  }

  /** Every partition read from offset 0 to its high watermark: offset -> value, and the watermark. */
  async readToEnd(timeoutMs: number): Promise<Map<string, { values: Map<number, string>; highWatermark: number }>> {
    const ends = await this.admin!.fetchTopicOffsets(chaosTopic);
    const logs = new Map(ends.map((end) => [partitionKey(chaosTopic, end.partition), { values: new Map<number, string>(), highWatermark: Number(end.high) }]));
    const reader = this.kafka.consumer({ groupId: `chaos-reader-${Date.now()}`, maxWaitTimeInMs: 200 });
    await reader.connect();
    try {
      await reader.subscribe({ topic: chaosTopic, fromBeginning: true });
      const done = (): boolean => [...logs.values()].every((log) => log.values.size >= log.highWatermark);
      await reader.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const log = logs.get(partitionKey(chaosTopic, partition))!;
          const offset = Number(message.offset);
          if (offset < log.highWatermark) log.values.set(offset, message.value?.toString('utf8') ?? '');
        },
      });
      const deadline = performance.now() + timeoutMs;
      while (!done()) {
        if (performance.now() > deadline) {
          const read = [...logs].map(([key, log]) => `${key} ${log.values.size}/${log.highWatermark}`).join(', ');
          throw new Error(`reading the topic back took over ${timeoutMs} ms (${read})`);
        }
        await pause(100);
      }
    } finally {
      await reader.disconnect().catch(() => {});
    }
    return logs;
  }

  private record(op: Omit<Operation, 'atMs'>): void {
    this.history.ops.push({ ...op, atMs: this.now() });
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  private async newProducer(): Promise<Producer> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    for (;;) {
      try {
        await producer.connect();
        return producer;
      } catch {
        if (!this.running) return producer;
        await pause(200);
      }
    }
  }

  private async produceLoop(partition: number): Promise<void> {
    const process = `producer-${partition}`;
    let producer = await this.newProducer();
    for (let n = 0; this.running; n++) {
      const value = `p0-${partition}-${n}`;
      this.record({ process, type: 'invoke', f: 'produce', value, partition });
      this.history.data.produceAttempts += 1;
      try {
        const [result] = await producer.send({ topic: chaosTopic, acks: -1, timeout: sendTimeoutMs, messages: [{ value, partition }] });
        const baseOffset = Number(result!.baseOffset);
        const write: AckedWrite = { topic: chaosTopic, partition, baseOffset, values: [value], leaderEpoch: -1, node: 0, atMs: this.now() };
        this.history.data.acked.push(write);
        this.record({ process, type: 'ok', f: 'produce', value, partition, offset: baseOffset });
      } catch (error) {
        const text = errorText(error);
        this.history.data.uncertain += 1;
        this.history.data.produceErrors[text.split(':')[0]!] = (this.history.data.produceErrors[text.split(':')[0]!] ?? 0) + 1;
        this.record({ process, type: 'info', f: 'produce', value, partition, error: text });
        await producer.disconnect().catch(() => {});
        this.history.producerRestarts += 1;
        producer = await this.newProducer();
      }
      await pause(sendPauseMs);
    }
    await producer.disconnect().catch(() => {});
  }

  private async probeOne(partition: number): Promise<boolean> {
    this.probeCount += 1;
    const value = `probe-${partition}-${this.probeCount}`;
    this.record({ process: 'probe', type: 'invoke', f: 'probe', value, partition });
    try {
      const [result] = await this.probe!.send({ topic: chaosTopic, acks: -1, timeout: probeTimeoutMs, messages: [{ value, partition }] });
      const baseOffset = Number(result!.baseOffset);
      this.history.data.acked.push({ topic: chaosTopic, partition, baseOffset, values: [value], leaderEpoch: -1, node: 0, atMs: this.now() });
      this.record({ process: 'probe', type: 'ok', f: 'probe', value, partition, offset: baseOffset });
      return true;
    } catch (error) {
      this.record({ process: 'probe', type: 'info', f: 'probe', value, partition, error: errorText(error) });
      return false;
    }
  }

  private async startConsumer(member: string): Promise<Consumer> {
    const consumer = this.kafka.consumer({
      groupId: chaosGroup, sessionTimeout: consumerSessionTimeoutMs, heartbeatInterval: 500, maxWaitTimeInMs: 200,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      const seq = this.nextSeq();
      for (const topic of payload.topics) {
        for (const p of topic.partitions) {
          const offset = Number(p.offset);
          const key = partitionKey(topic.topic, Number(p.partition));
          this.history.groups.commits.push({
            group: payload.groupId, key, offset, generation: payload.groupGenerationId, memberId: payload.memberId,
            sentSeq: seq, ackedSeq: seq, sentAtMs: this.now(), ackedAtMs: this.now(),
          });
          this.record({ process: member, type: 'ok', f: 'commit', partition: Number(p.partition), offset });
        }
      }
    });
    consumer.on(consumer.events.CRASH, () => {
      this.history.consumerCrashes += 1;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: chaosTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = partitionKey(chaosTopic, partition);
        const offset = Number(message.offset);
        const value = message.value?.toString('utf8') ?? '';
        let consumed = this.history.data.consumed.get(key);
        if (consumed === undefined) {
          consumed = { values: new Map(), nextOffset: 0, highWatermark: 0 };
          this.history.data.consumed.set(key, consumed);
        }
        const seen = consumed.values.get(offset);
        if (seen !== undefined && seen !== value) this.history.data.anomalies.push(`${key}: offset ${offset} read as "${seen}" and later as "${value}"`);
        if (seen === undefined) consumed.values.set(offset, value);
        consumed.nextOffset = Math.max(consumed.nextOffset, offset + 1);
        this.history.data.fetches += 1;
        this.history.groups.stats.recordsConsumed += 1;
      },
    });
    return consumer;
  }

  private async monitorLoop(): Promise<void> {
    while (this.running) {
      const sentSeq = this.nextSeq();
      const sentAtMs = this.now();
      this.record({ process: 'monitor', type: 'invoke', f: 'offset-fetch' });
      try {
        const answer = await this.admin!.fetchOffsets({ groupId: chaosGroup, topics: [chaosTopic] });
        const answeredSeq = this.nextSeq();
        for (const topic of answer) {
          for (const p of topic.partitions) {
            const offset = Number(p.offset);
            if (offset < 0) continue;
            this.history.groups.fetchedOffsets.push({
              group: chaosGroup, key: partitionKey(topic.topic, p.partition), offset, memberId: '', sentSeq, answeredSeq, sentAtMs, answeredAtMs: this.now(),
            });
          }
        }
        this.history.groups.stats.offsetFetches += 1;
        this.record({ process: 'monitor', type: 'ok', f: 'offset-fetch' });
      } catch (error) {
        this.record({ process: 'monitor', type: 'fail', f: 'offset-fetch', error: errorText(error) });
      }
      await pause(monitorIntervalMs);
    }
  }
}
