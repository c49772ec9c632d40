import { ErrorCode } from '../protocol/errors.js';
import { liveBrokerIds } from './metadata-image.js';
export const topicNameLengthMax = 249;
const legalTopicName = /^[a-zA-Z0-9._-]+$/;
/**
 * Kafka's rack-unaware assignment: partition p's first replica is broker
 * (start + p) mod n, and followers are spread with a shift that grows every n partitions,
 * so that leaders and followers are both balanced across brokers.
 */
export function assignReplicas(brokers, numPartitions, replicationFactor, startIndex) {
    const n = brokers.length;
    const assignment = [];
    let shift = startIndex % n;
    for (let p = 0; p < numPartitions; p++) {
        if (p > 0 && p % n === 0)
            shift += 1;
        const first = (startIndex + p) % n;
        const replicas = [brokers[first]];
        for (let j = 0; j < replicationFactor - 1; j++) {
            const offset = 1 + ((shift + j) % (n - 1));
            replicas.push(brokers[(first + offset) % n]);
        }
        assignment.push(replicas);
    }
    return assignment;
}
export function validateTopicName(name) {
    return name.length > 0 && name.length <= topicNameLengthMax && name !== '.' && name !== '..' && legalTopicName.test(name);
}
export function decideCreateTopic(image, name, numPartitions, replicationFactor, topicId) {
    if (!validateTopicName(name))
        return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, records: [] };
    if (image.topicsByName.has(name))
        return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, records: [] };
    if (numPartitions < 1)
        return { errorCode: ErrorCode.INVALID_PARTITIONS, records: [] };
    const live = liveBrokerIds(image);
    if (replicationFactor < 1 || replicationFactor > live.length) {
        return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, records: [] };
    }
    const assignment = assignReplicas(live, numPartitions, replicationFactor, stableHash(name) % live.length);
    const records = [{ topic: { name, topicId } }];
    assignment.forEach((replicas, partition) => {
        records.push({
            partition: { topicId, partition, replicas, isr: [...replicas], leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0 },
        });
    });
    return { errorCode: 0, records };
}
/**
 * Fencing a broker takes it out of every ISR it is in (unless it is the last member, so
 * that the ISR never empties) and moves leadership to the next live ISR member.
 */
export function recordsForFence(image, brokerId) {
    const broker = image.brokers.get(brokerId);
    if (broker === undefined || broker.fenced)
        return [];
    const records = [{ fenceBroker: { brokerId, brokerEpoch: broker.brokerEpoch } }];
    const isLive = (id) => id !== brokerId && image.brokers.get(id)?.fenced === false;
    forEachPartition(image, (partition) => {
        if (!partition.isr.includes(brokerId))
            return;
        const isr = partition.isr.length > 1 ? partition.isr.filter((id) => id !== brokerId) : partition.isr;
        let leader = partition.leader;
        if (leader === brokerId || leader === -1)
            leader = electLeader(partition.replicas, isr, isLive);
        records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr, leader } });
    });
    return records;
}
/** Unfencing a broker lets leaderless partitions whose ISR holds it elect a leader again. */
export function recordsForUnfence(image, brokerId) {
    const broker = image.brokers.get(brokerId);
    if (broker === undefined || !broker.fenced)
        return [];
    const records = [{ unfenceBroker: { brokerId, brokerEpoch: broker.brokerEpoch } }];
    const isLive = (id) => id === brokerId || image.brokers.get(id)?.fenced === false;
    forEachPartition(image, (partition) => {
        if (partition.leader !== -1 || !partition.isr.includes(brokerId))
            return;
        const leader = electLeader(partition.replicas, partition.isr, isLive);
        records.push({ partitionChange: { topicId: partition.topicId, partition: partition.partition, isr: partition.isr, leader } });
    });
    return records;
}
/** Clean election: the first replica, in assignment order, that is in the ISR and live. */
export function electLeader(replicas, isr, isLive) {
    for (const id of replicas)
        if (isr.includes(id) && isLive(id))
            return id;
    return -1;
}
function forEachPartition(image, visit) {
    for (const topic of image.topicsByName.values())
        for (const partition of topic.partitions)
            visit(partition);
}
/** FNV-1a, for deterministic choices derived from names. */
export function stableHash(text) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        hash ^= text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash;
}
/** A UUID-shaped topic id derived from the cluster id and the log position that creates it. */
export function deriveTopicId(clusterId, term, index, name) {
    const hex = [
        stableHash(`${clusterId}/${term}/${index}/${name}/a`),
        stableHash(`${clusterId}/${term}/${index}/${name}/b`),
        stableHash(`${clusterId}/${term}/${index}/${name}/c`),
        stableHash(`${clusterId}/${term}/${index}/${name}/d`),
    ].map((n) => n.toString(16).padStart(8, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
//# sourceMappingURL=decisions.js.map