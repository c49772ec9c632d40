// The group coordinator actor beside a real __consumer_offsets replica (replication factor 1),
// hosted by the real kernel on a simulated disk. A test plays the clients; a "failover" is a
// crash and restart of the node with a new leader epoch, after which the coordinator must load
// the partition before it answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../../actors/protocol/codec.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import type { PartitionStateChange, WireKind, WireMessages } from '../../../actors/protocol/messages.js';
import { defaultPartitionTimings, partitionActorId, partitionMachine, partitionMachineName } from '../../../actors/partition/partition-machine.js';
import {
  type CoordinatorContext, type GroupCoordinatorBugs, type GroupCoordinatorSettings, defaultGroupCoordinatorSettings, groupCoordinatorMachine,
  groupCoordinatorMachineName,
} from '../../../actors/group/coordinator-machine.js';
import { consumerOffsetsTopic, groupCoordinatorActorId, offsetsPartitionFor } from '../../../actors/group/offsets-topic.js';
import { NodeKernel } from '../../../runtime/kernel/node-kernel.js';
import type { Transport } from '../../../runtime/kernel/ports.js';
import { SimDisk } from '../../../sim/disk.js';
import { Prng } from '../../../sim/prng.js';
import { Scheduler } from '../../../sim/scheduler.js';

const partitions = 1;
const coordinatorId = groupCoordinatorActorId(0);
const replicaId = partitionActorId(consumerOffsetsTopic, 0);
const clientNode = 1000;
const settings: GroupCoordinatorSettings = {
  ...defaultGroupCoordinatorSettings,
  offsetsTopicPartitions: partitions,
  group: { ...defaultGroupCoordinatorSettings.group, minSessionTimeoutMs: 1000 },
  offsetsRetentionMs: 60_000,
  offsetsRetentionCheckIntervalMs: 1000,
};

function offsetsState(leaderEpoch: number, leader = 1): PartitionStateChange {
  return {
    topic: consumerOffsetsTopic, topicId: 'O1', partition: 0, replicas: [1], isr: [1], leader, leaderEpoch, partitionEpoch: leaderEpoch,
    configs: [{ name: 'cleanup.policy', value: 'compact' }], removed: false,
  };
}

/** Node 1 with the offsets replica and its coordinator; survives "failovers" on the same disk. */
function hostCoordinator(bugs: GroupCoordinatorBugs = {}) {
  const scheduler = new Scheduler();
  const disk = new SimDisk(scheduler, Prng.forPurpose(11, 'disk'));
  const answers: Array<{ kind: string; body: unknown }> = [];
  const transport: Transport = {
    send: (_to, bytes) => {
      const envelope = decodeEnvelope(bytes);
      answers.push({ kind: envelope.kind, body: decodePayload(envelope.kind as WireKind, envelope.payload) });
    },
    onReceive: () => {},
    close: async () => {},
  };
  let kernel: NodeKernel | null = null;
  let seq = 0;
  const boot = (leaderEpoch: number): void => {
    kernel = new NodeKernel({
      nodeId: 1, clusterId: 'c1', clock: scheduler.clock(), random: () => 0.5, transport, storage: disk,
      logger: pino({ level: 'silent' }), metrics: null, tracer: null,
      machines: { [partitionMachineName]: partitionMachine, [groupCoordinatorMachineName]: groupCoordinatorMachine },
    });
    const state = offsetsState(leaderEpoch);
    kernel.spawn(replicaId, partitionMachine, {
      config: { ...defaultPartitionTimings, nodeId: 1, brokerActor: 'broker', defaultMinInsyncReplicas: 1 }, state,
    });
    kernel.spawn(coordinatorId, groupCoordinatorMachine, { config: { ...settings, nodeId: 1, bugs }, partition: 0 });
    deliverTo(coordinatorId, 'PartitionStateChange', state);
  };
  const deliverTo = <K extends WireKind>(actor: string, kind: K, body: WireMessages[K]): void => {
    seq += 1;
    kernel!.receive(encodeEnvelope({
      clusterId: 'c1', from: { node: clientNode, actor: 'client' }, to: { node: 1, actor }, kind, payload: encodePayload(kind, body), msgId: `t:${seq}`, parentId: '',
    }));
  };
  const run = (ms = 200): void => scheduler.runUntil(scheduler.now + ms);
  /** Sends a group request and runs until its answer arrives (bounded by `ms` of virtual time). */
  const ask = <K extends WireKind, R extends WireKind>(kind: K, body: Omit<WireMessages[K], 'requestId'>, answer: R, ms = 2000): WireMessages[R] => {
    const requestId = `r${seq + 1}`;
    deliverTo(coordinatorId, kind, { ...body, requestId } as unknown as WireMessages[K]);
    for (let waited = 0; waited < ms; waited += 10) {
      const at = answers.findIndex((a) => a.kind === answer && (a.body as { requestId: string }).requestId === requestId);
      if (at >= 0) return answers.splice(at, 1)[0]!.body as WireMessages[R];
      run(10);
    }
    throw new Error(`no ${answer} to ${kind} within ${ms} ms`);
  };
  const failover = (leaderEpoch: number): void => {
    kernel!.stop();
    disk.crash();
    boot(leaderEpoch);
  };
  const context = (): CoordinatorContext => kernel!.snapshotOf(coordinatorId)!.context as CoordinatorContext;
  const state = (): string => String(kernel!.snapshotOf(coordinatorId)!.value);
  boot(0);
  return { ask, run, failover, context, state, deliverTo, answers };
}

type Host = ReturnType<typeof hostCoordinator>;
const group = 'orders-app';
const utf8 = new TextEncoder();

function joinRequest(memberId: string, overrides: Partial<WireMessages['JoinGroupRequest']> = {}) {
  return {
    groupId: group, version: 5, memberId, groupInstanceId: '', clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: 3000,
    rebalanceTimeoutMs: 3000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: utf8.encode('sub') }], ...overrides,
  };
}

/** One member joins alone and syncs: the group is Stable in generation 1 with that member. */
function formGroup(host: Host): { memberId: string; generationId: number } {
  const required = host.ask('JoinGroupRequest', joinRequest(''), 'JoinGroupResponse');
  assert.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const joined = host.ask('JoinGroupRequest', joinRequest(required.memberId), 'JoinGroupResponse', 5000);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal(joined.leader, required.memberId);
  const synced = host.ask('SyncGroupRequest', {
    groupId: group, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: '', protocolType: 'consumer', protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: utf8.encode('orders:0,1') }],
  }, 'SyncGroupResponse');
  assert.equal(synced.errorCode, ErrorCode.NONE);
  assert.deepEqual([...synced.assignment], [...utf8.encode('orders:0,1')]);
  return { memberId: joined.memberId, generationId: joined.generationId };
}

function commit(host: Host, member: { memberId: string; generationId: number }, offset: number, metadata = '') {
  return host.ask('OffsetCommitRequest', {
    groupId: group, generationId: member.generationId, memberId: member.memberId, groupInstanceId: '', retentionMs: -1,
    offsets: [{ topic: 'orders', partition: 0, offset, leaderEpoch: 0, metadata, errorCode: 0 }],
  }, 'OffsetCommitResponse');
}

function fetchCommitted(host: Host): number {
  const answer = host.ask('OffsetFetchRequest', { groupId: group, allPartitions: false, partitions: [{ topic: 'orders', partition: 0 }] }, 'OffsetFetchResponse');
  assert.equal(answer.errorCode, ErrorCode.NONE);
  return answer.offsets[0]!.offset;
}

test('a group forms, commits are acknowledged once durable, and OffsetFetch returns them', () => {
  const host = hostCoordinator();
  host.run(500);
  assert.equal(host.state(), 'active');
  assert.equal(offsetsPartitionFor(group, partitions), 0);
  const member = formGroup(host);
  assert.equal(fetchCommitted(host), -1, 'nothing committed yet');
  assert.equal(commit(host, member, 42).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(fetchCommitted(host), 42);
  assert.equal(commit(host, { ...member, generationId: member.generationId + 1 }, 50).results[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal(commit(host, { ...member, memberId: 'stranger' }, 50).results[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(commit(host, member, 51, 'x'.repeat(5000)).results[0]!.errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
  assert.equal(fetchCommitted(host), 42, 'refused commits change nothing');
});

test('after a failover the coordinator loads the partition before answering, and the group and its offsets are back', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 7).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(commit(host, member, 9).results[0]!.errorCode, ErrorCode.NONE);
  host.failover(1);
  // Before the load completes, requests are told to wait.
  const early = host.ask('HeartbeatRequest', { groupId: group, generationId: member.generationId, memberId: member.memberId, groupInstanceId: '' }, 'HeartbeatResponse', 0 + 10);
  assert.equal(early.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  host.run(1000);
  assert.equal(host.state(), 'active');
  assert.equal(fetchCommitted(host), 9, 'the last acknowledged commit survived');
  const beat = host.ask('HeartbeatRequest', { groupId: group, generationId: member.generationId, memberId: member.memberId, groupInstanceId: '' }, 'HeartbeatResponse');
  assert.equal(beat.errorCode, ErrorCode.NONE, 'the member keeps its generation across the failover');
  const described = host.ask('DescribeGroupsRequest', { groupIds: [group] }, 'DescribeGroupsResponse');
  assert.equal(described.groups[0]!.state, 'Stable');
  assert.equal(described.groups[0]!.members[0]!.memberId, member.memberId);
});

test('a coordinator that forgets offsets on load is caught by the same checks (the test can fail)', () => {
  const host = hostCoordinator({ forgetOffsetsOnLoad: true });
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 5).results[0]!.errorCode, ErrorCode.NONE);
  host.failover(1);
  host.run(1000);
  assert.equal(fetchCommitted(host), -1);
});

test('a replica that does not lead: NOT_COORDINATOR; leading again: loads and serves', () => {
  const host = hostCoordinator();
  host.run(500);
  host.deliverTo(coordinatorId, 'PartitionStateChange', offsetsState(1, 2));
  host.run(50);
  assert.equal(host.state(), 'inactive');
  const refused = host.ask('JoinGroupRequest', joinRequest(''), 'JoinGroupResponse');
  assert.equal(refused.errorCode, ErrorCode.NOT_COORDINATOR);
  host.deliverTo(replicaId, 'PartitionStateChange', offsetsState(2));
  host.deliverTo(coordinatorId, 'PartitionStateChange', offsetsState(2));
  host.run(1000);
  assert.equal(host.state(), 'active');
  assert.equal(host.context().leaderEpoch, 2);
});

test('DeleteGroups refuses a group with members and deletes an empty one with its offsets', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 3).results[0]!.errorCode, ErrorCode.NONE);
  const busy = host.ask('DeleteGroupsRequest', { groupIds: [group] }, 'DeleteGroupsResponse');
  assert.equal(busy.results[0]!.errorCode, ErrorCode.NON_EMPTY_GROUP);
  const left = host.ask('LeaveGroupRequest', { groupId: group, version: 3, members: [{ memberId: member.memberId, groupInstanceId: '', errorCode: 0 }] }, 'LeaveGroupResponse');
  assert.equal(left.errorCode, ErrorCode.NONE);
  const deleted = host.ask('DeleteGroupsRequest', { groupIds: [group] }, 'DeleteGroupsResponse');
  assert.equal(deleted.results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(fetchCommitted(host), -1);
  const again = host.ask('DeleteGroupsRequest', { groupIds: [group] }, 'DeleteGroupsResponse');
  assert.equal(again.results[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  host.failover(1);
  host.run(1000);
  assert.equal(fetchCommitted(host), -1, 'the deletion is durable');
});

test('offsets of an empty group expire after offsets.retention.minutes, and the group with them', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 3).results[0]!.errorCode, ErrorCode.NONE);
  host.ask('LeaveGroupRequest', { groupId: group, version: 3, members: [{ memberId: member.memberId, groupInstanceId: '', errorCode: 0 }] }, 'LeaveGroupResponse');
  host.run(settings.offsetsRetentionMs / 2);
  assert.equal(fetchCommitted(host), 3, 'kept within the retention period');
  host.run(settings.offsetsRetentionMs / 2 + 2 * settings.offsetsRetentionCheckIntervalMs);
  assert.equal(fetchCommitted(host), -1);
  assert.equal(host.context().groups.has(group), false);
});
