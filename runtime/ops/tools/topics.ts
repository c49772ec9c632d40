// `logmesh topics`, in the spirit of kafka-topics.sh: create, list, describe (leader, replicas
// and ISR per partition), delete, and add partitions, all through kafkajs' admin client.
// --describe also shows each topic's cleanup policy and, for compacted topics, each
// partition's dirty ratio and cleaner lag: kafkajs has no DescribeLogDirs, so logmesh's own
// client asks every broker for its log directory and the answers are merged per replica.
import type { Command } from 'commander';
import type { Admin, ConfigResourceTypes, PartitionMetadata } from 'kafkajs';
import type { ConfigEntry } from '../../../actors/protocol/messages.js';
import { KafkaClient } from '../../kafka/client.js';
import { ApiKeys } from '../../kafka/protocol/index.js';
import { type ConnectionFlags, ToolError, failingAs, withAdmin, withBootstrapOption } from './connection.js';
import { asInt, collectConfig } from './options.js';
import { withSpinner } from './spinner.js';

// kafkajs' ConfigResourceTypes is not a named export under ESM; 2 is Kafka's ConfigResource.Type.TOPIC.
const topicConfigResource = 2 as ConfigResourceTypes;
const adminTimeoutMs = 30_000;

interface TopicsFlags extends ConnectionFlags {
  create?: boolean;
  list?: boolean;
  describe?: boolean;
  delete?: boolean;
  alter?: boolean;
  topic?: string;
  partitions?: number;
  replicationFactor?: number;
  config: ConfigEntry[];
  ifNotExists?: boolean;
  ifExists?: boolean;
  excludeInternal?: boolean;
  json?: boolean;
}

const modes = ['create', 'list', 'describe', 'delete', 'alter'] as const;
type Mode = (typeof modes)[number];

export interface PartitionDescription {
  partition: number;
  /** -1: no leader (the partition is offline). */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  configs: Record<string, string>;
}

/** One replica's log, as its broker's DescribeLogDirs reports it. */
export interface ReplicaLog {
  broker: number;
  sizeBytes: number;
  offsetLag: number;
  /** Compacted logs only (else null): dirty bytes over the cleanable part, and how long the oldest dirty record waited. */
  dirtyRatio: number | null;
  cleanerLagMs: number | null;
}

/** What --describe shows: the metadata and configs, the cleanup policy, and every replica's log that its broker reported. */
export interface DescribedTopic extends TopicDescription {
  cleanupPolicy: string;
  partitions: Array<PartitionDescription & { logs: ReplicaLog[] }>;
}

/** Kafka's default cleanup.policy (a topic without the override). */
const defaultCleanupPolicy = 'delete';
/** DescribeLogDirs v4: the first with total and usable bytes; logmesh's cleaner fields are tagged fields of v2+. */
const describeLogDirsVersion = 4;
const logDirsTimeoutMs = 10_000;

export function registerTopicsCommand(program: Command): void {
  withBootstrapOption(program.command('topics')
    .description('create, list, describe, delete or add partitions to topics (like kafka-topics.sh)'))
    .option('--create', 'create --topic')
    .option('--list', 'list topic names')
    .option('--describe', 'leader, replicas and ISR of every partition of --topic (every topic without --topic), the cleanup policy, and the dirty ratio and cleaner lag of compacted logs')
    .option('--delete', 'delete --topic')
    .option('--alter', 'add partitions to --topic, up to --partitions')
    .option('--topic <name>', 'the topic')
    .option('--partitions <n>', 'partitions (default: the cluster\'s num.partitions)', asInt('--partitions', 1, 100_000))
    .option('--replication-factor <n>', 'replicas per partition (default: the cluster\'s default.replication.factor)', asInt('--replication-factor', 1, 16))
    .option('--config <key=value>', 'a topic config override (repeatable), e.g. min.insync.replicas=2', collectConfig, [])
    .option('--if-not-exists', 'with --create: no error when the topic exists')
    .option('--if-exists', 'with --delete: no error when the topic does not exist')
    .option('--exclude-internal', 'with --list or --describe: leave out internal topics (__consumer_offsets)')
    .option('--json', 'print JSON instead of text')
    .action(async (flags: TopicsFlags) => {
      const mode = chosenMode(flags);
      await withAdmin(flags.bootstrapServer, (admin) => runTopics(admin, mode, flags));
    });
}

function chosenMode(flags: TopicsFlags): Mode {
  const chosen = modes.filter((mode) => flags[mode] === true);
  if (chosen.length !== 1) throw new ToolError(`topics: give exactly one of ${modes.map((m) => `--${m}`).join(', ')}`);
  const mode = chosen[0]!;
  if (mode !== 'list' && mode !== 'describe' && flags.topic === undefined) throw new ToolError(`topics --${mode}: --topic is required`);
  if (mode === 'alter' && flags.partitions === undefined) throw new ToolError('topics --alter: --partitions is required');
  return mode;
}

async function runTopics(admin: Admin, mode: Mode, flags: TopicsFlags): Promise<void> {
  const topic = flags.topic ?? '';
  switch (mode) {
    case 'create': {
      const created = await failingAs(`topics --create: topic ${topic}`, () => withSpinner(`creating topic ${topic}`, () => admin.createTopics({
        topics: [{
          topic, numPartitions: flags.partitions ?? -1, replicationFactor: flags.replicationFactor ?? -1,
          configEntries: flags.config.map((c) => ({ name: c.name, value: c.value })),
        }],
        waitForLeaders: true,
        timeout: adminTimeoutMs,
      })));
      if (!created && flags.ifNotExists !== true) throw new ToolError(`topics --create: topic ${topic}: TOPIC_ALREADY_EXISTS`);
      process.stdout.write(created ? `Created topic ${topic}.\n` : `Topic ${topic} already exists.\n`);
      return;
    }
    case 'list': {
      const names = await failingAs('topics --list', () => admin.listTopics());
      const shown = names.filter((name) => flags.excludeInternal !== true || !isInternal(name)).sort();
      process.stdout.write(flags.json === true ? `${JSON.stringify(shown)}\n` : shown.map((name) => `${name}\n`).join(''));
      return;
    }
    case 'describe': {
      const described = await failingAs(`topics --describe${flags.topic === undefined ? '' : `: topic ${topic}`}`,
        () => describeTopics(admin, flags.topic === undefined ? undefined : [topic]));
      const listed = described.filter((t) => flags.excludeInternal !== true || !isInternal(t.name));
      const shown = await failingAs('topics --describe', () => withReplicaLogs(admin, listed));
      process.stdout.write(flags.json === true ? `${JSON.stringify(shown)}\n` : shown.map(formatTopic).join(''));
      return;
    }
    case 'delete': {
      const exists = (await failingAs('topics --delete', () => admin.listTopics())).includes(topic);
      if (!exists) {
        if (flags.ifExists === true) return;
        throw new ToolError(`topics --delete: topic ${topic}: UNKNOWN_TOPIC_OR_PARTITION`);
      }
      await failingAs(`topics --delete: topic ${topic}`, () => withSpinner(`deleting topic ${topic}`, () => admin.deleteTopics({ topics: [topic], timeout: adminTimeoutMs })));
      process.stdout.write(`Deleted topic ${topic}.\n`);
      return;
    }
    case 'alter': {
      const count = flags.partitions!;
      await failingAs(`topics --alter: cannot add partitions to topic ${topic}`,
        () => withSpinner(`adding partitions to ${topic}`, () => admin.createPartitions({ topicPartitions: [{ topic, count }], timeout: adminTimeoutMs })));
      process.stdout.write(`Topic ${topic} now has ${count} partitions.\n`);
      return;
    }
  }
}

function isInternal(name: string): boolean {
  return name.startsWith('__');
}

/** Partitions from the metadata (any broker's), config overrides from DescribeConfigs unless `withConfigs` is false. */
export async function describeTopics(admin: Admin, topics: string[] | undefined, withConfigs = true): Promise<TopicDescription[]> {
  const metadata = await admin.fetchTopicMetadata(topics === undefined ? undefined : { topics });
  const names = metadata.topics.map((t) => t.name);
  const configs = new Map<string, Record<string, string>>();
  if (withConfigs && names.length > 0) {
    const answer = await admin.describeConfigs({ resources: names.map((name) => ({ type: topicConfigResource, name })), includeSynonyms: false });
    for (const resource of answer.resources) {
      configs.set(resource.resourceName, Object.fromEntries(resource.configEntries.filter((c) => !c.isDefault).map((c) => [c.configName, c.configValue])));
    }
  }
  return metadata.topics
    .map((t) => ({
      name: t.name,
      partitions: t.partitions.map(partitionDescription).sort((a, b) => a.partition - b.partition),
      configs: configs.get(t.name) ?? {},
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function partitionDescription(p: PartitionMetadata): PartitionDescription {
  return { partition: p.partitionId, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] };
}

/**
 * Adds the cleanup policy and every replica's log (DescribeLogDirs, asked of every broker at
 * once). A broker that cannot be reached, or refuses (CLUSTER DESCRIBE is needed), leaves
 * its replicas out: the metadata is still worth showing.
 */
export async function withReplicaLogs(admin: Admin, topics: TopicDescription[]): Promise<DescribedTopic[]> {
  const byPartition = new Map<string, ReplicaLog[]>();
  if (topics.length > 0) {
    const { brokers } = await admin.describeCluster();
    const filter = topics.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }));
    const answers = await Promise.all(brokers.map((b) => brokerLogs(b.nodeId, b.host, b.port, filter)));
    for (const { topic, partition, log } of answers.flat()) {
      const key = `${topic}/${partition}`;
      byPartition.set(key, [...(byPartition.get(key) ?? []), log].sort((a, b) => a.broker - b.broker));
    }
  }
  return topics.map((t) => ({
    ...t,
    cleanupPolicy: t.configs['cleanup.policy'] ?? defaultCleanupPolicy,
    partitions: t.partitions.map((p) => ({ ...p, logs: byPartition.get(`${t.name}/${p.partition}`) ?? [] })),
  }));
}

/** One broker's replicas of the asked partitions, or none when it cannot say. */
async function brokerLogs(
  broker: number, host: string, port: number, filter: Array<{ topic: string; partitions: number[] }>,
): Promise<Array<{ topic: string; partition: number; log: ReplicaLog }>> {
  let client: KafkaClient;
  try {
    client = await KafkaClient.connect(port, host, 'logmesh-admin');
  } catch {
    return [];
  }
  try {
    const answer = await client.request(ApiKeys.DescribeLogDirs, describeLogDirsVersion, { topics: filter }, logDirsTimeoutMs);
    if (answer.errorCode !== 0) return [];
    return answer.results.filter((dir) => dir.errorCode === 0).flatMap((dir) => dir.topics.flatMap((t) => t.partitions.map((p) => ({
      topic: t.name, partition: p.partitionIndex,
      log: {
        broker, sizeBytes: p.partitionSize, offsetLag: p.offsetLag,
        dirtyRatio: p.logmeshDirtyRatio < 0 ? null : p.logmeshDirtyRatio, cleanerLagMs: p.logmeshCleanerLagMs < 0 ? null : p.logmeshCleanerLagMs,
      },
    }))));
  } catch {
    return [];
  } finally {
    client.close();
  }
}

/**
 * kafka-topics.sh --describe's layout: a topic line, then one tab-indented line per partition;
 * the topic line adds the cleanup policy, and a compacted topic's partition lines the dirty
 * ratio and cleaner lag of the leader's log ('unknown' when its broker did not answer).
 */
export function formatTopic(topic: DescribedTopic): string {
  const configs = Object.entries(topic.configs).map(([name, value]) => `${name}=${value}`).join(',');
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 0;
  const compacted = topic.cleanupPolicy.split(',').includes('compact');
  const lines = [
    `Topic: ${topic.name}\tPartitionCount: ${topic.partitions.length}\tReplicationFactor: ${replicationFactor}\tCleanupPolicy: ${topic.cleanupPolicy}\tConfigs: ${configs}`.trimEnd(),
  ];
  for (const p of topic.partitions) {
    let line = `\tTopic: ${topic.name}\tPartition: ${p.partition}\tLeader: ${p.leader < 0 ? 'none' : p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`;
    if (compacted) {
      const leaderLog = p.logs.find((log) => log.broker === p.leader);
      line += leaderLog === undefined || leaderLog.dirtyRatio === null
        ? '\tDirtyRatio: unknown\tCleanerLagMs: unknown'
        : `\tDirtyRatio: ${leaderLog.dirtyRatio.toFixed(3)}\tCleanerLagMs: ${leaderLog.cleanerLagMs}`;
    }
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}
