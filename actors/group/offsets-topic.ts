// Where a group lives: the internal __consumer_offsets topic, the partition a group id hashes
// to (Kafka's own function, so that a group's coordinator is the broker Kafka would pick for
// the same partition count), and the name of the coordinator actor for each partition.

export const consumerOffsetsTopic = '__consumer_offsets';

/** offsets.topic.num.partitions, Kafka's default. */
export const offsetsTopicPartitionsDefault = 50;

/** Java's String.hashCode: UTF-16 code units, 32-bit wrap-around. */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Kafka's GroupMetadataManager.partitionFor: Utils.abs(groupId.hashCode) % partitions. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  const hash = javaStringHash(groupId);
  const abs = hash === -0x80000000 ? 0 : Math.abs(hash);
  return abs % partitions;
}

const coordinatorActorPrefix = 'group-coordinator-';

/** The coordinator actor of one __consumer_offsets partition (on the node hosting its replica). */
export function groupCoordinatorActorId(partition: number): string {
  return `${coordinatorActorPrefix}${partition}`;
}

/** Whether an actor id names a group coordinator (hosts and checkers tell actors apart by id). */
export function isGroupCoordinatorActorId(actorId: string): boolean {
  return actorId.startsWith(coordinatorActorPrefix);
}
