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
  groupCoordinatorMachineName, groupRequestRefusal,
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

type VerifyRequest = WireMessages['VerifyTxnPartitionRequest'];

/**
 * Node 1 with the offsets replica and its coordinator; survives "failovers" on the same disk.
 * The test is the node's broker: it answers the replica's KIP-890 checks (VerifyTxnPartitionRequest)
 * as the transaction coordinator would, with what `verdict` says (null: no answer), and keeps them.
 */
function hostCoordinator(bugs: GroupCoordinatorBugs = {}) {
  const scheduler = new Scheduler();
  const verifications: VerifyRequest[] = [];
  let verdict: (request: VerifyRequest) => number | null = () => ErrorCode.NONE;
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
    kernel.attachEndpoint('broker', ({ kind, body }) => {
      if (kind !== 'VerifyTxnPartitionRequest') return;
      const request = body as VerifyRequest;
      verifications.push(request);
      const errorCode = verdict(request);
      if (errorCode === null) return;
      scheduler.after(1, () => deliverTo(replicaId, 'VerifyTxnPartitionResponse', {
        requestId: request.requestId, errorCode, topic: request.topic, partition: request.partition,
      }));
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
  /** Sends a request to `actor` and runs until its answer arrives (bounded by `ms` of virtual time). */
  const askActor = <K extends WireKind, R extends WireKind>(actor: string, kind: K, body: Omit<WireMessages[K], 'requestId'>, answer: R, ms = 2000): WireMessages[R] => {
    const requestId = `r${seq + 1}`;
    deliverTo(actor, kind, { ...body, requestId } as unknown as WireMessages[K]);
    for (let waited = 0; waited < ms; waited += 10) {
      const at = answers.findIndex((a) => a.kind === answer && (a.body as { requestId: string }).requestId === requestId);
      if (at >= 0) return answers.splice(at, 1)[0]!.body as WireMessages[R];
      run(10);
    }
    throw new Error(`no ${answer} to ${kind} within ${ms} ms`);
  };
  /** Sends a group request to the coordinator and runs until its answer arrives. */
  const ask = <K extends WireKind, R extends WireKind>(kind: K, body: Omit<WireMessages[K], 'requestId'>, answer: R, ms = 2000): WireMessages[R] =>
    askActor(coordinatorId, kind, body, answer, ms);
  const failover = (leaderEpoch: number): void => {
    kernel!.stop();
    disk.crash();
    boot(leaderEpoch);
  };
  const context = (): CoordinatorContext => kernel!.snapshotOf(coordinatorId)!.context as CoordinatorContext;
  const state = (): string => String(kernel!.snapshotOf(coordinatorId)!.value);
  const answerVerifications = (answer: (request: VerifyRequest) => number | null): void => {
    verdict = answer;
  };
  boot(0);
  return { ask, askActor, run, failover, context, state, deliverTo, answers, verifications, answerVerifications };
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
  const answer = host.ask('OffsetFetchRequest', {
    groupId: group, allPartitions: false, partitions: [{ topic: 'orders', partition: 0 }], requireStable: false,
  }, 'OffsetFetchResponse');
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

// ---------------------------------------------------------------------------------------------
// Transactional offset commits (TxnOffsetCommit): pending per producer until the transaction's
// marker is written to the partition.

const producerId = 4000;

function txnCommit(
  host: Host, offsets: Array<{ partition: number; offset: number }>,
  overrides: Partial<WireMessages['TxnOffsetCommitRequest']> = {},
) {
  return host.ask('TxnOffsetCommitRequest', {
    transactionalId: 'etl-1', groupId: group, producerId, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: '',
    offsets: offsets.map((o) => ({ topic: 'orders', partition: o.partition, offset: o.offset, leaderEpoch: 0, metadata: 'txn', errorCode: 0 })),
    ...overrides,
  }, 'TxnOffsetCommitResponse');
}

/** The offset the coordinator answers for each partition, or the partition's error name. */
function fetchOffsets(host: Host, partitions: number[], requireStable = false): Array<number | string> {
  const answer = host.ask('OffsetFetchRequest', {
    groupId: group, allPartitions: false, partitions: partitions.map((partition) => ({ topic: 'orders', partition })), requireStable,
  }, 'OffsetFetchResponse');
  assert.equal(answer.errorCode, ErrorCode.NONE);
  return answer.offsets.map((o) => (o.errorCode === ErrorCode.NONE ? o.offset : errorNameOf(o.errorCode)));
}

function errorNameOf(code: number): string {
  return Object.entries(ErrorCode).find(([, c]) => c === code)?.[0] ?? String(code);
}

/**
 * A transaction marker written to the offsets partition as a transaction coordinator has it
 * written (WriteTxnMarkerRequest to the leader); once the marker is committed the replica
 * tells the coordinator beside it (TxnMarkerWritten).
 */
function writeMarker(host: Host, commit: boolean, options: { producerEpoch?: number; pid?: number } = {}): void {
  const written = host.askActor(replicaId, 'WriteTxnMarkerRequest', {
    replyTo: { node: clientNode, actor: 'client' }, topic: consumerOffsetsTopic, partition: 0, producerId: options.pid ?? producerId,
    producerEpoch: options.producerEpoch ?? 0, commit, coordinatorEpoch: 0,
  }, 'WriteTxnMarkerResponse');
  assert.equal(written.errorCode, ErrorCode.NONE);
  host.run(20);
}

test('transactional offsets stay invisible until the commit marker, then become the committed offsets', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 5).results[0]!.errorCode, ErrorCode.NONE);
  const written = txnCommit(host, [{ partition: 0, offset: 10 }, { partition: 1, offset: 3 }], { ...member });
  assert.deepEqual(written.results.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  assert.deepEqual(fetchOffsets(host, [0, 1]), [5, -1], 'the committed offsets, not the pending ones');
  assert.deepEqual(fetchOffsets(host, [0, 1, 2], true), ['UNSTABLE_OFFSET_COMMIT', 'UNSTABLE_OFFSET_COMMIT', -1], 'require_stable (KIP-447)');
  writeMarker(host, true);
  assert.deepEqual(fetchOffsets(host, [0, 1], true), [10, 3]);
  host.failover(1);
  host.run(1000);
  assert.deepEqual(fetchOffsets(host, [0, 1], true), [10, 3], 'the load reads the transaction and its marker');
});

test('an abort marker drops the transactional offsets; the committed ones stay', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(commit(host, member, 5).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(txnCommit(host, [{ partition: 0, offset: 10 }]).results[0]!.errorCode, ErrorCode.NONE);
  writeMarker(host, false);
  assert.deepEqual(fetchOffsets(host, [0], true), [5]);
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0);
  host.failover(1);
  host.run(1000);
  assert.deepEqual(fetchOffsets(host, [0], true), [5], 'aborted on load too');
});

test('a failover loads decided transactions as decided and an open one as pending, which its marker then decides', () => {
  const host = hostCoordinator();
  host.run(500);
  formGroup(host);
  // Producer 4000 commits partition 0; 4001 aborts partition 1; 4002 leaves partition 2 open.
  assert.equal(txnCommit(host, [{ partition: 0, offset: 20 }]).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(txnCommit(host, [{ partition: 1, offset: 21 }], { producerId: producerId + 1 }).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(txnCommit(host, [{ partition: 2, offset: 22 }], { producerId: producerId + 2 }).results[0]!.errorCode, ErrorCode.NONE);
  // The markers are in the log; the coordinator after the failover knows only what it loads.
  writeMarker(host, true);
  writeMarker(host, false, { pid: producerId + 1 });
  host.failover(1);
  host.run(1000);
  assert.equal(host.state(), 'active');
  assert.deepEqual(fetchOffsets(host, [0, 1, 2]), [20, -1, -1]);
  assert.deepEqual(fetchOffsets(host, [0, 1, 2], true), [20, -1, 'UNSTABLE_OFFSET_COMMIT']);
  assert.deepEqual([...host.context().groups.get(group)!.pendingTxn.keys()], [producerId + 2]);
  writeMarker(host, true, { pid: producerId + 2 });
  assert.deepEqual(fetchOffsets(host, [0, 1, 2], true), [20, -1, 22]);
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0);
});

test('a group known only from a transaction: created by the commit, forgotten when the transaction aborts', () => {
  const host = hostCoordinator();
  host.run(500);
  assert.equal(txnCommit(host, [{ partition: 0, offset: 7 }]).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(host.context().groups.has(group), true);
  host.failover(1);
  host.run(1000);
  assert.equal(host.context().groups.has(group), true, 'loaded as pending');
  writeMarker(host, false);
  assert.equal(host.context().groups.has(group), false);
});

test('plain and transactional commits of one partition: the one written later wins when the transaction commits', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  // Transaction first, then a plain commit: the plain one was written later and stays.
  assert.equal(txnCommit(host, [{ partition: 0, offset: 10 }]).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(commit(host, member, 15).results[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(fetchOffsets(host, [0]), [15]);
  writeMarker(host, true);
  assert.deepEqual(fetchOffsets(host, [0], true), [15]);
  // A plain commit, then a transaction: the transaction's offset replaces it.
  assert.equal(commit(host, member, 16).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(txnCommit(host, [{ partition: 0, offset: 30 }]).results[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(fetchOffsets(host, [0]), [16]);
  writeMarker(host, true);
  assert.deepEqual(fetchOffsets(host, [0], true), [30]);
  host.failover(1);
  host.run(1000);
  assert.deepEqual(fetchOffsets(host, [0], true), [30], 'the load decides the same way');
  // The same producer's next transaction, written after its last marker: a stale report of that marker decides nothing.
  assert.equal(txnCommit(host, [{ partition: 0, offset: 40 }]).results[0]!.errorCode, ErrorCode.NONE);
  host.deliverTo(coordinatorId, 'TxnMarkerWritten', { topic: consumerOffsetsTopic, partition: 0, producerId, producerEpoch: 0, commit: true, offset: 0 });
  host.run(20);
  assert.deepEqual(fetchOffsets(host, [0], true), ['UNSTABLE_OFFSET_COMMIT']);
});

test('TxnOffsetCommit checks member, generation and instance id when given (v3), as Kafka does', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  const codeOf = (overrides: Partial<WireMessages['TxnOffsetCommitRequest']>, metadata?: string): string => {
    const answer = host.ask('TxnOffsetCommitRequest', {
      transactionalId: 'etl-1', groupId: group, producerId, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: '',
      offsets: [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: 0, metadata: metadata ?? '', errorCode: 0 }], ...overrides,
    }, 'TxnOffsetCommitResponse');
    return errorNameOf(answer.results[0]!.errorCode);
  };
  assert.equal(codeOf({ ...member, generationId: member.generationId + 1 }), 'ILLEGAL_GENERATION');
  assert.equal(codeOf({ memberId: 'stranger', generationId: member.generationId }), 'UNKNOWN_MEMBER_ID');
  assert.equal(codeOf({ ...member, groupInstanceId: 'pod-7' }), 'FENCED_INSTANCE_ID');
  assert.equal(codeOf({ groupId: '' }), 'INVALID_GROUP_ID');
  assert.equal(codeOf({ ...member }, 'x'.repeat(5000)), 'OFFSET_METADATA_TOO_LARGE');
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0, 'nothing refused is pending');
  assert.equal(codeOf({ ...member }), 'NONE');
  assert.equal(codeOf({}), 'NONE', 'no member, generation or instance (v0-v2): not checked');
  // The replica fences an older epoch once a marker carried a newer one.
  writeMarker(host, false, { producerEpoch: 1 });
  assert.equal(codeOf({ producerEpoch: 0 }), 'INVALID_PRODUCER_EPOCH');
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0, 'a refused write leaves nothing pending');
});

test('TxnOffsetCommit: NOT_COORDINATOR from a coordinator that does not lead and from a broker without one, LOAD_IN_PROGRESS while loading', () => {
  const host = hostCoordinator();
  host.run(500);
  host.deliverTo(coordinatorId, 'PartitionStateChange', offsetsState(1, 2));
  host.run(50);
  assert.equal(errorNameOf(txnCommit(host, [{ partition: 0, offset: 1 }]).results[0]!.errorCode), 'NOT_COORDINATOR');
  host.deliverTo(replicaId, 'PartitionStateChange', offsetsState(2));
  host.deliverTo(coordinatorId, 'PartitionStateChange', offsetsState(2));
  assert.equal(errorNameOf(txnCommit(host, [{ partition: 0, offset: 1 }], {}).results[0]!.errorCode), 'COORDINATOR_LOAD_IN_PROGRESS');
  const refused = groupRequestRefusal({
    type: 'TxnOffsetCommitRequest', from: { node: 3, actor: 'kafka' }, body: {
      requestId: 'x', transactionalId: 't', groupId: group, producerId, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: '',
      offsets: [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', errorCode: 0 }],
    },
  } as never, ErrorCode.NOT_COORDINATOR);
  assert.equal(refused.length, 1);
  const message = (refused[0] as { message: { kind: string; body: WireMessages['TxnOffsetCommitResponse'] } }).message;
  assert.equal(message.kind, 'TxnOffsetCommitResponse');
  assert.deepEqual(message.body.results.map((r) => r.errorCode), [ErrorCode.NOT_COORDINATOR]);
});

test('a marker reported while the transactional write is still in flight decides it once written', () => {
  for (const commitIt of [true, false]) {
    const host = hostCoordinator();
    host.run(500);
    formGroup(host);
    host.deliverTo(coordinatorId, 'TxnOffsetCommitRequest', {
      requestId: 'in-flight', transactionalId: 'etl-1', groupId: group, producerId, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: '',
      offsets: [{ topic: 'orders', partition: 0, offset: 12, leaderEpoch: 0, metadata: '', errorCode: 0 }],
    });
    // Reported before the write's answer: a marker far beyond wherever the batch lands.
    host.deliverTo(coordinatorId, 'TxnMarkerWritten', { topic: consumerOffsetsTopic, partition: 0, producerId, producerEpoch: 0, commit: commitIt, offset: 1_000_000 });
    host.run(200);
    const answer = host.answers.find((a) => a.kind === 'TxnOffsetCommitResponse');
    assert.equal((answer?.body as WireMessages['TxnOffsetCommitResponse']).results[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(fetchOffsets(host, [0], true), [commitIt ? 12 : -1]);
  }
});

// ---------------------------------------------------------------------------------------------
// KIP-890: the replica asks the transaction coordinator before a producer's first transactional
// write to the offsets partition, as Kafka's GroupCoordinator does before handleTxnCommitOffsets
// writes; a commit it does not confirm is refused and leaves nothing pending.

test('TxnOffsetCommit is verified with the transaction coordinator before the producer\'s first write to the offsets partition', () => {
  const host = hostCoordinator();
  host.run(500);
  const member = formGroup(host);
  assert.equal(txnCommit(host, [{ partition: 0, offset: 10 }], { ...member }).results[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(host.verifications.map((v) => ({ ...v, requestId: '', replyTo: null })), [{
    requestId: '', replyTo: null, transactionalId: 'etl-1', producerId, producerEpoch: 0, topic: consumerOffsetsTopic, partition: 0,
  }]);
  // The transaction is open on the partition now: its next commit is not checked again.
  assert.equal(txnCommit(host, [{ partition: 1, offset: 4 }], { ...member }).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(host.verifications.length, 1);
  writeMarker(host, true);
  assert.deepEqual(fetchOffsets(host, [0, 1], true), [10, 4]);
  // The marker closed it: the producer's next transaction is checked again.
  assert.equal(txnCommit(host, [{ partition: 0, offset: 11 }], { ...member }).results[0]!.errorCode, ErrorCode.NONE);
  assert.equal(host.verifications.length, 2);
});

test('a TxnOffsetCommit the transaction coordinator does not confirm gets Kafka\'s error and leaves no pending offsets', () => {
  // What the coordinator says (KIP-890) -> what the TxnOffsetCommit client hears (v0-3).
  const cases: Array<[string, number, string]> = [
    ['the offsets partition is not in the transaction (no AddOffsetsToTxn, or it ended)', ErrorCode.INVALID_TXN_STATE, 'INVALID_TXN_STATE'],
    ['a newer epoch of the producer exists', ErrorCode.PRODUCER_FENCED, 'INVALID_PRODUCER_EPOCH'],
    ['the transactional id has another producer id', ErrorCode.INVALID_PRODUCER_ID_MAPPING, 'INVALID_PRODUCER_ID_MAPPING'],
    ['the coordinator moved: retriable', ErrorCode.NOT_COORDINATOR, 'COORDINATOR_NOT_AVAILABLE'],
    ['the transaction is completing: retriable', ErrorCode.CONCURRENT_TRANSACTIONS, 'COORDINATOR_NOT_AVAILABLE'],
  ];
  for (const [why, said, heard] of cases) {
    const host = hostCoordinator();
    host.run(500);
    const member = formGroup(host);
    assert.equal(commit(host, member, 5).results[0]!.errorCode, ErrorCode.NONE);
    host.answerVerifications(() => said);
    const answer = txnCommit(host, [{ partition: 0, offset: 10 }, { partition: 1, offset: 3 }], { ...member });
    assert.deepEqual(answer.results.map((r) => errorNameOf(r.errorCode)), [heard, heard], why);
    assert.equal(host.verifications.length, 1, why);
    assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0, `${why}: nothing pending`);
    assert.deepEqual(fetchOffsets(host, [0, 1], true), [5, -1], `${why}: the committed offsets, and stable`);
    // Nothing was written either: a coordinator loading the partition finds no open transaction.
    host.failover(1);
    host.run(1000);
    assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0, `${why}: nothing pending after a load`);
    assert.deepEqual(fetchOffsets(host, [0, 1], true), [5, -1], `${why}: after a load`);
  }
});

test('a retried TxnOffsetCommit goes through once the coordinator confirms; an unanswered check times out as retriable', () => {
  const host = hostCoordinator();
  host.run(500);
  formGroup(host);
  host.answerVerifications(() => null);
  const unanswered = host.ask('TxnOffsetCommitRequest', {
    transactionalId: 'etl-1', groupId: group, producerId, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: '',
    offsets: [{ topic: 'orders', partition: 0, offset: 8, leaderEpoch: 0, metadata: '', errorCode: 0 }],
  }, 'TxnOffsetCommitResponse', 3 * settings.offsetsCommitTimeoutMs);
  assert.equal(errorNameOf(unanswered.results[0]!.errorCode), 'COORDINATOR_NOT_AVAILABLE');
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0);
  host.answerVerifications(() => ErrorCode.NONE);
  assert.equal(txnCommit(host, [{ partition: 0, offset: 8 }]).results[0]!.errorCode, ErrorCode.NONE);
  writeMarker(host, true);
  assert.deepEqual(fetchOffsets(host, [0], true), [8]);
});

test('a TxnOffsetCommit without a transactional id is refused: there is no transaction to verify it against', () => {
  const host = hostCoordinator();
  host.run(500);
  formGroup(host);
  assert.equal(errorNameOf(txnCommit(host, [{ partition: 0, offset: 1 }], { transactionalId: '' }).results[0]!.errorCode), 'INVALID_REQUEST');
  assert.equal(host.verifications.length, 0);
  assert.equal(host.context().groups.get(group)!.pendingTxn.size, 0);
});
