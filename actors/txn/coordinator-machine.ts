// The transaction coordinator of one __transaction_state partition, as Kafka's
// TransactionCoordinator, TransactionStateManager and TransactionMarkerChannelManager run it.
// It lives beside that partition's replica on every node that hosts one and serves only while
// the replica here leads: it then loads every transactional id's state from the partition
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile), resumes the ends that were prepared but not
// completed, and from then on writes every change with acks=all before anyone hears of it.
//
// The decisions are txn-metadata.ts's; this actor adds durability and the markers:
// - InitProducerId, AddPartitionsToTxn (AddOffsetsToTxn arrives as one of these, for the
//   offsets partition of its group) and EndTxn are answered once their transition is in the log;
// - a prepared end (PrepareCommit, PrepareAbort) sends a marker to the leader of every partition
//   of the transaction, through this node's broker, retrying until each is written; then it
//   writes CompleteCommit or CompleteAbort;
// - an open transaction older than its timeout is aborted with the producer's epoch bumped
//   (the producer is fenced), and an id idle for transactional.id.expiration.ms is removed
//   with a tombstone;
// - a new producer id (a new transactional id, or an exhausted epoch) comes from the broker's
//   controller-allocated blocks.
//
// Pure: writes and reads are Produce and Fetch requests to the local replica actor; time
// arrives on events.
import { setup } from 'xstate';
import type {
  Address, Delivered, FetchResponse, Outgoing, ProduceResponse, TxnTopicPartition, WireEvent, WireKind, WireMessages,
} from '../protocol/messages.js';
import { acksAll } from '../protocol/messages.js';
import { type Effect, type EffectBatch, type TimerFired, effectfulStep } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  type CoordinatorPartitionState, type LoadPlan, coordinatorStates, followPartitionState, leadershipChanged, loadAnswered, loadFetch,
  readLoadedBatches, startLoad,
} from '../protocol/coordinator-load.js';
import { encodeRecordBatch } from '../protocol/records.js';
import { partitionActorId } from '../partition/partition-machine.js';
import { offsetsPartitionFor } from '../group/offsets-topic.js';
import {
  type InitProducerIdAsk, type TxnDecision, type TxnMetadata, type TxnTransit, completeTransit, completion, decideAddPartitions,
  decideEndTxn, decideInitProducerId, expiry, fencingAbort, hasExpired, hasTimedOut, isEpochExhausted, newTxnMetadata, txnLogValue,
  txnMetadataFromLog,
} from './txn-metadata.js';
import { decodeTxnRecord, encodeTxnKey, encodeTxnValue } from './txn-records.js';

export const txnCoordinatorMachineName = 'txn-coordinator';
export const transactionStateTopic = '__transaction_state';

/** transaction.state.log.num.partitions, Kafka's default. */
export const transactionStatePartitionsDefault = 50;

const coordinatorActorPrefix = 'txn-coordinator-';

export function txnCoordinatorActorId(partition: number): string {
  return `${coordinatorActorPrefix}${partition}`;
}

export function isTxnCoordinatorActorId(actorId: string): boolean {
  return actorId.startsWith(coordinatorActorPrefix);
}

/** Kafka's TransactionStateManager.partitionFor: the same hash as groups use. */
export function txnPartitionFor(transactionalId: string, partitions: number): number {
  return offsetsPartitionFor(transactionalId, partitions);
}

/** Broker settings of the transaction coordinator (Kafka's names in the comments). */
export interface TxnCoordinatorSettings {
  /** transaction.state.log.num.partitions */
  transactionStatePartitions: number;
  /** transaction.max.timeout.ms */
  transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  transactionalIdExpirationMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  abortTimedOutTransactionsIntervalMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms */
  removeExpiredTransactionalIdsIntervalMs: number;
  /** How long a write to the partition, or a marker, may take before it is given up on or resent. */
  writeTimeoutMs: number;
  /** Pause before a marker that failed is sent again. */
  markerRetryBackoffMs: number;
  /** Pause before loading again after the replica refused a read. */
  loadBackoffMs: number;
  /** transaction.state.log.load.buffer.size */
  loadBufferBytes: number;
  /** Test only: deliberate protocol bugs (the simulator's bug switches). */
  bugs?: TxnCoordinatorBugs;
}

export const defaultTxnCoordinatorSettings: TxnCoordinatorSettings = {
  transactionStatePartitions: transactionStatePartitionsDefault,
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 7 * 24 * 3600_000,
  abortTimedOutTransactionsIntervalMs: 10_000,
  removeExpiredTransactionalIdsIntervalMs: 3600_000,
  writeTimeoutMs: 5000,
  markerRetryBackoffMs: 100,
  loadBackoffMs: 100,
  loadBufferBytes: 5 * 1024 * 1024,
};

/** Deliberate protocol bugs, for showing that the simulator's transaction checkers catch them (test only). */
export interface TxnCoordinatorBugs {
  /** AddPartitionsToTxn and EndTxn take any epoch of the current producer id: a fenced (zombie) producer's requests count. */
  skipEpochCheck?: boolean;
  /** Aborts are marked as commits at the partitions: an aborted transaction's records and offsets become visible. */
  markAbortsAsCommits?: boolean;
}

export interface TxnCoordinatorConfig extends TxnCoordinatorSettings {
  nodeId: number;
  /** The node's broker actor: it hands out producer ids and routes markers to partition leaders. */
  brokerActor: string;
}

export interface TxnCoordinatorInput {
  config: TxnCoordinatorConfig;
  partition: number;
}

/** Where a delayed answer goes. */
interface ReplyTo { to: Address; requestId: string }

/** What follows a write of a transition once the log has it (or has refused it). */
type AfterWrite =
  | { kind: 'answerInit'; replyTo: ReplyTo }
  /** InitProducerId found a transaction open: it is being aborted; the producer retries. */
  | { kind: 'answerFence'; replyTo: ReplyTo }
  | { kind: 'answerAdd'; replyTo: ReplyTo }
  | { kind: 'answerEnd'; replyTo: ReplyTo }
  | { kind: 'timeoutAbort' }
  | { kind: 'complete' }
  | { kind: 'expire' };

interface PendingWrite {
  requestId: string;
  deadlineMs: number;
  transactionalId: string;
  transit: TxnTransit;
  after: AfterWrite;
}

/** The markers of one prepared end. */
interface MarkerWork {
  commit: boolean;
  producerId: number;
  producerEpoch: number;
  /** Partitions without a written marker yet. */
  remaining: TxnTopicPartition[];
  /** Markers sent and not answered: request id → partition and when to send again. */
  inFlight: Map<string, { partition: TxnTopicPartition; deadlineMs: number }>;
  /** When partitions that failed are sent again (null: none waiting). */
  retryAtMs: number | null;
}

/** An InitProducerId waiting for a producer id from the broker. */
interface ProducerIdWait {
  requestId: string;
  deadlineMs: number;
  transactionalId: string;
  ask: InitProducerIdAsk;
  replyTo: ReplyTo;
}

/** The partition's leadership and load (leaderEpoch is also the coordinator epoch of its markers), and the ids. */
export interface TxnCoordinatorContext extends CoordinatorPartitionState {
  config: TxnCoordinatorConfig;
  txns: Map<string, TxnMetadata>;
  writes: PendingWrite[];
  markers: Map<string, MarkerWork>;
  producerIdWaits: ProducerIdWait[];
  /** Completions whose write failed, to write again at the next tick. */
  completionsToRetry: Set<string>;
  requestSeq: number;
  nextTimeoutCheckMs: number;
  nextExpiryCheckMs: number;
  tickAtMs: number | null;
}

type TxnCoordinatorEvent = WireEvent | TimerFired<'TxnCoordinatorTick'> | TimerFired<'TxnLoadRetryFired'>;
type Handler = (ctx: TxnCoordinatorContext, event: TxnCoordinatorEvent) => Effect[];

function effectful(handler: Handler) {
  return effectfulStep<TxnCoordinatorContext, TxnCoordinatorEvent>(handler);
}

function send<K extends WireKind>(to: Address, kind: K, body: WireMessages[K]): Effect {
  return { type: 'send', message: { to, kind, body } as Outgoing };
}

function selfName(ctx: TxnCoordinatorContext): string {
  return txnCoordinatorActorId(ctx.partition);
}

function selfAddress(ctx: TxnCoordinatorContext): Address {
  return { node: ctx.config.nodeId, actor: selfName(ctx) };
}

function replicaAddress(ctx: TxnCoordinatorContext): Address {
  return { node: ctx.config.nodeId, actor: partitionActorId(transactionStateTopic, ctx.partition) };
}

function brokerAddress(ctx: TxnCoordinatorContext): Address {
  return { node: ctx.config.nodeId, actor: ctx.config.brokerActor };
}

/** The time transitions record: whole milliseconds, as Kafka's int64 timestamps are. */
function timestampMs(ctx: TxnCoordinatorContext): number {
  return Math.floor(ctx.nowMs);
}

function nextRequestId(ctx: TxnCoordinatorContext): string {
  ctx.requestSeq += 1;
  return `${selfName(ctx)}/${ctx.config.nodeId}/${ctx.term}/${ctx.requestSeq}`;
}

// ---------------------------------------------------------------------------------------------
// Answers

/** The error answer to any transaction request (the broker uses it for coordinators it does not host). */
export function txnRequestRefusal(request: WireEvent, errorCode: number): Effect[] {
  switch (request.type) {
    case 'InitTxnProducerRequest':
      return [send(request.from, 'InitTxnProducerResponse', { requestId: request.body.requestId, errorCode, producerId: -1, producerEpoch: -1 })];
    case 'AddPartitionsToTxnRequest':
      return [send(request.from, 'AddPartitionsToTxnResponse', { requestId: request.body.requestId, errorCode })];
    case 'EndTxnRequest':
      return [send(request.from, 'EndTxnResponse', { requestId: request.body.requestId, errorCode })];
    case 'VerifyTxnPartitionRequest': {
      const { body } = request;
      return [send(body.replyTo, 'VerifyTxnPartitionResponse', { requestId: body.requestId, errorCode, topic: body.topic, partition: body.partition })];
    }
    default:
      return [];
  }
}

function refusal(event: TxnCoordinatorEvent, errorCode: number): Effect[] {
  return txnRequestRefusal(event as WireEvent, errorCode);
}

/** What a failed write of the partition means to a client (Kafka's TransactionStateManager). */
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
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

function answerFor(after: AfterWrite, errorCode: number, meta: TxnMetadata | undefined): Effect[] {
  switch (after.kind) {
    case 'answerInit': {
      const ok = errorCode === ErrorCode.NONE && meta !== undefined;
      return [send(after.replyTo.to, 'InitTxnProducerResponse', {
        requestId: after.replyTo.requestId, errorCode, producerId: ok ? meta.producerId : -1, producerEpoch: ok ? meta.producerEpoch : -1,
      })];
    }
    case 'answerFence':
      // The abort is written: the producer is to retry once it completes (Kafka answers so too).
      return [send(after.replyTo.to, 'InitTxnProducerResponse', {
        requestId: after.replyTo.requestId, errorCode: errorCode === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : errorCode, producerId: -1, producerEpoch: -1,
      })];
    case 'answerAdd':
      return [send(after.replyTo.to, 'AddPartitionsToTxnResponse', { requestId: after.replyTo.requestId, errorCode })];
    case 'answerEnd':
      return [send(after.replyTo.to, 'EndTxnResponse', { requestId: after.replyTo.requestId, errorCode })];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Writes to the partition

function write(ctx: TxnCoordinatorContext, meta: TxnMetadata, transit: TxnTransit, after: AfterWrite): Effect[] {
  const requestId = nextRequestId(ctx);
  meta.pending = transit;
  const value = transit.state === 'Dead' ? null : encodeTxnValue(txnLogValue(transit));
  const batch = encodeRecordBatch([{ key: encodeTxnKey(meta.transactionalId), value, timestamp: Math.floor(ctx.nowMs) }]);
  ctx.writes.push({ requestId, deadlineMs: ctx.nowMs + ctx.config.writeTimeoutMs * 2, transactionalId: meta.transactionalId, transit, after });
  return [send(replicaAddress(ctx), 'ProduceRequest', {
    requestId, topic: transactionStateTopic, partition: ctx.partition, acks: acksAll, timeoutMs: ctx.config.writeTimeoutMs,
    records: batch, leaderEpoch: ctx.leaderEpoch, transactionalId: '',
  })];
}

/** Carries out a decision: an answer now, or a write and then `after`. */
function carryOut(ctx: TxnCoordinatorContext, meta: TxnMetadata | undefined, decision: TxnDecision, after: AfterWrite): Effect[] {
  if (decision.kind === 'answer') return answerFor(after, decision.errorCode, meta);
  return write(ctx, meta!, decision.transit, after);
}

const writeAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'ProduceResponse'>;
  const at = ctx.writes.findIndex((w) => w.requestId === body.requestId);
  if (at < 0) return []; // an answer to a write given up on, or from before a change of leadership
  const [pending] = ctx.writes.splice(at, 1);
  return [...completeWrite(ctx, pending!, body), ...armTick(ctx)];
};

function completeWrite(ctx: TxnCoordinatorContext, pending: PendingWrite, answer: Pick<ProduceResponse, 'errorCode'>): Effect[] {
  const meta = ctx.txns.get(pending.transactionalId);
  if (meta === undefined || meta.pending !== pending.transit) return answerFor(pending.after, ErrorCode.NOT_COORDINATOR, undefined);
  meta.pending = null;
  if (answer.errorCode !== ErrorCode.NONE) {
    if (pending.after.kind === 'complete') ctx.completionsToRetry.add(meta.transactionalId);
    return answerFor(pending.after, writeErrorFor(answer.errorCode), meta);
  }
  if (pending.after.kind === 'expire') {
    ctx.txns.delete(meta.transactionalId);
    return [];
  }
  completeTransit(meta, pending.transit);
  const effects = answerFor(pending.after, ErrorCode.NONE, meta);
  if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') effects.push(...startMarkers(ctx, meta));
  return effects;
}

// ---------------------------------------------------------------------------------------------
// Requests

function ownsTxn(ctx: TxnCoordinatorContext, transactionalId: string): boolean {
  return txnPartitionFor(transactionalId, ctx.config.transactionStatePartitions) === ctx.partition;
}

/** Every transaction request passes here first: a transactional id, and this coordinator's. */
function serve(handler: Handler): Handler {
  return (ctx, event) => {
    const { transactionalId } = (event as WireEvent).body as { transactionalId: string };
    if (transactionalId === '') return refusal(event, ErrorCode.INVALID_REQUEST);
    if (!ownsTxn(ctx, transactionalId)) return refusal(event, ErrorCode.NOT_COORDINATOR);
    return [...handler(ctx, event), ...armTick(ctx)];
  };
}

/** A new id, or one whose epoch is used up, needs a producer id from the broker first. */
function needsProducerId(meta: TxnMetadata | undefined, ask: InitProducerIdAsk): boolean {
  if (meta === undefined) return true;
  const idle = meta.state === 'Empty' || meta.state === 'CompleteCommit' || meta.state === 'CompleteAbort';
  return idle && meta.pending === null && isEpochExhausted(meta.producerEpoch)
    && (ask.expected === null || ask.expected.producerEpoch === meta.producerEpoch);
}

function initProducer(ctx: TxnCoordinatorContext, transactionalId: string, ask: InitProducerIdAsk, replyTo: ReplyTo, producerId: number | null): Effect[] {
  let meta = ctx.txns.get(transactionalId);
  if (producerId === null && needsProducerId(meta, ask)) {
    const requestId = nextRequestId(ctx);
    ctx.producerIdWaits.push({ requestId, deadlineMs: ctx.nowMs + ctx.config.writeTimeoutMs * 2, transactionalId, ask, replyTo });
    return [send(brokerAddress(ctx), 'ProducerIdRequest', { requestId })];
  }
  if (meta === undefined) {
    meta = newTxnMetadata(transactionalId, producerId!, ask.timeoutMs, timestampMs(ctx));
    ctx.txns.set(transactionalId, meta);
  }
  const decision = decideInitProducerId(meta, ask, timestampMs(ctx), () => {
    if (producerId === null) throw new Error(`${selfName(ctx)}: a new producer id for ${transactionalId} was not asked for`);
    return producerId;
  });
  const fences = decision.kind === 'write' && decision.transit.state === 'PrepareAbort';
  return carryOut(ctx, meta, decision, fences ? { kind: 'answerFence', replyTo } : { kind: 'answerInit', replyTo });
}

const initTxnProducer: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'InitTxnProducerRequest'>;
  if (body.transactionTimeoutMs <= 0 || body.transactionTimeoutMs > ctx.config.transactionMaxTimeoutMs) {
    return refusal(event, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  }
  const expected = body.producerId >= 0 ? { producerId: body.producerId, producerEpoch: body.producerEpoch } : null;
  return initProducer(ctx, body.transactionalId, { timeoutMs: body.transactionTimeoutMs, expected }, { to: from, requestId: body.requestId }, null);
};

const producerIdAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'ProducerIdResponse'>;
  const at = ctx.producerIdWaits.findIndex((w) => w.requestId === body.requestId);
  if (at < 0) return [];
  const [wait] = ctx.producerIdWaits.splice(at, 1);
  const { transactionalId, ask, replyTo } = wait!;
  if (body.errorCode !== ErrorCode.NONE) return answerFor({ kind: 'answerInit', replyTo }, ErrorCode.COORDINATOR_NOT_AVAILABLE, undefined);
  return [...initProducer(ctx, transactionalId, ask, replyTo, body.producerId), ...armTick(ctx)];
};

/** The epoch a request is judged with: its own, unless the skipEpochCheck bug takes the current one. */
function judgedEpoch(ctx: TxnCoordinatorContext, meta: TxnMetadata | undefined, producerId: number, producerEpoch: number): number {
  if (ctx.config.bugs?.skipEpochCheck === true && meta !== undefined && meta.producerId === producerId) return meta.producerEpoch;
  return producerEpoch;
}

const addPartitionsToTxn: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'AddPartitionsToTxnRequest'>;
  const meta = ctx.txns.get(body.transactionalId);
  const partitions = body.partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
  const epoch = judgedEpoch(ctx, meta, body.producerId, body.producerEpoch);
  const decision = decideAddPartitions(meta, body.producerId, epoch, partitions, timestampMs(ctx));
  return carryOut(ctx, meta, decision, { kind: 'answerAdd', replyTo: { to: from, requestId: body.requestId } });
};

const endTxn: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'EndTxnRequest'>;
  const meta = ctx.txns.get(body.transactionalId);
  const decision = decideEndTxn(meta, body.producerId, judgedEpoch(ctx, meta, body.producerId, body.producerEpoch), body.commit, timestampMs(ctx));
  return carryOut(ctx, meta, decision, { kind: 'answerEnd', replyTo: { to: from, requestId: body.requestId } });
};

/**
 * KIP-890: a partition leader asks, before a producer's first transactional write there,
 * whether the partition is in that producer's open transaction. Only an Ongoing transaction of
 * this producer id and epoch that holds the partition says yes: a write after the transaction
 * ended, before AddPartitionsToTxn, or from a fenced epoch would otherwise open a transaction
 * no marker ever closes, and the partition's last stable offset would stay stuck.
 */
const verifyTxnPartition: Handler = (ctx, event) => {
  const { body } = event as Delivered<'VerifyTxnPartitionRequest'>;
  const meta = ctx.txns.get(body.transactionalId);
  let errorCode: number = ErrorCode.NONE;
  if (meta === undefined || meta.producerId !== body.producerId) errorCode = ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  else if (body.producerEpoch < meta.producerEpoch) errorCode = ErrorCode.PRODUCER_FENCED;
  else if (body.producerEpoch > meta.producerEpoch || meta.state !== 'Ongoing') errorCode = ErrorCode.INVALID_TXN_STATE;
  else if (!meta.partitions.some((p) => p.topic === body.topic && p.partition === body.partition)) errorCode = ErrorCode.INVALID_TXN_STATE;
  return [send(body.replyTo, 'VerifyTxnPartitionResponse', { requestId: body.requestId, errorCode, topic: body.topic, partition: body.partition })];
};

// ---------------------------------------------------------------------------------------------
// Markers

function startMarkers(ctx: TxnCoordinatorContext, meta: TxnMetadata): Effect[] {
  ctx.markers.set(meta.transactionalId, {
    commit: meta.state === 'PrepareCommit' || ctx.config.bugs?.markAbortsAsCommits === true, producerId: meta.producerId, producerEpoch: meta.producerEpoch,
    remaining: [...meta.partitions], inFlight: new Map(), retryAtMs: null,
  });
  return sendMarkers(ctx, meta.transactionalId);
}

/** Sends a marker for every partition still without one and not in flight; completes when none is left. */
function sendMarkers(ctx: TxnCoordinatorContext, transactionalId: string): Effect[] {
  const work = ctx.markers.get(transactionalId);
  if (work === undefined) return [];
  const meta = ctx.txns.get(transactionalId);
  if (work.remaining.length === 0) {
    ctx.markers.delete(transactionalId);
    if (meta === undefined || meta.pending !== null) return [];
    return write(ctx, meta, completion(meta, timestampMs(ctx)), { kind: 'complete' });
  }
  work.retryAtMs = null;
  const sending = new Set([...work.inFlight.values()].map((f) => `${f.partition.topic}\u0000${f.partition.partition}`));
  const effects: Effect[] = [];
  for (const partition of work.remaining) {
    if (sending.has(`${partition.topic}\u0000${partition.partition}`)) continue;
    const requestId = nextRequestId(ctx);
    work.inFlight.set(requestId, { partition, deadlineMs: ctx.nowMs + ctx.config.writeTimeoutMs * 2 });
    effects.push(send(brokerAddress(ctx), 'WriteTxnMarkerRequest', {
      requestId, replyTo: selfAddress(ctx), topic: partition.topic, partition: partition.partition, producerId: work.producerId,
      producerEpoch: work.producerEpoch, commit: work.commit, coordinatorEpoch: ctx.leaderEpoch,
    }));
  }
  return effects;
}

function markerWorkOf(ctx: TxnCoordinatorContext, requestId: string): [string, MarkerWork] | undefined {
  for (const entry of ctx.markers) if (entry[1].inFlight.has(requestId)) return entry;
  return undefined;
}

/**
 * A marker's answer. Written: the partition is done. The topic is gone (the broker's metadata
 * has no such topic): nothing to mark. This coordinator was fenced by a newer one: stop, the
 * newer one sends the markers. Anything else (no leader, not enough replicas, a timeout) is
 * sent again after a backoff: a prepared end is never left unmarked.
 */
const markerAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'WriteTxnMarkerResponse'>;
  const found = markerWorkOf(ctx, body.requestId);
  if (found === undefined) return [];
  const [transactionalId, work] = found;
  const { partition } = work.inFlight.get(body.requestId)!;
  work.inFlight.delete(body.requestId);
  switch (body.errorCode) {
    case ErrorCode.NONE:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      work.remaining = work.remaining.filter((p) => p.topic !== partition.topic || p.partition !== partition.partition);
      if (work.remaining.length === 0 && work.inFlight.size === 0) return [...sendMarkers(ctx, transactionalId), ...armTick(ctx)];
      return [];
    case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
      ctx.markers.delete(transactionalId);
      return [{ type: 'note', level: 'warn', message: `${selfName(ctx)}: fenced by a newer coordinator while marking ${transactionalId}` }];
    default:
      work.retryAtMs ??= ctx.nowMs + ctx.config.markerRetryBackoffMs;
      return armTick(ctx);
  }
};

// ---------------------------------------------------------------------------------------------
// Timers: write and marker deadlines, marker retries, transaction timeouts, id expiry.

function nextTickAtMs(ctx: TxnCoordinatorContext): number {
  let at = Math.min(ctx.nextTimeoutCheckMs, ctx.nextExpiryCheckMs);
  for (const w of ctx.writes) at = Math.min(at, w.deadlineMs);
  for (const w of ctx.producerIdWaits) at = Math.min(at, w.deadlineMs);
  for (const work of ctx.markers.values()) {
    if (work.retryAtMs !== null) at = Math.min(at, work.retryAtMs);
    for (const f of work.inFlight.values()) at = Math.min(at, f.deadlineMs);
  }
  if (ctx.completionsToRetry.size > 0) at = Math.min(at, ctx.nowMs + ctx.config.markerRetryBackoffMs);
  return at;
}

function armTick(ctx: TxnCoordinatorContext): Effect[] {
  if (!ctx.loaded) return [];
  const at = nextTickAtMs(ctx);
  if (at === ctx.tickAtMs) return [];
  ctx.tickAtMs = at;
  return [{ type: 'timer.set', event: 'TxnCoordinatorTick', delayMs: Math.max(0, at - ctx.nowMs), jitterMs: 0 }];
}

const tickFired: Handler = (ctx) => {
  ctx.tickAtMs = null;
  const now = ctx.nowMs;
  const stamp = timestampMs(ctx);
  const effects: Effect[] = [];
  const expiredWrites = ctx.writes.filter((w) => w.deadlineMs <= now);
  ctx.writes = ctx.writes.filter((w) => w.deadlineMs > now);
  for (const w of expiredWrites) effects.push(...completeWrite(ctx, w, { errorCode: ErrorCode.REQUEST_TIMED_OUT }));
  const expiredWaits = ctx.producerIdWaits.filter((w) => w.deadlineMs <= now);
  ctx.producerIdWaits = ctx.producerIdWaits.filter((w) => w.deadlineMs > now);
  for (const w of expiredWaits) effects.push(...answerFor({ kind: 'answerInit', replyTo: w.replyTo }, ErrorCode.COORDINATOR_NOT_AVAILABLE, undefined));
  for (const [transactionalId, work] of [...ctx.markers]) {
    for (const [requestId, f] of [...work.inFlight]) if (f.deadlineMs <= now) work.inFlight.delete(requestId);
    if (work.retryAtMs === null || work.retryAtMs <= now) effects.push(...sendMarkers(ctx, transactionalId));
  }
  for (const transactionalId of [...ctx.completionsToRetry]) {
    ctx.completionsToRetry.delete(transactionalId);
    const meta = ctx.txns.get(transactionalId);
    if (meta !== undefined && meta.pending === null && (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort')) {
      effects.push(...write(ctx, meta, completion(meta, stamp), { kind: 'complete' }));
    }
  }
  if (ctx.nextTimeoutCheckMs <= now) {
    ctx.nextTimeoutCheckMs = now + ctx.config.abortTimedOutTransactionsIntervalMs;
    for (const meta of ctx.txns.values()) {
      if (hasTimedOut(meta, stamp)) {
        effects.push({ type: 'note', level: 'info', message: `${selfName(ctx)}: aborting ${meta.transactionalId}, open longer than ${meta.timeoutMs} ms` });
        effects.push(...write(ctx, meta, fencingAbort(meta, stamp), { kind: 'timeoutAbort' }));
      }
    }
  }
  if (ctx.nextExpiryCheckMs <= now) {
    ctx.nextExpiryCheckMs = now + ctx.config.removeExpiredTransactionalIdsIntervalMs;
    for (const meta of ctx.txns.values()) {
      if (hasExpired(meta, stamp, ctx.config.transactionalIdExpirationMs)) effects.push(...write(ctx, meta, expiry(meta, stamp), { kind: 'expire' }));
    }
  }
  return [...effects, ...armTick(ctx)];
};

// ---------------------------------------------------------------------------------------------
// Leadership and loading

/** The broker tells this coordinator what the metadata says of its partition. */
const partitionChanged: Handler = (ctx, event) => followPartitionState(ctx, (event as Delivered<'PartitionStateChange'>).body, () => resign(ctx));

/** Gives every transactional id up: whoever waits is told NOT_COORDINATOR; the next coordinator resumes the markers. */
function resign(ctx: TxnCoordinatorContext): Effect[] {
  const effects: Effect[] = [];
  for (const w of ctx.writes) effects.push(...answerFor(w.after, ErrorCode.NOT_COORDINATOR, undefined));
  for (const w of ctx.producerIdWaits) effects.push(...answerFor({ kind: 'answerInit', replyTo: w.replyTo }, ErrorCode.NOT_COORDINATOR, undefined));
  ctx.writes = [];
  ctx.producerIdWaits = [];
  ctx.txns = new Map();
  ctx.markers = new Map();
  ctx.completionsToRetry = new Set();
  ctx.leaderEpoch = -1;
  ctx.term += 1;
  ctx.loaded = false;
  ctx.tickAtMs = null;
  effects.push({ type: 'timer.cancel', event: 'TxnCoordinatorTick' }, { type: 'timer.cancel', event: 'TxnLoadRetryFired' });
  return effects;
}

function loadPlan(ctx: TxnCoordinatorContext): LoadPlan {
  return {
    topic: transactionStateTopic, replica: replicaAddress(ctx), retryEvent: 'TxnLoadRetryFired', answerTimeoutMs: ctx.config.writeTimeoutMs,
    backoffMs: ctx.config.loadBackoffMs, bufferBytes: ctx.config.loadBufferBytes,
  };
}

const loadAnsweredHere: Handler = (ctx, event) =>
  loadAnswered(ctx, loadPlan(ctx), (event as Delivered<'FetchResponse'>).body, () => nextRequestId(ctx), (body) => applyLoaded(ctx, body));

/** Applies what a load read returned: the last record of each transactional id wins. */
function applyLoaded(ctx: TxnCoordinatorContext, response: FetchResponse): Effect[] {
  const loaded = readLoadedBatches(response.records, ctx.loadOffset, (record) => {
    const { transactionalId, value } = decodeTxnRecord(record.key, record.value);
    if (value === null) ctx.txns.delete(transactionalId);
    else ctx.txns.set(transactionalId, txnMetadataFromLog(transactionalId, value));
    ctx.loadedRecords += 1;
  });
  ctx.loadOffset = loaded.nextOffset;
  return loaded.problems.map((problem): Effect => ({ type: 'note', level: 'warn', message: `${selfName(ctx)}: while loading, ${problem}` }));
}

/** Loaded: ends that were prepared are marked again (markers are idempotent at the partitions). */
const loadDone: Handler = (ctx) => {
  ctx.nextTimeoutCheckMs = ctx.nowMs + ctx.config.abortTimedOutTransactionsIntervalMs;
  ctx.nextExpiryCheckMs = ctx.nowMs + ctx.config.removeExpiredTransactionalIdsIntervalMs;
  const effects: Effect[] = [{
    type: 'note', level: 'info',
    message: `${selfName(ctx)}: loaded ${ctx.txns.size} transactional ids from ${ctx.loadedRecords} records up to offset ${ctx.loadOffset} in epoch ${ctx.leaderEpoch} (${Math.round(ctx.nowMs - ctx.loadStartedMs)} ms)`,
  }];
  for (const meta of ctx.txns.values()) {
    if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') effects.push(...startMarkers(ctx, meta));
  }
  return [...effects, ...armTick(ctx)];
};

function initialContext(input: TxnCoordinatorInput): TxnCoordinatorContext {
  return {
    config: input.config, partition: input.partition, nowMs: 0, leaderEpoch: -1, term: 0, removed: false,
    loadOffset: 0, loadRequestId: '', loaded: false, loadedRecords: 0, loadStartedMs: 0,
    txns: new Map(), writes: [], markers: new Map(), producerIdWaits: [], completionsToRetry: new Set(),
    requestSeq: 0, nextTimeoutCheckMs: 0, nextExpiryCheckMs: 0, tickAtMs: null,
  };
}

const txnRequests = {
  InitTxnProducerRequest: 'initTxnProducer', AddPartitionsToTxnRequest: 'addPartitionsToTxn', EndTxnRequest: 'endTxn', VerifyTxnPartitionRequest: 'verifyTxnPartition',
} as const;

export const txnCoordinatorMachine = setup({
  types: {
    context: {} as TxnCoordinatorContext,
    events: {} as TxnCoordinatorEvent,
    input: {} as TxnCoordinatorInput,
    emitted: {} as EffectBatch,
  },
  actions: {
    partitionChanged: effectful(partitionChanged),
    startLoad: effectful((ctx) => startLoad(ctx, loadPlan(ctx), nextRequestId(ctx))),
    loadRetry: effectful((ctx) => loadFetch(ctx, loadPlan(ctx), nextRequestId(ctx))),
    loadAnswered: effectful(loadAnsweredHere),
    loadDone: effectful(loadDone),
    writeAnswered: effectful(writeAnswered),
    producerIdAnswered: effectful(producerIdAnswered),
    markerAnswered: effectful(markerAnswered),
    tickFired: effectful(tickFired),
    stopActor: effectful(() => [{ type: 'stop' }]),
    notCoordinator: effectful((_ctx, event) => refusal(event, ErrorCode.NOT_COORDINATOR)),
    loadInProgress: effectful((_ctx, event) => refusal(event, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)),
    initTxnProducer: effectful(serve(initTxnProducer)),
    addPartitionsToTxn: effectful(serve(addPartitionsToTxn)),
    endTxn: effectful(serve(endTxn)),
    verifyTxnPartition: effectful(serve(verifyTxnPartition)),
  },
  guards: {
    leads: ({ context }) => context.leaderEpoch >= 0,
    removed: ({ context }) => context.removed,
    loaded: ({ context }) => context.loaded,
    leadershipChanged: ({ context, event }) => event.type === 'PartitionStateChange' && leadershipChanged(context, event.body),
  },
}).createMachine({
  id: 'txn-coordinator',
  context: ({ input }) => initialContext(input),
  ...coordinatorStates(txnRequests, 'TxnLoadRetryFired', {
    TxnCoordinatorTick: { actions: 'tickFired' },
    ProducerIdResponse: { actions: 'producerIdAnswered' },
    WriteTxnMarkerResponse: { actions: 'markerAnswered' },
  }),
});

export type TxnCoordinatorMachine = typeof txnCoordinatorMachine;
