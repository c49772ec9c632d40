// The group coordinator of one __consumer_offsets partition, as Kafka's GroupCoordinator and
// GroupMetadataManager run it. It lives beside that partition's replica on every node that
// hosts one, and serves only while the replica here leads: it then loads the partition (every
// group's metadata and committed offsets, in log order) before it answers anyone
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile), and from then on writes every change to the
// partition with acks=all before it answers.
//
// Membership is the pure protocol in group-state.ts; this actor adds durability:
// - a commit is acknowledged once its records are replicated, and only then visible;
// - a new assignment (SyncGroup) is handed out only once the group's metadata is durable, so
//   that a coordinator that takes over never hands out a different assignment under a
//   generation some member already holds; a failed write voids it and starts a new round;
// - OffsetFetch answers after a write that proves this coordinator still leads (a deposed
//   leader cut off from its followers cannot complete one), so that no client reads offsets
//   older than a commit already acknowledged elsewhere. The write repeats the group's last
//   metadata record (or a tombstone for a group without one): it changes nothing on load.
//
// Transactional offset commits (TxnOffsetCommit, KIP-98/447) are written as a transactional
// batch of their producer, which the replica first verifies with the transaction coordinator
// (KIP-890), and stay pending, per producer, invisible to OffsetFetch, until the
// transaction's marker is written to the partition: the replica says so (TxnMarkerWritten),
// or the load reads the marker. A commit marker makes them the committed offsets, unless a
// plain commit of the same partition was written after them (Kafka's
// GroupMetadata.completePendingTxnOffsetCommit compares the batches' log offsets); an abort
// marker drops them. A transaction still open when a load ends stays pending until its marker.
//
// Pure: writes and reads are Produce and Fetch requests to the local replica actor; time
// arrives on events.
import { setup } from 'xstate';
import type {
  Address, Delivered, DescribedGroup, FetchResponse, OffsetEntry, Outgoing, ProduceResponse, TxnMarkerWritten, WireEvent, WireKind,
  WireMessages,
} from '../protocol/messages.js';
import { acksAll } from '../protocol/messages.js';
import { type Effect, type EffectBatch, type TimerFired, effectfulStep } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  type CoordinatorPartitionState, type LoadedRecord, type LoadPlan, coordinatorStates, followPartitionState, leadershipChanged, loadAnswered,
  loadFetch, readLoadedBatches, startLoad,
} from '../protocol/coordinator-load.js';
import { type EncodeBatchOptions, encodeRecordBatch, type RecordInput } from '../protocol/records.js';
import { partitionActorId } from '../partition/partition-machine.js';
import {
  type GroupConfig, type GroupReply, type GroupState, type GroupStep, defaultGroupConfig, describeGroup, heartbeat, join, leave,
  listGroupsEntry, newGroup, nextWakeAtMs, rebalance, sync, tick, unload,
} from './group-state.js';
import {
  type GroupMetadataValue, type OffsetCommitValue, decodeOffsetsRecord, encodeGroupMetadataValue,
  encodeOffsetCommitValue, encodeOffsetsKey,
} from './offsets-records.js';
import { decodeSubscription } from './consumer-protocol.js';
import { consumerOffsetsTopic, groupCoordinatorActorId, offsetsPartitionFor } from './offsets-topic.js';

export const groupCoordinatorMachineName = 'group-coordinator';

/** Broker settings of the group coordinator (Kafka's names in the comments). */
export interface GroupCoordinatorSettings {
  /** offsets.topic.num.partitions */
  offsetsTopicPartitions: number;
  /** group.min.session.timeout.ms, group.max.session.timeout.ms, group.max.size */
  group: GroupConfig;
  /** offsets.retention.minutes, in ms: how long an empty group keeps its offsets. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** offsets.commit.timeout.ms: how long a write to the partition may take. */
  offsetsCommitTimeoutMs: number;
  /** Pause before loading again after the replica refused a read (it may still be opening). */
  loadBackoffMs: number;
  /** offsets.load.buffer.size */
  loadBufferBytes: number;
}

export const defaultGroupCoordinatorSettings: GroupCoordinatorSettings = {
  offsetsTopicPartitions: 50,
  group: defaultGroupConfig,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
  offsetsCommitTimeoutMs: 5000,
  loadBackoffMs: 100,
  loadBufferBytes: 5 * 1024 * 1024,
};

export interface GroupCoordinatorBugs {
  /** Skip committed offsets when loading after a failover (the checkers must notice). */
  forgetOffsetsOnLoad?: boolean;
}

export interface GroupCoordinatorConfig extends GroupCoordinatorSettings {
  nodeId: number;
  bugs: GroupCoordinatorBugs;
}

export interface GroupCoordinatorInput {
  config: GroupCoordinatorConfig;
  partition: number;
}

/** Where a delayed answer goes. */
interface ReplyTo { to: Address; requestId: string }

interface CommittedOffset extends OffsetCommitValue {}

/** An offset as the partition holds it: with the log offset of the batch that wrote it. */
interface StoredOffset {
  topic: string;
  partition: number;
  value: CommittedOffset;
  /** The batch's offset (Kafka's appendedBatchOffset): which of two writes came later. */
  logOffset: number;
}

/** A transactional offset waiting for its transaction's marker. */
interface PendingTxnOffset {
  topic: string;
  partition: number;
  value: CommittedOffset;
  /** null while the write is in flight. */
  logOffset: number | null;
  /** The write in flight (null once written): only its completion may settle this entry. */
  write: TxnCommitWork | null;
}

interface GroupEntry {
  group: GroupState<ReplyTo>;
  offsets: Map<string, StoredOffset>;
  /** Transactional offsets by producer id, then by topic-partition; an empty map is removed. */
  pendingTxn: Map<number, Map<string, PendingTxnOffset>>;
  /** The group's last metadata value written or loaded (null: none, or deleted). */
  persisted: Uint8Array | null;
  /** When the group last became Empty (Kafka's currentStateTimestamp), or null. */
  emptySinceMs: number | null;
  /** The newest metadata write in flight: answers that hand out its assignment wait for it. */
  metadataWrite: Extract<WriteWork, { kind: 'metadata' }> | null;
}

/**
 * A transactional commit in flight. Markers of its producer that arrive meanwhile are kept:
 * one written after the batch decides it as soon as the batch's offset is known.
 */
interface TxnCommitWork {
  kind: 'txnCommit';
  groupId: string;
  producerId: number;
  replyTo: ReplyTo;
  accepted: OffsetEntry[];
  refused: OffsetEntry[];
  markers: TxnMarker[];
}

type TxnMarker = Pick<TxnMarkerWritten, 'producerId' | 'commit' | 'offset'>;

type WriteWork =
  | { kind: 'commit'; groupId: string; replyTo: ReplyTo; accepted: OffsetEntry[]; values: CommittedOffset[]; refused: OffsetEntry[] }
  | TxnCommitWork
  | { kind: 'metadata'; groupId: string; held: Array<GroupReply<ReplyTo>> }
  | { kind: 'barrier'; groupId: string; replyTo: ReplyTo; all: boolean; requireStable: boolean; partitions: Array<{ topic: string; partition: number }> }
  | { kind: 'deleteGroup'; groupId: string; replyTo: ReplyTo | null }
  | { kind: 'deleteOffsets'; groupId: string; replyTo: ReplyTo | null; partitions: Array<{ topic: string; partition: number }>; refused: OffsetEntry[] };

interface PendingWrite {
  requestId: string;
  deadlineMs: number;
  work: WriteWork;
}

export interface CoordinatorContext extends CoordinatorPartitionState {
  config: GroupCoordinatorConfig;
  groups: Map<string, GroupEntry>;
  writes: PendingWrite[];
  requestSeq: number;
  nextRetentionCheckMs: number;
  /** When the tick timer is armed for (null: not armed). */
  tickAtMs: number | null;
}

type CoordinatorEvent = WireEvent | TimerFired<'CoordinatorTick'> | TimerFired<'LoadRetryFired'>;
type Handler = (ctx: CoordinatorContext, event: CoordinatorEvent) => Effect[];

function effectful(handler: Handler) {
  return effectfulStep<CoordinatorContext, CoordinatorEvent>(handler);
}

function send<K extends WireKind>(to: Address, kind: K, body: WireMessages[K]): Effect {
  return { type: 'send', message: { to, kind, body } as Outgoing };
}

function replicaAddress(ctx: CoordinatorContext): Address {
  return { node: ctx.config.nodeId, actor: partitionActorId(consumerOffsetsTopic, ctx.partition) };
}

function selfName(ctx: CoordinatorContext): string {
  return groupCoordinatorActorId(ctx.partition);
}

function nextRequestId(ctx: CoordinatorContext): string {
  ctx.requestSeq += 1;
  return `${selfName(ctx)}/${ctx.config.nodeId}/${ctx.term}/${ctx.requestSeq}`;
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

const utf8 = new TextEncoder();
const nullString = (value: string): string | null => (value === '' ? null : value);
const wireString = (value: string | null): string => value ?? '';

// ---------------------------------------------------------------------------------------------
// Answers

/** The error answer to any group request (the broker uses it for coordinators it does not host). */
export function groupRequestRefusal(request: WireEvent, errorCode: number): Effect[] {
  const { from } = request;
  switch (request.type) {
    case 'JoinGroupRequest':
      return [send(from, 'JoinGroupResponse', {
        requestId: request.body.requestId, errorCode, generationId: -1, protocolType: '', protocolName: '', leader: '', skipAssignment: false,
        memberId: request.body.memberId, members: [],
      })];
    case 'SyncGroupRequest':
      return [send(from, 'SyncGroupResponse', { requestId: request.body.requestId, errorCode, protocolType: '', protocolName: '', assignment: new Uint8Array(0) })];
    case 'HeartbeatRequest':
      return [send(from, 'HeartbeatResponse', { requestId: request.body.requestId, errorCode })];
    case 'LeaveGroupRequest':
      return [send(from, 'LeaveGroupResponse', {
        requestId: request.body.requestId, errorCode, members: request.body.members.map((m) => ({ ...m, errorCode })),
      })];
    case 'OffsetCommitRequest':
      return [send(from, 'OffsetCommitResponse', {
        requestId: request.body.requestId, results: request.body.offsets.map((o) => offsetResult(o.topic, o.partition, errorCode)),
      })];
    case 'OffsetFetchRequest':
      return [send(from, 'OffsetFetchResponse', { requestId: request.body.requestId, errorCode, offsets: [] })];
    case 'DescribeGroupsRequest':
      return [send(from, 'DescribeGroupsResponse', {
        requestId: request.body.requestId, groups: request.body.groupIds.map((groupId) => deadGroup(groupId, errorCode)),
      })];
    case 'ListGroupsRequest':
      return [send(from, 'ListGroupsResponse', { requestId: request.body.requestId, errorCode, groups: [] })];
    case 'DeleteGroupsRequest':
      return [send(from, 'DeleteGroupsResponse', {
        requestId: request.body.requestId, results: request.body.groupIds.map((groupId) => ({ groupId, errorCode })),
      })];
    case 'OffsetDeleteRequest':
      return [send(from, 'OffsetDeleteResponse', { requestId: request.body.requestId, errorCode, results: [] })];
    case 'TxnOffsetCommitRequest':
      return [send(from, 'TxnOffsetCommitResponse', {
        requestId: request.body.requestId, results: request.body.offsets.map((o) => offsetResult(o.topic, o.partition, errorCode)),
      })];
    default:
      return [];
  }
}

function refusal(event: CoordinatorEvent, errorCode: number): Effect[] {
  return groupRequestRefusal(event as WireEvent, errorCode);
}

function offsetResult(topic: string, partition: number, errorCode: number): OffsetEntry {
  return { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode };
}

function deadGroup(groupId: string, errorCode: number): DescribedGroup {
  return { errorCode, groupId, state: 'Dead', protocolType: '', protocolName: '', members: [] };
}

/** A reply of the membership protocol, as the wire message it is. */
function groupReplyEffect(reply: GroupReply<ReplyTo>): Effect {
  const { to, requestId } = reply.to;
  switch (reply.kind) {
    case 'JoinGroup': {
      const r = reply.response;
      return send(to, 'JoinGroupResponse', {
        requestId, errorCode: r.errorCode, generationId: r.generationId, protocolType: wireString(r.protocolType),
        protocolName: wireString(r.protocolName), leader: r.leader, skipAssignment: r.skipAssignment, memberId: r.memberId,
        members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: wireString(m.groupInstanceId), metadata: m.metadata })),
      });
    }
    case 'SyncGroup': {
      const r = reply.response;
      return send(to, 'SyncGroupResponse', {
        requestId, errorCode: r.errorCode, protocolType: wireString(r.protocolType), protocolName: wireString(r.protocolName), assignment: r.assignment,
      });
    }
    case 'Heartbeat':
      return send(to, 'HeartbeatResponse', { requestId, errorCode: reply.response.errorCode });
    case 'LeaveGroup':
      return send(to, 'LeaveGroupResponse', {
        requestId, errorCode: reply.response.errorCode,
        members: reply.response.members.map((m) => ({ memberId: m.memberId, groupInstanceId: wireString(m.groupInstanceId), errorCode: m.errorCode })),
      });
  }
}

/** The same reply carrying an error instead (a write it waited for failed). */
function failedReply(reply: GroupReply<ReplyTo>, errorCode: number): GroupReply<ReplyTo> {
  switch (reply.kind) {
    case 'JoinGroup':
      return { ...reply, response: { ...reply.response, errorCode, generationId: -1, members: [] } };
    case 'SyncGroup':
      return { ...reply, response: { ...reply.response, errorCode, assignment: new Uint8Array(0) } };
    default:
      return reply;
  }
}

/** Replies that hand out membership of a generation wait for its metadata to be durable. */
function handsOutGeneration(reply: GroupReply<ReplyTo>): boolean {
  return (reply.kind === 'SyncGroup' || reply.kind === 'JoinGroup') && reply.response.errorCode === ErrorCode.NONE;
}

/**
 * What a failed write of the partition means to a group client (Kafka's
 * GroupMetadataManager): the coordinator moved, is not available, or the write was too big.
 */
function writeErrorFor(produceError: number): number {
  switch (produceError) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.FENCED_LEADER_EPOCH:
    case ErrorCode.UNKNOWN_LEADER_EPOCH:
    case ErrorCode.KAFKA_STORAGE_ERROR:
    case ErrorCode.LEADER_NOT_AVAILABLE:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/**
 * The replica's refusals of a transactional write that the producer must see as they are: it
 * was fenced, or the transaction coordinator did not confirm the partition (KIP-890; the
 * replica already turned PRODUCER_FENCED into INVALID_PRODUCER_EPOCH, as Kafka's
 * AddPartitionsToTxnManager does). A check that could not be made reaches the replica's
 * answer as NOT_ENOUGH_REPLICAS, which Kafka's maybeConvertOffsetCommitError, like
 * writeErrorFor, turns into COORDINATOR_NOT_AVAILABLE: the client retries.
 */
const producerErrors: ReadonlySet<number> = new Set([
  ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_TXN_STATE, ErrorCode.INVALID_PRODUCER_ID_MAPPING,
]);

function txnWriteErrorFor(produceError: number): number {
  return producerErrors.has(produceError) ? produceError : writeErrorFor(produceError);
}

// ---------------------------------------------------------------------------------------------
// Groups

function newEntry(ctx: CoordinatorContext, groupId: string): GroupEntry {
  return {
    group: newGroup<ReplyTo>(groupId, ctx.config.group, ctx.leaderEpoch),
    offsets: new Map(), pendingTxn: new Map(), persisted: null, emptySinceMs: ctx.nowMs, metadataWrite: null,
  };
}

function entryFor(ctx: CoordinatorContext, groupId: string): GroupEntry {
  let entry = ctx.groups.get(groupId);
  if (entry === undefined) {
    entry = newEntry(ctx, groupId);
    ctx.groups.set(groupId, entry);
  }
  return entry;
}

/** The group's metadata record value, as Kafka writes it after a rebalance or when it empties. */
function metadataValue(entry: GroupEntry): GroupMetadataValue {
  const { group } = entry;
  return {
    protocolType: group.protocolType ?? '',
    generationId: group.generationId,
    protocolName: group.protocolName,
    leaderId: group.leaderId,
    currentStateTimestamp: entry.emptySinceMs === null ? -1 : Math.floor(entry.emptySinceMs),
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? new Uint8Array(0),
      assignment: m.assignment,
    })),
  };
}

/**
 * A group as its last metadata record left it (Kafka's GroupMetadata.loadGroup): members
 * with their assignment, Stable, each given a fresh session to heartbeat in; an Empty group
 * when the record has no members.
 */
function restoreGroup(ctx: CoordinatorContext, groupId: string, value: GroupMetadataValue): GroupState<ReplyTo> {
  const group = newGroup<ReplyTo>(groupId, ctx.config.group, ctx.leaderEpoch);
  group.generationId = value.generationId;
  group.protocolType = value.protocolType === '' ? null : value.protocolType;
  if (value.members.length === 0) return group;
  group.state = 'Stable';
  group.protocolName = value.protocolName;
  for (const m of value.members) {
    group.members.set(m.memberId, {
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs, protocolType: value.protocolType,
      protocols: [{ name: value.protocolName ?? '', metadata: m.subscription }], assignment: m.assignment,
      lastHeartbeatMs: ctx.nowMs, joinedGenerationId: value.generationId, awaitingJoin: null, awaitingSync: null,
    });
    if (m.groupInstanceId !== null) group.staticMembers.set(m.groupInstanceId, m.memberId);
  }
  group.leaderId = value.leaderId !== null && group.members.has(value.leaderId) ? value.leaderId : value.members[0]!.memberId;
  return group;
}

/**
 * Carries out one step of the membership protocol: persists the group when its metadata
 * changed, sends the replies (holding those that hand out a generation until its metadata is
 * durable) and re-arms the timer.
 */
function applyStep(ctx: CoordinatorContext, entry: GroupEntry, step: GroupStep<ReplyTo>): Effect[] {
  const effects: Effect[] = [];
  const { group } = entry;
  if (group.state === 'Empty') entry.emptySinceMs ??= ctx.nowMs;
  else entry.emptySinceMs = null;
  if (step.changed) effects.push(...persistMetadata(ctx, entry));
  for (const reply of step.replies) {
    if (entry.metadataWrite !== null && handsOutGeneration(reply)) entry.metadataWrite.held.push(reply);
    else effects.push(groupReplyEffect(reply));
  }
  return effects;
}

function persistMetadata(ctx: CoordinatorContext, entry: GroupEntry): Effect[] {
  const value = encodeGroupMetadataValue(metadataValue(entry));
  entry.persisted = value;
  const work: WriteWork = { kind: 'metadata', groupId: entry.group.groupId, held: [] };
  entry.metadataWrite = work;
  return write(ctx, [{ key: encodeOffsetsKey({ kind: 'group', group: entry.group.groupId }), value }], work);
}

// ---------------------------------------------------------------------------------------------
// Writes to the partition

/**
 * A transactional commit's producer: `batch` sets it on the batch (Kafka's coordinator writes it
 * without a sequence), `transactionalId` names its transaction, so that the replica checks with
 * the transaction coordinator (KIP-890) before the producer's first write to the partition.
 */
interface TxnWriter { batch: EncodeBatchOptions; transactionalId: string }

function write(ctx: CoordinatorContext, records: RecordInput[], work: WriteWork, txn: TxnWriter | null = null): Effect[] {
  const requestId = nextRequestId(ctx);
  const timestamp = Math.floor(ctx.nowMs);
  const bytes = encodeRecordBatch(records.map((r) => ({ ...r, timestamp })), txn?.batch ?? {});
  ctx.writes.push({ requestId, deadlineMs: ctx.nowMs + ctx.config.offsetsCommitTimeoutMs * 2, work });
  return [send(replicaAddress(ctx), 'ProduceRequest', {
    requestId, topic: consumerOffsetsTopic, partition: ctx.partition, acks: acksAll, timeoutMs: ctx.config.offsetsCommitTimeoutMs,
    records: bytes, leaderEpoch: ctx.leaderEpoch, transactionalId: txn?.transactionalId ?? '',
  })];
}

const writeAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'ProduceResponse'>;
  const at = ctx.writes.findIndex((w) => w.requestId === body.requestId);
  if (at < 0) return []; // an answer to a write given up on, or from before a change of leadership
  const [pending] = ctx.writes.splice(at, 1);
  return [...completeWrite(ctx, pending!.work, body), ...armTick(ctx)];
};

function completeWrite(ctx: CoordinatorContext, work: WriteWork, answer: Pick<ProduceResponse, 'errorCode' | 'baseOffset'>): Effect[] {
  const ok = answer.errorCode === ErrorCode.NONE;
  const errorCode = ok ? ErrorCode.NONE : writeErrorFor(answer.errorCode);
  const entry = ctx.groups.get(work.groupId);
  switch (work.kind) {
    case 'commit': {
      if (!ok && entry !== undefined) dropIfForgotten(ctx, entry);
      if (ok && entry !== undefined) {
        work.accepted.forEach((o, i) => storeOffset(entry, { topic: o.topic, partition: o.partition, value: work.values[i]!, logOffset: answer.baseOffset }));
      }
      const results = [...work.refused, ...work.accepted.map((o) => offsetResult(o.topic, o.partition, errorCode))];
      return [send(work.replyTo.to, 'OffsetCommitResponse', { requestId: work.replyTo.requestId, results })];
    }
    case 'txnCommit': {
      if (entry !== undefined) settleTxnWrite(ctx, entry, work, ok ? answer.baseOffset : null);
      const txnErrorCode = ok ? ErrorCode.NONE : txnWriteErrorFor(answer.errorCode);
      const results = [...work.refused, ...work.accepted.map((o) => offsetResult(o.topic, o.partition, txnErrorCode))];
      return [send(work.replyTo.to, 'TxnOffsetCommitResponse', { requestId: work.replyTo.requestId, results })];
    }
    case 'metadata': {
      if (entry === undefined) return [];
      if (entry.metadataWrite === work) entry.metadataWrite = null;
      if (ok) return work.held.map(groupReplyEffect);
      const effects = work.held.map((reply) => groupReplyEffect(failedReply(reply, errorCode)));
      return [...effects, ...applyStep(ctx, entry, rebalance(entry.group, ctx.nowMs))];
    }
    case 'barrier': {
      if (!ok) return [send(work.replyTo.to, 'OffsetFetchResponse', { requestId: work.replyTo.requestId, errorCode, offsets: [] })];
      return [send(work.replyTo.to, 'OffsetFetchResponse', {
        requestId: work.replyTo.requestId, errorCode: ErrorCode.NONE, offsets: committedOffsets(ctx, entry, work),
      })];
    }
    case 'deleteGroup': {
      if (ok && entry !== undefined && entry.group.state === 'Dead') ctx.groups.delete(work.groupId);
      if (!ok && entry !== undefined && entry.group.state === 'Dead') entry.group = newGroup(work.groupId, ctx.config.group, ctx.leaderEpoch);
      return work.replyTo === null ? [] : [send(work.replyTo.to, 'DeleteGroupsResponse', { requestId: work.replyTo.requestId, results: [{ groupId: work.groupId, errorCode }] })];
    }
    case 'deleteOffsets': {
      if (ok && entry !== undefined) {
        for (const p of work.partitions) forgetPartition(entry, tpKey(p.topic, p.partition));
        dropIfForgotten(ctx, entry);
      }
      if (work.replyTo === null) return [];
      const results = [...work.refused, ...work.partitions.map((p) => offsetResult(p.topic, p.partition, errorCode))];
      return [send(work.replyTo.to, 'OffsetDeleteResponse', { requestId: work.replyTo.requestId, errorCode: ErrorCode.NONE, results })];
    }
  }
}

/**
 * What OffsetFetch answers: the committed offsets (every one, or those asked for); with
 * requireStable, UNSTABLE_OFFSET_COMMIT for a partition with a commit still pending (Kafka's
 * GroupMetadataManager.getOffsets).
 */
function committedOffsets(
  ctx: CoordinatorContext, entry: GroupEntry | undefined,
  request: { groupId: string; all: boolean; requireStable: boolean; partitions: Array<{ topic: string; partition: number }> },
): OffsetEntry[] {
  const asked = request.all ? [...(entry?.offsets.values() ?? [])] : request.partitions;
  return asked.map(({ topic, partition }) => {
    if (request.requireStable && hasPendingCommit(ctx, entry, request.groupId, topic, partition)) {
      return offsetResult(topic, partition, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    }
    const found = entry?.offsets.get(tpKey(topic, partition));
    if (found === undefined) return offsetResult(topic, partition, ErrorCode.NONE);
    return { topic, partition, offset: found.value.offset, leaderEpoch: found.value.leaderEpoch, metadata: found.value.metadata, errorCode: ErrorCode.NONE };
  });
}

/** A transaction's offset for the partition not yet decided, or a plain commit of it in flight. */
function hasPendingCommit(ctx: CoordinatorContext, entry: GroupEntry | undefined, groupId: string, topic: string, partition: number): boolean {
  const key = tpKey(topic, partition);
  for (const producerOffsets of entry?.pendingTxn.values() ?? []) if (producerOffsets.has(key)) return true;
  return ctx.writes.some(({ work }) => work.kind === 'commit' && work.groupId === groupId
    && work.accepted.some((o) => o.topic === topic && o.partition === partition));
}

/** A committed offset takes the place of the one before it unless that one was written later. */
function storeOffset(entry: GroupEntry, offset: StoredOffset): void {
  const key = tpKey(offset.topic, offset.partition);
  const current = entry.offsets.get(key);
  if (current === undefined || current.logOffset < offset.logOffset) entry.offsets.set(key, offset);
}

/** A partition's offsets deleted: the committed one and any a transaction left pending (Kafka's removeOffsets). */
function forgetPartition(entry: GroupEntry, key: string): void {
  entry.offsets.delete(key);
  for (const [producerId, producerOffsets] of entry.pendingTxn) {
    producerOffsets.delete(key);
    if (producerOffsets.size === 0) entry.pendingTxn.delete(producerId);
  }
}

/** An Empty group with neither offsets (committed or pending), a persisted record nor member ids handed out (KIP-394) is forgotten. */
function dropIfForgotten(ctx: CoordinatorContext, entry: GroupEntry): void {
  if (entry.group.state === 'Empty' && entry.offsets.size === 0 && entry.pendingTxn.size === 0 && entry.persisted === null && entry.metadataWrite === null
    && entry.group.pendingMembers.size === 0) {
    ctx.groups.delete(entry.group.groupId);
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

/** The group's own coordinator? Requests for a group hashed elsewhere get NOT_COORDINATOR. */
function ownsGroup(ctx: CoordinatorContext, groupId: string): boolean {
  return offsetsPartitionFor(groupId, ctx.config.offsetsTopicPartitions) === ctx.partition;
}

function groupIdOf(event: CoordinatorEvent): string | null {
  const body = (event as WireEvent).body as { groupId?: unknown };
  return typeof body.groupId === 'string' ? body.groupId : null;
}

const joinGroup: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'JoinGroupRequest'>;
  const entry = entryFor(ctx, body.groupId);
  const step = join(entry.group, {
    version: body.version, memberId: body.memberId, groupInstanceId: nullString(body.groupInstanceId), clientId: body.clientId,
    clientHost: body.clientHost, sessionTimeoutMs: body.sessionTimeoutMs, rebalanceTimeoutMs: body.rebalanceTimeoutMs,
    protocolType: body.protocolType, protocols: body.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
  }, { to: from, requestId: body.requestId }, ctx.nowMs);
  const effects = applyStep(ctx, entry, step);
  dropIfForgotten(ctx, entry);
  return [...effects, ...armTick(ctx)];
};

/** Sync, heartbeat and leave run on a group this coordinator knows; for any other: UNKNOWN_MEMBER_ID. */
function onKnownGroup<K extends 'SyncGroupRequest' | 'HeartbeatRequest' | 'LeaveGroupRequest'>(
  run: (group: GroupState<ReplyTo>, body: WireMessages[K], replyTo: ReplyTo, nowMs: number) => GroupStep<ReplyTo>,
): Handler {
  return (ctx, event) => {
    const { body, from } = event as Delivered<K>;
    const entry = ctx.groups.get(body.groupId);
    if (entry === undefined) return refusal(event, ErrorCode.UNKNOWN_MEMBER_ID);
    return [...applyStep(ctx, entry, run(entry.group, body, { to: from, requestId: body.requestId }, ctx.nowMs)), ...armTick(ctx)];
  };
}

const syncGroup = onKnownGroup<'SyncGroupRequest'>((group, body, replyTo, nowMs) => sync(group, {
  generationId: body.generationId, memberId: body.memberId, groupInstanceId: nullString(body.groupInstanceId),
  protocolType: nullString(body.protocolType), protocolName: nullString(body.protocolName),
  assignments: body.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
}, replyTo, nowMs));

const heartbeatGroup = onKnownGroup<'HeartbeatRequest'>((group, body, replyTo, nowMs) => heartbeat(group, {
  generationId: body.generationId, memberId: body.memberId, groupInstanceId: nullString(body.groupInstanceId),
}, replyTo, nowMs));

const leaveGroup = onKnownGroup<'LeaveGroupRequest'>((group, body, replyTo, nowMs) => leave(group, {
  version: body.version, members: body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: nullString(m.groupInstanceId) })),
}, replyTo, nowMs));

/** Kafka's GroupCoordinator.doCommitOffsets checks, in its order; null when the commit may go ahead. */
function commitError(entry: GroupEntry | undefined, body: WireMessages['OffsetCommitRequest']): number | null {
  if (entry === undefined) return body.generationId < 0 ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  const { group } = entry;
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const instanceId = nullString(body.groupInstanceId);
  if (instanceId !== null && group.staticMembers.has(instanceId) && group.staticMembers.get(instanceId) !== body.memberId) {
    return ErrorCode.FENCED_INSTANCE_ID;
  }
  if (body.generationId < 0 && group.state === 'Empty') return null;
  if (!group.members.has(body.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (body.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  return null;
}

const offsetCommit: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'OffsetCommitRequest'>;
  const existing = ctx.groups.get(body.groupId);
  const errorCode = commitError(existing, body);
  if (errorCode !== null) return refusal(event, errorCode);
  const entry = existing ?? entryFor(ctx, body.groupId);
  const member = entry.group.members.get(body.memberId);
  if (member !== undefined) member.lastHeartbeatMs = ctx.nowMs;
  const refused: OffsetEntry[] = [];
  const accepted: OffsetEntry[] = [];
  const values: CommittedOffset[] = [];
  const records: RecordInput[] = [];
  for (const o of body.offsets) {
    if (utf8.encode(o.metadata).length > ctx.config.offsetMetadataMaxBytes) {
      refused.push(offsetResult(o.topic, o.partition, ErrorCode.OFFSET_METADATA_TOO_LARGE));
      continue;
    }
    const value: CommittedOffset = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: Math.floor(ctx.nowMs), expireTimestamp: -1 };
    accepted.push(o);
    values.push(value);
    records.push({ key: encodeOffsetsKey({ kind: 'offset', group: body.groupId, topic: o.topic, partition: o.partition }), value: encodeOffsetCommitValue(value) });
  }
  const replyTo = { to: from, requestId: body.requestId };
  if (records.length === 0) {
    dropIfForgotten(ctx, entry);
    return [send(from, 'OffsetCommitResponse', { requestId: body.requestId, results: refused })];
  }
  return [...write(ctx, records, { kind: 'commit', groupId: body.groupId, replyTo, accepted, values, refused }), ...armTick(ctx)];
};

// ---------------------------------------------------------------------------------------------
// Transactional offset commits

/**
 * Kafka's GroupCoordinator.validateOffsetCommit for a transactional commit; null when it may
 * go ahead. A commit that names no member, generation or instance (TxnOffsetCommit before v3,
 * or a producer outside any group) is not checked; unlike a plain commit it is taken while the
 * group has members and while it completes a rebalance.
 */
function txnCommitError(entry: GroupEntry | undefined, body: WireMessages['TxnOffsetCommitRequest']): number | null {
  if (entry?.group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  // Without a transactional id there is no transaction to verify the write against (Kafka's transaction coordinator says INVALID_REQUEST).
  if (body.transactionalId === '') return ErrorCode.INVALID_REQUEST;
  const instanceId = nullString(body.groupInstanceId);
  if (body.generationId < 0 && body.memberId === '' && instanceId === null) return null;
  if (instanceId !== null) {
    if (entry?.group.staticMembers.get(instanceId) !== body.memberId) return ErrorCode.FENCED_INSTANCE_ID;
  } else if (entry === undefined || !entry.group.members.has(body.memberId)) {
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }
  if (body.generationId !== entry!.group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  return null;
}

function pendingOffsetsOf(entry: GroupEntry, producerId: number): Map<string, PendingTxnOffset> {
  let producerOffsets = entry.pendingTxn.get(producerId);
  if (producerOffsets === undefined) {
    producerOffsets = new Map();
    entry.pendingTxn.set(producerId, producerOffsets);
  }
  return producerOffsets;
}

/**
 * TxnOffsetCommit: the offsets become the producer's pending ones at once (OffsetFetch with
 * requireStable sees them as unstable from now), written as one transactional batch of the
 * producer under its transactional id. The replica fences an older epoch and, before the
 * producer's first write to the partition, asks the transaction coordinator whether the
 * partition is in the producer's open transaction (KIP-890, as Kafka's GroupCoordinator does
 * before handleTxnCommitOffsets writes): a commit from a producer that skipped AddOffsetsToTxn,
 * whose transaction ended, or whose epoch is fenced is refused and leaves nothing pending.
 */
const txnOffsetCommit: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'TxnOffsetCommitRequest'>;
  const existing = ctx.groups.get(body.groupId);
  const errorCode = txnCommitError(existing, body);
  if (errorCode !== null) return refusal(event, errorCode);
  const entry = existing ?? entryFor(ctx, body.groupId);
  const work: TxnCommitWork = {
    kind: 'txnCommit', groupId: body.groupId, producerId: body.producerId, replyTo: { to: from, requestId: body.requestId },
    accepted: [], refused: [], markers: [],
  };
  const records: RecordInput[] = [];
  const pending: PendingTxnOffset[] = [];
  for (const o of body.offsets) {
    if (utf8.encode(o.metadata).length > ctx.config.offsetMetadataMaxBytes) {
      work.refused.push(offsetResult(o.topic, o.partition, ErrorCode.OFFSET_METADATA_TOO_LARGE));
      continue;
    }
    const value: CommittedOffset = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: Math.floor(ctx.nowMs), expireTimestamp: -1 };
    work.accepted.push(o);
    pending.push({ topic: o.topic, partition: o.partition, value, logOffset: null, write: work });
    records.push({ key: encodeOffsetsKey({ kind: 'offset', group: body.groupId, topic: o.topic, partition: o.partition }), value: encodeOffsetCommitValue(value) });
  }
  if (records.length === 0) {
    dropIfForgotten(ctx, entry);
    return [send(from, 'TxnOffsetCommitResponse', { requestId: body.requestId, results: work.refused })];
  }
  const producerOffsets = pendingOffsetsOf(entry, body.producerId);
  for (const p of pending) producerOffsets.set(tpKey(p.topic, p.partition), p);
  const batch: EncodeBatchOptions = { producerId: body.producerId, producerEpoch: body.producerEpoch, baseSequence: -1, transactional: true };
  return [...write(ctx, records, work, { batch, transactionalId: body.transactionalId }), ...armTick(ctx)];
};

/**
 * A transactional write answered: written, its offsets wait for their marker (or meet one that
 * came while the write was in flight); failed, they are forgotten. An entry a later commit of
 * the same transaction replaced is that commit's to settle.
 */
function settleTxnWrite(ctx: CoordinatorContext, entry: GroupEntry, work: TxnCommitWork, baseOffset: number | null): void {
  const producerOffsets = entry.pendingTxn.get(work.producerId);
  for (const o of work.accepted) {
    const key = tpKey(o.topic, o.partition);
    const pending = producerOffsets?.get(key);
    if (pending === undefined || pending.write !== work) continue;
    if (baseOffset === null) {
      producerOffsets!.delete(key);
    } else {
      pending.logOffset = baseOffset;
      pending.write = null;
    }
  }
  if (producerOffsets?.size === 0) entry.pendingTxn.delete(work.producerId);
  const marker = baseOffset === null ? undefined : work.markers.find((m) => m.offset > baseOffset);
  if (marker !== undefined) completeTxn(entry, marker);
  dropIfForgotten(ctx, entry);
}

/**
 * A marker decides the producer's pending offsets written before it (Kafka's
 * GroupMetadata.completePendingTxnOffsetCommit): a commit stores them unless a plain commit
 * of the partition was written after them; an abort drops them. Offsets written after the
 * marker belong to the producer's next transaction and stay pending; a marker seen twice (the
 * load read it, then the replica reported it) finds nothing left to decide.
 */
function completeTxn(entry: GroupEntry, marker: TxnMarker): void {
  const producerOffsets = entry.pendingTxn.get(marker.producerId);
  if (producerOffsets === undefined) return;
  for (const [key, pending] of producerOffsets) {
    if (pending.logOffset === null || pending.logOffset > marker.offset) continue;
    producerOffsets.delete(key);
    if (marker.commit) storeOffset(entry, { topic: pending.topic, partition: pending.partition, value: pending.value, logOffset: pending.logOffset });
  }
  if (producerOffsets.size === 0) entry.pendingTxn.delete(marker.producerId);
}

/** The replica beside this coordinator wrote a transaction marker, and it is committed. */
const txnMarkerWritten: Handler = (ctx, event) => {
  const { body } = event as Delivered<'TxnMarkerWritten'>;
  if (body.topic !== consumerOffsetsTopic || body.partition !== ctx.partition) return [];
  const marker: TxnMarker = { producerId: body.producerId, commit: body.commit, offset: body.offset };
  applyMarker(ctx, marker);
  for (const { work } of ctx.writes) if (work.kind === 'txnCommit' && work.producerId === marker.producerId) work.markers.push(marker);
  return [];
};

/** OffsetFetch answers after a write proves this coordinator still leads (see the top). */
const offsetFetch: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'OffsetFetchRequest'>;
  const entry = ctx.groups.get(body.groupId);
  const key = encodeOffsetsKey({ kind: 'group', group: body.groupId });
  const work: WriteWork = {
    kind: 'barrier', groupId: body.groupId, replyTo: { to: from, requestId: body.requestId }, all: body.allPartitions,
    requireStable: body.requireStable, partitions: body.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
  };
  return [...write(ctx, [{ key, value: entry?.persisted ?? null }], work), ...armTick(ctx)];
};

const describeGroups: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'DescribeGroupsRequest'>;
  const groups = body.groupIds.map((groupId): DescribedGroup => {
    if (!ownsGroup(ctx, groupId)) return deadGroup(groupId, ErrorCode.NOT_COORDINATOR);
    const entry = ctx.groups.get(groupId);
    if (entry === undefined) return deadGroup(groupId, ErrorCode.NONE);
    const d = describeGroup(entry.group);
    return {
      errorCode: ErrorCode.NONE, groupId, state: d.state, protocolType: d.protocolType, protocolName: d.protocolName,
      members: d.members.map((m) => ({ ...m, groupInstanceId: wireString(m.groupInstanceId) })),
    };
  });
  return [send(from, 'DescribeGroupsResponse', { requestId: body.requestId, groups })];
};

const listGroups: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'ListGroupsRequest'>;
  const wanted = new Set(body.statesFilter.map((s) => s.toLowerCase()));
  const groups = [...ctx.groups.values()]
    .map((entry) => listGroupsEntry(entry.group))
    .filter((g) => wanted.size === 0 || wanted.has(g.groupState.toLowerCase()));
  return [send(from, 'ListGroupsResponse', { requestId: body.requestId, errorCode: ErrorCode.NONE, groups })];
};

/** Tombstones for a group's metadata and every offset it has. */
function groupTombstones(entry: GroupEntry): RecordInput[] {
  const groupId = entry.group.groupId;
  return [
    ...[...entry.offsets.values()].map((o) => ({ key: encodeOffsetsKey({ kind: 'offset', group: groupId, topic: o.topic, partition: o.partition }), value: null })),
    { key: encodeOffsetsKey({ kind: 'group', group: groupId }), value: null },
  ];
}

const deleteGroups: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'DeleteGroupsRequest'>;
  const effects: Effect[] = [];
  const immediate: Array<{ groupId: string; errorCode: number }> = [];
  for (const groupId of body.groupIds) {
    const entry = ctx.groups.get(groupId);
    if (!ownsGroup(ctx, groupId)) immediate.push({ groupId, errorCode: ErrorCode.NOT_COORDINATOR });
    else if (entry === undefined || entry.group.state === 'Dead') immediate.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
    else if (entry.group.state !== 'Empty') immediate.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
    else {
      effects.push(...applyStep(ctx, entry, unload(entry.group, ErrorCode.COORDINATOR_NOT_AVAILABLE)));
      entry.persisted = null;
      effects.push(...write(ctx, groupTombstones(entry), { kind: 'deleteGroup', groupId, replyTo: { to: from, requestId: body.requestId } }));
    }
  }
  if (immediate.length > 0) effects.push(send(from, 'DeleteGroupsResponse', { requestId: body.requestId, results: immediate }));
  return [...effects, ...armTick(ctx)];
};

/** Topics the members of a consumer group subscribe to (Kafka's ConsumerProtocolSubscription), or null when unreadable. */
function subscribedTopics(entry: GroupEntry): Set<string> | null {
  const topics = new Set<string>();
  const { group } = entry;
  for (const member of group.members.values()) {
    const metadata = member.protocols.find((p) => p.name === group.protocolName)?.metadata;
    if (metadata === undefined) continue;
    try {
      for (const t of decodeSubscription(metadata)) topics.add(t);
    } catch {
      return null;
    }
  }
  return topics;
}

const offsetDelete: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'OffsetDeleteRequest'>;
  const entry = ctx.groups.get(body.groupId);
  if (entry === undefined || entry.group.state === 'Dead') return refusal(event, ErrorCode.GROUP_ID_NOT_FOUND);
  const consumerGroup = entry.group.protocolType === 'consumer';
  if (!consumerGroup && entry.group.state !== 'Empty') return refusal(event, ErrorCode.NON_EMPTY_GROUP);
  const subscribed = consumerGroup && entry.group.state !== 'Empty' ? subscribedTopics(entry) : new Set<string>();
  const refused: OffsetEntry[] = [];
  const partitions: Array<{ topic: string; partition: number }> = [];
  for (const p of body.partitions) {
    if (subscribed === null || subscribed.has(p.topic)) refused.push(offsetResult(p.topic, p.partition, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC));
    else partitions.push({ topic: p.topic, partition: p.partition });
  }
  if (partitions.length === 0) return [send(from, 'OffsetDeleteResponse', { requestId: body.requestId, errorCode: ErrorCode.NONE, results: refused })];
  const records = partitions.map((p) => ({ key: encodeOffsetsKey({ kind: 'offset', group: body.groupId, topic: p.topic, partition: p.partition }), value: null }));
  return [
    ...write(ctx, records, { kind: 'deleteOffsets', groupId: body.groupId, replyTo: { to: from, requestId: body.requestId }, partitions, refused }),
    ...armTick(ctx),
  ];
};

/** Every group request passes here first: the coordinator must be loaded and own the group. */
function serve(handler: Handler): Handler {
  return (ctx, event) => {
    const groupId = groupIdOf(event);
    if (groupId !== null && !ownsGroup(ctx, groupId)) return refusal(event, ErrorCode.NOT_COORDINATOR);
    if (groupId !== null && groupId === '' && event.type !== 'OffsetCommitRequest' && event.type !== 'OffsetFetchRequest') {
      return refusal(event, ErrorCode.INVALID_GROUP_ID);
    }
    return handler(ctx, event);
  };
}

// ---------------------------------------------------------------------------------------------
// Timers: group sessions and rebalance rounds, write deadlines, offset retention.

function nextTickAtMs(ctx: CoordinatorContext): number | null {
  let at: number | null = ctx.nextRetentionCheckMs;
  for (const entry of ctx.groups.values()) {
    const wake = nextWake(entry);
    if (wake !== null && wake < at) at = wake;
  }
  for (const w of ctx.writes) if (w.deadlineMs < at!) at = w.deadlineMs;
  return at;
}

function nextWake(entry: GroupEntry): number | null {
  return nextWakeAtMs(entry.group);
}

function armTick(ctx: CoordinatorContext): Effect[] {
  const at = nextTickAtMs(ctx);
  if (at === ctx.tickAtMs) return [];
  ctx.tickAtMs = at;
  if (at === null) return [{ type: 'timer.cancel', event: 'CoordinatorTick' }];
  return [{ type: 'timer.set', event: 'CoordinatorTick', delayMs: Math.max(0, at - ctx.nowMs), jitterMs: 0 }];
}

const tickFired: Handler = (ctx) => {
  ctx.tickAtMs = null;
  const effects: Effect[] = [];
  for (const entry of [...ctx.groups.values()]) {
    const wake = nextWake(entry);
    if (wake !== null && wake <= ctx.nowMs) effects.push(...applyStep(ctx, entry, tick(entry.group, ctx.nowMs)));
  }
  const expired = ctx.writes.filter((w) => w.deadlineMs <= ctx.nowMs);
  ctx.writes = ctx.writes.filter((w) => w.deadlineMs > ctx.nowMs);
  for (const w of expired) effects.push(...completeWrite(ctx, w.work, { errorCode: ErrorCode.REQUEST_TIMED_OUT, baseOffset: -1 }));
  if (ctx.nextRetentionCheckMs <= ctx.nowMs) {
    ctx.nextRetentionCheckMs = ctx.nowMs + ctx.config.offsetsRetentionCheckIntervalMs;
    effects.push(...expireOffsets(ctx));
  }
  return [...effects, ...armTick(ctx)];
};

/**
 * Offset retention (Kafka 2.1+, KIP-211): an empty consumer group's offsets expire together,
 * offsets.retention.minutes after it became empty; a group that only stores offsets (no
 * protocol) loses each one that long after it was committed. An empty group left without
 * offsets is deleted.
 */
function expireOffsets(ctx: CoordinatorContext): Effect[] {
  const effects: Effect[] = [];
  const retentionMs = ctx.config.offsetsRetentionMs;
  for (const entry of [...ctx.groups.values()]) {
    const { group } = entry;
    if (group.state !== 'Empty' || entry.metadataWrite !== null) continue;
    const expired = [...entry.offsets.values()].filter((o) => {
      const base = group.protocolType !== null && entry.emptySinceMs !== null ? entry.emptySinceMs : o.value.commitTimestamp;
      return o.value.expireTimestamp >= 0 ? o.value.expireTimestamp <= ctx.nowMs : base + retentionMs <= ctx.nowMs;
    });
    const deletesGroup = expired.length === entry.offsets.size && entry.pendingTxn.size === 0 && (entry.emptySinceMs ?? ctx.nowMs) + retentionMs <= ctx.nowMs;
    if (deletesGroup) {
      effects.push(...applyStep(ctx, entry, unload(group, ErrorCode.COORDINATOR_NOT_AVAILABLE)));
      entry.persisted = null;
      effects.push(...write(ctx, groupTombstones(entry), { kind: 'deleteGroup', groupId: group.groupId, replyTo: null }));
      effects.push({ type: 'note', level: 'info', message: `${selfName(ctx)}: group ${group.groupId} expired with ${expired.length} offsets` });
    } else if (expired.length > 0) {
      const partitions = expired.map((o) => ({ topic: o.topic, partition: o.partition }));
      const records = partitions.map((p) => ({ key: encodeOffsetsKey({ kind: 'offset', group: group.groupId, ...p }), value: null }));
      effects.push(...write(ctx, records, { kind: 'deleteOffsets', groupId: group.groupId, replyTo: null, partitions, refused: [] }));
    }
  }
  return effects;
}

// ---------------------------------------------------------------------------------------------
// Leadership and loading

/** The broker tells this coordinator what the metadata says of its partition. */
const partitionChanged: Handler = (ctx, event) => followPartitionState(ctx, (event as Delivered<'PartitionStateChange'>).body, () => resign(ctx));

/** Gives every group up: waiting requests and writes are answered with NOT_COORDINATOR. */
function resign(ctx: CoordinatorContext): Effect[] {
  const effects: Effect[] = [];
  const writes = ctx.writes;
  ctx.writes = [];
  for (const w of writes) {
    if (w.work.kind === 'metadata') {
      effects.push(...w.work.held.map((reply) => groupReplyEffect(failedReply(reply, ErrorCode.NOT_COORDINATOR))));
    } else {
      effects.push(...completeWrite(ctx, w.work, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1 }));
    }
  }
  for (const entry of ctx.groups.values()) effects.push(...unload(entry.group).replies.map(groupReplyEffect));
  ctx.groups = new Map();
  ctx.leaderEpoch = -1;
  ctx.term += 1;
  ctx.loaded = false;
  ctx.tickAtMs = null;
  effects.push({ type: 'timer.cancel', event: 'CoordinatorTick' }, { type: 'timer.cancel', event: 'LoadRetryFired' });
  return effects;
}

function loadPlan(ctx: CoordinatorContext): LoadPlan {
  return {
    topic: consumerOffsetsTopic, replica: replicaAddress(ctx), retryEvent: 'LoadRetryFired', answerTimeoutMs: ctx.config.offsetsCommitTimeoutMs,
    backoffMs: ctx.config.loadBackoffMs, bufferBytes: ctx.config.loadBufferBytes,
  };
}

const loadAnsweredHere: Handler = (ctx, event) =>
  loadAnswered(ctx, loadPlan(ctx), (event as Delivered<'FetchResponse'>).body, () => nextRequestId(ctx), (body) => applyLoaded(ctx, body));

/** Applies what a load read returned; afterwards loadOffset is past the last record read. */
function applyLoaded(ctx: CoordinatorContext, response: FetchResponse): Effect[] {
  const loaded = readLoadedBatches(response.records, ctx.loadOffset, (record) => {
    applyRecord(ctx, record);
    ctx.loadedRecords += 1;
  }, (marker) => applyMarker(ctx, marker));
  ctx.loadOffset = loaded.nextOffset;
  return loaded.problems.map((problem): Effect => ({ type: 'note', level: 'warn', message: `${selfName(ctx)}: while loading, ${problem}` }));
}

/**
 * One record read by the load (Kafka's GroupMetadataManager.loadGroupsAndOffsets): an offset
 * in a transactional batch is pending for its producer until a marker of that producer.
 */
function applyRecord(ctx: CoordinatorContext, loaded: LoadedRecord): void {
  const { value } = loaded;
  const record = decodeOffsetsRecord(loaded.key, value);
  const groupId = record.key.group;
  if (record.key.kind === 'offset') {
    if (ctx.config.bugs.forgetOffsetsOnLoad === true) return;
    const { topic, partition } = record.key;
    const key = tpKey(topic, partition);
    if (loaded.transactional) {
      const entry = entryFor(ctx, groupId);
      const producerOffsets = pendingOffsetsOf(entry, loaded.producerId);
      if (record.value === null) producerOffsets.delete(key);
      else producerOffsets.set(key, { topic, partition, value: record.value as OffsetCommitValue, logOffset: loaded.batchOffset, write: null });
      if (producerOffsets.size === 0) entry.pendingTxn.delete(loaded.producerId);
      dropIfForgotten(ctx, entry);
      return;
    }
    if (record.value === null) {
      const entry = ctx.groups.get(groupId);
      entry?.offsets.delete(key);
      if (entry !== undefined) dropIfForgotten(ctx, entry);
      return;
    }
    entryFor(ctx, groupId).offsets.set(key, { topic, partition, value: record.value as OffsetCommitValue, logOffset: loaded.batchOffset });
    return;
  }
  const entry = entryFor(ctx, groupId);
  if (record.value === null) {
    entry.group = newGroup(groupId, ctx.config.group, ctx.leaderEpoch);
    entry.persisted = null;
    dropIfForgotten(ctx, entry);
    return;
  }
  const metadata = record.value as GroupMetadataValue;
  entry.group = restoreGroup(ctx, groupId, metadata);
  entry.persisted = value;
  entry.emptySinceMs = entry.group.state === 'Empty' ? (metadata.currentStateTimestamp >= 0 ? metadata.currentStateTimestamp : ctx.nowMs) : null;
}

/** A marker, read by the load or reported by the replica, decides what its producer left pending before it. */
function applyMarker(ctx: CoordinatorContext, marker: TxnMarker): void {
  for (const entry of [...ctx.groups.values()]) {
    if (!entry.pendingTxn.has(marker.producerId)) continue;
    completeTxn(entry, marker);
    dropIfForgotten(ctx, entry);
  }
}

const loadDone: Handler = (ctx) => {
  ctx.nextRetentionCheckMs = ctx.nowMs + ctx.config.offsetsRetentionCheckIntervalMs;
  // Restored members get a full session from now to find this coordinator.
  for (const entry of ctx.groups.values()) {
    for (const member of entry.group.members.values()) member.lastHeartbeatMs = ctx.nowMs;
  }
  return [
    {
      type: 'note', level: 'info',
      message: `${selfName(ctx)}: loaded ${ctx.groups.size} groups from ${ctx.loadedRecords} records up to offset ${ctx.loadOffset} in epoch ${ctx.leaderEpoch} (${Math.round(ctx.nowMs - ctx.loadStartedMs)} ms)`,
    },
    ...armTick(ctx),
  ];
};

const stopActor: Handler = () => [{ type: 'stop' }];

function initialContext(input: GroupCoordinatorInput): CoordinatorContext {
  return {
    config: input.config, partition: input.partition, nowMs: 0, leaderEpoch: -1, term: 0, removed: false, loadOffset: 0, loadRequestId: '', loaded: false,
    groups: new Map(), writes: [], requestSeq: 0, nextRetentionCheckMs: 0, tickAtMs: null, loadedRecords: 0, loadStartedMs: 0,
  };
}

const groupRequests = {
  JoinGroupRequest: 'joinGroup', SyncGroupRequest: 'syncGroup', HeartbeatRequest: 'heartbeat', LeaveGroupRequest: 'leaveGroup',
  OffsetCommitRequest: 'offsetCommit', OffsetFetchRequest: 'offsetFetch', DescribeGroupsRequest: 'describeGroups',
  ListGroupsRequest: 'listGroups', DeleteGroupsRequest: 'deleteGroups', OffsetDeleteRequest: 'offsetDelete',
  TxnOffsetCommitRequest: 'txnOffsetCommit',
} as const;

export const groupCoordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as GroupCoordinatorInput,
    emitted: {} as EffectBatch,
  },
  actions: {
    partitionChanged: effectful(partitionChanged),
    startLoad: effectful((ctx) => startLoad(ctx, loadPlan(ctx), nextRequestId(ctx))),
    loadRetry: effectful((ctx) => loadFetch(ctx, loadPlan(ctx), nextRequestId(ctx))),
    loadAnswered: effectful(loadAnsweredHere),
    loadDone: effectful(loadDone),
    writeAnswered: effectful(writeAnswered),
    tickFired: effectful(tickFired),
    stopActor: effectful(stopActor),
    notCoordinator: effectful((_ctx, event) => refusal(event, ErrorCode.NOT_COORDINATOR)),
    loadInProgress: effectful((_ctx, event) => refusal(event, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)),
    joinGroup: effectful(serve(joinGroup)),
    syncGroup: effectful(serve(syncGroup)),
    heartbeat: effectful(serve(heartbeatGroup)),
    leaveGroup: effectful(serve(leaveGroup)),
    offsetCommit: effectful(serve(offsetCommit)),
    offsetFetch: effectful(serve(offsetFetch)),
    describeGroups: effectful(describeGroups),
    listGroups: effectful(listGroups),
    deleteGroups: effectful(deleteGroups),
    offsetDelete: effectful(serve(offsetDelete)),
    txnOffsetCommit: effectful(serve(txnOffsetCommit)),
    txnMarkerWritten: effectful(txnMarkerWritten),
  },
  guards: {
    leads: ({ context }) => context.leaderEpoch >= 0,
    removed: ({ context }) => context.removed,
    loaded: ({ context }) => context.loaded,
    /** A change that matters here: leadership gained, lost or in a new epoch, or the partition gone. */
    leadershipChanged: ({ context, event }) => event.type === 'PartitionStateChange' && leadershipChanged(context, event.body),
  },
}).createMachine({
  id: 'group-coordinator',
  context: ({ input }) => initialContext(input),
  ...coordinatorStates(groupRequests, 'LoadRetryFired', {
    CoordinatorTick: { actions: 'tickFired' },
    // While loading, the load reads the marker itself (it is below the high watermark).
    TxnMarkerWritten: { actions: 'txnMarkerWritten' },
  }),
});

export type GroupCoordinatorMachine = typeof groupCoordinatorMachine;
