// logmesh under `npm run bench -- kafka`: nats-server and `logmesh node` processes on
// loopback (the multi-process mode of `logmesh dev --nats`), driven over the Kafka protocol by
// the raw client (runtime/kafka/client.ts): a producer that pipelines Produce requests of one
// 64 KiB batch each, a consumer that Fetches from the beginning one request at a time.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BatchHeader, scanBatches } from '../../actors/protocol/record-batch.js';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { KafkaClient } from '../kafka/client.js';
import { ApiKeys } from '../kafka/protocol/index.js';
import { decodeRecords, encodeRecordBatch } from '../storage/record-batch.js';
import type { LatencyHistogram } from './bench-latency.js';
import type { ConsumeResult, Sender, SystemUnderTest } from './bench-load.js';
import { type BenchChild, assertPortFree, startBenchChild, stopBenchChildren, tcpAccepts, waitFor } from './bench-processes.js';
import { devNodeProperties, findNatsServer } from './dev.js';
import { nodeV8Flags } from './node-flags.js';

const cliPath = resolve(dirname(fileURLToPath(import.meta.url)), 'cli.js');

export const produceVersion = 7;
export const fetchVersion = 4;
/** The producer's batch.size: one Produce request carries one batch of at most this many bytes. */
export const batchBytesMax = 64 * 1024;
/** Bytes a record adds to its value in a v2 batch (null key, no headers): varint length, attributes, deltas, lengths. */
const recordOverheadBytes = 10;
const batchHeaderBytes = 61;
/** Produce's own timeout (acks=all waits for the ISR) and the client's wait for any answer. */
const produceTimeoutMs = 30_000;
const requestTimeoutMs = 35_000;
/** A consumer's max.partition.fetch.bytes (Kafka's default) and the long-poll wait. */
const fetchPartitionBytesMax = 1024 * 1024;
const fetchWaitMaxMs = 100;
const startupTimeoutMs = 60_000;

/** Records of `recordBytes` that fit one batch of batchBytesMax. */
export function recordsPerBatch(recordBytes: number): number {
  return Math.floor((batchBytesMax - batchHeaderBytes) / (recordBytes + recordOverheadBytes));
}

export interface LogmeshOptions {
  nodes: 1 | 3;
  dataDir: string;
  natsPort: number;
  kafkaPortBase: number;
}

function produceError(topic: string, records: number, bytes: number, detail: string): Error {
  return new Error(`Produce v${produceVersion} (acks=-1, ${records} records, ${bytes} bytes) to ${topic}-0: ${detail}`);
}

/** The record batches a bench producer sends: one record of `recordBytes` per intended send time. */
export class BenchBatches {
  /** Unstamped batches by record count: the values do not change, so each is encoded once. */
  private readonly batchesByCount = new Map<number, Uint8Array>();

  constructor(private readonly recordBytes: number, private readonly stampTimes: boolean) {}

  batchFor(intendedMs: readonly number[]): Uint8Array {
    const cached = this.stampTimes ? undefined : this.batchesByCount.get(intendedMs.length);
    if (cached !== undefined) return cached;
    const values = Buffer.alloc(this.recordBytes * intendedMs.length, 0x61);
    const timestamp = Date.now();
    const records = intendedMs.map((intended, i) => {
      const value = values.subarray(i * this.recordBytes, (i + 1) * this.recordBytes);
      // The consumer's end-to-end latency: the intended send time, on this process's clock.
      if (this.stampTimes) value.writeDoubleLE(intended, 0);
      return { key: null, value, timestamp };
    });
    const batch = encodeRecordBatch(records);
    if (!this.stampTimes) this.batchesByCount.set(intendedMs.length, batch);
    return batch;
  }
}

class KafkaSender implements Sender {
  readonly messagesPerSendMax: number;
  private readonly batches: BenchBatches;

  constructor(
    private readonly client: KafkaClient, private readonly topic: string, recordBytes: number,
    readonly inFlightMax: number, stampTimes: boolean,
  ) {
    this.messagesPerSendMax = recordsPerBatch(recordBytes);
    this.batches = new BenchBatches(recordBytes, stampTimes);
  }

  async send(intendedMs: readonly number[]): Promise<void> {
    const records = this.batches.batchFor(intendedMs);
    let response;
    try {
      response = await this.client.request(ApiKeys.Produce, produceVersion, {
        transactionalId: null, acks: -1, timeoutMs: produceTimeoutMs,
        topicData: [{ name: this.topic, partitionData: [{ index: 0, records }] }],
      }, requestTimeoutMs);
    } catch (error) {
      throw produceError(this.topic, intendedMs.length, records.length, (error as Error).message);
    }
    const partition = response.responses[0]?.partitionResponses[0];
    if (partition === undefined) throw produceError(this.topic, intendedMs.length, records.length, 'answer without the partition');
    if (partition.errorCode !== ErrorCode.NONE) {
      throw produceError(this.topic, intendedMs.length, records.length,
        `answered ${errorName(partition.errorCode)} (${partition.errorCode})${partition.errorMessage === null ? '' : `: ${partition.errorMessage}`}`);
    }
  }
}

async function fetchOnce(client: KafkaClient, topic: string, fetchOffset: number): Promise<{ records: Uint8Array; highWatermark: number }> {
  let response;
  try {
    response = await client.request(ApiKeys.Fetch, fetchVersion, {
      replicaId: -1, maxWaitMs: fetchWaitMaxMs, minBytes: 1, maxBytes: fetchPartitionBytesMax, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: fetchPartitionBytesMax }] }],
    }, requestTimeoutMs);
  } catch (error) {
    throw new Error(`Fetch v${fetchVersion} of ${topic}-0 at offset ${fetchOffset}: ${(error as Error).message}`);
  }
  const partition = response.responses[0]?.partitions[0];
  if (partition === undefined) throw new Error(`Fetch v${fetchVersion} of ${topic}-0 at offset ${fetchOffset}: answer without the partition`);
  if (partition.errorCode !== ErrorCode.NONE) {
    throw new Error(`Fetch v${fetchVersion} of ${topic}-0 at offset ${fetchOffset}: answered ${errorName(partition.errorCode)} (${partition.errorCode})`);
  }
  return { records: partition.records ?? new Uint8Array(0), highWatermark: partition.highWatermark };
}

/** The whole batches in `records` at or after `fetchOffset`: their record count and the next offset to fetch. */
function walkBatches(records: Uint8Array, fetchOffset: number): { messages: number; nextOffset: number; headers: BatchHeader[] } {
  const headers = scanBatches(records).headers.filter((h) => h.lastOffset >= fetchOffset);
  let messages = 0;
  for (const header of headers) messages += header.recordCount;
  const last = headers[headers.length - 1];
  return { messages, nextOffset: last === undefined ? fetchOffset : last.lastOffset + 1, headers };
}

export class LogmeshSystem implements SystemUnderTest {
  private readonly clients: KafkaClient[] = [];
  private readonly leaderPorts = new Map<string, number>();

  private constructor(readonly options: LogmeshOptions, private readonly children: BenchChild[], private readonly bootstrap: KafkaClient) {
    this.clients.push(bootstrap);
  }

  /** The `logmesh node` processes, by node id (for the memory bench's /proc readings). */
  nodeProcesses(): Array<{ nodeId: number; pid: number }> {
    return this.children.flatMap((child) => {
      const match = /^logmesh node (\d+)$/.exec(child.name);
      return match === null || child.proc.pid === undefined ? [] : [{ nodeId: Number(match[1]), pid: child.proc.pid }];
    });
  }

  /** Fails with the exited process's last lines if a node or nats-server has gone. */
  assertRunning(): void {
    const dead = this.children.find((child) => !child.running);
    if (dead !== undefined) throw new Error(`${dead.describe()}\nexited during the bench`);
  }

  get description(): string {
    return this.options.nodes === 1
      ? 'logmesh, 1 node process + nats-server, replication factor 1, fsync before ack'
      : 'logmesh, 3 node processes + nats-server, replication factor 3, acks=all, min.insync.replicas=2, fsync before ack';
  }

  static async start(options: LogmeshOptions): Promise<LogmeshSystem> {
    const nats = findNatsServer();
    if (nats === null) throw new Error('nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER');
    await assertPortFree(options.natsPort);
    for (let id = 1; id <= options.nodes; id++) await assertPortFree(options.kafkaPortBase + id - 1);
    const children: BenchChild[] = [];
    try {
      children.push(startBenchChild(`nats (logmesh R${options.nodes})`, nats, ['-a', '127.0.0.1', '-p', String(options.natsPort)]));
      await waitFor(`nats-server on 127.0.0.1:${options.natsPort}`, 10_000, children, async () => ((await tcpAccepts(options.natsPort)) ? true : undefined));
      for (let id = 1; id <= options.nodes; id++) {
        const file = join(options.dataDir, `node-${id}.properties`);
        writeFileSync(file, devNodeProperties(id, { ...options, metricsPortBase: 0, write: () => {} }));
        children.push(startBenchChild(`logmesh node ${id}`, process.execPath, [...nodeV8Flags, cliPath, 'node', '--config', file, '--override', 'log.level=warn']));
      }
      const bootstrap = await waitFor(`${options.nodes} live brokers behind 127.0.0.1:${options.kafkaPortBase}`, startupTimeoutMs, children, async () => {
        const client = await KafkaClient.connect(options.kafkaPortBase, '127.0.0.1', 'logmesh-bench');
        const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [] }, 2000).catch(() => null);
        if (metadata !== null && metadata.brokers.length === options.nodes) return client;
        client.close();
        return undefined;
      });
      return new LogmeshSystem(options, children, bootstrap);
    } catch (error) {
      await stopBenchChildren(children);
      throw error;
    }
  }

  async createLog(name: string): Promise<void> {
    const replicationFactor = this.options.nodes;
    const configs = replicationFactor === 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [];
    const created = await this.bootstrap.request(ApiKeys.CreateTopics, 5, {
      topics: [{ name, numPartitions: 1, replicationFactor, assignments: [], configs }], timeoutMs: 30_000,
    }, 35_000);
    const result = created.topics[0];
    if (result === undefined || result.errorCode !== ErrorCode.NONE) {
      throw new Error(`CreateTopics v5 ${name} (replication factor ${replicationFactor}): ${result === undefined ? 'no answer for the topic' : `${errorName(result.errorCode)}: ${result.errorMessage ?? ''}`}`);
    }
    // Produce only once the leader is there and every replica is in sync.
    const leaderId = await waitFor(`a leader and a full ISR for ${name}-0`, 30_000, this.children, async () => {
      const metadata = await this.bootstrap.request(ApiKeys.Metadata, 1, { topics: [{ name }] }, 2000);
      const partition = metadata.topics[0]?.partitions[0];
      return partition !== undefined && partition.leaderId > 0 && partition.isrNodes.length === replicationFactor ? partition.leaderId : undefined;
    });
    this.leaderPorts.set(name, this.options.kafkaPortBase + leaderId - 1);
    // The metadata can name the leader before its replica acts as one: wait until it answers a Fetch.
    const probe = await this.connectToLeader(name);
    try {
      await waitFor(`a Fetch of ${name}-0 answered by its leader (node ${leaderId})`, 30_000, this.children, async () => {
        await fetchOnce(probe, name, 0);
        return true;
      });
    } finally {
      probe.close();
    }
  }

  private async connectToLeader(log: string): Promise<KafkaClient> {
    const port = this.leaderPorts.get(log);
    if (port === undefined) throw new Error(`topic ${log} was not created`);
    const client = await KafkaClient.connect(port, '127.0.0.1', 'logmesh-bench');
    this.clients.push(client);
    return client;
  }

  async sender(log: string, recordBytes: number, inFlightBatches: number, stampTimes: boolean): Promise<Sender> {
    return new KafkaSender(await this.connectToLeader(log), log, recordBytes, inFlightBatches, stampTimes);
  }

  /** Fetches from offset 0 up to the high watermark seen by the first fetch, or until `timeMs` passes. */
  async consumeAll(log: string, timeMs: number): Promise<ConsumeResult> {
    const client = await this.connectToLeader(log);
    const startMs = performance.now();
    let offset = 0;
    let messages = 0;
    let target = -1;
    try {
      while (performance.now() - startMs < timeMs && (target < 0 || offset < target)) {
        const { records, highWatermark } = await fetchOnce(client, log, offset);
        if (target < 0) target = highWatermark;
        const walked = walkBatches(records, offset);
        messages += walked.messages;
        offset = walked.nextOffset;
      }
    } catch (error) {
      return { messages, ms: performance.now() - startMs, failure: (error as Error).message };
    } finally {
      client.close();
    }
    return { messages, ms: performance.now() - startMs, failure: null };
  }

  /**
   * Long-polls `log` from offset 0, recording now - the stamped intended time of every
   * record, until `expected` records are seen; the returned function waits for that, at most
   * `graceMs` more.
   */
  async tail(log: string, latency: LatencyHistogram, expected: number): Promise<(graceMs: number) => Promise<string | null>> {
    const client = await this.connectToLeader(log);
    let stopped = false;
    const run = async (): Promise<string | null> => {
      let offset = 0;
      let seen = 0;
      try {
        while (!stopped && seen < expected) {
          const { records } = await fetchOnce(client, log, offset);
          const now = performance.now();
          const walked = walkBatches(records, offset);
          for (const header of walked.headers) {
            for (const record of decodeRecords(records, header)) {
              if (record.offset < offset || record.value === null) continue;
              latency.recordSince(Buffer.from(record.value.buffer, record.value.byteOffset, 8).readDoubleLE(0), now);
              seen += 1;
            }
          }
          offset = walked.nextOffset;
        }
        return seen < expected ? `the consumer saw ${seen} of ${expected} records` : null;
      } catch (error) {
        return (error as Error).message;
      } finally {
        client.close();
      }
    };
    const running = run();
    return async (graceMs) => {
      const timer = setTimeout(() => { stopped = true; }, graceMs);
      const failure = await running;
      clearTimeout(timer);
      return failure;
    };
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.close();
    await stopBenchChildren(this.children);
  }
}
