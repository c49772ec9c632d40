// What kafka-consumer-groups.sh shows, over the public Kafka protocol: the groups every broker
// coordinates, and for one group its state, members and, per partition, the committed offset,
// the log end (the high watermark, what a consumer can read) and the lag between them.
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { KafkaClient } from '../kafka/client.js';
import { ApiKeys } from '../kafka/protocol/index.js';
import { splitHostPort } from './config.js';

export interface ListedGroup { groupId: string; protocolType: string; state: string; coordinator: number }

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1: nothing committed. */
  committedOffset: number;
  /** -1: unknown (the leader did not answer). */
  logEndOffset: number;
  /** log end minus committed; null when either is unknown. */
  lag: number | null;
  consumerId: string;
  host: string;
  clientId: string;
}

export interface GroupLag {
  groupId: string;
  state: string;
  coordinator: number;
  members: number;
  partitions: PartitionLag[];
}

interface Broker { nodeId: number; host: string; port: number }

/** Connections to a cluster's brokers, opened on demand, all closed together. */
class Brokers {
  private readonly clients = new Map<number, Promise<KafkaClient>>();
  brokers: Broker[] = [];

  constructor(private readonly bootstrap: { host: string; port: number }, private readonly timeoutMs: number) {}

  async discover(): Promise<void> {
    const client = await KafkaClient.connect(this.bootstrap.port, this.bootstrap.host, 'logmesh-cli');
    try {
      const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [] }, this.timeoutMs);
      this.brokers = metadata.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }));
    } finally {
      client.close();
    }
  }

  to(nodeId: number): Promise<KafkaClient> {
    let client = this.clients.get(nodeId);
    if (client === undefined) {
      const broker = this.brokers.find((b) => b.nodeId === nodeId);
      if (broker === undefined) return Promise.reject(new Error(`broker ${nodeId} is not in the metadata`));
      client = KafkaClient.connect(broker.port, broker.host, 'logmesh-cli');
      this.clients.set(nodeId, client);
    }
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) (await client.catch(() => null))?.close();
  }
}

async function withBrokers<T>(bootstrap: string, timeoutMs: number, work: (brokers: Brokers) => Promise<T>): Promise<T> {
  const brokers = new Brokers(splitHostPort(bootstrap), timeoutMs);
  try {
    await brokers.discover();
    return await work(brokers);
  } finally {
    await brokers.close();
  }
}

/** Every group, asking each broker for the groups it coordinates (ListGroups is per broker). */
export function listConsumerGroups(bootstrap: string, timeoutMs = 10_000): Promise<ListedGroup[]> {
  return withBrokers(bootstrap, timeoutMs, async (brokers) => {
    const lists = await Promise.all(brokers.brokers.map(async (broker) => {
      const answer = await (await brokers.to(broker.nodeId)).request(ApiKeys.ListGroups, 4, { statesFilter: [] }, timeoutMs);
      if (answer.errorCode !== ErrorCode.NONE) throw new Error(`broker ${broker.nodeId}: ${errorName(answer.errorCode)}`);
      return answer.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, coordinator: broker.nodeId }));
    }));
    return lists.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  });
}

/** One group's committed offsets against the partitions' log ends, with the owning member of each partition. */
export function describeConsumerGroup(bootstrap: string, groupId: string, timeoutMs = 10_000): Promise<GroupLag> {
  return withBrokers(bootstrap, timeoutMs, async (brokers) => {
    const bootstrapClient = await brokers.to(brokers.brokers[0]!.nodeId);
    const found = await bootstrapClient.request(ApiKeys.FindCoordinator, 1, { key: groupId, keyType: 0 }, timeoutMs);
    if (found.errorCode !== ErrorCode.NONE) throw new Error(`no coordinator for group ${groupId}: ${errorName(found.errorCode)}`);
    const coordinator = await brokers.to(found.nodeId);
    const described = (await coordinator.request(ApiKeys.DescribeGroups, 1, { groups: [groupId] }, timeoutMs)).groups[0];
    if (described === undefined || described.errorCode !== ErrorCode.NONE) {
      throw new Error(`cannot describe group ${groupId}: ${errorName(described?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR)}`);
    }
    const fetched = await coordinator.request(ApiKeys.OffsetFetch, 3, { groupId, topics: null }, timeoutMs);
    if (fetched.errorCode !== ErrorCode.NONE) throw new Error(`cannot fetch offsets of group ${groupId}: ${errorName(fetched.errorCode)}`);
    const owners = new Map<string, { consumerId: string; host: string; clientId: string }>();
    for (const member of described.members) {
      for (const [topic, partitions] of consumerAssignment(member.memberAssignment)) {
        for (const p of partitions) owners.set(`${topic}/${p}`, { consumerId: member.memberId, host: member.clientHost, clientId: member.clientId });
      }
    }
    const committed = fetched.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) })));
    for (const key of owners.keys()) {
      const at = key.lastIndexOf('/');
      const topic = key.slice(0, at);
      const partition = Number(key.slice(at + 1));
      if (!committed.some((c) => c.topic === topic && c.partition === partition)) committed.push({ topic, partition, offset: -1 });
    }
    const ends = await logEnds(brokers, [...new Set(committed.map((c) => c.topic))], timeoutMs);
    const partitions = committed
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
      .map((c): PartitionLag => {
        const end = ends.get(`${c.topic}/${c.partition}`) ?? -1;
        const owner = owners.get(`${c.topic}/${c.partition}`) ?? { consumerId: '-', host: '-', clientId: '-' };
        return {
          topic: c.topic, partition: c.partition, committedOffset: c.offset, logEndOffset: end,
          lag: c.offset >= 0 && end >= 0 ? Math.max(0, end - c.offset) : null, ...owner,
        };
      });
    return { groupId, state: described.groupState, coordinator: found.nodeId, members: described.members.length, partitions };
  });
}

/** The high watermark of every partition of these topics, asked of each partition's leader. */
async function logEnds(brokers: Brokers, topics: string[], timeoutMs: number): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  if (topics.length === 0) return ends;
  const metadata = await (await brokers.to(brokers.brokers[0]!.nodeId)).request(ApiKeys.Metadata, 1, { topics: topics.map((name) => ({ name })) }, timeoutMs);
  const byLeader = new Map<number, Array<{ topic: string; partition: number }>>();
  for (const topic of metadata.topics) {
    for (const p of topic.partitions) {
      const list = byLeader.get(p.leaderId) ?? [];
      byLeader.set(p.leaderId, list);
      list.push({ topic: topic.name ?? '', partition: p.partitionIndex });
    }
  }
  await Promise.all([...byLeader].filter(([leader]) => leader >= 0).map(async ([leader, partitions]) => {
    const topicsAsked = [...new Set(partitions.map((p) => p.topic))].map((name) => ({
      name, partitions: partitions.filter((p) => p.topic === name).map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: -1 })),
    }));
    const answer = await (await brokers.to(leader)).request(ApiKeys.ListOffsets, 4, { replicaId: -1, isolationLevel: 0, topics: topicsAsked }, timeoutMs);
    for (const t of answer.topics) {
      for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) ends.set(`${t.name}/${p.partitionIndex}`, Number(p.offset));
    }
  }));
  return ends;
}

/** The partitions in a consumer-protocol assignment (ConsumerProtocolAssignment v0+); empty when unreadable. */
export function consumerAssignment(bytes: Uint8Array): Map<string, number[]> {
  const assigned = new Map<string, number[]>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    let at = 2; // version
    const topics = view.getInt32(at);
    at += 4;
    for (let t = 0; t < topics; t++) {
      const length = view.getInt16(at);
      at += 2;
      const topic = new TextDecoder().decode(bytes.subarray(at, at + length));
      at += length;
      const count = view.getInt32(at);
      at += 4;
      const partitions: number[] = [];
      for (let i = 0; i < count; i++, at += 4) partitions.push(view.getInt32(at));
      assigned.set(topic, partitions);
    }
  } catch {
    return new Map();
  }
  return assigned;
}

/** The describe output as kafka-consumer-groups.sh prints it. */
export function formatGroupLag(group: GroupLag): string {
  const header = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
  const rows = group.partitions.map((p) => [
    group.groupId, p.topic, String(p.partition), p.committedOffset < 0 ? '-' : String(p.committedOffset),
    p.logEndOffset < 0 ? '-' : String(p.logEndOffset), p.lag === null ? '-' : String(p.lag), p.consumerId, p.host, p.clientId,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' ').trimEnd();
  return [`Group ${group.groupId} is ${group.state} with ${group.members} members (coordinator: node ${group.coordinator})`, '', line(header), ...rows.map(line)].join('\n');
}
