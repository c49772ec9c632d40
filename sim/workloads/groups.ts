// A consumer group as Kafka's classic consumer runs one: members find the group's
// coordinator, join (the KIP-394 member id dance), the leader assigns partitions with a range
// assignor, every member syncs, heartbeats, fetches its partitions from the committed offsets
// and commits what it consumed, and follows rebalances. The workload's own PRNG makes members
// leave cleanly, crash (a new member later resumes from the committed offsets) and pause
// longer than the session timeout (a zombie that must be fenced). The history it keeps is what
// the group checkers read (sim/checkers/groups.ts).
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import type {
  FetchResponse, HeartbeatResponse, JoinGroupMemberEntry, JoinGroupResponse, LeaveGroupResponse, OffsetCommitResponse,
  OffsetFetchResponse, SyncGroupResponse,
} from '../../actors/protocol/messages.js';
import { consumerReplicaId } from '../../actors/protocol/messages.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../actors/group/consumer-protocol.js';
import { groupCoordinatorActorId, offsetsPartitionFor } from '../../actors/group/offsets-topic.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import { decodeRecords } from '../../runtime/storage/record-batch.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import { SimClient, partitionKey } from './sim-client.js';

export const groupProtocolType = 'consumer';
export const rangeAssignorName = 'range';
/** JoinGroup v7: MEMBER_ID_REQUIRED applies (v4+), as for every current Java consumer. */
export const joinGroupVersion = 7;
export const leaveGroupVersion = 3;

export const sessionTimeoutMs = 6000;
export const rebalanceTimeoutMs = 10_000;
export const heartbeatIntervalMs = 1000;
export const commitIntervalMinMs = 500;
export const commitIntervalMaxMs = 1000;
/** JoinGroup and SyncGroup wait for the whole round: the client waits longer than the rebalance timeout. */
export const joinRequestTimeoutMs = rebalanceTimeoutMs + 2000;
/** Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup. */
export const groupRequestTimeoutMs = 2000;
/** After NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS. */
export const coordinatorBackoffMs = 200;
export const retryBackoffMs = 100;
export const fetchMaxWaitMs = 500;
export const fetchMaxBytes = 64 * 1024;
export const fetchRequestTimeoutMs = 4000;

/** The lag monitor (the workload's own client, like kafka-consumer-groups --describe) asks for the committed offsets this often. */
export const monitorIntervalMinMs = 500;
export const monitorIntervalMaxMs = 1500;
/** Member faults: the first comes this long after the members start, the next after the last ends. */
export const memberFaultGapMinMs = 2000;
export const memberFaultGapMaxMs = 8000;
export const memberDownMinMs = 1000;
export const memberDownMaxMs = 6000;
/** A pause outlasts the session timeout by this much: the coordinator expires the member. */
export const pauseBeyondSessionMinMs = 1000;
export const pauseBeyondSessionMaxMs = 4000;

export interface GroupWorkloadOptions {
  groupId: string;
  topic: string;
  partitions: number;
  members: number;
  /** Partitions of __consumer_offsets: which coordinator actor the group lives on. */
  offsetsPartitions: number;
  /** Client node of member i is firstClientNode + i; the auditor's is the next one. */
  firstClientNode: number;
}

/** A member's SyncGroup succeeded: it owns these partitions in this generation. */
export interface GroupSync {
  group: string;
  generation: number;
  memberId: string;
  partitions: string[];
  atMs: number;
}

/** An OffsetCommit answered NONE for one partition: the coordinator says it is durable. */
export interface AckedCommit {
  group: string;
  key: string;
  offset: number;
  generation: number;
  memberId: string;
  sentSeq: number;
  ackedSeq: number;
  sentAtMs: number;
  ackedAtMs: number;
}

/** What an OffsetFetch answered for one partition (-1: nothing committed). */
export interface FetchedOffset {
  group: string;
  key: string;
  offset: number;
  /** '' for the workload's lag monitor and its final fetch. */
  memberId: string;
  sentSeq: number;
  answeredSeq: number;
  sentAtMs: number;
  answeredAtMs: number;
}

/** Where a member began reading a partition it was assigned. */
export interface StartPosition {
  group: string;
  key: string;
  memberId: string;
  generation: number;
  fetchedOffset: number;
  startOffset: number;
  /** The OffsetFetch the position came from. */
  fetchSentSeq: number;
  atMs: number;
}

export interface GroupStats {
  joins: number;
  memberIdRequired: number;
  syncs: number;
  /** Distinct generations some member synced in. */
  generations: number;
  /** Answers telling a member to rejoin (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID). */
  rejoinsRequested: number;
  commitsSent: number;
  commitsAcked: number;
  offsetFetches: number;
  memberCrashes: number;
  memberPauses: number;
  memberLeaves: number;
  /** A member coming back from a pause was told it is no longer in its generation. */
  fencedAfterPause: number;
  notCoordinator: number;
  coordinatorNotAvailable: number;
  coordinatorLoading: number;
  requestTimeouts: number;
  /** How often the node answering for the group changed. */
  coordinatorMoves: number;
  recordsConsumed: number;
  errors: Record<string, number>;
}

export interface GroupHistory {
  syncs: GroupSync[];
  commits: AckedCommit[];
  fetchedOffsets: FetchedOffset[];
  starts: StartPosition[];
  /** The first value consumed at each offset, per partition key. */
  consumed: Map<string, Map<number, string>>;
  /** The workload's OffsetFetch once the group settled, or null. */
  finalFetch: { sentSeq: number; answeredSeq: number; offsets: Map<string, number> } | null;
  /** What members saw that breaks the contract, with the checker that owns it. */
  anomalies: Array<{ checker: string; message: string }>;
  stats: GroupStats;
}

function newStats(): GroupStats {
  return {
    joins: 0, memberIdRequired: 0, syncs: 0, generations: 0, rejoinsRequested: 0, commitsSent: 0, commitsAcked: 0, offsetFetches: 0,
    memberCrashes: 0, memberPauses: 0, memberLeaves: 0, fencedAfterPause: 0, notCoordinator: 0, coordinatorNotAvailable: 0,
    coordinatorLoading: 0, requestTimeouts: 0, coordinatorMoves: 0, recordsConsumed: 0, errors: {},
  };
}

export function newGroupHistory(): GroupHistory {
  return { syncs: [], commits: [], fetchedOffsets: [], starts: [], consumed: new Map(), finalFetch: null, anomalies: [], stats: newStats() };
}

/**
 * Kafka's RangeAssignor: per topic, the subscribed members in member id order each take a
 * contiguous range; the first (partitions mod members) take one extra.
 */
export function rangeAssign(members: Array<{ memberId: string; topics: string[] }>, partitionsByTopic: Map<string, number>): Map<string, Map<string, number[]>> {
  const result = new Map<string, Map<string, number[]>>(members.map((m) => [m.memberId, new Map()]));
  for (const [topic, count] of partitionsByTopic) {
    const subscribed = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    if (subscribed.length === 0) continue;
    const each = Math.floor(count / subscribed.length);
    const extra = count % subscribed.length;
    let next = 0;
    subscribed.forEach((memberId, i) => {
      const take = each + (i < extra ? 1 : 0);
      const partitions = Array.from({ length: take }, (_, k) => next + k);
      next += take;
      if (partitions.length > 0) result.get(memberId)!.set(topic, partitions);
    });
  }
  return result;
}

// ---- The workload ----

type MemberPhase = 'down' | 'joining' | 'syncing' | 'stable';

/** An assigned partition: where the member reads next, and the highest commit it knows of. */
interface OwnedPartition {
  partition: number;
  key: string;
  /** null until the OffsetFetch for this generation answered. */
  position: number | null;
  committed: number;
}

/** The node a client believes hosts the group's coordinator; moves on NOT_COORDINATOR and timeouts. */
class CoordinatorGuess {
  node: number;
  constructor(private readonly client: SimClient, first: number) {
    this.node = first;
  }
  moveOn(): void {
    this.node = this.client.nextNode(this.node);
  }
}

const utf8Decode = new TextDecoder();

export class GroupWorkload {
  readonly history: GroupHistory = newGroupHistory();
  private readonly members: GroupMember[];
  private readonly auditor: SimClient;
  private readonly auditorCoordinator: CoordinatorGuess;
  private seq = 0;
  private lastCoordinatorNode = -1;
  private readonly generationsSeen = new Set<number>();
  /** True from heal-all on: no more member faults; the group may settle. */
  private faultsOver = false;
  private finalFetchInFlight = false;
  private monitorInFlight = false;
  /** The generation and committed offsets the final fetch was sent under; it counts only if they did not change since. */
  private finalFetchBasis = '';
  readonly coordinatorActor: string;
  readonly partitionsByTopic: Map<string, number>;

  constructor(
    readonly options: GroupWorkloadOptions,
    clusterId: string,
    nodeIds: number[],
    network: SimNetwork,
    readonly scheduler: Scheduler,
    readonly prng: Prng,
    tracer: Tracer,
  ) {
    const offsetsPartition = offsetsPartitionFor(options.groupId, options.offsetsPartitions);
    this.coordinatorActor = groupCoordinatorActorId(offsetsPartition);
    this.partitionsByTopic = new Map([[options.topic, options.partitions]]);
    const firstGuess = nodeIds[offsetsPartition % nodeIds.length]!;
    this.members = Array.from({ length: options.members }, (_, index) => {
      const client = new SimClient({ clientNode: options.firstClientNode + index, actor: `group-member-${index}`, clusterId, nodeIds, network, scheduler, tracer });
      return new GroupMember(this, index, client, new CoordinatorGuess(client, firstGuess));
    });
    this.auditor = new SimClient({ clientNode: options.firstClientNode + options.members, actor: 'group-auditor', clusterId, nodeIds, network, scheduler, tracer });
    this.auditorCoordinator = new CoordinatorGuess(this.auditor, firstGuess);
  }

  /** The workload's logical clock: orders acknowledgements against later requests exactly. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Starts every member, and member faults until `faultsUntilMs`. */
  start(faultsUntilMs: number): void {
    for (const member of this.members) this.scheduler.after(this.prng.int(0, 500), () => member.start());
    const next = (): void => {
      if (this.faultsOver || this.scheduler.now >= faultsUntilMs) return;
      const lastsMs = this.injectMemberFault();
      this.scheduler.after(lastsMs + this.prng.int(memberFaultGapMinMs, memberFaultGapMaxMs), next);
    };
    this.scheduler.after(this.prng.int(memberFaultGapMinMs, memberFaultGapMaxMs) + 3000, next);
    this.scheduler.after(this.prng.int(monitorIntervalMinMs, monitorIntervalMaxMs), () => this.monitor());
  }

  /**
   * The lag monitor: the committed offsets of every partition, every second or so, for as long
   * as the run goes. A committed offset that goes back shows between two of its fetches.
   */
  private monitor(): void {
    if (!this.monitorInFlight) {
      this.monitorInFlight = true;
      const done = (): void => { this.monitorInFlight = false; };
      this.fetchAllCommitted(done, done);
    }
    this.scheduler.after(this.prng.int(monitorIntervalMinMs, monitorIntervalMaxMs), () => this.monitor());
  }

  /** Ends member faults: stopped members start again as new members, paused ones carry on. */
  healMembers(): void {
    this.faultsOver = true;
    for (const member of this.members) member.heal();
  }

  /** One member leaves, crashes or pauses; returns how long until it is back. */
  private injectMemberFault(): number {
    const candidates = this.members.filter((m) => m.phase !== 'down' && !m.paused);
    const kind = this.prng.pick(['leave', 'crash', 'pause'] as const);
    const member = candidates.length === 0 ? null : this.prng.pick(candidates);
    const lastsMs = kind === 'pause'
      ? sessionTimeoutMs + this.prng.int(pauseBeyondSessionMinMs, pauseBeyondSessionMaxMs)
      : this.prng.int(memberDownMinMs, memberDownMaxMs);
    if (member === null) return lastsMs;
    if (kind === 'leave') member.leave();
    else if (kind === 'crash') member.crash();
    else member.pause();
    this.scheduler.after(lastsMs, () => member.heal());
    return lastsMs;
  }

  /** A member heard from the coordinator: count how often the answering node changes. */
  noteCoordinator(node: number): void {
    if (node !== this.lastCoordinatorNode && this.lastCoordinatorNode !== -1) this.history.stats.coordinatorMoves += 1;
    this.lastCoordinatorNode = node;
  }

  noteError(code: number): void {
    const stats = this.history.stats;
    if (code === ErrorCode.NOT_COORDINATOR) stats.notCoordinator += 1;
    else if (code === ErrorCode.COORDINATOR_NOT_AVAILABLE) stats.coordinatorNotAvailable += 1;
    else if (code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) stats.coordinatorLoading += 1;
    const name = errorName(code);
    stats.errors[name] = (stats.errors[name] ?? 0) + 1;
  }

  noteSync(sync: GroupSync): void {
    this.history.syncs.push(sync);
    this.history.stats.syncs += 1;
    if (!this.generationsSeen.has(sync.generation)) {
      this.generationsSeen.add(sync.generation);
      this.history.stats.generations += 1;
    }
  }

  noteConsumed(key: string, offset: number, value: string): void {
    let values = this.history.consumed.get(key);
    if (values === undefined) {
      values = new Map();
      this.history.consumed.set(key, values);
    }
    if (!values.has(offset)) values.set(offset, value);
    this.history.stats.recordsConsumed += 1;
  }

  /**
   * What keeps the group from being settled: a member not back, not stable, not in the common
   * generation, partitions unowned or behind the high watermark or uncommitted, and last the
   * workload's own OffsetFetch, sent once all that holds (it is sent from here).
   */
  settleGaps(highWatermarks: Map<string, number>): string[] {
    const gaps: string[] = [];
    if (!this.faultsOver) gaps.push('member faults still on');
    const generations = new Set<number>();
    const owners = new Map<string, OwnedPartition>();
    for (const member of this.members) {
      if (member.phase !== 'stable' || member.paused) {
        gaps.push(`member ${member.index} is ${member.paused ? 'paused' : member.phase}`);
        continue;
      }
      generations.add(member.generation);
      for (const owned of member.owned.values()) owners.set(owned.key, owned);
    }
    if (generations.size > 1) gaps.push(`members in generations ${[...generations].join(',')}`);
    for (let p = 0; p < this.options.partitions; p++) {
      const key = partitionKey(this.options.topic, p);
      const owned = owners.get(key);
      const hw = highWatermarks.get(key);
      if (owned === undefined) gaps.push(`${key} has no owner in group ${this.options.groupId}`);
      else if (hw === undefined) gaps.push(`${key} high watermark unknown`);
      else if (owned.position === null || owned.position < hw) gaps.push(`${key} consumed to ${owned.position ?? 'nothing'} of ${hw}`);
      else if (owned.committed < hw) gaps.push(`${key} committed ${owned.committed} of ${hw}`);
    }
    if (gaps.length > 0) {
      this.history.finalFetch = null;
      return gaps;
    }
    // Commits of the same offsets go on; only a new generation or a higher commit voids the final fetch.
    const basis = `${[...generations].join(',')}/${[...owners.values()].map((o) => `${o.key}@${o.committed}`).join(',')}`;
    if (this.history.finalFetch !== null && this.finalFetchBasis === basis) return [];
    this.history.finalFetch = null;
    if (!this.finalFetchInFlight) this.sendFinalFetch(basis);
    return ['final offset fetch outstanding'];
  }

  /** The final OffsetFetch: once it answers for every partition, the group has settled. */
  private sendFinalFetch(basis: string): void {
    this.finalFetchInFlight = true;
    this.fetchAllCommitted((offsets, sentSeq) => {
      this.finalFetchInFlight = false;
      if (offsets === null || offsets.size < this.options.partitions) return; // ask again at the next check
      this.history.finalFetch = { sentSeq, answeredSeq: this.nextSeq(), offsets };
      this.finalFetchBasis = basis;
    }, () => { this.finalFetchInFlight = false; });
  }

  /** OffsetFetch for every partition from the workload's own client; null offsets on a group-level error. */
  private fetchAllCommitted(onAnswer: (offsets: Map<string, number> | null, sentSeq: number) => void, onTimeout: () => void): void {
    const sentSeq = this.nextSeq();
    const sentAtMs = this.scheduler.now;
    const coordinator = this.auditorCoordinator;
    const partitions = Array.from({ length: this.options.partitions }, (_, partition) => ({ topic: this.options.topic, partition }));
    this.history.stats.offsetFetches += 1;
    this.auditor.send(coordinator.node, this.coordinatorActor, 'OffsetFetchRequest', (requestId) => ({
      requestId, groupId: this.options.groupId, allPartitions: false, partitions, requireStable: false,
    }), groupRequestTimeoutMs, (body, fromNode) => {
      const response = body as OffsetFetchResponse;
      const offsets = this.recordFetchedOffsets(response, '', sentSeq, sentAtMs);
      if (response.errorCode !== ErrorCode.NONE) {
        this.noteError(response.errorCode);
        if (isCoordinatorMoved(response.errorCode)) coordinator.moveOn();
        onAnswer(null, sentSeq);
        return;
      }
      this.noteCoordinator(fromNode);
      onAnswer(offsets, sentSeq);
    }, () => {
      this.history.stats.requestTimeouts += 1;
      coordinator.moveOn();
      onTimeout();
    });
  }

  /** Records an OffsetFetch answer's partitions that carry no error; returns them. */
  recordFetchedOffsets(response: OffsetFetchResponse, memberId: string, sentSeq: number, sentAtMs: number): Map<string, number> {
    const offsets = new Map<string, number>();
    if (response.errorCode !== ErrorCode.NONE) return offsets;
    const answeredSeq = this.nextSeq();
    for (const entry of response.offsets) {
      if (entry.errorCode !== ErrorCode.NONE) {
        this.noteError(entry.errorCode);
        continue;
      }
      const key = partitionKey(entry.topic, entry.partition);
      offsets.set(key, entry.offset);
      this.history.fetchedOffsets.push({
        group: this.options.groupId, key, offset: entry.offset, memberId, sentSeq, answeredSeq, sentAtMs, answeredAtMs: this.scheduler.now,
      });
    }
    return offsets;
  }

}

function isCoordinatorMoved(code: number): boolean {
  return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

/** Answers that mean the member must join again; the boolean: with a new member id. */
function rejoinReason(code: number): { resetMemberId: boolean } | null {
  switch (code) {
    case ErrorCode.REBALANCE_IN_PROGRESS:
    case ErrorCode.ILLEGAL_GENERATION:
      return { resetMemberId: false };
    case ErrorCode.UNKNOWN_MEMBER_ID:
    case ErrorCode.FENCED_INSTANCE_ID:
      return { resetMemberId: true };
    default:
      return null;
  }
}

class GroupMember {
  phase: MemberPhase = 'down';
  paused = false;
  memberId = '';
  generation = -1;
  readonly owned = new Map<string, OwnedPartition>();
  /**
   * Every loop and answer handler captures the token it was started under and stops when it
   * changed: a rejoin, a crash, a pause or its end start everything afresh.
   */
  private token = 0;
  private commitInFlight = false;
  /** Set when a pause ends: the next rejoin request counts as the fencing of a zombie. */
  private resumedFromPause = false;
  private pausedPhase: MemberPhase = 'down';
  private stopped: 'crash' | 'leave' | null = 'crash';

  constructor(
    private readonly workload: GroupWorkload,
    readonly index: number,
    private readonly client: SimClient,
    private readonly coordinator: CoordinatorGuess,
  ) {}

  private get scheduler(): Scheduler { return this.workload.scheduler; }
  private get groupId(): string { return this.workload.options.groupId; }

  /** A new member (a new process): no member id, no generation. */
  start(): void {
    if (this.stopped === null) return;
    this.stopped = null;
    this.memberId = '';
    this.generation = -1;
    this.join();
  }

  /** Back from whatever fault it is in. */
  heal(): void {
    if (this.paused) this.resume();
    else if (this.stopped !== null) this.start();
  }

  /** Stops silently: no LeaveGroup, nothing more sent, answers ignored. */
  crash(): void {
    this.workload.history.stats.memberCrashes += 1;
    this.client.abandonAll();
    this.stop('crash');
  }

  /** Kafka's close(): commit what was consumed, leave the group, stop. */
  leave(): void {
    this.workload.history.stats.memberLeaves += 1;
    if (this.phase === 'stable') this.commit(this.token);
    if (this.memberId !== '') {
      const member = { memberId: this.memberId, groupInstanceId: '', errorCode: 0 };
      this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'LeaveGroupRequest', (requestId) => ({
        requestId, groupId: this.groupId, version: leaveGroupVersion, members: [member],
      }), groupRequestTimeoutMs, (body) => {
        const response = body as LeaveGroupResponse;
        if (response.errorCode !== ErrorCode.NONE) this.workload.noteError(response.errorCode);
      }, () => { this.workload.history.stats.requestTimeouts += 1; });
    }
    this.stop('leave');
  }

  /** A process pause (a long GC, a stopped VM): nothing happens until it ends, then it carries on as it was. */
  pause(): void {
    this.workload.history.stats.memberPauses += 1;
    this.client.abandonAll();
    this.token += 1;
    this.paused = true;
    this.pausedPhase = this.phase;
    this.commitInFlight = false;
  }

  private resume(): void {
    this.paused = false;
    this.token += 1;
    this.resumedFromPause = true;
    if (this.pausedPhase !== 'stable') {
      this.join();
      return;
    }
    // Carry on in the old generation: heartbeat, commit and fetch as if nothing happened.
    this.phase = 'stable';
    const token = this.token;
    this.heartbeat(token);
    this.commit(token);
    this.scheduleCommits(token);
    this.startPartitions(token);
  }

  private stop(why: 'crash' | 'leave'): void {
    this.token += 1;
    this.stopped = why;
    this.phase = 'down';
    this.owned.clear();
    this.commitInFlight = false;
  }

  private alive(token: number): boolean {
    return token === this.token && !this.paused && this.stopped === null;
  }

  /** Whether an answer tells us to rejoin; if so, rejoins. */
  private rejoinIfTold(code: number, token: number): boolean {
    const reason = rejoinReason(code);
    if (reason === null) return false;
    if (!this.alive(token)) return true;
    this.workload.history.stats.rejoinsRequested += 1;
    if (this.resumedFromPause) {
      this.workload.history.stats.fencedAfterPause += 1;
      this.resumedFromPause = false;
    }
    this.rejoin(reason.resetMemberId);
    return true;
  }

  /** Eager rebalance: commit what was consumed (in the old generation), give every partition up, join. */
  private rejoin(resetMemberId: boolean): void {
    if (this.phase === 'stable' && !this.commitInFlight) this.commit(this.token);
    if (resetMemberId) {
      this.memberId = '';
      this.generation = -1;
    }
    this.join();
  }

  // ---- JoinGroup / SyncGroup ----

  private join(): void {
    this.token += 1;
    const token = this.token;
    this.phase = 'joining';
    this.owned.clear();
    this.commitInFlight = false;
    const subscription = encodeSubscription([this.workload.options.topic]);
    this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'JoinGroupRequest', (requestId) => ({
      requestId, groupId: this.groupId, version: joinGroupVersion, memberId: this.memberId, groupInstanceId: '',
      clientId: `member-${this.index}`, clientHost: `/sim-client-${this.client.clientNode}`, sessionTimeoutMs, rebalanceTimeoutMs,
      protocolType: groupProtocolType, protocols: [{ name: rangeAssignorName, metadata: subscription }],
    }), joinRequestTimeoutMs, (body, fromNode) => {
      if (!this.alive(token)) return;
      this.joined(body as JoinGroupResponse, fromNode, token);
    }, () => this.timedOut(token, () => this.join()));
  }

  private joined(response: JoinGroupResponse, fromNode: number, token: number): void {
    const code = response.errorCode;
    if (code === ErrorCode.NONE) {
      this.workload.noteCoordinator(fromNode);
      this.workload.history.stats.joins += 1;
      this.memberId = response.memberId;
      this.generation = response.generationId;
      this.resumedFromPause = false;
      const assignments = response.leader === this.memberId && !response.skipAssignment ? this.assign(response.members) : [];
      this.sync(assignments, token);
      return;
    }
    this.workload.noteError(code);
    if (code === ErrorCode.MEMBER_ID_REQUIRED) {
      this.workload.history.stats.memberIdRequired += 1;
      this.memberId = response.memberId;
      this.join();
      return;
    }
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_INSTANCE_ID) this.memberId = '';
    this.retryAfterCoordinatorError(code, () => this.join());
  }

  /** The leader's part: a range assignment over every member's subscription. */
  private assign(members: JoinGroupMemberEntry[]): Array<{ memberId: string; assignment: Uint8Array }> {
    const subscriptions = members.map((m) => {
      try {
        return { memberId: m.memberId, topics: decodeSubscription(m.metadata) };
      } catch (error) {
        this.workload.history.anomalies.push({ checker: 'group-exclusive-assignment', message: `member ${m.memberId}'s subscription does not decode: ${(error as Error).message}` });
        return { memberId: m.memberId, topics: [] };
      }
    });
    const plan = rangeAssign(subscriptions, this.workload.partitionsByTopic);
    return [...plan].map(([memberId, assigned]) => ({ memberId, assignment: encodeAssignment(assigned) }));
  }

  private sync(assignments: Array<{ memberId: string; assignment: Uint8Array }>, token: number): void {
    this.phase = 'syncing';
    const generation = this.generation;
    this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'SyncGroupRequest', (requestId) => ({
      requestId, groupId: this.groupId, generationId: generation, memberId: this.memberId, groupInstanceId: '',
      protocolType: groupProtocolType, protocolName: rangeAssignorName, assignments,
    }), joinRequestTimeoutMs, (body, fromNode) => {
      if (!this.alive(token)) return;
      this.synced(body as SyncGroupResponse, fromNode, generation, token);
    }, () => this.timedOut(token, () => this.join()));
  }

  private synced(response: SyncGroupResponse, fromNode: number, generation: number, token: number): void {
    const code = response.errorCode;
    if (code !== ErrorCode.NONE) {
      this.workload.noteError(code);
      if (this.rejoinIfTold(code, token)) return;
      this.retryAfterCoordinatorError(code, () => this.join());
      return;
    }
    this.workload.noteCoordinator(fromNode);
    let assigned: Map<string, number[]>;
    try {
      assigned = decodeAssignment(response.assignment);
    } catch (error) {
      this.workload.history.anomalies.push({ checker: 'group-exclusive-assignment', message: `member ${this.memberId} got an assignment that does not decode in generation ${generation}: ${(error as Error).message}` });
      assigned = new Map();
    }
    const partitions = assigned.get(this.workload.options.topic) ?? [];
    this.workload.noteSync({
      group: this.groupId, generation, memberId: this.memberId, partitions: partitions.map((p) => partitionKey(this.workload.options.topic, p)),
      atMs: this.scheduler.now,
    });
    this.token += 1;
    const stableToken = this.token;
    this.phase = 'stable';
    this.owned.clear();
    for (const partition of partitions) {
      this.owned.set(partitionKey(this.workload.options.topic, partition), {
        partition, key: partitionKey(this.workload.options.topic, partition), position: null, committed: -1,
      });
    }
    this.scheduler.after(heartbeatIntervalMs, () => this.heartbeat(stableToken));
    this.scheduleCommits(stableToken);
    this.startPartitions(stableToken);
  }

  /** NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE move on to the next node; every error waits a little. */
  private retryAfterCoordinatorError(code: number, again: () => void): void {
    if (isCoordinatorMoved(code)) this.coordinator.moveOn();
    const token = this.token;
    const backoffMs = code === ErrorCode.REBALANCE_IN_PROGRESS ? 0 : code === ErrorCode.UNKNOWN_MEMBER_ID ? retryBackoffMs : coordinatorBackoffMs;
    this.scheduler.after(backoffMs, () => {
      if (this.alive(token)) again();
    });
  }

  private timedOut(token: number, again: () => void): void {
    if (!this.alive(token)) return;
    this.workload.history.stats.requestTimeouts += 1;
    this.coordinator.moveOn();
    this.scheduler.after(retryBackoffMs, () => {
      if (this.alive(token)) again();
    });
  }

  // ---- Heartbeats ----

  private heartbeat(token: number): void {
    if (!this.alive(token)) return;
    const sentAtMs = this.scheduler.now;
    this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'HeartbeatRequest', (requestId) => ({
      requestId, groupId: this.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: '',
    }), groupRequestTimeoutMs, (body, fromNode) => {
      if (!this.alive(token)) return;
      const code = (body as HeartbeatResponse).errorCode;
      if (code === ErrorCode.NONE) {
        this.workload.noteCoordinator(fromNode);
        this.resumedFromPause = false;
        this.scheduler.after(Math.max(0, sentAtMs + heartbeatIntervalMs - this.scheduler.now), () => this.heartbeat(token));
        return;
      }
      this.workload.noteError(code);
      if (this.rejoinIfTold(code, token)) return;
      if (isCoordinatorMoved(code)) this.coordinator.moveOn();
      this.scheduler.after(coordinatorBackoffMs, () => this.heartbeat(token));
    }, () => {
      if (!this.alive(token)) return;
      this.workload.history.stats.requestTimeouts += 1;
      this.coordinator.moveOn();
      this.heartbeat(token);
    });
  }

  // ---- Committed offsets ----

  private startPartitions(token: number): void {
    const unknown = [...this.owned.values()].filter((o) => o.position === null);
    if (unknown.length > 0) this.fetchCommitted(unknown.map((o) => o.partition), token);
    for (const owned of this.owned.values()) if (owned.position !== null) this.consume(owned, token);
  }

  /** OffsetFetch for partitions this generation assigned; each starts reading where it says. */
  private fetchCommitted(partitions: number[], token: number): void {
    if (!this.alive(token)) return;
    const sentSeq = this.workload.nextSeq();
    const sentAtMs = this.scheduler.now;
    const topic = this.workload.options.topic;
    this.workload.history.stats.offsetFetches += 1;
    this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'OffsetFetchRequest', (requestId) => ({
      requestId, groupId: this.groupId, allPartitions: false, partitions: partitions.map((partition) => ({ topic, partition })), requireStable: false,
    }), groupRequestTimeoutMs, (body, fromNode) => {
      const response = body as OffsetFetchResponse;
      const offsets = this.workload.recordFetchedOffsets(response, this.memberId, sentSeq, sentAtMs);
      if (!this.alive(token)) return;
      if (response.errorCode !== ErrorCode.NONE) {
        this.workload.noteError(response.errorCode);
        if (this.rejoinIfTold(response.errorCode, token)) return;
        if (isCoordinatorMoved(response.errorCode)) this.coordinator.moveOn();
        this.scheduler.after(coordinatorBackoffMs, () => this.fetchCommitted(partitions, token));
        return;
      }
      this.workload.noteCoordinator(fromNode);
      const missing: number[] = [];
      for (const partition of partitions) {
        const owned = this.owned.get(partitionKey(topic, partition));
        const fetched = offsets.get(partitionKey(topic, partition));
        if (owned === undefined || owned.position !== null) continue;
        if (fetched === undefined) {
          missing.push(partition);
          continue;
        }
        owned.position = Math.max(0, fetched);
        owned.committed = fetched;
        this.workload.history.starts.push({
          group: this.groupId, key: owned.key, memberId: this.memberId, generation: this.generation, fetchedOffset: fetched,
          startOffset: owned.position, fetchSentSeq: sentSeq, atMs: this.scheduler.now,
        });
        this.consume(owned, token);
      }
      if (missing.length > 0) this.scheduler.after(coordinatorBackoffMs, () => this.fetchCommitted(missing, token));
    }, () => {
      if (!this.alive(token)) return;
      this.workload.history.stats.requestTimeouts += 1;
      this.coordinator.moveOn();
      this.fetchCommitted(partitions, token);
    });
  }

  private scheduleCommits(token: number): void {
    this.scheduler.after(this.workload.prng.int(commitIntervalMinMs, commitIntervalMaxMs), () => {
      if (!this.alive(token)) return;
      this.commit(token);
      this.scheduleCommits(token);
    });
  }

  /**
   * Commits the position of every owned partition whose OffsetFetch answered, read or not since
   * the last commit, as the Java consumer's auto-commit does; one commit in flight at a time.
   */
  private commit(token: number): void {
    if (this.commitInFlight) return;
    const progressed = [...this.owned.values()].filter((o) => o.position !== null);
    if (progressed.length === 0) return;
    this.commitInFlight = true;
    const generation = this.generation;
    const memberId = this.memberId;
    const topic = this.workload.options.topic;
    const offsets = progressed.map((o) => ({ topic, partition: o.partition, offset: o.position!, leaderEpoch: -1, metadata: '', errorCode: 0 }));
    const sentSeq = this.workload.nextSeq();
    const sentAtMs = this.scheduler.now;
    this.workload.history.stats.commitsSent += 1;
    this.client.send(this.coordinator.node, this.workload.coordinatorActor, 'OffsetCommitRequest', (requestId) => ({
      requestId, groupId: this.groupId, generationId: generation, memberId, groupInstanceId: '', retentionMs: -1, offsets,
    }), groupRequestTimeoutMs, (body, fromNode) => {
      // An acknowledgement is history whatever the member does now.
      const response = body as OffsetCommitResponse;
      const ackedSeq = this.workload.nextSeq();
      let refusal: number = ErrorCode.NONE;
      for (const result of response.results) {
        if (result.errorCode !== ErrorCode.NONE) {
          refusal = result.errorCode;
          continue;
        }
        const sent = offsets.find((o) => o.partition === result.partition && o.topic === result.topic);
        if (sent === undefined) continue;
        this.workload.history.stats.commitsAcked += 1;
        this.workload.history.commits.push({
          group: this.groupId, key: partitionKey(topic, sent.partition), offset: sent.offset, generation, memberId, sentSeq, ackedSeq,
          sentAtMs, ackedAtMs: this.scheduler.now,
        });
        const owned = this.owned.get(partitionKey(topic, sent.partition));
        if (this.alive(token) && owned !== undefined) owned.committed = Math.max(owned.committed, sent.offset);
      }
      if (!this.alive(token)) return;
      this.commitInFlight = false;
      if (refusal === ErrorCode.NONE) {
        this.workload.noteCoordinator(fromNode);
        return;
      }
      this.workload.noteError(refusal);
      if (this.rejoinIfTold(refusal, token)) return;
      if (isCoordinatorMoved(refusal)) this.coordinator.moveOn();
    }, () => {
      if (!this.alive(token)) return;
      this.commitInFlight = false;
      this.workload.history.stats.requestTimeouts += 1;
      this.coordinator.moveOn();
    });
  }

  // ---- Reading records ----

  private consume(owned: OwnedPartition, token: number): void {
    if (!this.alive(token) || owned.position === null) return;
    const topic = this.workload.options.topic;
    const again = (delayMs: number): void => {
      this.scheduler.after(delayMs, () => this.consume(owned, token));
    };
    this.client.sendToPartition(topic, owned.partition, 'FetchRequest', (requestId) => ({
      requestId, topic, partition: owned.partition, replicaId: consumerReplicaId, fetchOffset: owned.position!, lastFetchedEpoch: -1,
      currentLeaderEpoch: -1, maxBytes: fetchMaxBytes, maxWaitMs: fetchMaxWaitMs, minBytes: 1, isolationLevel: 0,
    }), fetchRequestTimeoutMs, (body) => {
      if (!this.alive(token)) return;
      const response = body as FetchResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        if (response.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          this.workload.history.anomalies.push({
            checker: 'resume-from-commit',
            message: `${owned.key}: member ${this.memberId} (generation ${this.generation}) reads at ${owned.position}, out of range (log end ${response.logEndOffset})`,
          });
        }
        again(retryBackoffMs);
        return;
      }
      this.readRecords(owned, response);
      again(0);
    }, () => again(0));
  }

  private readRecords(owned: OwnedPartition, response: FetchResponse): void {
    const bytes = response.records;
    let at = 0;
    while (at < bytes.length) {
      const header = readBatchHeader(bytes, at);
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < owned.position!) continue;
        if (record.offset >= response.highWatermark) break;
        this.workload.noteConsumed(owned.key, record.offset, record.value === null ? '' : utf8Decode.decode(record.value));
        owned.position = record.offset + 1;
      }
      at += header.sizeBytes;
    }
  }
}
