// The group APIs through the Kafka listener of a one-node cluster, spoken by a raw protocol
// client: coordinator discovery (creating __consumer_offsets), the join/sync dance, commits and
// their errors, the describe/list/delete tools, and consumer lag for the CLI and /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAssignment, encodeSubscription } from '../../../actors/group/consumer-protocol.js';
import { Registry } from 'prom-client';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import type { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { withAdmin } from '../../../runtime/ops/tools/connection.js';
import { describeConsumerGroup, listConsumerGroups } from '../../../runtime/ops/tools/groups.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { startSingleNode, waitUntil } from './single-node.js';

const group = 'billing';
const utf8 = new TextEncoder();

async function produce(client: KafkaClient, topic: string, partition: number, count: number): Promise<void> {
  const records = encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: utf8.encode(`r${i}`) })));
  const answer = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  assert.equal(answer.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE);
}

function commitRequest(memberId: string, generationId: number, topic: string, offsets: Array<[number, number]>) {
  return {
    groupId: group, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: topic, partitions: offsets.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' })) }],
  };
}

test('consumer groups through the Kafka listener: find, join, sync, commit, describe, lag, delete', { timeout: 120_000 }, async () => {
  const registry = new Registry();
  const node = await startSingleNode(['offsets.topic.num.partitions=3', 'group.min.session.timeout.ms=1000'], registry);
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'invoices', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);

    // The first FindCoordinator creates __consumer_offsets; clients retry until it has a leader.
    const coordinator = await waitUntil('a group coordinator', 20_000, async () => {
      const found = await client.request(ApiKeys.FindCoordinator, 1, { key: group, keyType: 0 });
      return found.errorCode === ErrorCode.NONE ? found : undefined;
    });
    assert.equal(coordinator.nodeId, 1);
    assert.equal(coordinator.port, node.port);

    const join = (memberId: string) => client.request(ApiKeys.JoinGroup, 5, {
      groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5000, memberId, groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription(['invoices']) }],
    }, 20_000);
    const first = await waitUntil('the coordinator to finish loading', 20_000, async () => {
      const answer = await join('');
      return answer.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? undefined : answer;
    });
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const joined = await join(first.memberId);
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.leader, joined.memberId);
    const synced = await client.request(ApiKeys.SyncGroup, 3, {
      groupId: group, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null,
      assignments: [{ memberId: joined.memberId, assignment: encodeAssignment(new Map([['invoices', [0, 1]]])) }],
    });
    assert.equal(synced.errorCode, ErrorCode.NONE);
    assert.deepEqual([...synced.assignment], [...encodeAssignment(new Map([['invoices', [0, 1]]]))]);

    await produce(client, 'invoices', 0, 10);
    await produce(client, 'invoices', 1, 4);
    const committed = await client.request(ApiKeys.OffsetCommit, 7, commitRequest(joined.memberId, joined.generationId, 'invoices', [[0, 6], [1, 4]]));
    assert.deepEqual(committed.topics[0]!.partitions.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
    const unknown = await client.request(ApiKeys.OffsetCommit, 7, commitRequest(joined.memberId, joined.generationId, 'nope', [[0, 1]]));
    assert.equal(unknown.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const stale = await client.request(ApiKeys.OffsetCommit, 7, commitRequest(joined.memberId, joined.generationId + 5, 'invoices', [[0, 9]]));
    assert.equal(stale.topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const internal = await client.request(ApiKeys.Produce, 3, {
      acks: -1, timeoutMs: 1000, topicData: [{ name: '__consumer_offsets', partitionData: [{ index: 0, records: encodeRecordBatch([{ key: null, value: utf8.encode('x') }]) }] }],
    });
    assert.equal(internal.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);

    const fetched = await client.request(ApiKeys.OffsetFetch, 5, { groupId: group, topics: null });
    assert.equal(fetched.errorCode, ErrorCode.NONE);
    assert.deepEqual(fetched.topics[0]!.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]).sort(), [[0, 6], [1, 4]]);

    // What the CLI (`logmesh groups`, on kafkajs' admin client) shows, and what /metrics exports.
    const bootstrap = `127.0.0.1:${node.port}`;
    const [listed, described] = await withAdmin(bootstrap, async (admin) => [await listConsumerGroups(admin), await describeConsumerGroup(admin, group)] as const);
    assert.deepEqual(listed.map((g) => [g.groupId, g.state]), [[group, 'Stable']]);
    assert.equal(described.state, 'Stable');
    assert.deepEqual(described.members.map((m) => [m.consumerId, m.assignment]), [[joined.memberId, [{ topic: 'invoices', partitions: [0, 1] }]]]);
    assert.deepEqual(described.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag, p.consumerId]),
      [[0, 6, 10, 4, joined.memberId], [1, 4, 4, 0, joined.memberId]]);
    const metrics = await registry.metrics();
    assert.match(metrics, /logmesh_consumer_group_lag\{group="billing",topic="invoices",partition="0"\} 4/);
    assert.match(metrics, /logmesh_consumer_group_committed_offset\{group="billing",topic="invoices",partition="1"\} 4/);

    // Deleting: refused while the group has members, done once it is empty.
    const busy = await client.request(ApiKeys.DeleteGroups, 2, { groupsNames: [group] });
    assert.equal(busy.results[0]!.errorCode, ErrorCode.NON_EMPTY_GROUP);
    const subscribed = await client.request(ApiKeys.OffsetDelete, 0, { groupId: group, topics: [{ name: 'invoices', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(subscribed.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    const left = await client.request(ApiKeys.LeaveGroup, 3, { groupId: group, members: [{ memberId: joined.memberId, groupInstanceId: null }] });
    assert.equal(left.errorCode, ErrorCode.NONE);
    const offsetDeleted = await client.request(ApiKeys.OffsetDelete, 0, { groupId: group, topics: [{ name: 'invoices', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(offsetDeleted.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const afterDelete = await client.request(ApiKeys.OffsetFetch, 5, { groupId: group, topics: [{ name: 'invoices', partitionIndexes: [0, 1] }] });
    assert.deepEqual(afterDelete.topics[0]!.partitions.map((p) => Number(p.committedOffset)), [-1, 4]);
    const deleted = await client.request(ApiKeys.DeleteGroups, 2, { groupsNames: [group, 'never-existed'] });
    assert.deepEqual(deleted.results.map((r) => [r.groupId, r.errorCode]), [[group, ErrorCode.NONE], ['never-existed', ErrorCode.GROUP_ID_NOT_FOUND]]);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
