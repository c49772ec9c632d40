// The transaction APIs through the Kafka listener of a one-node cluster, spoken by a raw
// protocol client: coordinator discovery (creating __transaction_state with its settings), a
// transactional producer id, AddPartitionsToTxn's all-or-nothing errors, fencing by a second
// InitProducerId with the error each API version expects (KIP-588), AddOffsetsToTxn and EndTxn;
// ListOffsets by timestamp (and max timestamp) for each isolation level while the transaction
// is open, and by timestamp after it commits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import type { KafkaClient } from '../../../runtime/kafka/client.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { startSingleNode, waitUntil } from './single-node.js';

const txnId = 'orders-writer';
/** What a client retries on while the coordinator's partition is created, elected and loaded. */
const retriable: ReadonlySet<number> = new Set([ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]);

async function initProducer(client: KafkaClient): Promise<{ producerId: number; producerEpoch: number }> {
  return waitUntil('a transactional producer id', 30_000, async () => {
    const answer = await client.request(ApiKeys.InitProducerId, 1, { transactionalId: txnId, transactionTimeoutMs: 60_000 });
    if (retriable.has(answer.errorCode)) return undefined;
    assert.equal(answer.errorCode, ErrorCode.NONE);
    return { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
  });
}

function addPartitions(client: KafkaClient, version: number, producer: { producerId: number; producerEpoch: number }, topics: Array<{ name: string; partitions: number[] }>) {
  return client.request(ApiKeys.AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: txnId, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch, v3AndBelowTopics: topics,
  });
}

/** ListOffsets v7 for orders-0: [errorCode, offset, timestamp]. */
async function offsetAt(client: KafkaClient, timestamp: number, isolationLevel: number): Promise<number[]> {
  const answer = await client.request(ApiKeys.ListOffsets, 7, { replicaId: -1, isolationLevel, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
  const p = answer.topics[0]!.partitions[0]!;
  return [p.errorCode, p.offset, p.timestamp];
}

function errorsOf(answer: { resultsByTopicV3AndBelow: Array<{ name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }> }) {
  return Object.fromEntries(answer.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => [`${t.name}-${p.partitionIndex}`, p.partitionErrorCode])));
}

test('transactions through the Kafka listener: find, init, add partitions, fencing, add offsets, end', { timeout: 120_000 }, async () => {
  const node = await startSingleNode(['transaction.state.log.num.partitions=3', 'offsets.topic.num.partitions=2']);
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);

    // The first FindCoordinator creates __transaction_state; clients retry until it has a leader.
    const first = await client.request(ApiKeys.FindCoordinator, 1, { key: txnId, keyType: 1 });
    assert.equal(first.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const found = await waitUntil('a transaction coordinator', 20_000, async () => {
      const answer = await client.request(ApiKeys.FindCoordinator, 4, { keyType: 1, coordinatorKeys: [txnId, 'another'] });
      return answer.coordinators.every((c) => c.errorCode === ErrorCode.NONE) ? answer : undefined;
    });
    assert.deepEqual(found.coordinators.map((c) => [c.key, c.nodeId, c.port]), [[txnId, 1, node.port], ['another', 1, node.port]]);
    const configs = await client.request(ApiKeys.DescribeConfigs, 1, { resources: [{ resourceType: 2, resourceName: '__transaction_state', configurationKeys: null }], includeSynonyms: false });
    const config = Object.fromEntries(configs.results[0]!.configs.map((c) => [c.name, c.value]));
    // The replication factor is capped by the one live broker, and min.insync.replicas by it.
    assert.deepEqual(config, { 'cleanup.policy': 'compact', 'segment.bytes': String(100 * 1024 * 1024), 'min.insync.replicas': '1' });
    const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [{ name: '__transaction_state' }] });
    assert.equal(metadata.topics[0]?.partitions.length, 3);
    const empty = await client.request(ApiKeys.FindCoordinator, 3, { key: '', keyType: 1 });
    assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);

    const zombie = await initProducer(client);
    assert.equal(zombie.producerEpoch, 0);

    // An unknown topic or partition fails the whole request: the rest are not attempted.
    const partial = await addPartitions(client, 1, zombie, [{ name: 'orders', partitions: [0, 7] }, { name: 'nope', partitions: [0] }]);
    assert.deepEqual(errorsOf(partial), {
      'orders-0': ErrorCode.OPERATION_NOT_ATTEMPTED, 'orders-7': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'nope-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });

    // A second InitProducerId for the id bumps the epoch: the first producer is fenced.
    const producer = await initProducer(client);
    assert.equal(producer.producerId, zombie.producerId);
    assert.equal(producer.producerEpoch, 1);
    assert.deepEqual(errorsOf(await addPartitions(client, 1, zombie, [{ name: 'orders', partitions: [0] }])), { 'orders-0': ErrorCode.INVALID_PRODUCER_EPOCH });
    assert.deepEqual(errorsOf(await addPartitions(client, 3, zombie, [{ name: 'orders', partitions: [0] }])), { 'orders-0': ErrorCode.PRODUCER_FENCED });
    const endBy = (version: number, who: { producerId: number; producerEpoch: number }, committed: boolean) =>
      client.request(ApiKeys.EndTxn, version, { transactionalId: txnId, producerId: who.producerId, producerEpoch: who.producerEpoch, committed });
    assert.equal((await endBy(1, zombie, true)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await endBy(3, zombie, true)).errorCode, ErrorCode.PRODUCER_FENCED);
    const addOffsetsBy = (version: number, who: { producerId: number; producerEpoch: number }) =>
      client.request(ApiKeys.AddOffsetsToTxn, version, { transactionalId: txnId, producerId: who.producerId, producerEpoch: who.producerEpoch, groupId: 'order-readers' });
    // AddOffsetsToTxn needs no __consumer_offsets (it creates it), as Kafka's.
    assert.equal((await addOffsetsBy(0, zombie)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    await waitUntil('the group\'s coordinator', 20_000, async () => {
      const answer = await client.request(ApiKeys.FindCoordinator, 1, { key: 'order-readers', keyType: 0 });
      return answer.errorCode === ErrorCode.NONE ? true : undefined;
    });

    // The current producer: its partitions and its group's offsets join, and the commit is accepted.
    assert.deepEqual(errorsOf(await addPartitions(client, 3, producer, [{ name: 'orders', partitions: [0, 1, 0] }])), { 'orders-0': 0, 'orders-1': 0 });
    assert.equal((await addOffsetsBy(3, producer)).errorCode, ErrorCode.NONE);
    const records = encodeRecordBatch([{ key: null, value: new TextEncoder().encode('o1'), timestamp: 1_000 }], {
      producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: 0, transactional: true,
    });
    const produced = await client.request(ApiKeys.Produce, 3, { transactionalId: txnId, acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records }] }] });
    assert.equal(produced.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE);
    // Open: read_committed ends at the last stable offset (0), before the record; read_uncommitted sees it.
    assert.deepEqual(await offsetAt(client, 500, 1), [ErrorCode.NONE, -1, -1]);
    assert.deepEqual(await offsetAt(client, 500, 0), [ErrorCode.NONE, 0, 1_000]);
    assert.deepEqual(await offsetAt(client, -1, 1), [ErrorCode.NONE, 0, -1]);
    assert.deepEqual(await offsetAt(client, -3, 1), [ErrorCode.NONE, -1, -1], 'max timestamp (KIP-734), read_committed');
    assert.deepEqual(await offsetAt(client, -3, 0), [ErrorCode.NONE, 0, 1_000]);
    assert.equal((await endBy(3, producer, true)).errorCode, ErrorCode.NONE);
    // The commit marker is written after EndTxn is answered.
    await waitUntil('the commit marker', 10_000, async () => ((await offsetAt(client, -1, 1))[1] === 2 ? true : undefined));
    assert.deepEqual(await offsetAt(client, 500, 1), [ErrorCode.NONE, 0, 1_000]);
    // Ending a transaction the other way while it completes is refused, as in Kafka.
    const other = (await endBy(3, producer, false)).errorCode;
    assert.ok(other === ErrorCode.INVALID_TXN_STATE || other === ErrorCode.CONCURRENT_TRANSACTIONS, `EndTxn(abort) after a commit: ${other}`);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
