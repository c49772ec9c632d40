// The controller: one member of the Raft metadata quorum (KRaft-like). Followers,
// pre-candidates and candidates elect a leader; the leader (the active controller)
// replicates the metadata log, registers and fences brokers, creates topics and moves
// partition leadership, and serves the committed log to brokers.
//
// Pure: time arrives on events (atMs), randomness as timer jitter chosen by the host,
// durability as StorageCompleted events. Every reply waits until every storage operation
// issued before it is durable (term, vote and log are on disk before anyone hears of them).
import { setup } from 'xstate';
import type {
  Address, LogEntry, MetadataImageMessage, MetadataRecord, Outgoing, WireEvent, WireKind, WireMessages,
  Delivered, CreatableTopicResult,
} from '../protocol/messages.js';
import { type Effect, type EffectBatch, type RaftDurableState, type StorageCompleted, type StorageOp, type TimerFired, effectfulStep } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  type MetadataImage, applyEntry, cloneImage, emptyImage, imageFromMessage, imageToMessage,
} from './metadata-image.js';
import {
  decideAlterPartition, decideCreatePartitions, decideCreateTopic, deriveTopicId, recordsForFence, recordsForPreferredLeaders, recordsForUnfence,
} from './decisions.js';
import { decideAlterScramCredentials, decideCreateAcls, decideDeleteAcls } from './security-decisions.js';
import {
  type RaftLog, compactThrough, entriesAfter, entryAt, isUpToDate, lastIndex, lastTerm, termAt, truncateFrom,
} from './raft-log.js';

export const controllerActorId = 'controller';

export interface ControllerConfig {
  clusterId: string;
  nodeId: number;
  voters: number[];
  /** Base election timeout; each arming adds up to the same again as random jitter. */
  electionTimeoutMs: number;
  heartbeatIntervalMs: number;
  brokerSessionTimeoutMs: number;
  /** Take a snapshot once this many applied entries sit in the log after the last one. */
  snapshotThresholdEntries: number;
  appendEntriesMax: number;
  metadataFetchEntriesMax: number;
  /** unclean.leader.election.enable, the cluster default (topics may override it). */
  uncleanLeaderElectionEnable: boolean;
  /** leader.imbalance.check.interval.ms: how often leadership returns to preferred replicas. */
  leaderImbalanceCheckIntervalMs: number;
  /** Deliberate protocol bugs, for showing that the checkers catch them. Tests only. */
  bugs: ControllerBugs;
}

export interface ControllerBugs {
  /** Grant votes without Raft's log up-to-date check (breaks leader completeness). */
  grantVoteWithoutLogCheck?: boolean;
  /** Grant a second vote in the same term (breaks election safety). */
  voteTwiceInTerm?: boolean;
  /** Accept entries without checking the previous entry (breaks log matching). */
  skipPrevLogCheck?: boolean;
  /** The leader commits what it has written itself, without a quorum. */
  commitWithoutQuorum?: boolean;
}

export const defaultControllerTimings = {
  electionTimeoutMs: 1000,
  heartbeatIntervalMs: 500,
  brokerSessionTimeoutMs: 9000,
  snapshotThresholdEntries: 1000,
  appendEntriesMax: 64,
  metadataFetchEntriesMax: 256,
  uncleanLeaderElectionEnable: false,
  leaderImbalanceCheckIntervalMs: 300_000,
} as const;

export interface ControllerInput {
  config: ControllerConfig;
  durable: RaftDurableState;
}

interface FollowerProgress {
  nextIndex: number;
  matchIndex: number;
  lastContactMs: number;
  /** When the last InstallSnapshot went out; a snapshot is big, so it is not resent every heartbeat. */
  snapshotSentAtMs: number;
}

interface PendingReply {
  index: number;
  message: Outgoing;
}

interface ParkedFetch {
  from: Address;
  fromOffset: number;
  maxWaitMs: number;
  atMs: number;
}

export interface ControllerContext {
  config: ControllerConfig;
  term: number;
  votedFor: number;
  leaderId: number;
  log: RaftLog;
  snapshotImage: MetadataImageMessage | null;
  commitIndex: number;
  /** The state machine: committed records applied in order (offset = last applied). */
  image: MetadataImage;
  nowMs: number;
  lastLeaderContactMs: number;
  storageSeqIssued: number;
  storageSeqDone: number;
  /** Log end after each storage operation still in flight, by seq. */
  logEndAfterSeq: Array<[number, number]>;
  /** The last log index that is on disk. */
  durableIndex: number;
  /** Replies waiting for earlier storage operations to complete. */
  outbox: Array<{ afterSeq: number; message: Outgoing }>;
  votesGranted: number[];
  followers: Map<number, FollowerProgress>;
  /** The leader's view including uncommitted records, used to validate new requests. */
  pendingImage: MetadataImage | null;
  pendingReplies: PendingReply[];
  parkedFetches: ParkedFetch[];
  brokerHeartbeatMs: Map<number, number>;
}

type ControllerEvent =
  | WireEvent
  | StorageCompleted
  | TimerFired<'ElectionTimeoutFired'>
  | TimerFired<'HeartbeatTimerFired'>
  | TimerFired<'CheckQuorumTimerFired'>
  | TimerFired<'LeaderBalanceTimerFired'>;

export function initialControllerContext(input: ControllerInput): ControllerContext {
  const { durable, config } = input;
  const snapshot = durable.snapshot;
  const log: RaftLog = {
    snapshotIndex: snapshot?.lastIndex ?? 0,
    snapshotTerm: snapshot?.lastTerm ?? 0,
    entries: durable.entries.filter((e) => e.index > (snapshot?.lastIndex ?? 0)),
  };
  const image = snapshot === null ? emptyImage() : imageFromMessage(snapshot.image);
  return {
    config,
    term: durable.term,
    votedFor: durable.votedFor,
    leaderId: -1,
    log,
    snapshotImage: snapshot?.image ?? null,
    commitIndex: log.snapshotIndex,
    image,
    nowMs: 0,
    lastLeaderContactMs: Number.NEGATIVE_INFINITY,
    storageSeqIssued: 0,
    storageSeqDone: 0,
    logEndAfterSeq: [],
    durableIndex: lastIndex(log),
    outbox: [],
    votesGranted: [],
    followers: new Map(),
    pendingImage: null,
    pendingReplies: [],
    parkedFetches: [],
    brokerHeartbeatMs: new Map(),
  };
}

// ---------------------------------------------------------------------------------------
// Small helpers shared by the actions below. Each returns the effects it produced.

function majority(ctx: ControllerContext): number {
  return Math.floor(ctx.config.voters.length / 2) + 1;
}

function peerAddress(node: number): Address {
  return { node, actor: controllerActorId };
}

function persist(ctx: ControllerContext, op: StorageOp): Effect {
  ctx.storageSeqIssued += 1;
  ctx.logEndAfterSeq.push([ctx.storageSeqIssued, lastIndex(ctx.log)]);
  return { type: 'storage', seq: ctx.storageSeqIssued, op };
}

/** Sends now if nothing is waiting on disk, else after everything issued so far is durable. */
function send<K extends WireKind>(ctx: ControllerContext, to: Address, kind: K, body: WireMessages[K]): Effect[] {
  const message = { to, kind, body } as Outgoing;
  if (ctx.storageSeqDone >= ctx.storageSeqIssued) return [{ type: 'send', message }];
  ctx.outbox.push({ afterSeq: ctx.storageSeqIssued, message });
  return [];
}

function persistHardState(ctx: ControllerContext): Effect {
  return persist(ctx, { kind: 'hardState', term: ctx.term, votedFor: ctx.votedFor });
}

function armElectionTimer(ctx: ControllerContext): Effect {
  return { type: 'timer.set', event: 'ElectionTimeoutFired', delayMs: ctx.config.electionTimeoutMs, jitterMs: ctx.config.electionTimeoutMs };
}

/** Applies committed entries to the image; the leader then answers what waited on them. */
function applyCommitted(ctx: ControllerContext): Effect[] {
  const effects: Effect[] = [];
  while (ctx.image.offset < ctx.commitIndex) {
    const entry = entryAt(ctx.log, ctx.image.offset + 1);
    if (entry === undefined) throw new Error(`controller ${ctx.config.nodeId}: committed entry ${ctx.image.offset + 1} missing`);
    applyEntry(ctx.image, entry);
  }
  if (ctx.pendingImage !== null) {
    const ready = ctx.pendingReplies.filter((reply) => reply.index <= ctx.image.offset);
    ctx.pendingReplies = ctx.pendingReplies.filter((reply) => reply.index > ctx.image.offset);
    for (const { message } of ready) effects.push(...send(ctx, message.to, message.kind, message.body));
    effects.push(...answerParkedFetches(ctx, false));
  }
  effects.push(...maybeSnapshot(ctx));
  return effects;
}

function maybeSnapshot(ctx: ControllerContext): Effect[] {
  const applied = ctx.image.offset;
  if (applied - ctx.log.snapshotIndex < ctx.config.snapshotThresholdEntries) return [];
  const lastIncludedTerm = termAt(ctx.log, applied)!;
  const image = imageToMessage(ctx.image);
  compactThrough(ctx.log, applied, lastIncludedTerm);
  ctx.snapshotImage = image;
  return [persist(ctx, { kind: 'snapshot', lastIndex: applied, lastTerm: lastIncludedTerm, image, discardLog: false })];
}

function adoptTerm(ctx: ControllerContext, term: number): Effect[] {
  if (term <= ctx.term) return [];
  ctx.term = term;
  ctx.votedFor = -1;
  ctx.leaderId = -1;
  return [persistHardState(ctx)];
}

// ---------------------------------------------------------------------------------------
// Leader duties.

/** Appends the records as one entry: they commit together or not at all. */
function appendAsLeader(ctx: ControllerContext, records: MetadataRecord[]): Effect[] {
  if (records.length === 0) return [];
  const entry: LogEntry = { index: lastIndex(ctx.log) + 1, term: ctx.term, records };
  ctx.log.entries.push(entry);
  applyEntry(ctx.pendingImage!, entry);
  const effects: Effect[] = [persist(ctx, { kind: 'append', entries: [entry] })];
  for (const peer of ctx.followers.keys()) effects.push(...replicateTo(ctx, peer));
  return effects;
}

function replicateTo(ctx: ControllerContext, peer: number): Effect[] {
  const progress = ctx.followers.get(peer)!;
  if (progress.nextIndex <= ctx.log.snapshotIndex) {
    if (ctx.nowMs - progress.snapshotSentAtMs < ctx.config.electionTimeoutMs) return [];
    progress.snapshotSentAtMs = ctx.nowMs;
    return send(ctx, peerAddress(peer), 'InstallSnapshotRequest', {
      term: ctx.term,
      leaderId: ctx.config.nodeId,
      lastIncludedIndex: ctx.log.snapshotIndex,
      lastIncludedTerm: ctx.log.snapshotTerm,
      image: ctx.snapshotImage!,
    });
  }
  const prevLogIndex = progress.nextIndex - 1;
  return send(ctx, peerAddress(peer), 'AppendEntriesRequest', {
    term: ctx.term,
    leaderId: ctx.config.nodeId,
    prevLogIndex,
    prevLogTerm: termAt(ctx.log, prevLogIndex)!,
    entries: entriesAfter(ctx.log, prevLogIndex, ctx.config.appendEntriesMax),
    leaderCommit: ctx.commitIndex,
  });
}

function advanceLeaderCommit(ctx: ControllerContext): Effect[] {
  let candidate: number;
  if (ctx.config.bugs.commitWithoutQuorum) {
    candidate = ctx.durableIndex;
  } else {
    const matches = [ctx.durableIndex, ...[...ctx.followers.values()].map((p) => p.matchIndex)].sort((a, b) => b - a);
    candidate = matches[majority(ctx) - 1]!;
  }
  // Raft commits only entries of the leader's own term by counting replicas (Figure 8).
  if (candidate <= ctx.commitIndex || termAt(ctx.log, candidate) !== ctx.term) return [];
  ctx.commitIndex = candidate;
  return applyCommitted(ctx);
}

function answerParkedFetches(ctx: ControllerContext, expireOnly: boolean): Effect[] {
  const effects: Effect[] = [];
  const still: ParkedFetch[] = [];
  for (const fetch of ctx.parkedFetches) {
    const entries = entriesAfter(ctx.log, fetch.fromOffset, ctx.config.metadataFetchEntriesMax, ctx.commitIndex);
    const expired = ctx.nowMs - fetch.atMs >= fetch.maxWaitMs;
    if ((entries.length > 0 && !expireOnly) || expired) {
      effects.push(...send(ctx, fetch.from, 'MetadataFetchResponse', {
        errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, entries, snapshot: null, hasSnapshot: false,
      }));
    } else {
      still.push(fetch);
    }
  }
  ctx.parkedFetches = still;
  return effects;
}

/**
 * Fences every broker whose heartbeats stopped. One broker at a time: each decision is
 * computed against the pending image that includes the previous broker's records.
 */
function expireBrokerSessions(ctx: ControllerContext): Effect[] {
  const image = ctx.pendingImage!;
  const effects: Effect[] = [];
  for (const broker of [...image.brokers.values()]) {
    if (broker.fenced) continue;
    const lastHeartbeatMs = ctx.brokerHeartbeatMs.get(broker.brokerId) ?? ctx.nowMs;
    if (ctx.nowMs - lastHeartbeatMs > ctx.config.brokerSessionTimeoutMs) {
      effects.push(...appendAsLeader(ctx, recordsForFence(image, broker.brokerId, ctx.config.uncleanLeaderElectionEnable)));
    }
  }
  return effects;
}

// ---------------------------------------------------------------------------------------
// The machine.

type Handler = (ctx: ControllerContext, event: ControllerEvent) => Effect[];

function effectful(handler: Handler) {
  return effectfulStep<ControllerContext, ControllerEvent>(handler);
}

function wire<K extends WireKind>(event: ControllerEvent, kind: K): Delivered<K> {
  if (event.type !== kind) throw new Error(`expected ${kind}, got ${event.type}`);
  return event as unknown as Delivered<K>;
}

const handleStorageCompleted: Handler = (ctx, event) => {
  const { seq } = event as StorageCompleted;
  if (seq !== ctx.storageSeqDone + 1) throw new Error(`controller ${ctx.config.nodeId}: storage completion ${seq} out of order (done ${ctx.storageSeqDone})`);
  ctx.storageSeqDone = seq;
  while (ctx.logEndAfterSeq.length > 0 && ctx.logEndAfterSeq[0]![0] <= seq) {
    ctx.durableIndex = ctx.logEndAfterSeq.shift()![1];
  }
  const effects: Effect[] = [];
  while (ctx.outbox.length > 0 && ctx.outbox[0]!.afterSeq <= seq) {
    effects.push({ type: 'send', message: ctx.outbox.shift()!.message });
  }
  if (ctx.pendingImage !== null) effects.push(...advanceLeaderCommit(ctx));
  return effects;
};

const answerVoteRequest: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'VoteRequest');
  const effects: Effect[] = [];
  const logOk = ctx.config.bugs.grantVoteWithoutLogCheck || isUpToDate(ctx.log, body.lastLogIndex, body.lastLogTerm);
  if (body.preVote) {
    // Pre-vote: would we vote for this term? Refuse while we still hear from a leader.
    const leaderAlive = ctx.pendingImage !== null || ctx.nowMs - ctx.lastLeaderContactMs < ctx.config.electionTimeoutMs;
    const granted = body.term > ctx.term && logOk && !leaderAlive;
    return send(ctx, from, 'VoteResponse', { term: granted ? body.term : ctx.term, voterId: ctx.config.nodeId, voteGranted: granted, preVote: true });
  }
  effects.push(...adoptTerm(ctx, body.term));
  const canVote = ctx.votedFor === -1 || ctx.votedFor === body.candidateId || ctx.config.bugs.voteTwiceInTerm === true;
  const granted = body.term === ctx.term && canVote && logOk;
  if (granted && ctx.votedFor !== body.candidateId) {
    ctx.votedFor = body.candidateId;
    effects.push(persistHardState(ctx));
  }
  effects.push(...send(ctx, from, 'VoteResponse', { term: ctx.term, voterId: ctx.config.nodeId, voteGranted: granted, preVote: false }));
  if (granted) effects.push(armElectionTimer(ctx));
  return effects;
};

const acceptLeader: Handler = (ctx, event) => {
  const { body } = event as Delivered<'AppendEntriesRequest'> | Delivered<'InstallSnapshotRequest'>;
  if (body.term < ctx.term) return []; // a deposed leader: the handler that follows rejects it
  const effects = adoptTerm(ctx, body.term);
  ctx.leaderId = body.leaderId;
  ctx.lastLeaderContactMs = ctx.nowMs;
  effects.push(armElectionTimer(ctx));
  return effects;
};

const appendEntries: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'AppendEntriesRequest');
  if (body.term < ctx.term) {
    return send(ctx, from, 'AppendEntriesResponse', { term: ctx.term, followerId: ctx.config.nodeId, success: false, matchIndex: 0, conflictIndex: 0 });
  }
  const effects: Effect[] = [];
  let prevLogIndex = body.prevLogIndex;
  let entries = body.entries;
  if (prevLogIndex < ctx.log.snapshotIndex) {
    // Our snapshot already covers these entries, and they are committed: skip them.
    entries = entries.filter((e) => e.index > ctx.log.snapshotIndex);
    prevLogIndex = ctx.log.snapshotIndex;
  } else if (termAt(ctx.log, prevLogIndex) !== body.prevLogTerm && !ctx.config.bugs.skipPrevLogCheck) {
    const conflictIndex = Math.min(prevLogIndex, lastIndex(ctx.log) + 1);
    effects.push(...send(ctx, from, 'AppendEntriesResponse', { term: ctx.term, followerId: ctx.config.nodeId, success: false, matchIndex: 0, conflictIndex }));
    return effects;
  }
  const toAppend: LogEntry[] = [];
  for (const entry of entries) {
    if (toAppend.length > 0) {
      toAppend.push(entry);
      continue;
    }
    const existing = termAt(ctx.log, entry.index);
    if (existing === entry.term) continue;
    if (existing !== undefined) {
      if (entry.index <= ctx.commitIndex) {
        throw new Error(`controller ${ctx.config.nodeId}: asked to overwrite committed entry ${entry.index}`);
      }
      truncateFrom(ctx.log, entry.index);
      effects.push(persist(ctx, { kind: 'truncate', fromIndex: entry.index }));
    } else if (entry.index > lastIndex(ctx.log) + 1) {
      // A gap (only reachable with the prev-log check switched off): truncate-and-append
      // would corrupt the index arithmetic, so stop here.
      break;
    }
    toAppend.push(entry);
  }
  if (toAppend.length > 0) {
    ctx.log.entries.push(...toAppend);
    effects.push(persist(ctx, { kind: 'append', entries: toAppend }));
  }
  const matchIndex = Math.min(prevLogIndex + entries.length, lastIndex(ctx.log));
  const newCommit = Math.min(body.leaderCommit, matchIndex);
  if (newCommit > ctx.commitIndex) {
    ctx.commitIndex = newCommit;
    effects.push(...applyCommitted(ctx));
  }
  effects.push(...send(ctx, from, 'AppendEntriesResponse', { term: ctx.term, followerId: ctx.config.nodeId, success: true, matchIndex, conflictIndex: 0 }));
  return effects;
};

const installSnapshot: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'InstallSnapshotRequest');
  if (body.term < ctx.term) {
    return send(ctx, from, 'InstallSnapshotResponse', { term: ctx.term, followerId: ctx.config.nodeId, matchIndex: 0 });
  }
  const effects: Effect[] = [];
  if (body.lastIncludedIndex > ctx.commitIndex) {
    const keepsSuffix = termAt(ctx.log, body.lastIncludedIndex) === body.lastIncludedTerm;
    compactThrough(ctx.log, body.lastIncludedIndex, body.lastIncludedTerm);
    ctx.snapshotImage = body.image;
    ctx.image = imageFromMessage(body.image);
    ctx.commitIndex = body.lastIncludedIndex;
    effects.push(persist(ctx, {
      kind: 'snapshot', lastIndex: body.lastIncludedIndex, lastTerm: body.lastIncludedTerm, image: body.image, discardLog: !keepsSuffix,
    }));
  }
  effects.push(...send(ctx, from, 'InstallSnapshotResponse', { term: ctx.term, followerId: ctx.config.nodeId, matchIndex: Math.max(body.lastIncludedIndex, ctx.commitIndex) }));
  return effects;
};

const requestVotes = (preVote: boolean): Handler => (ctx) => {
  const effects: Effect[] = [];
  const body = {
    term: preVote ? ctx.term + 1 : ctx.term,
    candidateId: ctx.config.nodeId,
    lastLogIndex: lastIndex(ctx.log),
    lastLogTerm: lastTerm(ctx.log),
    preVote,
  };
  for (const peer of ctx.config.voters) {
    if (peer !== ctx.config.nodeId) effects.push(...send(ctx, peerAddress(peer), 'VoteRequest', body));
  }
  return effects;
};

const startPreVote: Handler = (ctx, event) => {
  ctx.votesGranted = [ctx.config.nodeId];
  ctx.leaderId = -1;
  return [armElectionTimer(ctx), ...requestVotes(true)(ctx, event)];
};

const startElection: Handler = (ctx, event) => {
  ctx.term += 1;
  ctx.votedFor = ctx.config.nodeId;
  ctx.votesGranted = [ctx.config.nodeId];
  return [persistHardState(ctx), armElectionTimer(ctx), ...requestVotes(false)(ctx, event)];
};

const recordVote: Handler = (ctx, event) => {
  const { body } = wire(event, 'VoteResponse');
  if (body.voteGranted && !ctx.votesGranted.includes(body.voterId)) ctx.votesGranted.push(body.voterId);
  return [];
};

const becomeLeader: Handler = (ctx) => {
  ctx.leaderId = ctx.config.nodeId;
  ctx.followers = new Map();
  for (const peer of ctx.config.voters) {
    if (peer !== ctx.config.nodeId) ctx.followers.set(peer, { nextIndex: lastIndex(ctx.log) + 1, matchIndex: 0, lastContactMs: ctx.nowMs, snapshotSentAtMs: Number.NEGATIVE_INFINITY });
  }
  // The pending image: the applied state plus every entry we hold beyond it.
  const pending = cloneImage(ctx.image);
  for (let index = pending.offset + 1; index <= lastIndex(ctx.log); index++) applyEntry(pending, entryAt(ctx.log, index)!);
  ctx.pendingImage = pending;
  ctx.brokerHeartbeatMs = new Map([...pending.brokers.keys()].map((id) => [id, ctx.nowMs]));
  const effects: Effect[] = [
    { type: 'timer.cancel', event: 'ElectionTimeoutFired' },
    { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: ctx.config.heartbeatIntervalMs, jitterMs: 0 },
    { type: 'timer.set', event: 'CheckQuorumTimerFired', delayMs: ctx.config.electionTimeoutMs, jitterMs: 0 },
    { type: 'timer.set', event: 'LeaderBalanceTimerFired', delayMs: ctx.config.leaderImbalanceCheckIntervalMs, jitterMs: 0 },
  ];
  // A no-op entry of our own term commits everything before it (Raft section 5.4.2).
  effects.push(...appendAsLeader(ctx, [{ leaderChange: { leaderId: ctx.config.nodeId, term: ctx.term } }]));
  if (ctx.followers.size === 0) effects.push(...advanceLeaderCommit(ctx));
  return effects;
};

const resignLeadership: Handler = (ctx) => {
  const effects: Effect[] = [
    { type: 'timer.cancel', event: 'HeartbeatTimerFired' },
    { type: 'timer.cancel', event: 'CheckQuorumTimerFired' },
    { type: 'timer.cancel', event: 'LeaderBalanceTimerFired' },
  ];
  for (const { message } of ctx.pendingReplies) {
    const body = { ...message.body, errorCode: ErrorCode.NOT_CONTROLLER, leaderHint: -1 } as typeof message.body;
    effects.push(...send(ctx, message.to, message.kind, body));
  }
  for (const fetch of ctx.parkedFetches) {
    effects.push(...send(ctx, fetch.from, 'MetadataFetchResponse', { errorCode: ErrorCode.NOT_CONTROLLER, leaderHint: -1, entries: [], snapshot: null, hasSnapshot: false }));
  }
  ctx.pendingReplies = [];
  ctx.parkedFetches = [];
  ctx.pendingImage = null;
  ctx.followers = new Map();
  if (ctx.leaderId === ctx.config.nodeId) ctx.leaderId = -1;
  return effects;
};

const heartbeat: Handler = (ctx, event) => {
  const effects: Effect[] = [{ type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: ctx.config.heartbeatIntervalMs, jitterMs: 0 }];
  for (const peer of ctx.followers.keys()) effects.push(...replicateTo(ctx, peer));
  effects.push(...expireBrokerSessions(ctx));
  effects.push(...answerParkedFetches(ctx, true));
  void event;
  return effects;
};

const rearmCheckQuorum: Handler = (ctx) => [
  { type: 'timer.set', event: 'CheckQuorumTimerFired', delayMs: ctx.config.electionTimeoutMs, jitterMs: 0 },
];

const handleReplicationResponse: Handler = (ctx, event) => {
  const response = event as Delivered<'AppendEntriesResponse'> | Delivered<'InstallSnapshotResponse'>;
  const body = response.body;
  if (body.term !== ctx.term) return [];
  const progress = ctx.followers.get(body.followerId);
  if (progress === undefined) return [];
  progress.lastContactMs = ctx.nowMs;
  if (response.type === 'InstallSnapshotResponse') progress.snapshotSentAtMs = Number.NEGATIVE_INFINITY;
  const success = response.type === 'InstallSnapshotResponse' || (response.body as WireMessages['AppendEntriesResponse']).success;
  if (success) {
    if (body.matchIndex > progress.matchIndex) progress.matchIndex = body.matchIndex;
    progress.nextIndex = Math.max(progress.nextIndex, progress.matchIndex + 1);
    const effects = advanceLeaderCommit(ctx);
    if (progress.nextIndex <= lastIndex(ctx.log)) effects.push(...replicateTo(ctx, body.followerId));
    return effects;
  }
  const { conflictIndex } = response.body as WireMessages['AppendEntriesResponse'];
  progress.nextIndex = Math.max(1, Math.min(progress.nextIndex - 1, conflictIndex || progress.nextIndex - 1));
  if (progress.nextIndex <= progress.matchIndex) progress.nextIndex = progress.matchIndex + 1;
  return replicateTo(ctx, body.followerId);
};

const registerBroker: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'BrokerRegistrationRequest');
  const image = ctx.pendingImage!;
  ctx.brokerHeartbeatMs.set(body.brokerId, ctx.nowMs);
  const existing = image.brokers.get(body.brokerId);
  if (existing !== undefined && existing.incarnationId === body.incarnationId) {
    // A retry of a registration we already wrote: answer once it is committed.
    const reply: Outgoing = { to: from, kind: 'BrokerRegistrationResponse', body: { errorCode: ErrorCode.NONE, brokerEpoch: existing.brokerEpoch, leaderHint: ctx.config.nodeId } };
    if (existing.brokerEpoch <= ctx.image.offset) return send(ctx, from, reply.kind, reply.body);
    ctx.pendingReplies.push({ index: existing.brokerEpoch, message: reply });
    return [];
  }
  // A new incarnation fences the old one in the same entry that registers it.
  const records: MetadataRecord[] = existing === undefined ? [] : recordsForFence(image, body.brokerId, ctx.config.uncleanLeaderElectionEnable);
  records.push({ registerBroker: { brokerId: body.brokerId, incarnationId: body.incarnationId, listener: body.listener } });
  const effects = appendAsLeader(ctx, records);
  const brokerEpoch = lastIndex(ctx.log);
  ctx.pendingReplies.push({
    index: brokerEpoch,
    message: { to: from, kind: 'BrokerRegistrationResponse', body: { errorCode: ErrorCode.NONE, brokerEpoch, leaderHint: ctx.config.nodeId } },
  });
  return effects;
};

const brokerHeartbeat: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'BrokerHeartbeatRequest');
  const image = ctx.pendingImage!;
  const broker = image.brokers.get(body.brokerId);
  if (broker === undefined || broker.brokerEpoch !== body.brokerEpoch) {
    return send(ctx, from, 'BrokerHeartbeatResponse', {
      errorCode: ErrorCode.STALE_BROKER_EPOCH, fenced: true, leaderHint: ctx.config.nodeId, shouldShutDown: body.wantShutDown,
    });
  }
  ctx.brokerHeartbeatMs.set(body.brokerId, ctx.nowMs);
  const effects: Effect[] = [];
  if (body.wantShutDown) {
    // Controlled shutdown: fence it as if its session had ended (leadership moves to the next
    // live ISR member, it leaves every ISR), and let it go once that is committed.
    if (!broker.fenced) effects.push(...appendAsLeader(ctx, recordsForFence(image, body.brokerId, ctx.config.uncleanLeaderElectionEnable)));
    const committed = ctx.image.brokers.get(body.brokerId);
    const shouldShutDown = committed !== undefined && committed.brokerEpoch === body.brokerEpoch && committed.fenced;
    effects.push(...send(ctx, from, 'BrokerHeartbeatResponse', { errorCode: ErrorCode.NONE, fenced: true, leaderHint: ctx.config.nodeId, shouldShutDown }));
    return effects;
  }
  // A broker is unfenced once it has caught up with the log up to its own registration.
  if (broker.fenced && body.metadataOffset >= broker.brokerEpoch) {
    effects.push(...appendAsLeader(ctx, recordsForUnfence(image, body.brokerId, ctx.config.uncleanLeaderElectionEnable)));
  }
  effects.push(...send(ctx, from, 'BrokerHeartbeatResponse', { errorCode: ErrorCode.NONE, fenced: broker.fenced, leaderHint: ctx.config.nodeId, shouldShutDown: false }));
  return effects;
};

const serveMetadataFetch: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'MetadataFetchRequest');
  if (body.fromOffset < ctx.log.snapshotIndex) {
    return send(ctx, from, 'MetadataFetchResponse', { errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, entries: [], snapshot: ctx.snapshotImage, hasSnapshot: true });
  }
  ctx.parkedFetches.push({ from, fromOffset: body.fromOffset, maxWaitMs: body.maxWaitMs, atMs: ctx.nowMs });
  return answerParkedFetches(ctx, false);
};

const createTopics: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'CreateTopicsRequest');
  const results: CreatableTopicResult[] = [];
  const effects: Effect[] = [];
  for (const topic of body.topics) {
    const existing = ctx.pendingImage!.topicsByName.get(topic.name);
    if (existing !== undefined && topic.creationId !== '' && existing.creationId === topic.creationId) {
      // A resend of a create already written (its answer was lost or late): answered as the
      // first would have been, once what is in the log now is committed.
      results.push({ name: topic.name, errorCode: ErrorCode.NONE, topicId: existing.topicId });
      continue;
    }
    const topicId = deriveTopicId(ctx.config.clusterId, ctx.term, lastIndex(ctx.log) + 1, topic.name);
    const decision = decideCreateTopic(ctx.pendingImage!, topic.name, topic.numPartitions, topic.replicationFactor, topicId, topic.configs, topic.creationId);
    effects.push(...appendAsLeader(ctx, decision.records));
    results.push({ name: topic.name, errorCode: decision.errorCode, topicId: decision.errorCode === 0 ? topicId : '' });
  }
  const reply: Outgoing = {
    to: from, kind: 'CreateTopicsResponse',
    body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results, offset: lastIndex(ctx.log) },
  };
  ctx.pendingReplies.push({ index: lastIndex(ctx.log), message: reply });
  effects.push(...applyCommitted(ctx));
  return effects;
};

const createPartitions: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'CreatePartitionsRequest');
  const results: CreatableTopicResult[] = [];
  const effects: Effect[] = [];
  for (const topic of body.topics) {
    const decision = decideCreatePartitions(ctx.pendingImage!, topic.name, topic.count);
    effects.push(...appendAsLeader(ctx, decision.records));
    results.push({ name: topic.name, errorCode: decision.errorCode, topicId: ctx.pendingImage!.topicsByName.get(topic.name)?.topicId ?? '' });
  }
  ctx.pendingReplies.push({
    index: lastIndex(ctx.log),
    message: {
      to: from, kind: 'CreatePartitionsResponse',
      body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results, offset: lastIndex(ctx.log) },
    },
  });
  effects.push(...applyCommitted(ctx));
  return effects;
};

/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE: ids handed to a broker at a time. */
export const producerIdBlockSize = 1000;

/**
 * AllocateProducerIds (KIP-730): the next block of producer ids, for a registered broker in
 * its current epoch. The block is in the log, committed, before the broker hears of it, so a
 * new controller never hands it out again.
 */
const allocateProducerIds: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'AllocateProducerIdsRequest');
  const image = ctx.pendingImage!;
  const broker = image.brokers.get(body.brokerId);
  const refuse = (errorCode: number): Effect[] => send(ctx, from, 'AllocateProducerIdsResponse', {
    requestId: body.requestId, errorCode, leaderHint: ctx.config.nodeId, producerIdStart: -1, producerIdLen: 0,
  });
  if (broker === undefined) return refuse(ErrorCode.BROKER_ID_NOT_REGISTERED);
  if (broker.brokerEpoch !== body.brokerEpoch) return refuse(ErrorCode.STALE_BROKER_EPOCH);
  const start = image.nextProducerId;
  if (!Number.isSafeInteger(start + producerIdBlockSize)) return refuse(ErrorCode.UNKNOWN_SERVER_ERROR);
  const effects = appendAsLeader(ctx, [{ producerIds: { brokerId: body.brokerId, brokerEpoch: body.brokerEpoch, nextProducerId: start + producerIdBlockSize } }]);
  ctx.pendingReplies.push({
    index: lastIndex(ctx.log),
    message: {
      to: from, kind: 'AllocateProducerIdsResponse',
      body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, producerIdStart: start, producerIdLen: producerIdBlockSize },
    },
  });
  effects.push(...applyCommitted(ctx));
  return effects;
};

const deleteTopics: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'DeleteTopicsRequest');
  const results: CreatableTopicResult[] = [];
  const effects: Effect[] = [];
  for (const name of body.names) {
    const topic = ctx.pendingImage!.topicsByName.get(name);
    if (topic === undefined) {
      results.push({ name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topicId: '' });
      continue;
    }
    effects.push(...appendAsLeader(ctx, [{ removeTopic: { topicId: topic.topicId } }]));
    results.push({ name, errorCode: ErrorCode.NONE, topicId: topic.topicId });
  }
  ctx.pendingReplies.push({
    index: lastIndex(ctx.log),
    message: { to: from, kind: 'DeleteTopicsResponse', body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results } },
  });
  effects.push(...applyCommitted(ctx));
  return effects;
};

/** Appends the records as one entry and answers once it is applied (at once when there is nothing to append). */
function appendAndReply(ctx: ControllerContext, records: MetadataRecord[], reply: (offset: number) => Outgoing): Effect[] {
  const effects = appendAsLeader(ctx, records);
  ctx.pendingReplies.push({ index: lastIndex(ctx.log), message: reply(lastIndex(ctx.log)) });
  effects.push(...applyCommitted(ctx));
  return effects;
}

const alterUserScramCredentials: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'AlterUserScramCredentialsRequest');
  const { records, results } = decideAlterScramCredentials(ctx.pendingImage!, body);
  return appendAndReply(ctx, records, (offset) => ({
    to: from, kind: 'AlterUserScramCredentialsResponse',
    body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results, offset },
  }));
};

const createAcls: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'CreateAclsRequest');
  const { records, results } = decideCreateAcls(ctx.pendingImage!, body.acls);
  return appendAndReply(ctx, records, (offset) => ({
    to: from, kind: 'CreateAclsResponse',
    body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results, offset },
  }));
};

const deleteAcls: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'DeleteAclsRequest');
  const { records, results } = decideDeleteAcls(ctx.pendingImage!, body.filters);
  return appendAndReply(ctx, records, (offset) => ({
    to: from, kind: 'DeleteAclsResponse',
    body: { requestId: body.requestId, errorCode: ErrorCode.NONE, leaderHint: ctx.config.nodeId, results, offset },
  }));
};

const alterPartition: Handler = (ctx, event) => {
  const { body, from } = wire(event, 'AlterPartitionRequest');
  const decision = decideAlterPartition(ctx.pendingImage!, body);
  const current = decision.partition;
  const reply = (errorCode: number, leader: number, leaderEpoch: number, isr: number[], partitionEpoch: number): Outgoing => ({
    to: from, kind: 'AlterPartitionResponse',
    body: {
      errorCode, leaderHint: ctx.config.nodeId, topicId: body.topicId, partition: body.partition, leader, leaderEpoch, isr, partitionEpoch,
      topic: body.topic, requestId: body.requestId,
    },
  });
  if (decision.errorCode !== ErrorCode.NONE || current === undefined) {
    const message = reply(decision.errorCode, current?.leader ?? -1, current?.leaderEpoch ?? 0, current?.isr ?? [], current?.partitionEpoch ?? 0);
    return send(ctx, from, message.kind, message.body);
  }
  const effects = appendAsLeader(ctx, decision.records);
  const changed = current;
  ctx.pendingReplies.push({ index: lastIndex(ctx.log), message: reply(ErrorCode.NONE, changed.leader, changed.leaderEpoch, [...changed.isr], changed.partitionEpoch) });
  return effects;
};

const balanceLeaders: Handler = (ctx) => [
  ...appendAsLeader(ctx, recordsForPreferredLeaders(ctx.pendingImage!)),
  { type: 'timer.set', event: 'LeaderBalanceTimerFired', delayMs: ctx.config.leaderImbalanceCheckIntervalMs, jitterMs: 0 },
];

/** Requests only the active controller serves: everyone else points at the leader. */
const redirectToLeader: Handler = (ctx, event) => {
  const request = event as WireEvent;
  const leaderHint = ctx.leaderId;
  const code = ErrorCode.NOT_CONTROLLER;
  switch (request.type) {
    case 'BrokerRegistrationRequest':
      return send(ctx, request.from, 'BrokerRegistrationResponse', { errorCode: code, brokerEpoch: 0, leaderHint });
    case 'BrokerHeartbeatRequest':
      return send(ctx, request.from, 'BrokerHeartbeatResponse', { errorCode: code, fenced: true, leaderHint, shouldShutDown: false });
    case 'MetadataFetchRequest':
      return send(ctx, request.from, 'MetadataFetchResponse', { errorCode: code, leaderHint, entries: [], snapshot: null, hasSnapshot: false });
    case 'CreateTopicsRequest':
      return send(ctx, request.from, 'CreateTopicsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [], offset: 0 });
    case 'DeleteTopicsRequest':
      return send(ctx, request.from, 'DeleteTopicsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [] });
    case 'CreatePartitionsRequest':
      return send(ctx, request.from, 'CreatePartitionsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [], offset: 0 });
    case 'AllocateProducerIdsRequest':
      return send(ctx, request.from, 'AllocateProducerIdsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, producerIdStart: -1, producerIdLen: 0 });
    case 'AlterUserScramCredentialsRequest':
      return send(ctx, request.from, 'AlterUserScramCredentialsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [], offset: 0 });
    case 'CreateAclsRequest':
      return send(ctx, request.from, 'CreateAclsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [], offset: 0 });
    case 'DeleteAclsRequest':
      return send(ctx, request.from, 'DeleteAclsResponse', { requestId: request.body.requestId, errorCode: code, leaderHint, results: [], offset: 0 });
    case 'AlterPartitionRequest':
      return send(ctx, request.from, 'AlterPartitionResponse', {
        errorCode: code, leaderHint, topicId: request.body.topicId, partition: request.body.partition, leader: -1, leaderEpoch: 0,
        isr: [], partitionEpoch: 0, topic: request.body.topic, requestId: request.body.requestId,
      });
    default:
      return [];
  }
};

const describeQuorum = (role: string): Handler => (ctx, event) => {
  const { body, from } = wire(event, 'DescribeQuorumRequest');
  return send(ctx, from, 'DescribeQuorumResponse', {
    requestId: body.requestId, nodeId: ctx.config.nodeId, role, term: ctx.term, leaderId: ctx.leaderId,
    commitIndex: ctx.commitIndex, lastIndex: lastIndex(ctx.log),
  });
};

const adoptHigherTerm: Handler = (ctx, event) => adoptTerm(ctx, (event as WireEvent & { body: { term: number } }).body.term);

function bodyTerm(event: ControllerEvent): number {
  return (event as { body: { term: number } }).body.term;
}

const asEvents = {} as ControllerEvent;

export const controllerMachine = setup({
  types: {
    context: {} as ControllerContext,
    events: asEvents,
    input: {} as ControllerInput,
    emitted: {} as EffectBatch,
  },
  actions: {
    storageCompleted: effectful(handleStorageCompleted),
    answerVoteRequest: effectful(answerVoteRequest),
    followAndAppend: effectful((ctx, event) => [...acceptLeader(ctx, event), ...appendEntries(ctx, event)]),
    followAndInstallSnapshot: effectful((ctx, event) => [...acceptLeader(ctx, event), ...installSnapshot(ctx, event)]),
    appendEntries: effectful(appendEntries),
    installSnapshot: effectful(installSnapshot),
    adoptHigherTerm: effectful(adoptHigherTerm),
    armElectionTimer: effectful((ctx) => [armElectionTimer(ctx)]),
    startPreVote: effectful(startPreVote),
    startElection: effectful(startElection),
    recordVote: effectful(recordVote),
    becomeLeader: effectful(becomeLeader),
    resignLeadership: effectful(resignLeadership),
    heartbeat: effectful(heartbeat),
    rearmCheckQuorum: effectful(rearmCheckQuorum),
    handleReplicationResponse: effectful(handleReplicationResponse),
    registerBroker: effectful(registerBroker),
    brokerHeartbeat: effectful(brokerHeartbeat),
    serveMetadataFetch: effectful(serveMetadataFetch),
    createTopics: effectful(createTopics),
    createPartitions: effectful(createPartitions),
    allocateProducerIds: effectful(allocateProducerIds),
    deleteTopics: effectful(deleteTopics),
    alterPartition: effectful(alterPartition),
    alterUserScramCredentials: effectful(alterUserScramCredentials),
    createAcls: effectful(createAcls),
    deleteAcls: effectful(deleteAcls),
    balanceLeaders: effectful(balanceLeaders),
    redirectToLeader: effectful(redirectToLeader),
    describeAsFollower: effectful(describeQuorum('follower')),
    describeAsCandidate: effectful(describeQuorum('candidate')),
    describeAsLeader: effectful(describeQuorum('leader')),
  },
  guards: {
    isPreVoteRequest: ({ event }) => event.type === 'VoteRequest' && event.body.preVote,
    carriesHigherTerm: ({ context, event }) => bodyTerm(event) > context.term,
    isStaleTerm: ({ context, event }) => bodyTerm(event) < context.term,
    /** A rejection (or real vote) from a later term; a granted pre-vote names a future term on purpose. */
    voteResponseFromLaterTerm: ({ context, event }) =>
      event.type === 'VoteResponse' && !(event.body.preVote && event.body.voteGranted) && event.body.term > context.term,
    isPreVoteGrantForNextTerm: ({ context, event }) =>
      event.type === 'VoteResponse' && event.body.preVote && event.body.voteGranted && event.body.term === context.term + 1,
    isVoteGrantForThisTerm: ({ context, event }) =>
      event.type === 'VoteResponse' && !event.body.preVote && event.body.voteGranted && event.body.term === context.term,
    hasVoteMajority: ({ context }) => context.votesGranted.length >= majority(context),
    lostQuorum: ({ context, event }) => {
      let heard = 1;
      for (const progress of context.followers.values()) {
        if (event.atMs - progress.lastContactMs < context.config.electionTimeoutMs) heard += 1;
      }
      return heard < majority(context);
    },
  },
}).createMachine({
  id: 'controller',
  context: ({ input }) => initialControllerContext(input),
  initial: 'follower',
  on: {
    StorageCompleted: { actions: 'storageCompleted' },
    VoteRequest: [
      { guard: 'isPreVoteRequest', actions: 'answerVoteRequest' },
      { guard: 'carriesHigherTerm', target: '.follower', actions: 'answerVoteRequest' },
      { actions: 'answerVoteRequest' },
    ],
    VoteResponse: { guard: 'voteResponseFromLaterTerm', target: '.follower', actions: 'adoptHigherTerm' },
    AppendEntriesRequest: [
      { guard: 'isStaleTerm', actions: 'appendEntries' },
      { target: '.follower', actions: 'followAndAppend' },
    ],
    InstallSnapshotRequest: [
      { guard: 'isStaleTerm', actions: 'installSnapshot' },
      { target: '.follower', actions: 'followAndInstallSnapshot' },
    ],
    AppendEntriesResponse: { guard: 'carriesHigherTerm', target: '.follower', actions: 'adoptHigherTerm' },
    InstallSnapshotResponse: { guard: 'carriesHigherTerm', target: '.follower', actions: 'adoptHigherTerm' },
    BrokerRegistrationRequest: { actions: 'redirectToLeader' },
    BrokerHeartbeatRequest: { actions: 'redirectToLeader' },
    MetadataFetchRequest: { actions: 'redirectToLeader' },
    CreateTopicsRequest: { actions: 'redirectToLeader' },
    CreatePartitionsRequest: { actions: 'redirectToLeader' },
    AllocateProducerIdsRequest: { actions: 'redirectToLeader' },
    DeleteTopicsRequest: { actions: 'redirectToLeader' },
    AlterPartitionRequest: { actions: 'redirectToLeader' },
    AlterUserScramCredentialsRequest: { actions: 'redirectToLeader' },
    CreateAclsRequest: { actions: 'redirectToLeader' },
    DeleteAclsRequest: { actions: 'redirectToLeader' },
  },
  states: {
    follower: {
      entry: 'armElectionTimer',
      // The hot path: a follower hearing from its leader stays where it is (no exit and
      // re-entry); acceptLeader re-arms the election timer itself.
      on: {
        AppendEntriesRequest: { actions: 'followAndAppend' },
        InstallSnapshotRequest: { actions: 'followAndInstallSnapshot' },
        VoteRequest: { actions: 'answerVoteRequest' },
        ElectionTimeoutFired: { target: 'preCandidate' },
        DescribeQuorumRequest: { actions: 'describeAsFollower' },
      },
    },
    preCandidate: {
      entry: 'startPreVote',
      always: { guard: 'hasVoteMajority', target: 'candidate' },
      on: {
        ElectionTimeoutFired: { target: 'preCandidate', reenter: true },
        VoteResponse: [
          { guard: 'voteResponseFromLaterTerm', target: 'follower', actions: 'adoptHigherTerm' },
          { guard: 'isPreVoteGrantForNextTerm', actions: 'recordVote' },
        ],
        DescribeQuorumRequest: { actions: 'describeAsCandidate' },
      },
    },
    candidate: {
      entry: 'startElection',
      always: { guard: 'hasVoteMajority', target: 'leader' },
      on: {
        ElectionTimeoutFired: { target: 'preCandidate' },
        VoteResponse: [
          { guard: 'voteResponseFromLaterTerm', target: 'follower', actions: 'adoptHigherTerm' },
          { guard: 'isVoteGrantForThisTerm', actions: 'recordVote' },
        ],
        DescribeQuorumRequest: { actions: 'describeAsCandidate' },
      },
    },
    leader: {
      entry: 'becomeLeader',
      exit: 'resignLeadership',
      on: {
        HeartbeatTimerFired: { actions: 'heartbeat' },
        CheckQuorumTimerFired: [
          { guard: 'lostQuorum', target: 'follower' },
          { actions: 'rearmCheckQuorum' },
        ],
        AppendEntriesResponse: [
          { guard: 'carriesHigherTerm', target: 'follower', actions: 'adoptHigherTerm' },
          { actions: 'handleReplicationResponse' },
        ],
        InstallSnapshotResponse: [
          { guard: 'carriesHigherTerm', target: 'follower', actions: 'adoptHigherTerm' },
          { actions: 'handleReplicationResponse' },
        ],
        BrokerRegistrationRequest: { actions: 'registerBroker' },
        BrokerHeartbeatRequest: { actions: 'brokerHeartbeat' },
        MetadataFetchRequest: { actions: 'serveMetadataFetch' },
        CreateTopicsRequest: { actions: 'createTopics' },
        CreatePartitionsRequest: { actions: 'createPartitions' },
        AllocateProducerIdsRequest: { actions: 'allocateProducerIds' },
        DeleteTopicsRequest: { actions: 'deleteTopics' },
        AlterPartitionRequest: { actions: 'alterPartition' },
        AlterUserScramCredentialsRequest: { actions: 'alterUserScramCredentials' },
        CreateAclsRequest: { actions: 'createAcls' },
        DeleteAclsRequest: { actions: 'deleteAcls' },
        LeaderBalanceTimerFired: { actions: 'balanceLeaders' },
        DescribeQuorumRequest: { actions: 'describeAsLeader' },
      },
    },
  },
});

export type ControllerMachine = typeof controllerMachine;
