import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assignReplicas, decideAlterPartition, decideCreatePartitions, decideCreateTopic, electLeader, recordsForFence, recordsForPreferredLeaders, recordsForUnfence,
  validateTopicName,
} from '../../../actors/controller/decisions.js';
import { applyEntry, emptyImage, imageFromMessage, imageToMessage, type MetadataImage } from '../../../actors/controller/metadata-image.js';
import { decodePayload, encodePayload } from '../../../actors/protocol/codec.js';
import type { MetadataRecord } from '../../../actors/protocol/messages.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';

test('replica assignment: distinct replicas per partition, leaders spread evenly', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 9 }),
    (brokerCount, partitions, start, rfWanted) => {
      const brokers = Array.from({ length: brokerCount }, (_, i) => 10 + i);
      const rf = Math.min(rfWanted, brokerCount);
      const assignment = assignReplicas(brokers, partitions, rf, start);
      assert.equal(assignment.length, partitions);
      const leaders = new Map<number, number>();
      for (const replicas of assignment) {
        assert.equal(replicas.length, rf);
        assert.equal(new Set(replicas).size, rf, `duplicate replica in ${replicas}`);
        for (const r of replicas) assert.ok(brokers.includes(r));
        leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
      }
      const counts = [...leaders.values()];
      if (partitions >= brokerCount) assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `leaders unbalanced: ${counts}`);
    },
  ));
});

function imageWith(records: MetadataRecord[]): MetadataImage {
  const image = emptyImage();
  records.forEach((record, i) => applyEntry(image, { index: i + 1, term: 1, records: [record] }));
  return image;
}

function apply(image: MetadataImage, records: MetadataRecord[]): void {
  for (const record of records) applyEntry(image, { index: image.offset + 1, term: 1, records: [record] });
}

test('topic creation validates the name, the partitions and the replication factor', () => {
  const image = imageWith([
    { registerBroker: { brokerId: 1, incarnationId: 'a', listener: 'h:1' } },
    { registerBroker: { brokerId: 2, incarnationId: 'b', listener: 'h:2' } },
    { unfenceBroker: { brokerId: 1, brokerEpoch: 1 } },
    { unfenceBroker: { brokerId: 2, brokerEpoch: 2 } },
  ]);
  assert.equal(decideCreateTopic(image, 'bad name!', 1, 1, 'id').errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal(decideCreateTopic(image, 't', 0, 1, 'id').errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal(decideCreateTopic(image, 't', 1, 3, 'id').errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  const ok = decideCreateTopic(image, 't', 3, 2, 'id');
  assert.equal(ok.errorCode, 0);
  assert.equal(ok.records.length, 4);
  apply(image, ok.records);
  assert.equal(decideCreateTopic(image, 't', 1, 1, 'id2').errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.ok(validateTopicName('a.b_c-1'));
  assert.ok(!validateTopicName('..'));

  // Adding partitions: more than it has, with its replication factor, continuing its placement.
  assert.equal(decideCreatePartitions(image, 'nope', 5).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(decideCreatePartitions(image, 't', 3).errorCode, ErrorCode.INVALID_PARTITIONS);
  const grown = decideCreatePartitions(image, 't', 5);
  assert.equal(grown.errorCode, 0);
  assert.deepEqual(grown.records.map((r) => ('partition' in r ? [r.partition.partition, r.partition.replicas.length, r.partition.leader >= 1] : null)),
    [[3, 2, true], [4, 2, true]]);
  apply(image, grown.records);
  assert.equal(image.topicsByName.get('t')!.partitions.length, 5);
  assert.deepEqual(image.topicsByName.get('t')!.partitions.map((p) => p.replicas), assignReplicas([1, 2], 5, 2, image.topicsByName.get('t')!.partitions[0]!.replicas[0]! - 1),
    'the new partitions continue the topic\'s assignment');
  const internal = decideCreateTopic(image, '__consumer_offsets', 2, 1, 'id3');
  apply(image, internal.records);
  assert.equal(decideCreatePartitions(image, '__consumer_offsets', 4).errorCode, ErrorCode.INVALID_REQUEST, 'group placement depends on its count');
});

test('fencing moves leadership to a live ISR member and never empties the ISR; unfencing restores a leader', () => {
  const image = imageWith([
    { registerBroker: { brokerId: 1, incarnationId: 'a', listener: 'h:1' } },
    { registerBroker: { brokerId: 2, incarnationId: 'b', listener: 'h:2' } },
    { unfenceBroker: { brokerId: 1, brokerEpoch: 1 } },
    { unfenceBroker: { brokerId: 2, brokerEpoch: 2 } },
    { topic: { name: 't', topicId: 'T', configs: [], creationId: '' } },
    { partition: { topicId: 'T', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } },
    { partition: { topicId: 'T', partition: 1, replicas: [2], isr: [2], leader: 2, leaderEpoch: 0, partitionEpoch: 0 } },
  ]);
  apply(image, recordsForFence(image, 1));
  const p0 = image.topicsByName.get('t')!.partitions[0]!;
  assert.deepEqual([p0.leader, p0.isr, p0.leaderEpoch], [2, [2], 1]);
  apply(image, recordsForFence(image, 2));
  const p1 = image.topicsByName.get('t')!.partitions[1]!;
  assert.deepEqual([p0.leader, p0.isr], [-1, [2]], 'the last ISR member stays in the ISR');
  assert.deepEqual([p1.leader, p1.isr], [-1, [2]]);
  apply(image, recordsForUnfence(image, 2));
  assert.equal(p0.leader, 2);
  assert.equal(p1.leader, 2);
  assert.equal(electLeader([3, 1], [1, 3], (id) => id === 1), 1);
});

function threeBrokersOneTopic(configs: { name: string; value: string }[] = []): MetadataImage {
  return imageWith([
    { registerBroker: { brokerId: 1, incarnationId: 'a', listener: 'h:1' } },
    { registerBroker: { brokerId: 2, incarnationId: 'b', listener: 'h:2' } },
    { registerBroker: { brokerId: 3, incarnationId: 'c', listener: 'h:3' } },
    { unfenceBroker: { brokerId: 1, brokerEpoch: 1 } },
    { unfenceBroker: { brokerId: 2, brokerEpoch: 2 } },
    { unfenceBroker: { brokerId: 3, brokerEpoch: 3 } },
    { topic: { name: 't', topicId: 'T', configs, creationId: '' } },
    { partition: { topicId: 'T', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } },
  ]);
}

test('topic configs are validated at creation', () => {
  const image = threeBrokersOneTopic();
  assert.equal(decideCreateTopic(image, 'u', 1, 1, 'U', [{ name: 'no.such.key', value: '1' }]).errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(decideCreateTopic(image, 'u', 1, 1, 'U', [{ name: 'min.insync.replicas', value: 'two' }]).errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(decideCreateTopic(image, 'u', 1, 1, 'U', [{ name: 'unclean.leader.election.enable', value: 'yes' }]).errorCode, ErrorCode.INVALID_CONFIG);
  const ok = decideCreateTopic(image, 'u', 1, 1, 'U', [{ name: 'retention.ms', value: '-1' }, { name: 'min.insync.replicas', value: '2' }]);
  assert.equal(ok.errorCode, 0);
});

test('an ISR change is accepted only from the current leader at the current epochs, with live replicas', () => {
  const image = threeBrokersOneTopic();
  const request = { brokerId: 1, brokerEpoch: 1, topicId: 'T', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2], topic: 't', requestId: 'r' };
  assert.equal(decideAlterPartition(image, { ...request, brokerId: 2, brokerEpoch: 2 }).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(decideAlterPartition(image, { ...request, brokerEpoch: 9 }).errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(decideAlterPartition(image, { ...request, leaderEpoch: 1 }).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(decideAlterPartition(image, { ...request, partitionEpoch: 1 }).errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(decideAlterPartition(image, { ...request, newIsr: [2, 3] }).errorCode, ErrorCode.INELIGIBLE_REPLICA, 'the leader must stay in the ISR');
  assert.equal(decideAlterPartition(image, { ...request, newIsr: [1, 4] }).errorCode, ErrorCode.INELIGIBLE_REPLICA);
  const shrink = decideAlterPartition(image, request);
  assert.equal(shrink.errorCode, 0);
  apply(image, shrink.records);
  const p0 = image.topicsByName.get('t')!.partitions[0]!;
  assert.deepEqual([p0.isr, p0.partitionEpoch, p0.leaderEpoch], [[1, 2], 1, 0]);
  assert.equal(decideAlterPartition(image, request).errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'a retry of an applied change is stale');
  apply(image, recordsForFence(image, 3));
  assert.equal(decideAlterPartition(image, { ...request, partitionEpoch: 1, newIsr: [1, 2, 3] }).errorCode, ErrorCode.INELIGIBLE_REPLICA, 'a fenced broker cannot join');
});

test('unclean election only where a topic allows it: a live out-of-sync replica then leads', () => {
  for (const unclean of [false, true]) {
    const image = threeBrokersOneTopic(unclean ? [{ name: 'unclean.leader.election.enable', value: 'true' }] : []);
    apply(image, decideAlterPartition(image, { brokerId: 1, brokerEpoch: 1, topicId: 'T', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1], topic: 't', requestId: 'r' }).records);
    apply(image, recordsForFence(image, 1));
    const p0 = image.topicsByName.get('t')!.partitions[0]!;
    if (unclean) assert.deepEqual([p0.leader, p0.isr], [2, [2]]);
    else assert.deepEqual([p0.leader, p0.isr], [-1, [1]]);
  }
});

test('preferred leader election returns leadership to the first replica once it is in the ISR and live', () => {
  const image = threeBrokersOneTopic();
  apply(image, recordsForFence(image, 1));
  const p0 = image.topicsByName.get('t')!.partitions[0]!;
  assert.equal(p0.leader, 2);
  assert.deepEqual(recordsForPreferredLeaders(image), [], 'broker 1 is fenced and out of the ISR');
  apply(image, recordsForUnfence(image, 1));
  assert.deepEqual(recordsForPreferredLeaders(image), [], 'broker 1 is live but not back in the ISR');
  apply(image, decideAlterPartition(image, { brokerId: 2, brokerEpoch: 2, topicId: 'T', partition: 0, leaderEpoch: 1, partitionEpoch: p0.partitionEpoch, newIsr: [1, 2, 3], topic: 't', requestId: 'r' }).records);
  apply(image, recordsForPreferredLeaders(image));
  assert.equal(p0.leader, 1);
  assert.equal(p0.leaderEpoch, 2);
});

test('a topic keeps the creation id of the create that made it, through the log and a snapshot', () => {
  const image = imageWith([
    { registerBroker: { brokerId: 1, incarnationId: 'a', listener: 'h:1' } },
    { unfenceBroker: { brokerId: 1, brokerEpoch: 1 } },
  ]);
  const created = decideCreateTopic(image, 'orders', 2, 1, 'id1', [], 'create-7');
  assert.equal(created.errorCode, ErrorCode.NONE);
  apply(image, created.records);
  assert.equal(image.topicsByName.get('orders')!.creationId, 'create-7');
  const snapshot = decodePayload('MetadataFetchResponse', encodePayload('MetadataFetchResponse', {
    errorCode: 0, leaderHint: 1, entries: [], snapshot: imageToMessage(image), hasSnapshot: true,
  })).snapshot;
  assert.equal(imageFromMessage(snapshot!).topicsByName.get('orders')!.creationId, 'create-7');
  // The decision itself still refuses the name: recognising a resend is the controller's, by creation id.
  assert.equal(decideCreateTopic(image, 'orders', 2, 1, 'id2', [], 'create-7').errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
});
