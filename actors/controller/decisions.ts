// The active controller's decisions, as pure functions: partition placement, topic validation,
// and the records that fence or unfence a broker and move partition leadership.
import type { AlterPartitionRequest, ConfigEntry, MetadataRecord, PartitionRecord, TopicState } from '../protocol/messages.js';
import { ErrorCode } from '../protocol/errors.js';
import { topicConfigBoolean, topicConfigError } from '../protocol/topic-configs.js';
import { type MetadataImage, liveBrokerIds } from './metadata-image.js';

export const topicNameLengthMax = 249;
const legalTopicName = /^[a-zA-Z0-9._-]+$/;

/**
 * Kafka's rack-unaware assignment: partition p's first replica is broker
 * (start + p) mod n, and followers are spread with a shift that grows every n partitions,
 * so that leaders and followers are both balanced across brokers.
 */
export function assignReplicas(brokers: number[], numPartitions: number, replicationFactor: number, startIndex: number): number[][] {
  const n = brokers.length;
  const assignment: number[][] = [];
  let shift = startIndex % n;
  for (let p = 0; p < numPartitions; p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const first = (startIndex + p) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < replicationFactor - 1; j++) {
      const offset = 1 + ((shift + j) % (n - 1));
      replicas.push(brokers[(first + offset) % n]!);
    }
    assignment.push(replicas);
  }
  return assignment;
}

export function validateTopicName(name: string): boolean {
  return name.length > 0 && name.length <= topicNameLengthMax && name !== '.' && name !== '..' && legalTopicName.test(name);
}

export type CreateTopicDecision =
  | { errorCode: number; records: [] }
  | { errorCode: 0; records: MetadataRecord[] };

export function decideCreateTopic(
  image: MetadataImage, name: string, numPartitions: number, replicationFactor: number, topicId: string,
  configs: ConfigEntry[] = [], creationId = '',
): CreateTopicDecision {
  if (!validateTopicName(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, records: [] };
  if (image.topicsByName.has(name)) return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, records: [] };
  if (numPartitions < 1) return { errorCode: ErrorCode.INVALID_PARTITIONS, records: [] };
  if (topicConfigError(configs) !== null) return { errorCode: ErrorCode.INVALID_CONFIG, records: [] };
  const live = liveBrokerIds(image);
  if (replicationFactor < 1 || replicationFactor > live.length) {
    return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, records: [] };
  }
  const assignment = assignReplicas(live, numPartitions, replicationFactor, stableHash(name) % live.length);
  const records: MetadataRecord[] = [{ topic: { name, topicId, configs: configs.map((c) => ({ ...c })), creationId } }];
  assignment.forEach((replicas, partition) => {
    records.push({
      partition: { topicId, partition, replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 },
    });
  });
  return { errorCode: 0, records };
}

/**
 * Adds partitions to a topic, up to `count`, with the replication factor it has, placed as
 * topic creation places them (continuing its assignment). The partition count of
 * __consumer_offsets is fixed: groups are placed by it.
 */
export function decideCreatePartitions(image: MetadataImage, name: string, count: number): CreateTopicDecision {
  const topic = image.topicsByName.get(name);
  if (topic === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, records: [] };
  if (name.startsWith('__')) return { errorCode: ErrorCode.INVALID_REQUEST, records: [] };
  const current = topic.partitions.length;
  if (count <= current) return { errorCode: ErrorCode.INVALID_PARTITIONS, records: [] };
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
  const live = liveBrokerIds(image);
  if (replicationFactor > live.length) return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, records: [] };
  const assignment = assignReplicas(live, count, replicationFactor, stableHash(name) % live.length);
  const records: MetadataRecord[] = [];
  for (let partition = current; partition < count; partition++) {
    const replicas = assignment[partition]!;
    records.push({ partition: { topicId: topic.topicId, partition, replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 } });
  }
  return { errorCode: 0, records };
}

/**
 * Fencing a broker takes it out of every ISR it is in (unless it is the last member, so
 * that the ISR never empties) and moves leadership to the next live ISR member.
 */
export function recordsForFence(image: MetadataImage, brokerId: number, uncleanDefault = false): MetadataRecord[] {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined || broker.fenced) return [];
  const records: MetadataRecord[] = [{ fenceBroker: { brokerId, brokerEpoch: broker.brokerEpoch } }];
  const isLive = (id: number): boolean => id !== brokerId && image.brokers.get(id)?.fenced === false;
  forEachPartition(image, (partition, topic) => {
    if (!partition.isr.includes(brokerId)) return;
    let isr = partition.isr.length > 1 ? partition.isr.filter((id) => id !== brokerId) : partition.isr;
    let leader = partition.leader;
    if (leader === brokerId || leader === -1) leader = electLeader(partition.replicas, isr, isLive);
    if (leader === -1 && allowsUnclean(topic, uncleanDefault)) {
      leader = electUncleanLeader(partition.replicas, isLive);
      if (leader !== -1) isr = [leader];
    }
    records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr, leader } });
  });
  return records;
}

function allowsUnclean(topic: TopicState, uncleanDefault: boolean): boolean {
  return topicConfigBoolean(topic.configs, 'unclean.leader.election.enable', uncleanDefault);
}

/** Unclean election: any live replica, in assignment order, whatever it holds. Loses data by design. */
function electUncleanLeader(replicas: number[], isLive: (id: number) => boolean): number {
  for (const id of replicas) if (isLive(id)) return id;
  return -1;
}

/** Unfencing a broker lets leaderless partitions whose ISR holds it elect a leader again. */
export function recordsForUnfence(image: MetadataImage, brokerId: number, uncleanDefault = false): MetadataRecord[] {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined || !broker.fenced) return [];
  const records: MetadataRecord[] = [{ unfenceBroker: { brokerId, brokerEpoch: broker.brokerEpoch } }];
  const isLive = (id: number): boolean => id === brokerId || image.brokers.get(id)?.fenced === false;
  forEachPartition(image, (partition, topic) => {
    if (partition.leader !== -1 || !partition.replicas.includes(brokerId)) return;
    if (partition.isr.includes(brokerId)) {
      const leader = electLeader(partition.replicas, partition.isr, isLive);
      records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr: partition.isr, leader } });
    } else if (allowsUnclean(topic, uncleanDefault) && !partition.isr.some(isLive)) {
      records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr: [brokerId], leader: brokerId } });
    }
  });
  return records;
}

/**
 * Preferred-leader election: partitions whose first replica is live, in the ISR and not
 * the leader get it back as leader (Kafka's auto.leader.rebalance).
 */
export function recordsForPreferredLeaders(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  forEachPartition(image, (partition) => {
    const preferred = partition.replicas[0]!;
    if (partition.leader === preferred || !partition.isr.includes(preferred)) return;
    if (image.brokers.get(preferred)?.fenced !== false) return;
    records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr: partition.isr, leader: preferred } });
  });
  return records;
}

export type AlterPartitionDecision =
  | { errorCode: 0; records: MetadataRecord[]; partition: PartitionRecord }
  | { errorCode: number; records: []; partition: PartitionRecord | undefined };

/**
 * A leader's ISR change (KIP-497), checked as Kafka's controller checks it: the request
 * must come from the current leader at the current leader and partition epochs, and every
 * new ISR member must be a live replica.
 */
export function decideAlterPartition(image: MetadataImage, request: AlterPartitionRequest): AlterPartitionDecision {
  const broker = image.brokers.get(request.brokerId);
  const name = image.topicNamesById.get(request.topicId);
  const partition = name === undefined ? undefined : image.topicsByName.get(name)!.partitions[request.partition];
  if (broker === undefined || broker.brokerEpoch !== request.brokerEpoch || broker.fenced) {
    return { errorCode: ErrorCode.STALE_BROKER_EPOCH, records: [], partition };
  }
  if (partition === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, records: [], partition };
  if (partition.leader !== request.brokerId) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, records: [], partition };
  if (request.leaderEpoch !== partition.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, records: [], partition };
  if (request.partitionEpoch !== partition.partitionEpoch) return { errorCode: ErrorCode.INVALID_UPDATE_VERSION, records: [], partition };
  const isr = request.newIsr;
  const eligible = (id: number): boolean => partition.replicas.includes(id) && image.brokers.get(id)?.fenced === false;
  if (!isr.includes(request.brokerId) || new Set(isr).size !== isr.length || !isr.every(eligible)) {
    return { errorCode: ErrorCode.INELIGIBLE_REPLICA, records: [], partition };
  }
  return {
    errorCode: 0,
    records: [{ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr: [...isr], leader: partition.leader } }],
    partition,
  };
}

/** Clean election: the first replica, in assignment order, that is in the ISR and live. */
export function electLeader(replicas: number[], isr: number[], isLive: (id: number) => boolean): number {
  for (const id of replicas) if (isr.includes(id) && isLive(id)) return id;
  return -1;
}

function forEachPartition(image: MetadataImage, visit: (partition: PartitionRecord, topic: TopicState) => void): void {
  for (const topic of image.topicsByName.values()) for (const partition of topic.partitions) visit(partition, topic);
}

/** FNV-1a, for deterministic choices derived from names. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A UUID-shaped topic id derived from the cluster id and the log position that creates it. */
export function deriveTopicId(clusterId: string, term: number, index: number, name: string): string {
  const hex = [
    stableHash(`${clusterId}/${term}/${index}/${name}/a`),
    stableHash(`${clusterId}/${term}/${index}/${name}/b`),
    stableHash(`${clusterId}/${term}/${index}/${name}/c`),
    stableHash(`${clusterId}/${term}/${index}/${name}/d`),
  ].map((n) => n.toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
