// The cluster metadata state: what every controller and broker builds by applying the
// committed metadata log in order. Owned by one actor at a time and updated in place.
import type {
  AclBinding, BrokerState, LogEntry, MetadataImageMessage, MetadataRecord, PartitionRecord, TopicState, UserScramCredentialRecord,
} from '../protocol/messages.js';
import { encodeMetadataImage } from '../protocol/codec.js';
import { sameBinding } from './acls.js';

export interface MetadataImage {
  /** Index of the last record applied (0 = empty). */
  offset: number;
  brokers: Map<number, BrokerState>;
  topicsByName: Map<string, TopicState>;
  topicNamesById: Map<string, string>;
  /** The first producer id no broker has been given yet. */
  nextProducerId: number;
  /** SCRAM credentials by user name, then Kafka's mechanism number. */
  scramCredentials: Map<string, Map<number, UserScramCredentialRecord>>;
  /** ACLs in the order they were created, no two the same. */
  acls: AclBinding[];
}

export function emptyImage(): MetadataImage {
  return { offset: 0, brokers: new Map(), topicsByName: new Map(), topicNamesById: new Map(), nextProducerId: 0, scramCredentials: new Map(), acls: [] };
}

function copyCredential(c: UserScramCredentialRecord): UserScramCredentialRecord {
  return { ...c, salt: Uint8Array.from(c.salt), storedKey: Uint8Array.from(c.storedKey), serverKey: Uint8Array.from(c.serverKey) };
}

function putCredential(image: MetadataImage, credential: UserScramCredentialRecord): void {
  const byMechanism = image.scramCredentials.get(credential.name) ?? new Map<number, UserScramCredentialRecord>();
  image.scramCredentials.set(credential.name, byMechanism);
  byMechanism.set(credential.mechanism, copyCredential(credential));
}

export function partitionOf(image: MetadataImage, topicId: string, partition: number): PartitionRecord | undefined {
  const name = image.topicNamesById.get(topicId);
  if (name === undefined) return undefined;
  return image.topicsByName.get(name)?.partitions[partition];
}

/** Applies one committed record. Records that no longer match the state are ignored, as KRaft does. */
export function applyEntry(image: MetadataImage, entry: LogEntry): void {
  if (entry.index !== image.offset + 1) {
    throw new Error(`metadata image at offset ${image.offset} cannot apply entry ${entry.index}`);
  }
  for (const record of entry.records) applyRecord(image, record, entry.index);
  image.offset = entry.index;
}

function applyRecord(image: MetadataImage, record: MetadataRecord, index: number): void {
  if ('registerBroker' in record) {
    const r = record.registerBroker;
    image.brokers.set(r.brokerId, {
      brokerId: r.brokerId, brokerEpoch: index, incarnationId: r.incarnationId, listener: r.listener, fenced: true,
    });
  } else if ('fenceBroker' in record) {
    const broker = image.brokers.get(record.fenceBroker.brokerId);
    if (broker !== undefined && broker.brokerEpoch === record.fenceBroker.brokerEpoch) broker.fenced = true;
  } else if ('unfenceBroker' in record) {
    const broker = image.brokers.get(record.unfenceBroker.brokerId);
    if (broker !== undefined && broker.brokerEpoch === record.unfenceBroker.brokerEpoch) broker.fenced = false;
  } else if ('topic' in record) {
    const { name, topicId, configs, creationId } = record.topic;
    image.topicsByName.set(name, { name, topicId, partitions: [], configs: configs.map((c) => ({ ...c })), creationId });
    image.topicNamesById.set(topicId, name);
  } else if ('partition' in record) {
    const p = record.partition;
    const name = image.topicNamesById.get(p.topicId);
    if (name !== undefined) {
      image.topicsByName.get(name)!.partitions[p.partition] = { ...p, replicas: [...p.replicas], isr: [...p.isr] };
    }
  } else if ('partitionChange' in record) {
    const change = record.partitionChange;
    const current = partitionOf(image, change.topicId, change.partition);
    if (current !== undefined) {
      if (change.leader !== current.leader) current.leaderEpoch += 1;
      current.leader = change.leader;
      current.isr = [...change.isr];
      current.partitionEpoch += 1;
    }
  } else if ('removeTopic' in record) {
    const name = image.topicNamesById.get(record.removeTopic.topicId);
    if (name !== undefined) {
      image.topicsByName.delete(name);
      image.topicNamesById.delete(record.removeTopic.topicId);
    }
  } else if ('producerIds' in record) {
    // Blocks only move forward, whatever the order they are read in.
    image.nextProducerId = Math.max(image.nextProducerId, record.producerIds.nextProducerId);
  } else if ('userScramCredential' in record) {
    putCredential(image, record.userScramCredential);
  } else if ('removeUserScramCredential' in record) {
    const { name, mechanism } = record.removeUserScramCredential;
    const byMechanism = image.scramCredentials.get(name);
    byMechanism?.delete(mechanism);
    if (byMechanism?.size === 0) image.scramCredentials.delete(name);
  } else if ('acl' in record) {
    if (!image.acls.some((a) => sameBinding(a, record.acl))) image.acls.push({ ...record.acl });
  } else if ('removeAcl' in record) {
    image.acls = image.acls.filter((a) => !sameBinding(a, record.removeAcl));
  }
  // leaderChange records carry no state: they commit a new leader's term.
}

export function imageToMessage(image: MetadataImage): MetadataImageMessage {
  const brokers = [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId).map((b) => ({ ...b }));
  const topics = [...image.topicsByName.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({
      name: t.name,
      topicId: t.topicId,
      // A copy that missed a PartitionRecord has a hole here; the digest must still be computable.
      partitions: t.partitions.filter((p) => p !== undefined).map((p) => ({ ...p, replicas: [...p.replicas], isr: [...p.isr] })),
      configs: t.configs.map((c) => ({ ...c })),
      creationId: t.creationId,
    }));
  const scramCredentials = [...image.scramCredentials.keys()].sort().flatMap((name) =>
    [...image.scramCredentials.get(name)!.values()].sort((a, b) => a.mechanism - b.mechanism).map(copyCredential));
  return { offset: image.offset, brokers, topics, nextProducerId: image.nextProducerId, scramCredentials, acls: image.acls.map((a) => ({ ...a })) };
}

export function imageFromMessage(message: MetadataImageMessage): MetadataImage {
  const image = emptyImage();
  image.offset = message.offset;
  image.nextProducerId = message.nextProducerId ?? 0;
  for (const b of message.brokers) image.brokers.set(b.brokerId, { ...b });
  for (const t of message.topics) {
    image.topicsByName.set(t.name, {
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({ ...p, replicas: [...p.replicas], isr: [...p.isr] })),
      configs: t.configs.map((c) => ({ ...c })),
      // Snapshots written before topics had one read as created without.
      creationId: t.creationId ?? '',
    });
    image.topicNamesById.set(t.topicId, t.name);
  }
  for (const c of message.scramCredentials ?? []) putCredential(image, c);
  image.acls = (message.acls ?? []).map((a) => ({ ...a }));
  return image;
}

export function cloneImage(image: MetadataImage): MetadataImage {
  return imageFromMessage(imageToMessage(image));
}

/** The canonical bytes of the image (its protobuf encoding); equal images give equal bytes. */
export function imageBytes(image: MetadataImage): Uint8Array {
  return encodeMetadataImage(imageToMessage(image));
}

export function liveBrokerIds(image: MetadataImage): number[] {
  return [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId).sort((a, b) => a - b);
}
