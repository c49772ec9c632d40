// `npm run bench -- memory`: what a node holds resident with 1,000 partition replicas (issue
// 10's aim: under 512 MiB). Three `logmesh node` processes over nats-server (as the kafka
// bench starts them), ten topics of 100 partitions with replication factor 3, so that every
// node hosts 1,000 replicas (a third of them leaders). Each node process's resident set
// (VmRSS in /proc/PID/status) is sampled every second: before any topic exists, once the
// 1,000 partitions are idle, while records go to every partition and a consumer group reads
// them, and at rest afterwards with the group still polling; VmHWM gives each process's peak.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { KafkaClient } from '../kafka/client.js';
import { ApiKeys } from '../kafka/protocol/index.js';
import { encodeRecordBatch } from '../storage/record-batch.js';
import { LogmeshSystem } from './bench-logmesh.js';
import { inBenchDir, pause, waitFor } from './bench-processes.js';

export const memoryTopics = 10;
export const partitionsPerTopic = 100;
export const memoryAimMiB = 512;
const nodes = 3;
/** Records of recordBytes per partition per produce round, and rounds: 1,000 x 10 x 3 = 30,000 records (29 MiB). */
const recordsPerRound = 10;
const produceRounds = 3;
const recordBytes = 1024;
/** How long each resting phase is sampled, one sample a second. */
const idleSampleMs = 10_000;
const ports = { natsPort: 23500, kafkaPortBase: 23501 };
const readyTimeoutMs = 300_000;
/** How long the consumer group may take to read the last records once the produce is over. */
const consumeCatchUpMs = 120_000;
const groupId = 'bench-memory';

const kibPerMib = 1024;

/** VmRSS and VmHWM of a process, in KiB, from /proc/PID/status. */
export function readMemory(pid: number): { rssKiB: number; hwmKiB: number } {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export function parseProcStatus(status: string): { rssKiB: number; hwmKiB: number } {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`/proc status has no ${name} line`);
    return Number(match[1]);
  };
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** The largest resident set seen per process during one phase. */
class PhaseSampler {
  readonly maxRssKiB = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: readonly number[]) {}

  sample(): void {
    for (const pid of this.pids) {
      const { rssKiB } = readMemory(pid);
      this.maxRssKiB.set(pid, Math.max(this.maxRssKiB.get(pid) ?? 0, rssKiB));
    }
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

export interface NodeMemory {
  nodeId: number;
  replicas: number;
  leaders: number;
  /** Largest VmRSS of each phase, MiB. */
  noTopicsMiB: number;
  idleMiB: number;
  loadMiB: number;
  afterMiB: number;
  /** VmHWM at the end: the process's peak resident set. */
  peakMiB: number;
}

export interface MemoryBenchReport {
  nodes: NodeMemory[];
  partitions: number;
  recordsProduced: number;
  recordsConsumed: number;
  /** kafkajs' last warnings, if any (a consumer that fell behind says why here). */
  consumerLog: string[];
  produceMs: number;
  consumeMs: number;
  readyMs: number;
}

interface PartitionPlace {
  topic: string;
  partition: number;
  leaderId: number;
  replicas: number[];
}

const topicNames = Array.from({ length: memoryTopics }, (_, i) => `bench-memory-${i}`);

async function describePartitions(client: KafkaClient): Promise<PartitionPlace[]> {
  const metadata = await client.request(ApiKeys.Metadata, 1, { topics: topicNames.map((name) => ({ name })) }, 10_000);
  return metadata.topics.flatMap((topic) => topic.partitions
    .filter((p) => p.leaderId > 0 && p.isrNodes.length === nodes)
    .map((p) => ({ topic: topic.name ?? '', partition: p.partitionIndex, leaderId: p.leaderId, replicas: p.replicaNodes })));
}

/** Answers after which the same records go again, to the leader the metadata names then. */
const retriable: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
]);
const produceAttemptsMax = 30;

/**
 * One round: a Produce request per leader with one batch for each partition it leads. The
 * metadata can name a leader before its replica acts as one (a just-created partition), so
 * partitions answered with a retriable error go again, with fresh metadata, a few times.
 */
async function produceRound(leaders: Map<number, KafkaClient>, admin: KafkaClient, places: readonly PartitionPlace[], batch: Uint8Array): Promise<void> {
  let pending = places;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: PartitionPlace[] = [];
    const problems: string[] = [];
    await Promise.all([...leaders].map(async ([leaderId, client]) => {
      const led = pending.filter((p) => p.leaderId === leaderId);
      if (led.length === 0) return;
      const byTopic = new Map<string, number[]>();
      for (const p of led) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      const response = await client.request(ApiKeys.Produce, 7, {
        transactionalId: null, acks: -1, timeoutMs: 60_000,
        topicData: [...byTopic].map(([name, partitions]) => ({ name, partitionData: partitions.map((index) => ({ index, records: batch })) })),
      }, 90_000);
      for (const topic of response.responses) {
        for (const partition of topic.partitionResponses) {
          if (partition.errorCode === ErrorCode.NONE) continue;
          const problem = `Produce v7 to ${topic.name}-${partition.index} (leader node ${leaderId}): ${errorName(partition.errorCode)} (${partition.errorCode})`;
          if (!retriable.has(partition.errorCode) || attempt >= produceAttemptsMax) throw new Error(problem);
          problems.push(problem);
          failed.push(led.find((p) => p.topic === topic.name && p.partition === partition.index)!);
        }
      }
    }));
    if (failed.length === 0) return;
    await pause(200);
    const fresh = new Map((await describePartitions(admin)).map((p) => [`${p.topic}/${p.partition}`, p]));
    pending = failed.map((p) => fresh.get(`${p.topic}/${p.partition}`) ?? p);
  }
}

/** Steps: start, no-topic sample, creation, idle sample, each produce round, consume, after-load sample, stop. */
export const memorySteps = 5 + produceRounds + 2;

export async function runMemoryBench(progress: (done: number, total: number) => void): Promise<MemoryBenchReport> {
  let done = 0;
  const step = (): void => progress(++done, memorySteps);
  return inBenchDir('logmesh-bench-memory-', (dataDir) => measureMemory(dataDir, step));
}

async function measureMemory(dataDir: string, step: () => void): Promise<MemoryBenchReport> {
  let system: LogmeshSystem | undefined;
  const clients: KafkaClient[] = [];
  let consumer: ReturnType<Kafka['consumer']> | undefined;
  try {
    system = await LogmeshSystem.start({ nodes, dataDir, ...ports });
    step();
    const processes = system.nodeProcesses().sort((a, b) => a.nodeId - b.nodeId);
    const pids = processes.map((p) => p.pid);
    const phase = async (run: () => Promise<void>): Promise<PhaseSampler> => {
      const sampler = new PhaseSampler(pids);
      sampler.start();
      try {
        await run();
      } finally {
        sampler.stop();
      }
      system!.assertRunning();
      return sampler;
    };

    const noTopics = await phase(() => pause(idleSampleMs / 2));
    step();

    const admin = await KafkaClient.connect(ports.kafkaPortBase, '127.0.0.1', 'logmesh-bench-memory');
    clients.push(admin);
    const readyStarted = performance.now();
    const created = await admin.request(ApiKeys.CreateTopics, 5, {
      topics: topicNames.map((name) => ({
        name, numPartitions: partitionsPerTopic, replicationFactor: nodes, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }],
      })),
      timeoutMs: 60_000,
    }, 90_000);
    for (const topic of created.topics) {
      // TOPIC_ALREADY_EXISTS: the listener retries a creation whose answer was slow to come (the data directory is new, so the topic is this one).
      if (topic.errorCode !== ErrorCode.NONE && topic.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new Error(`CreateTopics v5 ${topic.name} (${partitionsPerTopic} partitions, replication factor ${nodes}): ${errorName(topic.errorCode)}: ${topic.errorMessage ?? ''}`);
    }
    const total = memoryTopics * partitionsPerTopic;
    const places = await waitFor(`${total} partitions with a leader and a full ISR`, readyTimeoutMs, [], async () => {
      system!.assertRunning();
      const ready = await describePartitions(admin);
      return ready.length === total ? ready : undefined;
    });
    const readyMs = performance.now() - readyStarted;
    step();

    const idle = await phase(() => pause(idleSampleMs));
    step();

    const leaders = new Map<number, KafkaClient>();
    for (const { nodeId } of processes) {
      const client = await KafkaClient.connect(ports.kafkaPortBase + nodeId - 1, '127.0.0.1', 'logmesh-bench-memory');
      clients.push(client);
      leaders.set(nodeId, client);
    }
    const value = Buffer.alloc(recordBytes, 0x61);
    const batch = encodeRecordBatch(Array.from({ length: recordsPerRound }, () => ({ key: null, value, timestamp: Date.now() })));
    const recordsProduced = total * recordsPerRound * produceRounds;

    // A consumer group of one kafkajs member reads every partition from the start while the
    // records go in, and keeps polling (and committing) afterwards.
    let recordsConsumed = 0;
    const consumerLog: string[] = [];
    const kafka = new Kafka({
      clientId: 'logmesh-bench-memory', brokers: [`127.0.0.1:${ports.kafkaPortBase}`], logLevel: logLevel.WARN,
      logCreator: () => ({ namespace, log }) => {
        consumerLog.push(`${namespace}: ${log.message}${log.error === undefined ? '' : ` (${String(log.error)})`}`);
        if (consumerLog.length > 20) consumerLog.shift();
      },
    });
    consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 500 });
    await consumer.connect();
    for (const topic of topicNames) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachBatch: async ({ batch: fetched }) => { recordsConsumed += fetched.messages.length; } });

    let produceMs = 0;
    let consumeMs = 0;
    const load = await phase(async () => {
      const started = performance.now();
      for (let round = 0; round < produceRounds; round++) {
        await produceRound(leaders, admin, places, batch);
        step();
      }
      produceMs = performance.now() - started;
      // The group catches up, or the figures say how far it got: the memory is what is measured.
      const catchUpDeadline = performance.now() + consumeCatchUpMs;
      while (recordsConsumed < recordsProduced && performance.now() < catchUpDeadline) {
        system!.assertRunning();
        await pause(200);
      }
      consumeMs = performance.now() - started;
    });
    step();

    const after = await phase(() => pause(idleSampleMs));
    step();

    const mib = (kib: number | undefined): number => (kib ?? 0) / kibPerMib;
    const report: MemoryBenchReport = {
      nodes: processes.map(({ nodeId, pid }) => ({
        nodeId,
        replicas: places.filter((p) => p.replicas.includes(nodeId)).length,
        leaders: places.filter((p) => p.leaderId === nodeId).length,
        noTopicsMiB: mib(noTopics.maxRssKiB.get(pid)),
        idleMiB: mib(idle.maxRssKiB.get(pid)),
        loadMiB: mib(load.maxRssKiB.get(pid)),
        afterMiB: mib(after.maxRssKiB.get(pid)),
        peakMiB: mib(readMemory(pid).hwmKiB),
      })),
      partitions: total,
      recordsProduced,
      recordsConsumed,
      consumerLog: consumerLog.slice(-3),
      produceMs,
      consumeMs,
      readyMs,
    };
    return report;
  } finally {
    // Bounded: kafkajs retries for minutes when the brokers have gone.
    if (consumer !== undefined) await Promise.race([consumer.disconnect().catch(() => {}), pause(10_000)]);
    for (const client of clients) client.close();
    await system?.stop();
    step();
  }
}

/** The setup, printed with the figures. */
export function memorySetup(report: MemoryBenchReport): string {
  return `${nodes} logmesh node processes + nats-server; ${memoryTopics} topics x ${partitionsPerTopic} partitions, replication factor ${nodes}, min.insync.replicas=2 `
    + `(every node hosts every partition's replica); ${recordsPerRound} records of ${recordBytes} B per partition per round, ${produceRounds} rounds `
    + `(${report.recordsProduced} records, acks=-1, one Produce request per leader a round) while a kafkajs consumer group of one member reads from the start; `
    + `RSS sampled every second: ${idleSampleMs / 2000} s before any topic, ${idleSampleMs / 1000} s with the partitions idle, during the load, ${idleSampleMs / 1000} s after it`;
}
