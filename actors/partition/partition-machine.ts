// One replica of one partition, leader or follower, as Kafka runs it.
//
// The leader appends produced batches (assigning offsets and its leader epoch), serves
// fetches, tracks how far each follower has durably copied the log, advances the high
// watermark to the offset every ISR member holds on disk, and asks the controller (through
// its broker) to shrink or expand the ISR. Followers pull: they first ask the leader where
// their last epoch ends (KIP-101/279) and cut any divergent suffix, then fetch, append,
// fsync and fetch again from their log end (without waiting for the fsync while the leader
// has more to send); each fetch also says how far the follower's log is durable, and only
// that counts toward the high watermark.
//
// Pure: the log is a port reached through `log` effects whose completions come back in
// order as LogCompleted events; time arrives on events.
import { setup } from 'xstate';
import type {
  Address, ConfigEntry, Delivered, FetchRequest, Outgoing, PartitionStateChange, WireEvent, WireKind, WireMessages,
} from '../protocol/messages.js';
import { acksAll, consumerReplicaId, earliestTimestamp, latestTimestamp, maxTimestampQuery, readCommitted } from '../protocol/messages.js';
import {
  type Effect, type EffectBatch, type EpochStart, type LogCompleted, type LogFlushed, type LogOp, type TimerFired, effectfulStep,
} from '../protocol/effects.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { InvalidBatchError, controlTypes, readBatchHeader, scanBatches, type BatchHeader } from '../protocol/record-batch.js';
import { encodeRecordBatch } from '../protocol/records.js';
import { consumerOffsetsTopic, groupCoordinatorActorId, isGroupCoordinatorActorId } from '../group/offsets-topic.js';
import { topicConfigInt } from '../protocol/topic-configs.js';
import {
  type ProducerBatch, type ProducerStates, checkSequence, forgetBatch, producersFromSnapshot, recordBatch,
  replayBatch, truncateProducers,
} from './producer-state.js';
import {
  type AbortedTxn, type PartitionTxns, type TxnHeader, abortedOverlapping, copyTxns, emptyTxns, lastStableOffset, noteTxnBatch, openTxnFirstOffset, packAborted,
  stabilizeTxns, truncateTxns,
} from './txn-index.js';

export const partitionMachineName = 'partition';

/** The actor (and log directory) name of a replica, as Kafka names partition directories. */
export function partitionActorId(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export interface PartitionTimings {
  /** replica.fetch.max.bytes */
  replicaFetchMaxBytes: number;
  /** replica.fetch.wait.max.ms: how long the leader holds a follower's fetch when it has nothing new. */
  replicaFetchWaitMaxMs: number;
  /** replica.fetch.backoff.ms: pause after a failed fetch. */
  replicaFetchBackoffMs: number;
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  /** How long to wait for an answer from the leader or the controller before asking again. */
  requestTimeoutMs: number;
  /**
   * How often a replica reads back a chunk of its own log (replicaFetchMaxBytes), so that the
   * log checks each batch's CRC: latent disk corruption that no fetch may ever read. A corrupt
   * chunk fails the read like any storage error: the host then treats the log as failed (a
   * node whose only log directory fails halts, as Kafka's broker does, and recovery cuts the
   * batch). Absent or 0: no scrubbing, as in Kafka.
   */
  logScrubIntervalMs?: number;
}

export const defaultPartitionTimings: PartitionTimings = {
  replicaFetchMaxBytes: 1024 * 1024,
  replicaFetchWaitMaxMs: 500,
  replicaFetchBackoffMs: 200,
  replicaLagTimeMaxMs: 30_000,
  requestTimeoutMs: 3000,
};

/** Test-only protocol bugs (runtime/ops/bugs.ts), to show that the simulator's checkers catch them. */
export interface PartitionBugs {
  /**
   * A follower fetches again as soon as fetched records are appended, before they are on its
   * disk, and says they are (its durableOffset is its log end): the leader counts page-cache
   * copies toward the high watermark.
   */
  fetchBeforeFsync?: boolean;
  /**
   * A read_committed answer lists every aborted transaction of the index its offsets overlap
   * (as Kafka's does from a .txnindex kept in step with the segments), not only those whose
   * data it holds: once the cleaner has removed an abort marker, a consumer told of that
   * transaction drops its producer's later committed records.
   */
  listAbortedWithoutData?: boolean;
  /**
   * The leader counts a follower's log end (fetchOffset), synced or not, toward the high
   * watermark instead of its durable end.
   */
  countUnsyncedFollowerEnd?: boolean;
}

export interface PartitionConfig extends PartitionTimings {
  nodeId: number;
  /** The local broker actor, which carries ISR changes to the controller. */
  brokerActor: string;
  /** min.insync.replicas, the broker default (topics may override it). */
  defaultMinInsyncReplicas: number;
  bugs?: PartitionBugs;
}

export interface PartitionInput {
  config: PartitionConfig;
  state: PartitionStateChange;
}

type Role = 'opening' | 'leader' | 'follower' | 'deleting';
type Goal = 'leader' | 'follower' | 'deleting';
type FollowerPhase = 'syncing' | 'truncating' | 'fetching' | 'offline';

interface FollowerProgress {
  /** The follower's log end, as its last fetch said; -1 until it fetches. */
  fetchOffset: number;
  /** The follower's durable end, as its last fetch said (at most fetchOffset): the high watermark waits for it. */
  durableOffset: number;
  lastFetchMs: number;
  lastCaughtUpMs: number;
  /** The leader's log end when that follower last fetched (Kafka's lastCaughtUpTime rule). */
  leaderEndAtLastFetch: number;
}

interface PendingProduce {
  from: Address;
  requestId: string;
  acks: number;
  baseOffset: number;
  lastOffset: number;
  deadlineMs: number;
  /** A transaction marker waiting to be committed (answered with WriteTxnMarkerResponse), or null for a produce. */
  marker: PendingMarker | null;
}

interface PendingMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
}

/**
 * A producer's first transactional write here, waiting for its coordinator to say the
 * partition is in the producer's open transaction (KIP-890); later writes of that producer
 * queue behind it, in order.
 */
interface TxnVerification {
  requestId: string;
  producerId: number;
  deadlineMs: number;
  /** A marker for the producer was written meanwhile: a yes from before it no longer holds. */
  stale: boolean;
  queued: Array<{ from: Address; body: WireMessages['ProduceRequest'] }>;
}

interface ParkedFetch {
  from: Address;
  request: FetchRequest;
  deadlineMs: number;
}

/** What to do when a log operation completes (completions arrive in issue order). */
type LogWork =
  | { kind: 'open'; generation: number }
  | {
    kind: 'produce'; generation: number; from: Address; requestId: string; acks: number; deadlineMs: number;
    /** An idempotent producer's batch, noted before the append so that a pipelined next one checks against it. */
    producer: { producerId: number; batch: ProducerBatch } | null;
    /** The batch's header when it is transactional: it opens the producer's transaction here. */
    txn: TxnHeader | null;
  }
  | { kind: 'marker'; generation: number; replyTo: Address; requestId: string; marker: PendingMarker; deadlineMs: number }
  | { kind: 'read'; generation: number; from: Address; request: FetchRequest }
  | { kind: 'followerAppend'; generation: number; epochs: EpochStart[]; producerHeaders: TxnHeader[] }
  | { kind: 'truncate'; generation: number }
  /** A replica's read of its own log from `offset`, for the CRC checks (see logScrubIntervalMs). */
  | { kind: 'scrub'; generation: number; offset: number }
  /** `watermarkLags`: asked while a new leader's watermark was below its epoch's start (KIP-207). */
  | { kind: 'offsetForTime'; generation: number; from: Address; requestId: string; watermarkLags: boolean }
  | { kind: 'delete'; generation: number };

export interface PartitionContext {
  config: PartitionConfig;
  nowMs: number;
  topic: string;
  topicId: string;
  partition: number;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  configs: ConfigEntry[];
  /** What the metadata says this replica should be, and a counter bumped on every change of it. */
  goal: Goal;
  goalGeneration: number;
  role: Role;
  /** The goalGeneration the current role was entered for. */
  roleGeneration: number;
  /** A newer state for the same name that arrived while the log was being deleted (topic recreated). */
  nextState: PartitionStateChange | null;
  opened: boolean;
  deleted: boolean;

  logStartOffset: number;
  logEndOffset: number;
  /** Every offset below this is on disk. */
  durableEnd: number;
  highWatermark: number;
  /** The high watermark last told to the log (its cleaner compacts only below it); 0 until one is. */
  reportedHighWatermark: number;
  /**
   * Every assigned replica, in the ISR or not, holds every offset below this durably: a leader
   * takes the least of its followers' fetch offsets, a follower hears its leader's in each
   * FetchResponse. The cleaner removes an expired tombstone only below it, so that a replica
   * that was away never catches up without the tombstone of a value it still holds (stricter
   * than Kafka, whose delete.retention.ms alone decides).
   */
  tombstoneHorizon: number;
  /** The tombstone horizon last told to the log; 0 until one is. */
  reportedTombstoneHorizon: number;
  /** The leader-epoch cache: each epoch and the first offset written in it. */
  epochs: EpochStart[];
  /** Idempotent producers' epochs and last sequences. */
  producers: ProducerStates;
  /** Open and not yet stable transactions, and the aborted ones (txn-index.ts). */
  txns: PartitionTxns;
  /** Retries of a batch whose first copy is still being appended: answered with its offsets. */
  duplicatesWaiting: Array<{ batch: ProducerBatch; from: Address; requestId: string; acks: number; deadlineMs: number }>;
  logSeq: number;
  logWork: LogWork[];
  /**
   * Flushes asked for and not answered yet: token → the role generation that asked. An open,
   * a truncation or a delete forgets them all: what they report says nothing of the log after it.
   */
  flushes: Map<number, number>;
  flushSeq: number;

  // Leader.
  ready: boolean;
  epochStartOffset: number;
  followers: Map<number, FollowerProgress>;
  pendingProduces: PendingProduce[];
  parkedFetches: ParkedFetch[];
  /**
   * Followers' fetches that came while this replica was about to lead (its log still opening,
   * or its leadership not yet ready), at most one per follower: served once it is ready, refused
   * if it does not lead after all. Refused at once, each follower would wait
   * replica.fetch.backoff.ms (1 s) before fetching again, and every acks=all write of the
   * partition's first second (a new topic, a new leader) with it.
   */
  earlyFetches: Array<Delivered<'FetchRequest'>>;
  verifications: TxnVerification[];
  /** Highest offset a flush has been asked for. */
  flushRequested: number;
  /** The ISR asked of the controller and not yet settled; counts towards the high watermark. */
  pendingIsr: number[] | null;
  /** The partition epoch the pending change was asked against. */
  pendingIsrBase: number;
  /** Whether the pending change is waiting for metadata rather than for an answer. */
  pendingIsrAwaitsMetadata: boolean;
  alterRetryAtMs: number;
  /** The latest ISR change request; answers to earlier ones are ignored. */
  alterRequestId: string;

  // Follower.
  phase: FollowerPhase;
  /** Where the next scrub read starts. */
  scrubOffset: number;
  requestSeq: number;
  /** The request we wait an answer for; answers to anything else are stale. */
  inflightRequestId: string;
  /** The leader's log end in its last answer: a fetch from below it is answered at once. */
  leaderLogEnd: number;
}

type PartitionEvent =
  | WireEvent
  | LogCompleted
  | LogFlushed
  | TimerFired<'WaitExpired'>
  | TimerFired<'IsrCheckFired'>
  | TimerFired<'ReplicaRetryFired'>
  | TimerFired<'AlterPartitionRetryFired'>
  | TimerFired<'ScrubFired'>;

type Handler = (ctx: PartitionContext, event: PartitionEvent) => Effect[];

function effectful(handler: Handler) {
  return effectfulStep<PartitionContext, PartitionEvent>((ctx, event) => {
    const effects = handler(ctx, event);
    updateTombstoneHorizon(ctx);
    const reported = reportHighWatermark(ctx);
    return reported === null ? effects : [...effects, reported];
  });
}

/**
 * A leader's horizon is the least fetch offset of its assigned followers; one that has not
 * fetched from this leader yet counts at the horizon as it stood (heard from the previous
 * leader, or 0), so the horizon waits for it. Never above the high watermark (a truncation may
 * cut a follower's learned one).
 */
function updateTombstoneHorizon(ctx: PartitionContext): void {
  let horizon = ctx.highWatermark;
  if (ctx.role === 'leader') {
    for (const id of ctx.replicas) {
      if (id === ctx.config.nodeId) continue;
      // What it holds on disk: a tombstone it fetched but lost in a crash must still reach it.
      const fetched = ctx.followers.get(id)?.durableOffset ?? -1;
      horizon = Math.min(horizon, fetched >= 0 ? fetched : ctx.tombstoneHorizon);
    }
  } else {
    horizon = Math.min(horizon, ctx.tombstoneHorizon);
  }
  ctx.tombstoneHorizon = Math.max(0, horizon);
}

/**
 * Tells the log its high watermark and tombstone horizon after any step that changed either (a
 * leader advancing them, a follower learning the leader's, a truncation cutting them), once the
 * log is open: one effect per change, none when both stayed put.
 */
function reportHighWatermark(ctx: PartitionContext): Effect | null {
  if (!ctx.opened || (ctx.role !== 'leader' && ctx.role !== 'follower')) return null;
  if (ctx.highWatermark === ctx.reportedHighWatermark && ctx.tombstoneHorizon === ctx.reportedTombstoneHorizon) return null;
  ctx.reportedHighWatermark = ctx.highWatermark;
  ctx.reportedTombstoneHorizon = ctx.tombstoneHorizon;
  stabilizeTxns(ctx.txns, ctx.highWatermark);
  return { type: 'highWatermark', offset: ctx.highWatermark, tombstoneHorizon: ctx.tombstoneHorizon };
}

function wire<K extends WireKind>(event: PartitionEvent, kind: K): Delivered<K> {
  if (event.type !== kind) throw new Error(`expected ${kind}, got ${event.type}`);
  return event as unknown as Delivered<K>;
}

function send<K extends WireKind>(to: Address, kind: K, body: WireMessages[K]): Effect {
  return { type: 'send', message: { to, kind, body } as Outgoing };
}

function logOp(ctx: PartitionContext, op: LogOp, work: LogWork): Effect {
  if (op.kind === 'logOpen' || op.kind === 'logTruncate' || op.kind === 'logDelete') ctx.flushes.clear();
  ctx.logSeq += 1;
  ctx.logWork.push(work);
  return { type: 'log', seq: ctx.logSeq, op };
}

function selfAddress(ctx: PartitionContext): string {
  return partitionActorId(ctx.topic, ctx.partition);
}

function leaderAddress(ctx: PartitionContext): Address {
  return { node: ctx.leader, actor: selfAddress(ctx) };
}

function minInsyncReplicas(ctx: PartitionContext): number {
  return topicConfigInt(ctx.configs, 'min.insync.replicas', ctx.config.defaultMinInsyncReplicas);
}

function lastEpoch(ctx: PartitionContext): number {
  return ctx.epochs.length === 0 ? -1 : ctx.epochs[ctx.epochs.length - 1]!.epoch;
}

/** KIP-101: the largest epoch <= `epoch` this log knows, and the offset where it ends here. */
export function endOffsetForEpoch(epochs: readonly EpochStart[], logEndOffset: number, epoch: number): { epoch: number; endOffset: number } {
  let found = -1;
  for (let i = 0; i < epochs.length; i++) if (epochs[i]!.epoch <= epoch) found = i;
  if (found < 0) return { epoch: -1, endOffset: epochs[0]?.startOffset ?? logEndOffset };
  const next = epochs[found + 1];
  return { epoch: epochs[found]!.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
}

function noteEpochs(ctx: PartitionContext, epochs: readonly EpochStart[]): void {
  for (const entry of epochs) {
    if (entry.epoch > lastEpoch(ctx)) ctx.epochs.push({ ...entry });
  }
}

function assertInvariants(ctx: PartitionContext): void {
  if (ctx.highWatermark > ctx.logEndOffset && ctx.role === 'leader') {
    throw new Error(`${selfAddress(ctx)}: high watermark ${ctx.highWatermark} above log end ${ctx.logEndOffset}`);
  }
  if (ctx.durableEnd > ctx.logEndOffset) {
    throw new Error(`${selfAddress(ctx)}: durable end ${ctx.durableEnd} above log end ${ctx.logEndOffset}`);
  }
}

// ---------------------------------------------------------------------------------------
// Metadata: what the broker says this replica should be.

function isNewer(ctx: PartitionContext, state: PartitionStateChange): boolean {
  if (state.leaderEpoch !== ctx.leaderEpoch) return state.leaderEpoch > ctx.leaderEpoch;
  return state.partitionEpoch > ctx.partitionEpoch;
}

function adoptPartitionState(ctx: PartitionContext, state: PartitionStateChange): void {
  const leaderChanged = state.leaderEpoch !== ctx.leaderEpoch || state.leader !== ctx.leader;
  ctx.replicas = [...state.replicas];
  ctx.isr = [...state.isr];
  ctx.leader = state.leader;
  ctx.leaderEpoch = state.leaderEpoch;
  ctx.partitionEpoch = state.partitionEpoch;
  ctx.configs = state.configs.map((c) => ({ ...c }));
  const goal: Goal = state.leader === ctx.config.nodeId ? 'leader' : 'follower';
  if (leaderChanged || goal !== ctx.goal) {
    ctx.goal = goal;
    ctx.goalGeneration += 1;
  }
}

const partitionStateChanged: Handler = (ctx, event) => {
  const { body } = wire(event, 'PartitionStateChange');
  if (ctx.goal === 'deleting') {
    // Only a recreated topic of the same name brings this replica back.
    if (!body.removed && body.topicId !== ctx.topicId) ctx.nextState = body;
    return [];
  }
  if (body.removed || body.topicId !== ctx.topicId) {
    ctx.goal = 'deleting';
    ctx.goalGeneration += 1;
    ctx.nextState = body.removed ? null : body;
    return [];
  }
  if (!isNewer(ctx, body)) return [];
  const sameLeadership = body.leaderEpoch === ctx.leaderEpoch && body.leader === ctx.leader;
  adoptPartitionState(ctx, body);
  if (!sameLeadership || ctx.role !== 'leader') return [];
  // The ISR changed under the same leader: the metadata settles any pending change.
  if (ctx.pendingIsr !== null && body.partitionEpoch > ctx.pendingIsrBase) {
    ctx.pendingIsr = null;
    ctx.pendingIsrAwaitsMetadata = false;
  }
  return advanceHighWatermark(ctx);
};

// ---------------------------------------------------------------------------------------
// Log completions.

const logCompleted: Handler = (ctx, event) => {
  const { seq, result } = event as LogCompleted;
  const work = ctx.logWork.shift();
  const expectedSeq = ctx.logSeq - ctx.logWork.length;
  if (work === undefined || seq !== expectedSeq) {
    throw new Error(`${selfAddress(ctx)}: log completion ${seq} out of order (expected ${expectedSeq})`);
  }
  const current = work.generation === ctx.roleGeneration;
  const effects: Effect[] = [];
  if (result.kind === 'failed') {
    effects.push(...logFailed(ctx, work, current, result.code, result.message));
  } else if (result.kind === 'opened') {
    ctx.logStartOffset = result.logStartOffset;
    ctx.logEndOffset = result.logEndOffset;
    ctx.epochs = result.epochs.map((e) => ({ ...e }));
    ctx.producers = producersFromSnapshot(result.producers);
    ctx.txns = copyTxns(result.txns);
    stabilizeTxns(ctx.txns, ctx.highWatermark);
    ctx.flushRequested = Math.min(ctx.flushRequested, ctx.logEndOffset);
    if (ctx.role === 'opening') {
      // A log read back from disk after a restart holds only what recovery kept: all durable.
      ctx.durableEnd = result.logEndOffset;
      ctx.opened = true;
    } else if (current && ctx.role === 'leader') {
      effects.push(...leaderReady(ctx));
    } else if (current && ctx.role === 'follower') {
      effects.push(...startTruncation(ctx));
    }
  } else if (result.kind === 'appended') {
    ctx.logEndOffset = result.logEndOffset;
    if (work.kind === 'produce') effects.push(...produceAppended(ctx, work, current, result.firstOffset, result.lastOffset));
    if (work.kind === 'marker') effects.push(...markerAppended(ctx, work, current, result.firstOffset));
    if (work.kind === 'followerAppend') {
      noteEpochs(ctx, work.epochs);
      for (const header of work.producerHeaders) {
        replayBatch(ctx.producers, header);
        noteTxnBatch(ctx.txns, header);
      }
      if (current && ctx.role === 'follower') effects.push(flushTo(ctx, ctx.logEndOffset), ...fetchWhenReady(ctx));
    }
  } else if (result.kind === 'read') {
    if (work.kind === 'read') effects.push(...answerRead(ctx, work, result.bytes));
    if (work.kind === 'scrub') ctx.scrubOffset = result.nextOffset > work.offset ? result.nextOffset : ctx.logStartOffset;
  } else if (result.kind === 'truncated') {
    ctx.logEndOffset = result.logEndOffset;
    ctx.durableEnd = Math.min(ctx.durableEnd, ctx.logEndOffset);
    // A flush asked for before the cut covered offsets that are gone: the next append needs its own.
    ctx.flushRequested = Math.min(ctx.flushRequested, ctx.logEndOffset);
    ctx.highWatermark = Math.min(ctx.highWatermark, ctx.logEndOffset);
    ctx.epochs = ctx.epochs.filter((e) => e.startOffset < ctx.logEndOffset);
    truncateProducers(ctx.producers, ctx.logEndOffset);
    truncateTxns(ctx.txns, ctx.logEndOffset);
    ctx.scrubOffset = Math.min(ctx.scrubOffset, ctx.logEndOffset);
    if (current && ctx.role === 'follower') {
      ctx.phase = 'fetching';
      effects.push(flushTo(ctx, ctx.logEndOffset));
    }
  } else if (result.kind === 'offsetForTime') {
    if (work.kind === 'offsetForTime') {
      // Nothing found below the end of reads may be something above a lagging watermark, as in Kafka.
      const errorCode = result.offset < 0 && work.watermarkLags ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.NONE;
      effects.push(send(work.from, 'ListOffsetsResponse', listOffsetsReply(ctx, work.requestId, errorCode, result.offset, result.timestamp)));
    }
  } else if (result.kind === 'deleted') {
    ctx.deleted = true;
  }
  assertInvariants(ctx);
  return effects;
};

function logFailed(ctx: PartitionContext, work: LogWork, current: boolean, code: string, message: string): Effect[] {
  const effects: Effect[] = [{ type: 'note', level: code === 'corrupt' ? 'error' : 'warn', message: `${selfAddress(ctx)}: ${work.kind} failed (${code}): ${message}` }];
  switch (work.kind) {
    case 'produce': {
      // Kafka's answers: INVALID_RECORD for a record the log refuses (no key on a compacted topic), else CORRUPT_MESSAGE.
      const errorCode = code === 'invalid_record' ? ErrorCode.INVALID_RECORD : ErrorCode.CORRUPT_MESSAGE;
      if (work.producer !== null) {
        forgetBatch(ctx.producers, work.producer.producerId, work.producer.batch);
        effects.push(...answerDuplicates(ctx, work.producer.batch, errorCode));
      }
      effects.push(send(work.from, 'ProduceResponse', produceReply(ctx, work.requestId, errorCode, -1, message)));
      return effects;
    }
    case 'marker':
      effects.push(send(work.replyTo, 'WriteTxnMarkerResponse', markerReply(ctx, work.requestId, ErrorCode.KAFKA_STORAGE_ERROR)));
      return effects;
    case 'read': {
      const errorCode = code === 'out_of_range' ? ErrorCode.OFFSET_OUT_OF_RANGE : ErrorCode.KAFKA_STORAGE_ERROR;
      effects.push(send(work.from, 'FetchResponse', fetchReply(ctx, work.request.requestId, errorCode, new Uint8Array(0), message)));
      return effects;
    }
    case 'offsetForTime':
      effects.push(send(work.from, 'ListOffsetsResponse', listOffsetsReply(ctx, work.requestId, ErrorCode.KAFKA_STORAGE_ERROR, -1, -1)));
      return effects;
    case 'scrub':
      // The note says what was found; the next pass starts over.
      ctx.scrubOffset = ctx.logStartOffset;
      return effects;
    default:
      // A follower whose append the log refused (bad CRC, wrong offset: it never reaches the
      // log), or whose truncation or flush failed, fetches again later.
      if (current && ctx.role === 'follower') effects.push(...retryLater(ctx));
      return effects;
  }
}

/** Whether log work other than a scrub read is outstanding (a follower fetches again once it is not; flushes do not hold it). */
function logBusy(ctx: PartitionContext): boolean {
  return ctx.logWork.some((w) => w.kind !== 'scrub');
}

/**
 * A follower fetching, with no fetch out and nothing being appended, sends its next fetch
 * when it is worth sending. Behind the leader's log end (as last heard) the leader answers it
 * at once, with more records: it goes while the fsync runs, and the one after it reports the
 * fsync. At the leader's end the leader would hold it until new records came, and with them
 * the news of the fsync: it waits until the log is durable to its end (or no flush is out,
 * one having failed: the retry asks again), so that it says so.
 */
function fetchWhenReady(ctx: PartitionContext): Effect[] {
  if (ctx.role !== 'follower' || ctx.phase !== 'fetching' || ctx.inflightRequestId !== '' || logBusy(ctx)) return [];
  if (ctx.logEndOffset < ctx.leaderLogEnd || ctx.durableEnd >= ctx.logEndOffset || ctx.flushes.size === 0 || fetchesBeforeFsync(ctx)) return sendFetch(ctx);
  return [];
}

/** The first scrub timer of a role, if scrubbing is on. */
function scrubTimer(ctx: PartitionContext): Effect[] {
  const intervalMs = ctx.config.logScrubIntervalMs ?? 0;
  return intervalMs > 0 ? [{ type: 'timer.set', event: 'ScrubFired', delayMs: intervalMs, jitterMs: 0 }] : [];
}

/**
 * A replica reads the next chunk of its log back; the log checks each batch's CRC on the way.
 * Leaders scrub too: a follower whose flipped batch went unnoticed may have become leader.
 */
const scrubLog: Handler = (ctx) => {
  const intervalMs = ctx.config.logScrubIntervalMs ?? 0;
  if ((ctx.role !== 'follower' && ctx.role !== 'leader') || intervalMs <= 0) return [];
  const effects: Effect[] = [{ type: 'timer.set', event: 'ScrubFired', delayMs: intervalMs, jitterMs: 0 }];
  if (ctx.logWork.some((w) => w.kind === 'scrub')) return effects;
  if (ctx.scrubOffset < ctx.logStartOffset || ctx.scrubOffset >= ctx.logEndOffset) ctx.scrubOffset = ctx.logStartOffset;
  if (ctx.scrubOffset >= ctx.logEndOffset) return effects;
  effects.push(logOp(ctx, { kind: 'logRead', offset: ctx.scrubOffset, maxBytes: ctx.config.replicaFetchMaxBytes, maxOffset: ctx.logEndOffset }, {
    kind: 'scrub', generation: ctx.roleGeneration, offset: ctx.scrubOffset,
  }));
  return effects;
};

function flushTo(ctx: PartitionContext, offset: number): Effect {
  ctx.flushRequested = Math.max(ctx.flushRequested, offset);
  ctx.flushSeq += 1;
  ctx.flushes.set(ctx.flushSeq, ctx.roleGeneration);
  return { type: 'flush', token: ctx.flushSeq, offset };
}

/** A flush completed: the log is durable below its flushed offset (unless an open, truncation or delete came after it was asked). */
const logFlushed: Handler = (ctx, event) => {
  const { token, result } = event as LogFlushed;
  const generation = ctx.flushes.get(token);
  if (generation === undefined) return [];
  ctx.flushes.delete(token);
  const current = generation === ctx.roleGeneration;
  const effects: Effect[] = [];
  if (result.kind === 'failed') {
    effects.push({ type: 'note', level: 'error', message: `${selfAddress(ctx)}: flush failed (${result.code}): ${result.message}` });
    // The next append asks for a flush again; a follower fetches again later.
    ctx.flushRequested = Math.min(ctx.flushRequested, ctx.durableEnd);
    if (current && ctx.role === 'follower') effects.push(...retryLater(ctx));
    return effects;
  }
  if (result.kind !== 'flushed') throw new Error(`${selfAddress(ctx)}: a flush answered ${result.kind}`);
  ctx.durableEnd = Math.min(ctx.logEndOffset, Math.max(ctx.durableEnd, result.flushedOffset));
  if (ctx.role === 'leader') effects.push(...leaderDurable(ctx));
  else if (current && ctx.role === 'follower') effects.push(...fetchWhenReady(ctx));
  assertInvariants(ctx);
  return effects;
};

// ---------------------------------------------------------------------------------------
// Leader.

const becomeLeader: Handler = (ctx) => {
  ctx.role = 'leader';
  ctx.roleGeneration = ctx.goalGeneration;
  ctx.ready = false;
  ctx.followers = new Map();
  for (const id of ctx.replicas) {
    if (id === ctx.config.nodeId) continue;
    ctx.followers.set(id, { fetchOffset: -1, durableOffset: -1, lastFetchMs: ctx.nowMs, lastCaughtUpMs: ctx.nowMs, leaderEndAtLastFetch: 0 });
  }
  ctx.pendingIsr = null;
  ctx.pendingIsrAwaitsMetadata = false;
  ctx.alterRetryAtMs = 0;
  // Earlier appends may still be in flight: the log end is final once this barrier completes.
  return [
    logOp(ctx, { kind: 'logOpen', configs: ctx.configs }, { kind: 'open', generation: ctx.roleGeneration }),
    { type: 'timer.set', event: 'IsrCheckFired', delayMs: Math.max(1, Math.floor(ctx.config.replicaLagTimeMaxMs / 2)), jitterMs: 0 },
    ...scrubTimer(ctx),
  ];
};

function leaderReady(ctx: PartitionContext): Effect[] {
  ctx.ready = true;
  ctx.epochStartOffset = ctx.logEndOffset;
  if (lastEpoch(ctx) < ctx.leaderEpoch) ctx.epochs.push({ epoch: ctx.leaderEpoch, startOffset: ctx.logEndOffset });
  const effects: Effect[] = [flushTo(ctx, ctx.logEndOffset)];
  const early = ctx.earlyFetches;
  ctx.earlyFetches = [];
  for (const request of early) effects.push(...fetch(ctx, request as unknown as PartitionEvent));
  return effects;
}

/** Whether a follower's fetch that this replica cannot serve yet should wait for it to lead (see earlyFetches). */
function holdsEarly(ctx: PartitionContext, body: FetchRequest): boolean {
  const aboutToLead = ctx.goal === 'leader' && (ctx.role === 'opening' || (ctx.role === 'leader' && !ctx.ready));
  return aboutToLead && body.replicaId !== consumerReplicaId && body.replicaId !== ctx.config.nodeId
    && ctx.replicas.includes(body.replicaId) && body.currentLeaderEpoch === ctx.leaderEpoch;
}

function holdEarly(ctx: PartitionContext, request: Delivered<'FetchRequest'>): Effect[] {
  // A follower has one fetch out at a time: a newer one means it gave up on the older.
  ctx.earlyFetches = [...ctx.earlyFetches.filter((held) => held.body.replicaId !== request.body.replicaId), request];
  return [];
}

/** This replica does not lead after all: the held fetches are answered as any other replica would. */
function refuseEarlyFetches(ctx: PartitionContext): Effect[] {
  const effects = ctx.earlyFetches.map((held) =>
    send(held.from, 'FetchResponse', fetchReply(ctx, held.body.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, new Uint8Array(0))));
  ctx.earlyFetches = [];
  return effects;
}

const stepDown: Handler = (ctx) => {
  const effects: Effect[] = [
    { type: 'timer.cancel', event: 'IsrCheckFired' },
    { type: 'timer.cancel', event: 'WaitExpired' },
    { type: 'timer.cancel', event: 'AlterPartitionRetryFired' },
    { type: 'timer.cancel', event: 'ScrubFired' },
  ];
  for (const pending of ctx.pendingProduces) effects.push(refusePending(ctx, pending, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved'));
  for (const parked of ctx.parkedFetches) {
    effects.push(send(parked.from, 'FetchResponse', fetchReply(ctx, parked.request.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, new Uint8Array(0), 'leadership moved')));
  }
  for (const d of ctx.duplicatesWaiting) {
    if (d.acks !== 0) effects.push(send(d.from, 'ProduceResponse', produceReply(ctx, d.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, 'leadership moved')));
  }
  for (const verification of ctx.verifications) effects.push(...refuseVerified(ctx, verification, ErrorCode.NOT_LEADER_OR_FOLLOWER));
  ctx.verifications = [];
  ctx.duplicatesWaiting = [];
  ctx.pendingProduces = [];
  ctx.parkedFetches = [];
  effects.push(...refuseEarlyFetches(ctx));
  ctx.ready = false;
  ctx.followers = new Map();
  ctx.pendingIsr = null;
  return effects;
};

function produceReply(ctx: PartitionContext, requestId: string, errorCode: number, baseOffset: number, errorMessage = ''): WireMessages['ProduceResponse'] {
  return {
    requestId, errorCode, baseOffset, logStartOffset: ctx.logStartOffset, leaderHint: ctx.leader, leaderEpoch: ctx.leaderEpoch,
    errorMessage, topic: ctx.topic, partition: ctx.partition,
  };
}

function fetchReply(
  ctx: PartitionContext, requestId: string, errorCode: number, records: Uint8Array, errorMessage = '', abortedTransactions: Uint8Array = new Uint8Array(0),
): WireMessages['FetchResponse'] {
  return {
    requestId, errorCode, highWatermark: ctx.highWatermark, logStartOffset: ctx.logStartOffset, logEndOffset: ctx.logEndOffset,
    records, leaderHint: ctx.leader, leaderEpoch: ctx.leaderEpoch, topic: ctx.topic, partition: ctx.partition, errorMessage,
    lastStableOffset: lastStableOffset(ctx.txns, ctx.highWatermark), abortedTransactions,
    tombstoneHorizon: ctx.role === 'leader' ? ctx.tombstoneHorizon : -1,
  };
}

function markerReply(ctx: PartitionContext, requestId: string, errorCode: number): WireMessages['WriteTxnMarkerResponse'] {
  return { requestId, errorCode, topic: ctx.topic, partition: ctx.partition };
}

/** The answer to a produce or marker still waiting when it cannot complete. */
function refusePending(ctx: PartitionContext, pending: PendingProduce, errorCode: number, message = ''): Effect {
  if (pending.marker !== null) return send(pending.from, 'WriteTxnMarkerResponse', markerReply(ctx, pending.requestId, errorCode));
  return send(pending.from, 'ProduceResponse', produceReply(ctx, pending.requestId, errorCode, -1, message));
}

/** Checks a request's leader epoch against ours (KIP-320): older is fenced, newer is not known yet. */
function epochError(ctx: PartitionContext, requestEpoch: number): number {
  if (requestEpoch < 0 || requestEpoch === ctx.leaderEpoch) return ErrorCode.NONE;
  return requestEpoch < ctx.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
}

/** Why this replica cannot serve a leader's request now, or NONE. */
function leaderError(ctx: PartitionContext): number {
  if (ctx.role !== 'leader') return ctx.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return ctx.ready ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE;
}

const produce: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'ProduceRequest');
  return acceptProduce(ctx, from, body, false);
};

function acceptProduce(ctx: PartitionContext, from: Address, body: WireMessages['ProduceRequest'], verified: boolean): Effect[] {
  let errorCode = leaderError(ctx);
  if (errorCode === ErrorCode.NONE) errorCode = epochError(ctx, body.leaderEpoch);
  if (errorCode === ErrorCode.NONE && body.acks !== 0 && body.acks !== 1 && body.acks !== acksAll) errorCode = ErrorCode.INVALID_REQUIRED_ACKS;
  if (errorCode === ErrorCode.NONE && body.acks === acksAll && ctx.isr.length < minInsyncReplicas(ctx)) errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
  if (errorCode !== ErrorCode.NONE) {
    return body.acks === 0 ? [] : [send(from, 'ProduceResponse', produceReply(ctx, body.requestId, errorCode, -1))];
  }
  const deadlineMs = ctx.nowMs + body.timeoutMs;
  const header = firstBatchHeader(body.records);
  const idempotent = idempotentHeader(header, body.records.length);
  if (typeof idempotent === 'string') {
    return body.acks === 0 ? [] : [send(from, 'ProduceResponse', produceReply(ctx, body.requestId, ErrorCode.INVALID_RECORD, -1, idempotent))];
  }
  const txnRefusal = header === null ? null : transactionalRefusal(ctx, from, body, header, idempotent);
  if (txnRefusal !== null) {
    return body.acks === 0 ? [] : [send(from, 'ProduceResponse', produceReply(ctx, body.requestId, txnRefusal.errorCode, -1, txnRefusal.message))];
  }
  // Behind a producer's pending check, its later writes wait their turn (their sequences follow the checked one's).
  if (!verified && idempotent !== null && ctx.verifications.some((v) => v.producerId === idempotent.producerId)) {
    return verifyTxnWrite(ctx, from, body, idempotent);
  }
  let producer: { producerId: number; batch: ProducerBatch } | null = null;
  if (idempotent !== null) {
    const check = checkSequence(ctx.producers, idempotent);
    if (check.kind === 'refuse') {
      return body.acks === 0 ? [] : [send(from, 'ProduceResponse', produceReply(ctx, body.requestId, check.errorCode, -1, check.message))];
    }
    if (check.kind === 'duplicate') return answerRetry(ctx, check.batch, from, body.requestId, body.acks, deadlineMs);
    if (!verified && needsVerification(ctx, idempotent, body.transactionalId)) return verifyTxnWrite(ctx, from, body, idempotent);
    // A batch without a sequence (a group coordinator's transactional offsets) is not kept for dedup: null.
    const batch = recordBatch(ctx.producers, idempotent, -1, -1);
    producer = batch === null ? null : { producerId: idempotent.producerId, batch };
  }
  const txn = idempotent !== null && idempotent.isTransactional ? idempotent : null;
  return [logOp(ctx, { kind: 'logAppend', bytes: body.records, leaderEpoch: ctx.leaderEpoch }, {
    kind: 'produce', generation: ctx.roleGeneration, from, requestId: body.requestId, acks: body.acks, deadlineMs, producer, txn,
  })];
}

/**
 * A client's transactional batch needs its coordinator's word (KIP-890) when its producer has
 * no transaction open here yet and none of its transactional batches is on its way to the log
 * (one that is was checked).
 */
function needsVerification(ctx: PartitionContext, header: BatchHeader, transactionalId: string): boolean {
  if (!header.isTransactional) return false;
  // A group coordinator's offsets (no sequence) are checked when it names the transaction (TxnOffsetCommit does).
  if (header.baseSequence < 0 && transactionalId === '') return false;
  if (openTxnFirstOffset(ctx.txns, header.producerId) >= 0) return false;
  return !ctx.logWork.some((w) => w.kind === 'produce' && w.txn !== null && w.txn.producerId === header.producerId);
}

/** Asks the coordinator whether `header`'s producer has added this partition to its transaction. */
function verifyTxnWrite(ctx: PartitionContext, from: Address, body: WireMessages['ProduceRequest'], header: BatchHeader): Effect[] {
  const { producerId } = header;
  const waiting = ctx.verifications.find((v) => v.producerId === producerId);
  if (waiting !== undefined) {
    waiting.queued.push({ from, body });
    return [];
  }
  ctx.requestSeq += 1;
  const requestId = `${ctx.config.nodeId}/${ctx.leaderEpoch}/verify/${ctx.requestSeq}`;
  ctx.verifications.push({ requestId, producerId, deadlineMs: ctx.nowMs + body.timeoutMs, stale: false, queued: [{ from, body }] });
  return [
    send({ node: ctx.config.nodeId, actor: ctx.config.brokerActor }, 'VerifyTxnPartitionRequest', {
      requestId, replyTo: { node: ctx.config.nodeId, actor: selfAddress(ctx) }, transactionalId: body.transactionalId, producerId,
      producerEpoch: header.producerEpoch, topic: ctx.topic, partition: ctx.partition,
    }),
    ...armWaitTimer(ctx),
  ];
}

/**
 * The coordinator answered: the queued writes go on in order, or are refused. Errors that
 * mean "ask again" reach the client as NOT_ENOUGH_REPLICAS, which every client retries (as
 * Kafka does for KIP-890); a fenced producer hears INVALID_PRODUCER_EPOCH.
 */
const txnVerified: Handler = (ctx, event) => {
  const { body } = wire(event, 'VerifyTxnPartitionResponse');
  const at = ctx.verifications.findIndex((v) => v.requestId === body.requestId);
  if (at < 0) return [];
  const [verification] = ctx.verifications.splice(at, 1);
  if (body.errorCode === ErrorCode.NONE && !verification!.stale) {
    return [...verification!.queued.flatMap((q) => acceptProduce(ctx, q.from, q.body, true)), ...armWaitTimer(ctx)];
  }
  return [...refuseVerified(ctx, verification!, verificationError(verification!.stale ? ErrorCode.INVALID_TXN_STATE : body.errorCode)), ...armWaitTimer(ctx)];
};

function verificationError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    default:
      return errorCode;
  }
}

function refuseVerified(ctx: PartitionContext, verification: TxnVerification, errorCode: number): Effect[] {
  return verification.queued
    .filter((q) => q.body.acks !== 0)
    .map((q) => send(q.from, 'ProduceResponse', produceReply(ctx, q.body.requestId, errorCode, -1, 'the transaction coordinator did not confirm the partition')));
}

/**
 * Kafka's checks of transactional writes: clients never write control batches (markers come
 * from coordinators, through WriteTxnMarkers), a transactional batch needs a producer id, and
 * a producer with a transaction open here writes transactionally until its marker.
 */
function transactionalRefusal(
  ctx: PartitionContext, from: Address, body: WireMessages['ProduceRequest'], header: BatchHeader, idempotent: BatchHeader | null,
): { errorCode: number; message: string } | null {
  if (header.isControl) return { errorCode: ErrorCode.INVALID_RECORD, message: 'clients cannot write control batches' };
  if (header.isTransactional && header.producerId < 0) return { errorCode: ErrorCode.INVALID_RECORD, message: 'a transactional batch needs a producer id' };
  // Only a group coordinator writes transactional batches without a sequence (offsets of a transaction).
  if (header.isTransactional && header.baseSequence < 0 && !isGroupCoordinatorActorId(from.actor)) {
    return { errorCode: ErrorCode.INVALID_RECORD, message: 'a transactional batch needs a sequence' };
  }
  if (header.isTransactional && header.baseSequence >= 0 && body.transactionalId === '') {
    return { errorCode: ErrorCode.INVALID_RECORD, message: 'transactional records need the producer\'s transactional id' };
  }
  if (idempotent !== null && !idempotent.isTransactional && openTxnFirstOffset(ctx.txns, idempotent.producerId) >= 0) {
    return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `producer ${idempotent.producerId} has a transaction open here and wrote outside it` };
  }
  return null;
}

/**
 * The header of a produce request's first batch, read once for all the checks before the
 * append; null when it cannot be read (too short, a bad field): the log then refuses the
 * request with its own message (CORRUPT_MESSAGE), as it does a bad magic byte or CRC.
 */
function firstBatchHeader(records: Uint8Array): BatchHeader | null {
  try {
    return readBatchHeader(records, 0);
  } catch (error) {
    if (error instanceof InvalidBatchError || error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * The header of a produce request's batch when it comes from an idempotent producer, null
 * when it does not, or why the request is malformed (Kafka wants exactly one batch then).
 */
function idempotentHeader(header: BatchHeader | null, recordsBytes: number): BatchHeader | null | string {
  if (header === null || header.producerId < 0) return null;
  if (header.sizeBytes !== recordsBytes) return `an idempotent producer must send one record batch per partition`;
  return header;
}

/** A retried batch that is already in the log (or on its way): answer with the first copy's offsets. */
function answerRetry(ctx: PartitionContext, batch: ProducerBatch, from: Address, requestId: string, acks: number, deadlineMs: number): Effect[] {
  if (batch.firstOffset < 0) {
    ctx.duplicatesWaiting.push({ batch, from, requestId, acks, deadlineMs });
    return [];
  }
  if (acks === 0) return [];
  ctx.pendingProduces.push({ from, requestId, acks, baseOffset: batch.firstOffset, lastOffset: batch.lastOffset, deadlineMs, marker: null });
  return [...completeProduces(ctx), ...armWaitTimer(ctx)];
}

/** The first copy's append finished (or failed): the retries that waited on it follow. */
function answerDuplicates(ctx: PartitionContext, batch: ProducerBatch, failure: number): Effect[] {
  const waiting = ctx.duplicatesWaiting.filter((d) => d.batch === batch);
  if (waiting.length === 0) return [];
  ctx.duplicatesWaiting = ctx.duplicatesWaiting.filter((d) => d.batch !== batch);
  const effects: Effect[] = [];
  for (const d of waiting) {
    if (failure !== ErrorCode.NONE) {
      if (d.acks !== 0) effects.push(send(d.from, 'ProduceResponse', produceReply(ctx, d.requestId, failure, -1)));
    } else {
      effects.push(...answerRetry(ctx, batch, d.from, d.requestId, d.acks, d.deadlineMs));
    }
  }
  return effects;
}

function produceAppended(ctx: PartitionContext, work: Extract<LogWork, { kind: 'produce' }>, current: boolean, firstOffset: number, lastOffset: number): Effect[] {
  const effects: Effect[] = [];
  if (work.producer !== null) {
    work.producer.batch.firstOffset = firstOffset;
    work.producer.batch.lastOffset = lastOffset;
  }
  if (!current || ctx.role !== 'leader') {
    if (work.producer !== null) effects.push(...answerDuplicates(ctx, work.producer.batch, ErrorCode.NOT_LEADER_OR_FOLLOWER));
    return work.acks === 0 ? effects : [...effects, send(work.from, 'ProduceResponse', produceReply(ctx, work.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1))];
  }
  if (work.txn !== null) noteTxnBatch(ctx.txns, { ...work.txn, baseOffset: firstOffset, lastOffset });
  if (ctx.flushRequested < lastOffset + 1) effects.push(flushTo(ctx, lastOffset + 1));
  if (work.acks !== 0) {
    ctx.pendingProduces.push({ from: work.from, requestId: work.requestId, acks: work.acks, baseOffset: firstOffset, lastOffset, deadlineMs: work.deadlineMs, marker: null });
    effects.push(...armWaitTimer(ctx));
  }
  if (work.producer !== null) effects.push(...answerDuplicates(ctx, work.producer.batch, ErrorCode.NONE));
  effects.push(...serveParkedFetches(ctx));
  return effects;
}

function leaderDurable(ctx: PartitionContext): Effect[] {
  return [...advanceHighWatermark(ctx), ...completeProduces(ctx)];
}

/** The ISR the high watermark waits for: the current one plus any member being added. */
function maximalIsr(ctx: PartitionContext): number[] {
  if (ctx.pendingIsr === null) return ctx.isr;
  return [...new Set([...ctx.isr, ...ctx.pendingIsr])];
}

function advanceHighWatermark(ctx: PartitionContext): Effect[] {
  if (ctx.role !== 'leader' || !ctx.ready) return [];
  let candidate = ctx.durableEnd;
  for (const id of maximalIsr(ctx)) {
    if (id === ctx.config.nodeId) continue;
    const progress = ctx.followers.get(id);
    const held = ctx.config.bugs?.countUnsyncedFollowerEnd === true ? progress?.fetchOffset : progress?.durableOffset;
    candidate = Math.min(candidate, held ?? -1);
  }
  if (candidate <= ctx.highWatermark) return [];
  ctx.highWatermark = candidate;
  return [...completeProduces(ctx), ...serveParkedFetches(ctx)];
}

function completeProduces(ctx: PartitionContext): Effect[] {
  const effects: Effect[] = [];
  const still: PendingProduce[] = [];
  for (const pending of ctx.pendingProduces) {
    const done = pending.acks === acksAll ? pending.lastOffset < ctx.highWatermark : pending.lastOffset < ctx.durableEnd;
    if (!done) {
      still.push(pending);
      continue;
    }
    if (pending.marker !== null) {
      effects.push(...markerCommitted(ctx, pending, pending.marker));
      continue;
    }
    const errorCode = pending.acks === acksAll && ctx.isr.length < minInsyncReplicas(ctx) ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE;
    effects.push(send(pending.from, 'ProduceResponse', produceReply(ctx, pending.requestId, errorCode, errorCode === ErrorCode.NONE ? pending.baseOffset : -1)));
  }
  ctx.pendingProduces = still;
  return effects;
}

const fetch: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'FetchRequest');
  if (holdsEarly(ctx, body)) return holdEarly(ctx, wire(event, 'FetchRequest'));
  let errorCode = leaderError(ctx);
  if (errorCode === ErrorCode.NONE) errorCode = epochError(ctx, body.currentLeaderEpoch);
  const isFollower = body.replicaId !== consumerReplicaId;
  if (errorCode === ErrorCode.NONE && isFollower && (!ctx.replicas.includes(body.replicaId) || body.replicaId === ctx.config.nodeId)) {
    errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  // A new leader serves consumers once its high watermark has reached its own epoch (it
  // cannot be below the old leader's then), so that the watermark clients see never goes back.
  if (errorCode === ErrorCode.NONE && !isFollower && ctx.highWatermark < ctx.epochStartOffset) errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
  if (errorCode === ErrorCode.NONE && (body.fetchOffset < ctx.logStartOffset || body.fetchOffset > ctx.logEndOffset)) {
    errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
  }
  if (errorCode !== ErrorCode.NONE) {
    const refusal: Effect[] = [send(from, 'FetchResponse', fetchReply(ctx, body.requestId, errorCode, new Uint8Array(0)))];
    if (isFollower && ctx.role === 'leader' && ctx.ready) {
      refusal.push({
        type: 'note', level: 'warn',
        message: `${selfAddress(ctx)}: refused fetch from replica ${body.replicaId} (offset ${body.fetchOffset}, leader epoch ${body.currentLeaderEpoch}; ours ${ctx.leaderEpoch}, log end ${ctx.logEndOffset}): ${errorName(errorCode)}`,
      });
    }
    return refusal;
  }
  const effects: Effect[] = [];
  if (isFollower) {
    // A follower waits for the answer to its latest fetch only: a new one (after its retry
    // timer) replaces one still held here.
    ctx.parkedFetches = ctx.parkedFetches.filter((p) => p.request.replicaId !== body.replicaId);
    effects.push(...followerFetched(ctx, body.replicaId, body.fetchOffset, Math.min(body.durableOffset ?? 0, body.fetchOffset)));
  }
  const parked: ParkedFetch = { from, request: body, deadlineMs: ctx.nowMs + body.maxWaitMs };
  if (readableEnd(ctx, body) > body.fetchOffset || body.maxWaitMs === 0) {
    effects.push(readFor(ctx, parked));
  } else {
    ctx.parkedFetches.push(parked);
    effects.push(...armWaitTimer(ctx));
  }
  return effects;
};

/** Followers read up to the log end; consumers below the high watermark, or below the last stable offset (read_committed). */
function readableEnd(ctx: PartitionContext, request: FetchRequest): number {
  if (request.replicaId !== consumerReplicaId) return ctx.logEndOffset;
  return consumerEnd(ctx, request.isolationLevel);
}

/** Where a consumer's reads end: the last stable offset for read_committed, else the high watermark. */
function consumerEnd(ctx: PartitionContext, isolationLevel: number): number {
  return isolationLevel === readCommitted ? lastStableOffset(ctx.txns, ctx.highWatermark) : ctx.highWatermark;
}

function readFor(ctx: PartitionContext, fetchRequest: ParkedFetch): Effect {
  const { request } = fetchRequest;
  return logOp(ctx, { kind: 'logRead', offset: request.fetchOffset, maxBytes: request.maxBytes, maxOffset: readableEnd(ctx, request) }, {
    kind: 'read', generation: ctx.roleGeneration, from: fetchRequest.from, request,
  });
}

function answerRead(ctx: PartitionContext, work: Extract<LogWork, { kind: 'read' }>, bytes: Uint8Array): Effect[] {
  if (work.generation !== ctx.roleGeneration || ctx.role !== 'leader') {
    return [send(work.from, 'FetchResponse', fetchReply(ctx, work.request.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, new Uint8Array(0)))];
  }
  const { request } = work;
  if (request.isolationLevel !== readCommitted || request.replicaId !== consumerReplicaId || bytes.length === 0) {
    return [send(work.from, 'FetchResponse', fetchReply(ctx, request.requestId, ErrorCode.NONE, bytes))];
  }
  // The consumer drops the records of the aborted transactions listed (whole batches with their
  // CRCs checked, as a log read returns them: the walk need not check them again).
  const { headers } = scanBatches(bytes);
  const overlapping = abortedOverlapping(ctx.txns, request.fetchOffset, (headers[headers.length - 1]?.lastOffset ?? -1) + 1);
  const aborted = ctx.config.bugs?.listAbortedWithoutData === true ? overlapping : abortedWithDataIn(overlapping, headers);
  return [send(work.from, 'FetchResponse', fetchReply(ctx, request.requestId, ErrorCode.NONE, bytes, '', packAborted(aborted)))];
}

/**
 * The aborted transactions with a data batch among `headers`: only those need listing (a
 * consumer drops nothing else of the producer's), and only those are sure to still have their
 * abort marker in the log. The cleaner removes a marker once no data of its transaction is
 * left, and the index may still name such a transaction (the replica learns of cleanings only
 * when it reopens the log); listed without its marker, it would make the consumer drop the
 * producer's later committed records until its next abort marker. The bytes are one read of
 * the log, so data in them means the marker was in the log too.
 */
function abortedWithDataIn(overlapping: readonly AbortedTxn[], headers: readonly BatchHeader[]): AbortedTxn[] {
  if (overlapping.length === 0) return [];
  return overlapping.filter((txn) => headers.some((h) => h.producerId === txn.producerId && h.isTransactional && !h.isControl
    && h.lastOffset >= txn.firstOffset && h.baseOffset < txn.lastOffset));
}

/**
 * A follower fetched from `fetchOffset` (its log end) with its log durable below
 * `durableOffset`. Whether it keeps up (replica.lag.time.max.ms) goes by its log end, as in
 * Kafka; the high watermark and a return to the ISR go by what it holds on disk.
 */
function followerFetched(ctx: PartitionContext, replicaId: number, fetchOffset: number, durableOffset: number): Effect[] {
  let progress = ctx.followers.get(replicaId);
  if (progress === undefined) {
    progress = { fetchOffset: -1, durableOffset: -1, lastFetchMs: ctx.nowMs, lastCaughtUpMs: ctx.nowMs, leaderEndAtLastFetch: 0 };
    ctx.followers.set(replicaId, progress);
  }
  if (fetchOffset >= ctx.logEndOffset) progress.lastCaughtUpMs = ctx.nowMs;
  else if (fetchOffset >= progress.leaderEndAtLastFetch) progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, progress.lastFetchMs);
  progress.fetchOffset = fetchOffset;
  progress.durableOffset = durableOffset;
  progress.lastFetchMs = ctx.nowMs;
  progress.leaderEndAtLastFetch = ctx.logEndOffset;
  const effects = advanceHighWatermark(ctx);
  // A follower that caught up with the high watermark and this epoch rejoins the ISR.
  if (!ctx.isr.includes(replicaId) && durableOffset >= ctx.highWatermark && durableOffset >= ctx.epochStartOffset) {
    effects.push(...proposeIsr(ctx, [...ctx.isr, replicaId]));
  }
  return effects;
}

function serveParkedFetches(ctx: PartitionContext): Effect[] {
  const effects: Effect[] = [];
  const still: ParkedFetch[] = [];
  for (const parked of ctx.parkedFetches) {
    if (readableEnd(ctx, parked.request) > parked.request.fetchOffset) effects.push(readFor(ctx, parked));
    else still.push(parked);
  }
  ctx.parkedFetches = still;
  return effects;
}

function armWaitTimer(ctx: PartitionContext): Effect[] {
  let deadline = Number.POSITIVE_INFINITY;
  for (const pending of ctx.pendingProduces) deadline = Math.min(deadline, pending.deadlineMs);
  for (const parked of ctx.parkedFetches) deadline = Math.min(deadline, parked.deadlineMs);
  for (const verification of ctx.verifications) deadline = Math.min(deadline, verification.deadlineMs);
  if (deadline === Number.POSITIVE_INFINITY) return [{ type: 'timer.cancel', event: 'WaitExpired' }];
  return [{ type: 'timer.set', event: 'WaitExpired', delayMs: Math.max(0, deadline - ctx.nowMs), jitterMs: 0 }];
}

const waitExpired: Handler = (ctx) => {
  const effects: Effect[] = [];
  const produces: PendingProduce[] = [];
  for (const pending of ctx.pendingProduces) {
    if (pending.deadlineMs > ctx.nowMs) produces.push(pending);
    else effects.push(refusePending(ctx, pending, ErrorCode.REQUEST_TIMED_OUT));
  }
  ctx.pendingProduces = produces;
  const fetches: ParkedFetch[] = [];
  for (const parked of ctx.parkedFetches) {
    if (parked.deadlineMs > ctx.nowMs) fetches.push(parked);
    else effects.push(send(parked.from, 'FetchResponse', fetchReply(ctx, parked.request.requestId, ErrorCode.NONE, new Uint8Array(0))));
  }
  ctx.parkedFetches = fetches;
  const verifications: TxnVerification[] = [];
  for (const verification of ctx.verifications) {
    if (verification.deadlineMs > ctx.nowMs) verifications.push(verification);
    else effects.push(...refuseVerified(ctx, verification, ErrorCode.REQUEST_TIMED_OUT));
  }
  ctx.verifications = verifications;
  effects.push(...armWaitTimer(ctx));
  return effects;
};

const offsetForLeaderEpoch: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'OffsetForLeaderEpochRequest');
  let errorCode = leaderError(ctx);
  if (errorCode === ErrorCode.NONE) errorCode = epochError(ctx, body.currentLeaderEpoch);
  const answer = errorCode === ErrorCode.NONE ? endOffsetForEpoch(ctx.epochs, ctx.logEndOffset, body.leaderEpoch) : { epoch: -1, endOffset: -1 };
  return [send(from, 'OffsetForLeaderEpochResponse', {
    requestId: body.requestId, errorCode, leaderEpoch: answer.epoch, endOffset: answer.endOffset, leaderHint: ctx.leader,
    topic: ctx.topic, partition: ctx.partition,
  })];
};

function listOffsetsReply(ctx: PartitionContext, requestId: string, errorCode: number, offset: number, timestamp: number): WireMessages['ListOffsetsResponse'] {
  return { requestId, errorCode, offset, timestamp, leaderEpoch: ctx.leaderEpoch, leaderHint: ctx.leader, topic: ctx.topic, partition: ctx.partition };
}

/**
 * ListOffsets: the log start, the end of a consumer's reads (consumerEnd: the last stable
 * offset for read_committed, else the high watermark), or the first offset at or after a time,
 * or of the largest timestamp (KIP-734), that lies below that end; one at or past it is
 * answered as not found (-1), as Kafka's Partition.fetchOffsetForTimestamp does with its
 * "last fetchable offset".
 */
const listOffsets: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'ListOffsetsRequest');
  let errorCode = leaderError(ctx);
  if (errorCode === ErrorCode.NONE) errorCode = epochError(ctx, body.currentLeaderEpoch);
  if (errorCode !== ErrorCode.NONE) return [send(from, 'ListOffsetsResponse', listOffsetsReply(ctx, body.requestId, errorCode, -1, -1))];
  if (body.timestamp === earliestTimestamp) return [send(from, 'ListOffsetsResponse', listOffsetsReply(ctx, body.requestId, ErrorCode.NONE, ctx.logStartOffset, -1))];
  // KIP-207: until a new leader's watermark reaches its epoch, "latest" could go back.
  const watermarkLags = ctx.highWatermark < ctx.epochStartOffset;
  if (body.timestamp === latestTimestamp) {
    const offset = watermarkLags ? -1 : consumerEnd(ctx, body.isolationLevel);
    return [send(from, 'ListOffsetsResponse', listOffsetsReply(ctx, body.requestId, watermarkLags ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.NONE, offset, -1))];
  }
  if (body.timestamp < 0 && body.timestamp !== maxTimestampQuery) {
    return [send(from, 'ListOffsetsResponse', listOffsetsReply(ctx, body.requestId, ErrorCode.INVALID_REQUEST, -1, -1))];
  }
  const maxOffset = consumerEnd(ctx, body.isolationLevel);
  const op: LogOp = body.timestamp === maxTimestampQuery
    ? { kind: 'logOffsetOfMaxTimestamp', maxOffset }
    : { kind: 'logOffsetForTime', timestamp: body.timestamp, maxOffset };
  return [logOp(ctx, op, { kind: 'offsetForTime', generation: ctx.roleGeneration, from, requestId: body.requestId, watermarkLags })];
};

// ---------------------------------------------------------------------------------------
// Transaction markers (WriteTxnMarkers), from a transaction coordinator through its broker.

/**
 * Appends a commit or abort marker for a producer's transaction here: a control batch with
 * the producer's id and the coordinator's epoch for it, answered once it is committed (below
 * the high watermark), as Kafka appends markers with acks=all. A marker whose producer epoch
 * is older than this partition's is a stale coordinator's or a fenced producer's. A marker for
 * a producer without a transaction open here is written anyway (it closes nothing), as Kafka
 * does.
 */
const writeTxnMarker: Handler = (ctx, event) => {
  const { body } = wire(event, 'WriteTxnMarkerRequest');
  let errorCode = leaderError(ctx);
  if (errorCode === ErrorCode.NONE && ctx.isr.length < minInsyncReplicas(ctx)) errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
  const known = ctx.producers.get(body.producerId);
  if (errorCode === ErrorCode.NONE && known !== undefined && body.producerEpoch < known.epoch) errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
  if (errorCode !== ErrorCode.NONE) return [send(body.replyTo, 'WriteTxnMarkerResponse', markerReply(ctx, body.requestId, errorCode))];
  const marker: PendingMarker = { producerId: body.producerId, producerEpoch: body.producerEpoch, commit: body.commit };
  // From now on the log holds the marker before anything else of this producer: its epoch
  // takes effect at once (a fenced producer's write arriving during the append is refused),
  // and a check under way no longer says the transaction is open.
  recordBatch(ctx.producers, { producerId: body.producerId, producerEpoch: body.producerEpoch, baseSequence: -1, lastOffsetDelta: 0, baseOffset: -1, lastOffset: -1 }, -1, -1);
  for (const verification of ctx.verifications) if (verification.producerId === body.producerId) verification.stale = true;
  return [logOp(ctx, { kind: 'logAppend', bytes: markerBatch(ctx, body), leaderEpoch: ctx.leaderEpoch }, {
    kind: 'marker', generation: ctx.roleGeneration, replyTo: body.replyTo, requestId: body.requestId, marker,
    deadlineMs: ctx.nowMs + ctx.config.requestTimeoutMs,
  })];
};

/** Kafka's control batch: one record, key (version 0, type), value (version 0, coordinator epoch). */
function markerBatch(ctx: PartitionContext, body: WireMessages['WriteTxnMarkerRequest']): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, body.commit ? controlTypes.commit : controlTypes.abort);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, body.coordinatorEpoch);
  // Whole milliseconds: a real node's clock has fractions, a batch's int64 timestamp has not.
  return encodeRecordBatch([{ key, value, timestamp: Math.floor(ctx.nowMs) }], {
    producerId: body.producerId, producerEpoch: body.producerEpoch, baseSequence: -1, transactional: true, control: true,
  });
}

function markerAppended(ctx: PartitionContext, work: Extract<LogWork, { kind: 'marker' }>, current: boolean, offset: number): Effect[] {
  const { marker } = work;
  const header: TxnHeader = {
    producerId: marker.producerId, producerEpoch: marker.producerEpoch, baseSequence: -1, lastOffsetDelta: 0, baseOffset: offset, lastOffset: offset,
    isTransactional: true, isControl: true, controlType: marker.commit ? controlTypes.commit : controlTypes.abort,
  };
  replayBatch(ctx.producers, header);
  noteTxnBatch(ctx.txns, header);
  for (const verification of ctx.verifications) if (verification.producerId === marker.producerId) verification.stale = true;
  if (!current || ctx.role !== 'leader') {
    return [send(work.replyTo, 'WriteTxnMarkerResponse', markerReply(ctx, work.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER))];
  }
  const effects: Effect[] = [];
  if (ctx.flushRequested < offset + 1) effects.push(flushTo(ctx, offset + 1));
  ctx.pendingProduces.push({ from: work.replyTo, requestId: work.requestId, acks: acksAll, baseOffset: offset, lastOffset: offset, deadlineMs: work.deadlineMs, marker });
  effects.push(...armWaitTimer(ctx), ...serveParkedFetches(ctx));
  return effects;
}

/**
 * A marker below the high watermark: the coordinator hears it is written, and on an offsets
 * partition the group coordinator beside this leader makes the transaction's offsets visible
 * (commit) or drops them (abort).
 */
function markerCommitted(ctx: PartitionContext, pending: PendingProduce, marker: PendingMarker): Effect[] {
  const effects: Effect[] = [send(pending.from, 'WriteTxnMarkerResponse', markerReply(ctx, pending.requestId, ErrorCode.NONE))];
  if (ctx.topic === consumerOffsetsTopic) {
    effects.push(send({ node: ctx.config.nodeId, actor: groupCoordinatorActorId(ctx.partition) }, 'TxnMarkerWritten', {
      topic: ctx.topic, partition: ctx.partition, producerId: marker.producerId, producerEpoch: marker.producerEpoch, commit: marker.commit,
      offset: pending.baseOffset,
    }));
  }
  return effects;
}

const checkIsr: Handler = (ctx) => {
  const effects: Effect[] = [
    { type: 'timer.set', event: 'IsrCheckFired', delayMs: Math.max(1, Math.floor(ctx.config.replicaLagTimeMaxMs / 2)), jitterMs: 0 },
  ];
  if (!ctx.ready) return effects;
  const lagging = ctx.isr.filter((id) => {
    if (id === ctx.config.nodeId) return false;
    const progress = ctx.followers.get(id);
    return progress === undefined || ctx.nowMs - progress.lastCaughtUpMs > ctx.config.replicaLagTimeMaxMs;
  });
  if (lagging.length > 0) effects.push(...proposeIsr(ctx, ctx.isr.filter((id) => !lagging.includes(id))));
  return effects;
};

/** Asks the controller, through the broker, for a new ISR; one change at a time. */
function proposeIsr(ctx: PartitionContext, newIsr: number[]): Effect[] {
  if (ctx.pendingIsr !== null || ctx.nowMs < ctx.alterRetryAtMs) return [];
  ctx.pendingIsr = [...newIsr].sort((a, b) => a - b);
  ctx.pendingIsrBase = ctx.partitionEpoch;
  ctx.pendingIsrAwaitsMetadata = false;
  return sendAlterPartition(ctx);
}

function sendAlterPartition(ctx: PartitionContext): Effect[] {
  ctx.requestSeq += 1;
  ctx.alterRequestId = `${ctx.config.nodeId}/${ctx.leaderEpoch}/isr/${ctx.requestSeq}`;
  return [
    send({ node: ctx.config.nodeId, actor: ctx.config.brokerActor }, 'AlterPartitionRequest', {
      brokerId: ctx.config.nodeId, brokerEpoch: 0, topicId: ctx.topicId, partition: ctx.partition, leaderEpoch: ctx.leaderEpoch,
      partitionEpoch: ctx.pendingIsrBase, newIsr: ctx.pendingIsr!, topic: ctx.topic, requestId: ctx.alterRequestId,
    }),
    { type: 'timer.set', event: 'AlterPartitionRetryFired', delayMs: ctx.config.requestTimeoutMs, jitterMs: 0 },
  ];
}

const alterPartitionAnswered: Handler = (ctx, event) => {
  const { body } = wire(event, 'AlterPartitionResponse');
  // Only the answer to the latest attempt counts: older ones may arrive late or twice.
  if (ctx.role !== 'leader' || ctx.pendingIsr === null || body.requestId !== ctx.alterRequestId) return [];
  if (body.errorCode === ErrorCode.NOT_CONTROLLER) return []; // the retry timer asks again
  const effects: Effect[] = [{ type: 'timer.cancel', event: 'AlterPartitionRetryFired' }];
  if (body.errorCode === ErrorCode.NONE) {
    if (body.leaderEpoch === ctx.leaderEpoch && body.partitionEpoch > ctx.partitionEpoch) {
      ctx.isr = [...body.isr];
      ctx.partitionEpoch = body.partitionEpoch;
    }
    ctx.pendingIsr = null;
    return [...effects, ...advanceHighWatermark(ctx)];
  }
  if (body.errorCode === ErrorCode.INVALID_UPDATE_VERSION || body.errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
    // Something changed the partition (maybe our own earlier attempt): keep counting the
    // proposed members until the metadata says what the ISR is. Ask again now and then, in
    // case that change was lost with a controller that never committed it.
    ctx.pendingIsrAwaitsMetadata = true;
    return [{ type: 'timer.set', event: 'AlterPartitionRetryFired', delayMs: ctx.config.requestTimeoutMs, jitterMs: 0 }];
  }
  // A definite refusal (a member not eligible, our broker fenced): try again later.
  ctx.pendingIsr = null;
  ctx.alterRetryAtMs = ctx.nowMs + ctx.config.requestTimeoutMs;
  return effects;
};

const retryAlterPartition: Handler = (ctx) => {
  if (ctx.role !== 'leader' || ctx.pendingIsr === null) return [];
  return sendAlterPartition(ctx);
};

// ---------------------------------------------------------------------------------------
// Follower.

const becomeFollower: Handler = (ctx) => {
  ctx.role = 'follower';
  ctx.roleGeneration = ctx.goalGeneration;
  ctx.inflightRequestId = '';
  ctx.leaderLogEnd = 0;
  const scrub = [...refuseEarlyFetches(ctx), ...scrubTimer(ctx)];
  if (ctx.leader < 0) {
    ctx.phase = 'offline';
    return scrub;
  }
  ctx.phase = 'syncing';
  return [...scrub, logOp(ctx, { kind: 'logOpen', configs: ctx.configs }, { kind: 'open', generation: ctx.roleGeneration })];
};

const stopFollowing: Handler = (ctx) => {
  ctx.inflightRequestId = '';
  return [{ type: 'timer.cancel', event: 'ReplicaRetryFired' }, { type: 'timer.cancel', event: 'ScrubFired' }];
};

function nextRequestId(ctx: PartitionContext): string {
  ctx.requestSeq += 1;
  ctx.inflightRequestId = `${ctx.config.nodeId}/${ctx.leaderEpoch}/${ctx.requestSeq}`;
  return ctx.inflightRequestId;
}

/** KIP-279: ask the leader where our last epoch ends there, before fetching anything. */
function startTruncation(ctx: PartitionContext): Effect[] {
  if (ctx.epochs.length === 0) {
    ctx.phase = 'fetching';
    return [flushTo(ctx, ctx.logEndOffset)];
  }
  ctx.phase = 'truncating';
  return [
    send(leaderAddress(ctx), 'OffsetForLeaderEpochRequest', {
      requestId: nextRequestId(ctx), topic: ctx.topic, partition: ctx.partition, replicaId: ctx.config.nodeId,
      currentLeaderEpoch: ctx.leaderEpoch, leaderEpoch: lastEpoch(ctx),
    }),
    { type: 'timer.set', event: 'ReplicaRetryFired', delayMs: ctx.config.requestTimeoutMs, jitterMs: 0 },
  ];
}

const epochEndAnswered: Handler = (ctx, event) => {
  const { body } = wire(event, 'OffsetForLeaderEpochResponse');
  if (ctx.role !== 'follower' || ctx.phase !== 'truncating' || body.requestId !== ctx.inflightRequestId) return [];
  ctx.inflightRequestId = '';
  if (body.errorCode !== ErrorCode.NONE) return retryLater(ctx);
  const effects: Effect[] = [{ type: 'timer.cancel', event: 'ReplicaRetryFired' }];
  // The leader's answer may name an earlier epoch than ours: then our log is good only up
  // to where that epoch ends here too.
  let target = Math.min(body.endOffset, ctx.logEndOffset);
  if (body.leaderEpoch >= 0 && body.leaderEpoch < lastEpoch(ctx)) {
    target = Math.min(target, endOffsetForEpoch(ctx.epochs, ctx.logEndOffset, body.leaderEpoch).endOffset);
  }
  if (body.leaderEpoch < 0) target = Math.min(target, ctx.logStartOffset);
  if (target < ctx.logEndOffset) {
    effects.push(logOp(ctx, { kind: 'logTruncate', offset: Math.max(target, 0) }, { kind: 'truncate', generation: ctx.roleGeneration }));
    return effects;
  }
  ctx.phase = 'fetching';
  effects.push(flushTo(ctx, ctx.logEndOffset));
  return effects;
};

/** The fetchBeforeFsync bug switch. */
function fetchesBeforeFsync(ctx: PartitionContext): boolean {
  return ctx.config.bugs?.fetchBeforeFsync === true;
}

function sendFetch(ctx: PartitionContext): Effect[] {
  return [
    send(leaderAddress(ctx), 'FetchRequest', {
      requestId: nextRequestId(ctx), topic: ctx.topic, partition: ctx.partition, replicaId: ctx.config.nodeId,
      // From the log end; only what is below the durable end may count for the high watermark.
      fetchOffset: ctx.logEndOffset, durableOffset: fetchesBeforeFsync(ctx) ? ctx.logEndOffset : ctx.durableEnd, lastFetchedEpoch: lastEpoch(ctx), currentLeaderEpoch: ctx.leaderEpoch,
      maxBytes: ctx.config.replicaFetchMaxBytes, maxWaitMs: ctx.config.replicaFetchWaitMaxMs, minBytes: 1, isolationLevel: 0,
    }),
    { type: 'timer.set', event: 'ReplicaRetryFired', delayMs: ctx.config.replicaFetchWaitMaxMs + ctx.config.requestTimeoutMs, jitterMs: 0 },
  ];
}

function retryLater(ctx: PartitionContext): Effect[] {
  ctx.inflightRequestId = '';
  return [{ type: 'timer.set', event: 'ReplicaRetryFired', delayMs: ctx.config.replicaFetchBackoffMs, jitterMs: 0 }];
}

const fetchAnswered: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'FetchResponse');
  if (ctx.role !== 'follower' || ctx.phase !== 'fetching' || body.requestId !== ctx.inflightRequestId) return [];
  ctx.inflightRequestId = '';
  if (body.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
    ctx.phase = 'truncating';
    return retryLater(ctx);
  }
  if (body.errorCode !== ErrorCode.NONE) return retryLater(ctx);
  const effects: Effect[] = [{ type: 'timer.cancel', event: 'ReplicaRetryFired' }];
  if (body.leaderEpoch === ctx.leaderEpoch) {
    ctx.highWatermark = Math.max(ctx.highWatermark, Math.min(body.highWatermark, ctx.durableEnd));
    ctx.tombstoneHorizon = Math.min(body.tombstoneHorizon, ctx.highWatermark);
  }
  ctx.leaderLogEnd = body.logEndOffset;
  if (body.records.length === 0) return [...effects, ...fetchWhenReady(ctx)];
  const checked = checkReplicatedBatches(ctx, body.records);
  if (typeof checked === 'string') {
    return [
      ...effects,
      { type: 'note', level: 'warn', message: `${selfAddress(ctx)}: refused records from node ${from.node}: ${checked}` },
      ...retryLater(ctx),
    ];
  }
  effects.push(logOp(ctx, { kind: 'logAppend', bytes: body.records, leaderEpoch: -1 }, {
    kind: 'followerAppend', generation: ctx.roleGeneration, epochs: checked.epochs, producerHeaders: checked.producerHeaders,
  }));
  return effects;
};

/**
 * The batches a leader sent must continue our log (across gaps its cleaner left in a compacted
 * log) and carry no epoch newer than the leader's; returns the epochs they start, or why they
 * are refused. (The log checks CRCs.)
 */
function checkReplicatedBatches(ctx: PartitionContext, records: Uint8Array): { epochs: EpochStart[]; producerHeaders: TxnHeader[] } | string {
  const epochs: EpochStart[] = [];
  const producerHeaders: TxnHeader[] = [];
  let expected = ctx.logEndOffset;
  let position = 0;
  let top = lastEpoch(ctx);
  try {
    while (position < records.length) {
      const header = readBatchHeader(records, position);
      if (header.baseOffset < expected) return `batch at offset ${header.baseOffset}, expected ${expected} or later`;
      if (header.partitionLeaderEpoch > ctx.leaderEpoch) return `batch of epoch ${header.partitionLeaderEpoch} from a leader of epoch ${ctx.leaderEpoch}`;
      if (header.partitionLeaderEpoch > top) {
        epochs.push({ epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset });
        top = header.partitionLeaderEpoch;
      }
      if (header.producerId >= 0) {
        const { producerId, producerEpoch, baseSequence, lastOffsetDelta, baseOffset, lastOffset, isTransactional, isControl, controlType } = header;
        producerHeaders.push({ producerId, producerEpoch, baseSequence, lastOffsetDelta, baseOffset, lastOffset, isTransactional, isControl, controlType });
      }
      expected = header.lastOffset + 1;
      position += header.sizeBytes;
    }
  } catch (error) {
    if (error instanceof InvalidBatchError || error instanceof RangeError) return error.message;
    throw error;
  }
  return { epochs, producerHeaders };
}

const replicaRetry: Handler = (ctx) => {
  if (ctx.role !== 'follower' || ctx.leader < 0) return [];
  ctx.inflightRequestId = '';
  if (ctx.phase === 'truncating') return startTruncation(ctx);
  if (ctx.phase !== 'fetching' || logBusy(ctx)) return [];
  // A flush that failed is asked again: no later append may come to ask for it.
  const flush = ctx.durableEnd < ctx.logEndOffset && ctx.flushes.size === 0 ? [flushTo(ctx, ctx.logEndOffset)] : [];
  return [...flush, ...sendFetch(ctx)];
};

/** Anyone but the leader answers client requests with where the leader is. */
const notLeader: Handler = (ctx, event) => {
  const request = event as WireEvent;
  const errorCode = leaderError(ctx);
  switch (request.type) {
    case 'ProduceRequest':
      return request.body.acks === 0 ? [] : [send(request.from, 'ProduceResponse', produceReply(ctx, request.body.requestId, errorCode, -1))];
    case 'FetchRequest':
      if (holdsEarly(ctx, request.body)) return holdEarly(ctx, request);
      return [send(request.from, 'FetchResponse', fetchReply(ctx, request.body.requestId, errorCode, new Uint8Array(0)))];
    case 'OffsetForLeaderEpochRequest':
      return [send(request.from, 'OffsetForLeaderEpochResponse', {
        requestId: request.body.requestId, errorCode, leaderEpoch: -1, endOffset: -1, leaderHint: ctx.leader, topic: ctx.topic, partition: ctx.partition,
      })];
    case 'ListOffsetsRequest':
      return [send(request.from, 'ListOffsetsResponse', listOffsetsReply(ctx, request.body.requestId, errorCode, -1, -1))];
    case 'WriteTxnMarkerRequest':
      return [send(request.body.replyTo, 'WriteTxnMarkerResponse', markerReply(ctx, request.body.requestId, errorCode))];
    default:
      return [];
  }
};

// ---------------------------------------------------------------------------------------
// Opening and deleting.

const openLog: Handler = (ctx) => {
  ctx.role = 'opening';
  ctx.opened = false;
  return [logOp(ctx, { kind: 'logOpen', configs: ctx.configs }, { kind: 'open', generation: ctx.roleGeneration })];
};

const deleteLog: Handler = (ctx) => {
  ctx.role = 'deleting';
  ctx.roleGeneration = ctx.goalGeneration;
  ctx.deleted = false;
  return [...refuseEarlyFetches(ctx), logOp(ctx, { kind: 'logDelete' }, { kind: 'delete', generation: ctx.roleGeneration })];
};

/** The topic was recreated under the same name while we deleted the old log: start afresh. */
const restartForNextState: Handler = (ctx) => {
  const state = ctx.nextState!;
  ctx.nextState = null;
  ctx.topicId = state.topicId;
  ctx.leaderEpoch = -1;
  ctx.partitionEpoch = -1;
  ctx.highWatermark = 0;
  ctx.reportedHighWatermark = 0;
  ctx.tombstoneHorizon = 0;
  ctx.reportedTombstoneHorizon = 0;
  ctx.durableEnd = 0;
  ctx.flushRequested = 0;
  ctx.epochs = [];
  ctx.producers = new Map();
  ctx.txns = emptyTxns();
  adoptPartitionState(ctx, state);
  return [];
};

export function initialPartitionContext(input: PartitionInput): PartitionContext {
  const { config, state } = input;
  const ctx: PartitionContext = {
    config,
    nowMs: 0,
    topic: state.topic,
    topicId: state.topicId,
    partition: state.partition,
    replicas: [],
    isr: [],
    leader: -1,
    leaderEpoch: -1,
    partitionEpoch: -1,
    configs: [],
    goal: 'follower',
    goalGeneration: 0,
    role: 'opening',
    roleGeneration: 0,
    nextState: null,
    opened: false,
    deleted: false,
    logStartOffset: 0,
    logEndOffset: 0,
    durableEnd: 0,
    highWatermark: 0,
    reportedHighWatermark: 0,
    tombstoneHorizon: 0,
    reportedTombstoneHorizon: 0,
    epochs: [],
    producers: new Map(),
    txns: emptyTxns(),
    duplicatesWaiting: [],
    logSeq: 0,
    flushes: new Map(),
    flushSeq: 0,
    logWork: [],
    ready: false,
    epochStartOffset: 0,
    followers: new Map(),
    pendingProduces: [],
    parkedFetches: [],
    earlyFetches: [],
    verifications: [],
    flushRequested: 0,
    pendingIsr: null,
    pendingIsrBase: 0,
    pendingIsrAwaitsMetadata: false,
    alterRetryAtMs: 0,
    alterRequestId: '',
    phase: 'offline',
    scrubOffset: 0,
    requestSeq: 0,
    inflightRequestId: '',
    leaderLogEnd: 0,
  };
  if (state.removed) {
    ctx.goal = 'deleting';
  } else {
    adoptPartitionState(ctx, state);
  }
  return ctx;
}

const goalTransitions = [
  { guard: 'shouldDelete', target: 'deleting' },
  { guard: 'shouldLead', target: 'leader', reenter: true },
  { guard: 'shouldFollow', target: 'follower', reenter: true },
] as const;

export const partitionMachine = setup({
  types: {
    context: {} as PartitionContext,
    events: {} as PartitionEvent,
    input: {} as PartitionInput,
    emitted: {} as EffectBatch,
  },
  actions: {
    openLog: effectful(openLog),
    deleteLog: effectful(deleteLog),
    restartForNextState: effectful(restartForNextState),
    stopActor: effectful(() => [{ type: 'stop' }]),
    partitionStateChanged: effectful(partitionStateChanged),
    logCompleted: effectful(logCompleted),
    logFlushed: effectful(logFlushed),
    becomeLeader: effectful(becomeLeader),
    stepDown: effectful(stepDown),
    becomeFollower: effectful(becomeFollower),
    stopFollowing: effectful(stopFollowing),
    produce: effectful(produce),
    fetch: effectful(fetch),
    offsetForLeaderEpoch: effectful(offsetForLeaderEpoch),
    listOffsets: effectful(listOffsets),
    writeTxnMarker: effectful(writeTxnMarker),
    txnVerified: effectful(txnVerified),
    waitExpired: effectful(waitExpired),
    checkIsr: effectful(checkIsr),
    alterPartitionAnswered: effectful(alterPartitionAnswered),
    retryAlterPartition: effectful(retryAlterPartition),
    epochEndAnswered: effectful(epochEndAnswered),
    fetchAnswered: effectful(fetchAnswered),
    replicaRetry: effectful(replicaRetry),
    scrubLog: effectful(scrubLog),
    notLeader: effectful(notLeader),
  },
  guards: {
    shouldDelete: ({ context }) => context.goal === 'deleting' && context.role !== 'deleting',
    shouldLead: ({ context }) =>
      context.goal === 'leader' && context.role !== 'opening' && (context.role !== 'leader' || context.roleGeneration !== context.goalGeneration),
    shouldFollow: ({ context }) =>
      context.goal === 'follower' && context.role !== 'opening' && (context.role !== 'follower' || context.roleGeneration !== context.goalGeneration),
    openedAsLeader: ({ context }) => context.opened && context.goal === 'leader',
    openedAsFollower: ({ context }) => context.opened && context.goal === 'follower',
    openedToDelete: ({ context }) => context.opened && context.goal === 'deleting',
    deletedWithNextState: ({ context }) => context.deleted && context.nextState !== null,
    deletedForGood: ({ context }) => context.deleted && context.nextState === null,
  },
}).createMachine({
  id: 'partition',
  context: ({ input }) => initialPartitionContext(input),
  initial: 'opening',
  on: {
    PartitionStateChange: { actions: 'partitionStateChanged' },
    LogCompleted: { actions: 'logCompleted' },
    LogFlushed: { actions: 'logFlushed' },
    ProduceRequest: { actions: 'notLeader' },
    FetchRequest: { actions: 'notLeader' },
    OffsetForLeaderEpochRequest: { actions: 'notLeader' },
    ListOffsetsRequest: { actions: 'notLeader' },
    WriteTxnMarkerRequest: { actions: 'notLeader' },
  },
  states: {
    opening: {
      entry: 'openLog',
      always: [
        { guard: 'openedToDelete', target: 'deleting' },
        { guard: 'openedAsLeader', target: 'leader' },
        { guard: 'openedAsFollower', target: 'follower' },
      ],
    },
    leader: {
      entry: 'becomeLeader',
      exit: 'stepDown',
      always: [...goalTransitions],
      on: {
        ProduceRequest: { actions: 'produce' },
        FetchRequest: { actions: 'fetch' },
        OffsetForLeaderEpochRequest: { actions: 'offsetForLeaderEpoch' },
        ListOffsetsRequest: { actions: 'listOffsets' },
        WriteTxnMarkerRequest: { actions: 'writeTxnMarker' },
        VerifyTxnPartitionResponse: { actions: 'txnVerified' },
        WaitExpired: { actions: 'waitExpired' },
        IsrCheckFired: { actions: 'checkIsr' },
        AlterPartitionResponse: { actions: 'alterPartitionAnswered' },
        AlterPartitionRetryFired: { actions: 'retryAlterPartition' },
        ScrubFired: { actions: 'scrubLog' },
      },
    },
    follower: {
      entry: 'becomeFollower',
      exit: 'stopFollowing',
      always: [...goalTransitions],
      on: {
        OffsetForLeaderEpochResponse: { actions: 'epochEndAnswered' },
        FetchResponse: { actions: 'fetchAnswered' },
        ReplicaRetryFired: { actions: 'replicaRetry' },
        ScrubFired: { actions: 'scrubLog' },
      },
    },
    deleting: {
      entry: 'deleteLog',
      always: [
        { guard: 'deletedWithNextState', target: 'opening', actions: 'restartForNextState' },
        { guard: 'deletedForGood', target: 'removed' },
      ],
    },
    removed: {
      entry: 'stopActor',
    },
  },
});

export type PartitionMachine = typeof partitionMachine;
