// Kafka's classic consumer-group membership protocol (JoinGroup v0-9, SyncGroup v0-5,
// Heartbeat v0-4, LeaveGroup v0-5, KIP-345 static membership, KIP-394 member id required)
// as pure functions over plain data. They follow Apache Kafka's GroupCoordinator and
// GroupMetadata: same states, same error codes in the same order of checks.
//
// No clock, no randomness, no I/O: time arrives as `nowMs`, member ids come from a counter in
// the group, and every function returns the replies to send now plus the time the host should
// call `tick` next. The functions mutate `group` in place (the actor owns it).
//
// `R` is the caller's reply token (a mesh address and request id, say). JoinGroup and SyncGroup
// answers are delayed until the round completes, so tokens are kept in member state; every
// token handed in is answered exactly once (a superseded or dropped request is answered with
// an error rather than forgotten, so the host never leaks a pending request).

import { ErrorCode } from '../protocol/errors.js';

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Broker configs that bound the group protocol (Kafka's names and defaults). */
export interface GroupConfig {
  /** group.min.session.timeout.ms */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  maxSessionTimeoutMs: number;
  /** group.max.size */
  groupMaxSize: number;
}
export const defaultGroupConfig: GroupConfig = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 2_147_483_647,
};

export interface GroupProtocol { name: string; metadata: Uint8Array }

export interface MemberState<R> {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  /** In the member's order of preference. */
  protocols: GroupProtocol[];
  assignment: Uint8Array;
  lastHeartbeatMs: number;
  /** The generation this member last joined (completed a JoinGroup round in). */
  joinedGenerationId: number;
  /** Set while its JoinGroup waits for the round to complete: it has joined this round. */
  awaitingJoin: { to: R } | null;
  /** Set while its SyncGroup waits for the leader's assignment. */
  awaitingSync: { to: R } | null;
}

export interface GroupState<R> {
  groupId: string;
  config: GroupConfig;
  state: GroupStateName;
  generationId: number;
  protocolType: string | null;
  /** The protocol chosen for the current generation; null outside one. */
  protocolName: string | null;
  leaderId: string | null;
  /** Insertion order is join order: the first member becomes leader. */
  members: Map<string, MemberState<R>>;
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED, not yet joined → expiry time. */
  pendingMembers: Map<string, number>;
  /** KIP-345: group.instance.id → current member id. */
  staticMembers: Map<string, string>;
  /** PreparingRebalance: when the round completes even if some members did not rejoin. */
  rebalanceDeadlineMs: number | null;
  /** Members that have not sent SyncGroup since the round completed. */
  pendingSyncMembers: Set<string>;
  pendingSyncDeadlineMs: number | null;
  /** Member ids are `${clientId or instanceId}-${memberIdEpoch}.${generationId}.${nextMemberSeq}`. */
  nextMemberSeq: number;
  /**
   * Set by the host when it (re)loads a group, e.g. to the coordinator's leader epoch, so that
   * ids handed out before a failover but never persisted are not handed out again.
   */
  memberIdEpoch: number;
}

export interface JoinGroupRequest {
  /** The request's API version: MEMBER_ID_REQUIRED applies from v4. */
  version: number;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** v0 has none: the caller passes the session timeout, as Kafka does. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
}
export interface JoinGroupMember { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }
export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  /** v9 (KIP-814): a static leader that rejoined without a rebalance must not reassign. */
  skipAssignment: boolean;
  memberId: string;
  /** Every member's metadata for the leader, empty for followers. */
  members: JoinGroupMember[];
}

export interface SyncGroupRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5; null when the client did not send it. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Uint8Array }>;
}
export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

export interface HeartbeatRequest { generationId: number; memberId: string; groupInstanceId: string | null }
export interface HeartbeatResponse { errorCode: number }

export interface LeaveGroupRequest {
  /** v0-2 carry one member id; v3+ a batch (memberId may be "" with a groupInstanceId). */
  version: number;
  members: Array<{ memberId: string; groupInstanceId: string | null }>;
}
export interface LeaveGroupResponse {
  /** Group-level error; for v0-2 the single member's error. */
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export type GroupReply<R> =
  | { to: R; kind: 'JoinGroup'; response: JoinGroupResponse }
  | { to: R; kind: 'SyncGroup'; response: SyncGroupResponse }
  | { to: R; kind: 'Heartbeat'; response: HeartbeatResponse }
  | { to: R; kind: 'LeaveGroup'; response: LeaveGroupResponse };

export interface GroupStep<R> {
  replies: Array<GroupReply<R>>;
  /** When the host should call `tick` next; null when no timer is needed. */
  wakeAtMs: number | null;
  /**
   * The group's persisted metadata changed where Kafka writes the group to __consumer_offsets
   * (an assignment installed, a static member replaced, the group emptied). Kafka answers
   * after the write; a host that persists may hold the replies until it is durable.
   */
  changed: boolean;
}

export const unknownMemberId = '';
export const noGeneration = -1;
const emptyBytes = new Uint8Array(0);

export function newGroup<R>(groupId: string, config: GroupConfig = defaultGroupConfig, memberIdEpoch = 0): GroupState<R> {
  return {
    groupId, config, state: 'Empty', generationId: 0, protocolType: null, protocolName: null, leaderId: null,
    members: new Map(), pendingMembers: new Map(), staticMembers: new Map(),
    rebalanceDeadlineMs: null, pendingSyncMembers: new Set(), pendingSyncDeadlineMs: null,
    nextMemberSeq: 0, memberIdEpoch,
  };
}

export class GroupInvariantError extends Error {}
function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new GroupInvariantError(message);
}

/** What one call does, gathered before the step is returned. */
interface Work<R> { replies: Array<GroupReply<R>>; changed: boolean }

function finish<R>(group: GroupState<R>, work: Work<R>, generationBefore: number): GroupStep<R> {
  invariant(group.generationId >= generationBefore, `generation went back from ${generationBefore} to ${group.generationId}`);
  assertGroupInvariants(group);
  return { replies: work.replies, wakeAtMs: nextWakeAtMs(group), changed: work.changed };
}

// ---------------------------------------------------------------------------------------------
// JoinGroup

export function join<R>(group: GroupState<R>, request: JoinGroupRequest, to: R, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  const error = (errorCode: number, memberId = request.memberId): void => {
    work.replies.push({ to, kind: 'JoinGroup', response: joinError(errorCode, memberId) });
  };
  const { config } = group;
  if (group.groupId === '') error(ErrorCode.INVALID_GROUP_ID);
  else if (request.sessionTimeoutMs < config.minSessionTimeoutMs || request.sessionTimeoutMs > config.maxSessionTimeoutMs) {
    error(ErrorCode.INVALID_SESSION_TIMEOUT);
  } else if (group.state === 'Dead') error(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  else if (!acceptsJoiningMember(group, request.memberId, request.groupInstanceId)) error(ErrorCode.GROUP_MAX_SIZE_REACHED);
  else if (!supportsProtocols(group, request.protocolType, request.protocols)) error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  else if (request.memberId === unknownMemberId) joinUnknownMember(group, request, to, nowMs, work);
  else joinKnownMember(group, request, to, nowMs, work);
  return finish(group, work, generationBefore);
}

function joinError(errorCode: number, memberId: string): JoinGroupResponse {
  return {
    errorCode, generationId: noGeneration, protocolType: null, protocolName: null, leader: '',
    skipAssignment: false, memberId, members: [],
  };
}

function acceptsJoiningMember<R>(group: GroupState<R>, memberId: string, groupInstanceId: string | null): boolean {
  const max = group.config.groupMaxSize;
  // A known static member that restarts takes its own place: it does not grow the group.
  if (groupInstanceId !== null && group.staticMembers.has(groupInstanceId)) return true;
  switch (group.state) {
    case 'Empty':
    case 'Dead':
      return true;
    case 'PreparingRebalance': {
      const member = group.members.get(memberId);
      return (member !== undefined && member.awaitingJoin !== null) || awaitingJoinCount(group) < max;
    }
    case 'CompletingRebalance':
    case 'Stable':
      return group.members.has(memberId) || group.members.size < max;
  }
}

function joinUnknownMember<R>(group: GroupState<R>, request: JoinGroupRequest, to: R, nowMs: number, work: Work<R>): void {
  const memberId = newMemberId(group, request.groupInstanceId ?? request.clientId);
  if (request.groupInstanceId !== null) {
    joinStaticMember(group, request, request.groupInstanceId, memberId, to, nowMs, work);
  } else if (request.version >= 4) {
    // KIP-394: hand out the id first; the member counts once it joins with it.
    group.pendingMembers.set(memberId, nowMs + request.sessionTimeoutMs);
    work.replies.push({ to, kind: 'JoinGroup', response: joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId) });
  } else {
    addMemberAndRebalance(group, request, memberId, to, nowMs, work);
  }
}

function newMemberId<R>(group: GroupState<R>, base: string): string {
  const id = `${base}-${group.memberIdEpoch}.${group.generationId}.${group.nextMemberSeq}`;
  group.nextMemberSeq += 1;
  return id;
}

function joinStaticMember<R>(
  group: GroupState<R>, request: JoinGroupRequest, instanceId: string, memberId: string, to: R, nowMs: number, work: Work<R>,
): void {
  const oldMemberId = group.staticMembers.get(instanceId);
  if (oldMemberId === undefined) {
    addMemberAndRebalance(group, request, memberId, to, nowMs, work);
    return;
  }
  const member = replaceStaticMember(group, instanceId, oldMemberId, memberId, work);
  member.lastHeartbeatMs = nowMs;
  updateMember(member, request);
  switch (group.state) {
    case 'Stable': {
      if (selectProtocol(group) === group.protocolName) {
        // Same choice of protocol: keep the generation and its assignment; the new member id
        // takes over the old one's place. A leader gets the members but must not reassign.
        const isLeader = group.leaderId === memberId;
        work.changed = true;
        work.replies.push({ to, kind: 'JoinGroup', response: currentGenerationResponse(group, memberId, isLeader, isLeader) });
      } else {
        setAwaitingJoin(member, to, work);
        prepareRebalance(group, nowMs, work);
      }
      return;
    }
    case 'CompletingRebalance':
      // The leader may be assigning for the old member id: rebalance so the new id gets a share.
      setAwaitingJoin(member, to, work);
      prepareRebalance(group, nowMs, work);
      return;
    case 'PreparingRebalance':
      setAwaitingJoin(member, to, work);
      tryCompleteJoin(group, nowMs, work);
      return;
    case 'Empty':
    case 'Dead':
      invariant(false, `static member ${instanceId} known in a ${group.state} group`);
  }
}

function replaceStaticMember<R>(group: GroupState<R>, instanceId: string, oldMemberId: string, newMemberId: string, work: Work<R>): MemberState<R> {
  const old = group.members.get(oldMemberId);
  invariant(old !== undefined, `static member ${instanceId} maps to missing member ${oldMemberId}`);
  if (old.awaitingJoin !== null) {
    work.replies.push({ to: old.awaitingJoin.to, kind: 'JoinGroup', response: joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId) });
  }
  if (old.awaitingSync !== null) {
    work.replies.push({ to: old.awaitingSync.to, kind: 'SyncGroup', response: syncError(ErrorCode.FENCED_INSTANCE_ID) });
  }
  const member: MemberState<R> = { ...old, memberId: newMemberId, awaitingJoin: null, awaitingSync: null };
  group.members.delete(oldMemberId);
  group.members.set(newMemberId, member);
  group.staticMembers.set(instanceId, newMemberId);
  if (group.leaderId === oldMemberId) group.leaderId = newMemberId;
  if (group.pendingSyncMembers.delete(oldMemberId)) group.pendingSyncMembers.add(newMemberId);
  return member;
}

function joinKnownMember<R>(group: GroupState<R>, request: JoinGroupRequest, to: R, nowMs: number, work: Work<R>): void {
  const { memberId } = request;
  if (group.pendingMembers.has(memberId) && request.groupInstanceId === null) {
    group.pendingMembers.delete(memberId);
    addMemberAndRebalance(group, request, memberId, to, nowMs, work);
    return;
  }
  const memberError = validateCurrentMember(group, memberId, request.groupInstanceId);
  if (memberError !== null) {
    work.replies.push({ to, kind: 'JoinGroup', response: joinError(memberError, memberId) });
    return;
  }
  const member = group.members.get(memberId)!;
  member.lastHeartbeatMs = nowMs;
  switch (group.state) {
    case 'PreparingRebalance':
      updateMemberAndRebalance(group, member, request, to, nowMs, work);
      return;
    case 'CompletingRebalance':
      if (protocolsMatch(member.protocols, request.protocols)) {
        // It probably missed the JoinGroup answer: repeat the current generation.
        const isLeader = group.leaderId === memberId;
        work.replies.push({ to, kind: 'JoinGroup', response: currentGenerationResponse(group, memberId, isLeader, false) });
      } else {
        updateMemberAndRebalance(group, member, request, to, nowMs, work);
      }
      return;
    case 'Stable':
      // A leader's rejoin forces a rebalance: that is how it reacts to changes its metadata
      // does not show (topic metadata, for a consumer).
      if (group.leaderId === memberId || !protocolsMatch(member.protocols, request.protocols)) {
        updateMemberAndRebalance(group, member, request, to, nowMs, work);
      } else {
        work.replies.push({ to, kind: 'JoinGroup', response: currentGenerationResponse(group, memberId, false, false) });
      }
      return;
    case 'Empty':
    case 'Dead':
      work.replies.push({ to, kind: 'JoinGroup', response: joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId) });
  }
}

function addMemberAndRebalance<R>(group: GroupState<R>, request: JoinGroupRequest, memberId: string, to: R, nowMs: number, work: Work<R>): void {
  if (group.members.size === 0) group.protocolType = request.protocolType;
  const member: MemberState<R> = {
    memberId, groupInstanceId: request.groupInstanceId, clientId: request.clientId, clientHost: request.clientHost,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs, sessionTimeoutMs: request.sessionTimeoutMs,
    protocolType: request.protocolType, protocols: request.protocols, assignment: emptyBytes,
    lastHeartbeatMs: nowMs, joinedGenerationId: noGeneration, awaitingJoin: null, awaitingSync: null,
  };
  group.members.set(memberId, member);
  if (request.groupInstanceId !== null) group.staticMembers.set(request.groupInstanceId, memberId);
  if (group.leaderId === null) group.leaderId = memberId;
  setAwaitingJoin(member, to, work);
  maybePrepareRebalance(group, nowMs, work);
  tryCompleteJoin(group, nowMs, work);
}

function updateMember<R>(member: MemberState<R>, request: JoinGroupRequest): void {
  member.protocols = request.protocols;
  member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
  member.sessionTimeoutMs = request.sessionTimeoutMs;
  member.clientId = request.clientId;
  member.clientHost = request.clientHost;
}

function updateMemberAndRebalance<R>(
  group: GroupState<R>, member: MemberState<R>, request: JoinGroupRequest, to: R, nowMs: number, work: Work<R>,
): void {
  updateMember(member, request);
  setAwaitingJoin(member, to, work);
  maybePrepareRebalance(group, nowMs, work);
  tryCompleteJoin(group, nowMs, work);
}

function setAwaitingJoin<R>(member: MemberState<R>, to: R, work: Work<R>): void {
  // Kafka drops a superseded JoinGroup silently; answer it so the host can forget it.
  if (member.awaitingJoin !== null) {
    work.replies.push({ to: member.awaitingJoin.to, kind: 'JoinGroup', response: joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId) });
  }
  member.awaitingJoin = { to };
}

function currentGenerationResponse<R>(group: GroupState<R>, memberId: string, withMembers: boolean, skipAssignment: boolean): JoinGroupResponse {
  return {
    errorCode: ErrorCode.NONE, generationId: group.generationId, protocolType: group.protocolType,
    protocolName: group.protocolName, leader: group.leaderId ?? '', skipAssignment, memberId,
    members: withMembers ? currentMemberMetadata(group) : [],
  };
}

function currentMemberMetadata<R>(group: GroupState<R>): JoinGroupMember[] {
  const protocolName = group.protocolName;
  invariant(protocolName !== null, 'member metadata asked for outside a generation');
  return [...group.members.values()].map((m) => ({
    memberId: m.memberId, groupInstanceId: m.groupInstanceId,
    metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? emptyBytes,
  }));
}

function protocolsMatch(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && bytesEqual(p.metadata, b[i]!.metadata));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Protocols every member supports (in the first member's order of preference). */
function candidateProtocols<R>(group: GroupState<R>): string[] {
  const members = [...group.members.values()];
  if (members.length === 0) return [];
  return members[0]!.protocols.map((p) => p.name)
    .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
}

function supportsProtocols<R>(group: GroupState<R>, protocolType: string, protocols: GroupProtocol[]): boolean {
  if (group.members.size === 0) return protocolType !== '' && protocols.length > 0;
  const candidates = candidateProtocols(group);
  return protocolType === group.protocolType && protocols.some((p) => candidates.includes(p.name));
}

/**
 * Kafka's rule: each member votes for its most preferred protocol among those all members
 * support; the most votes wins. Ties go to the earlier candidate (Kafka leaves them to a hash map).
 */
export function selectProtocol<R>(group: GroupState<R>): string {
  const candidates = candidateProtocols(group);
  invariant(candidates.length > 0, `group ${group.groupId} has no protocol all members support`);
  const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
  for (const member of group.members.values()) {
    const vote = member.protocols.find((p) => votes.has(p.name))!.name;
    votes.set(vote, votes.get(vote)! + 1);
  }
  let best = candidates[0]!;
  for (const name of candidates) if (votes.get(name)! > votes.get(best)!) best = name;
  return best;
}

function validateCurrentMember<R>(group: GroupState<R>, memberId: string, groupInstanceId: string | null): number | null {
  if (groupInstanceId !== null) {
    const current = group.staticMembers.get(groupInstanceId);
    if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    return null;
  }
  return group.members.has(memberId) ? null : ErrorCode.UNKNOWN_MEMBER_ID;
}

// ---------------------------------------------------------------------------------------------
// Rebalance rounds

function maybePrepareRebalance<R>(group: GroupState<R>, nowMs: number, work: Work<R>): void {
  if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
    prepareRebalance(group, nowMs, work);
  }
}

function prepareRebalance<R>(group: GroupState<R>, nowMs: number, work: Work<R>): void {
  if (group.state === 'CompletingRebalance') {
    // The assignment being computed is void: tell the waiting members to rejoin.
    for (const member of group.members.values()) {
      if (member.awaitingSync !== null) {
        work.replies.push({ to: member.awaitingSync.to, kind: 'SyncGroup', response: syncError(ErrorCode.REBALANCE_IN_PROGRESS) });
        releaseSync(member, nowMs);
      }
      member.assignment = emptyBytes;
    }
  }
  group.pendingSyncMembers.clear();
  group.pendingSyncDeadlineMs = null;
  group.state = 'PreparingRebalance';
  group.rebalanceDeadlineMs = nowMs + groupRebalanceTimeoutMs(group);
}

function groupRebalanceTimeoutMs<R>(group: GroupState<R>): number {
  let timeoutMs = 0;
  for (const member of group.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
  return timeoutMs;
}

function awaitingJoinCount<R>(group: GroupState<R>): number {
  let count = 0;
  for (const member of group.members.values()) if (member.awaitingJoin !== null) count += 1;
  return count;
}

function tryCompleteJoin<R>(group: GroupState<R>, nowMs: number, work: Work<R>): void {
  if (group.state !== 'PreparingRebalance') return;
  const allJoined = awaitingJoinCount(group) === group.members.size && group.pendingMembers.size === 0;
  if (allJoined) completeJoin(group, nowMs, work);
}

/** The round ends: everyone rejoined, or the rebalance timeout passed. */
function completeJoin<R>(group: GroupState<R>, nowMs: number, work: Work<R>): void {
  // Dynamic members that did not rejoin are gone; static ones keep their place (KIP-345)
  // until their session expires.
  for (const member of [...group.members.values()]) {
    if (member.awaitingJoin === null && member.groupInstanceId === null) removeMember(group, member, work);
  }
  group.rebalanceDeadlineMs = null;
  group.generationId += 1;
  if (group.members.size === 0) {
    group.state = 'Empty';
    group.protocolName = null;
    group.leaderId = null;
    work.changed = true;
    return;
  }
  group.state = 'CompletingRebalance';
  group.protocolName = selectProtocol(group);
  electJoinedLeader(group);
  for (const member of group.members.values()) {
    member.lastHeartbeatMs = nowMs;
    if (member.awaitingJoin === null) continue;
    const isLeader = member.memberId === group.leaderId;
    const to = member.awaitingJoin.to;
    member.awaitingJoin = null;
    member.joinedGenerationId = group.generationId;
    work.replies.push({ to, kind: 'JoinGroup', response: currentGenerationResponse(group, member.memberId, isLeader, false) });
  }
  group.pendingSyncMembers = new Set(group.members.keys());
  group.pendingSyncDeadlineMs = nowMs + groupRebalanceTimeoutMs(group);
}

/** The leader stays if it rejoined; otherwise the first member that did takes over. */
function electJoinedLeader<R>(group: GroupState<R>): void {
  const leader = group.leaderId === null ? undefined : group.members.get(group.leaderId);
  if (leader !== undefined && leader.awaitingJoin !== null) return;
  const joined = [...group.members.values()].find((m) => m.awaitingJoin !== null);
  group.leaderId = (joined ?? leader ?? group.members.values().next().value!).memberId;
}

function removeMember<R>(group: GroupState<R>, member: MemberState<R>, work: Work<R>): void {
  // A member can go with a JoinGroup or SyncGroup still waiting: answer them so the client
  // rejoins if it is still alive.
  if (member.awaitingJoin !== null) {
    work.replies.push({ to: member.awaitingJoin.to, kind: 'JoinGroup', response: joinError(ErrorCode.UNKNOWN_MEMBER_ID, unknownMemberId) });
  }
  if (member.awaitingSync !== null) {
    work.replies.push({ to: member.awaitingSync.to, kind: 'SyncGroup', response: syncError(ErrorCode.UNKNOWN_MEMBER_ID) });
  }
  group.members.delete(member.memberId);
  if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
    group.staticMembers.delete(member.groupInstanceId);
  }
  group.pendingSyncMembers.delete(member.memberId);
  if (group.leaderId === member.memberId) {
    group.leaderId = group.members.size > 0 ? group.members.keys().next().value! : null;
  }
}

function removeMemberAndUpdateGroup<R>(group: GroupState<R>, member: MemberState<R>, nowMs: number, work: Work<R>): void {
  removeMember(group, member, work);
  switch (group.state) {
    case 'Stable':
    case 'CompletingRebalance':
      prepareRebalance(group, nowMs, work);
      tryCompleteJoin(group, nowMs, work);
      return;
    case 'PreparingRebalance':
      tryCompleteJoin(group, nowMs, work);
      return;
    case 'Empty':
    case 'Dead':
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// SyncGroup

function syncError(errorCode: number): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: emptyBytes };
}

export function sync<R>(group: GroupState<R>, request: SyncGroupRequest, to: R, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  const error = (errorCode: number): void => { work.replies.push({ to, kind: 'SyncGroup', response: syncError(errorCode) }); };
  const memberError = group.state === 'Dead' ? ErrorCode.COORDINATOR_NOT_AVAILABLE
    : validateCurrentMember(group, request.memberId, request.groupInstanceId);
  if (memberError !== null) error(memberError);
  else if (request.generationId !== group.generationId) error(ErrorCode.ILLEGAL_GENERATION);
  else if (request.protocolType !== null && request.protocolType !== group.protocolType) error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  else if (request.protocolName !== null && request.protocolName !== group.protocolName) error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  else if (group.state === 'Empty') error(ErrorCode.UNKNOWN_MEMBER_ID);
  else if (group.state === 'PreparingRebalance') error(ErrorCode.REBALANCE_IN_PROGRESS);
  else {
    const member = group.members.get(request.memberId)!;
    member.lastHeartbeatMs = nowMs;
    group.pendingSyncMembers.delete(member.memberId);
    if (group.pendingSyncMembers.size === 0) group.pendingSyncDeadlineMs = null;
    if (group.state === 'Stable') {
      work.replies.push({ to, kind: 'SyncGroup', response: assignmentResponse(group, member) });
    } else {
      if (member.awaitingSync !== null) {
        work.replies.push({ to: member.awaitingSync.to, kind: 'SyncGroup', response: syncError(ErrorCode.REBALANCE_IN_PROGRESS) });
      }
      member.awaitingSync = { to };
      if (member.memberId === group.leaderId) installAssignment(group, request.assignments, nowMs, work);
    }
  }
  return finish(group, work, generationBefore);
}

/**
 * A member kept alive while its SyncGroup waited gets a fresh session from the answer (as in
 * Kafka's propagateAssignment); otherwise a long wait would expire it the moment it is answered.
 */
function releaseSync<R>(member: MemberState<R>, nowMs: number): void {
  member.awaitingSync = null;
  member.lastHeartbeatMs = nowMs;
}

function assignmentResponse<R>(group: GroupState<R>, member: MemberState<R>): SyncGroupResponse {
  return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
}

/** The leader's assignment: members it left out get an empty one; unknown ids are ignored. */
function installAssignment<R>(group: GroupState<R>, assignments: SyncGroupRequest['assignments'], nowMs: number, work: Work<R>): void {
  const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
  for (const member of group.members.values()) {
    member.assignment = byMember.get(member.memberId) ?? emptyBytes;
    if (member.awaitingSync !== null) {
      work.replies.push({ to: member.awaitingSync.to, kind: 'SyncGroup', response: assignmentResponse(group, member) });
      releaseSync(member, nowMs);
    }
  }
  group.state = 'Stable';
  work.changed = true;
}

// ---------------------------------------------------------------------------------------------
// Heartbeat

export function heartbeat<R>(group: GroupState<R>, request: HeartbeatRequest, to: R, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  work.replies.push({ to, kind: 'Heartbeat', response: { errorCode: heartbeatError(group, request, nowMs) } });
  return finish(group, work, generationBefore);
}

function heartbeatError<R>(group: GroupState<R>, request: HeartbeatRequest, nowMs: number): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (group.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
  const memberError = validateCurrentMember(group, request.memberId, request.groupInstanceId);
  if (memberError !== null) return memberError;
  const member = group.members.get(request.memberId)!;
  if (group.state === 'PreparingRebalance') {
    // Any generation: the answer tells the member to rejoin.
    member.lastHeartbeatMs = nowMs;
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }
  if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  member.lastHeartbeatMs = nowMs;
  return ErrorCode.NONE;
}

// ---------------------------------------------------------------------------------------------
// LeaveGroup

export function leave<R>(group: GroupState<R>, request: LeaveGroupRequest, to: R, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  const response: LeaveGroupResponse = { errorCode: ErrorCode.NONE, members: [] };
  if (group.state === 'Dead') {
    response.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  } else {
    for (const leaving of request.members) {
      response.members.push({ ...leaving, errorCode: leaveMember(group, leaving, nowMs, work) });
    }
    if (request.version < 3) response.errorCode = response.members[0]?.errorCode ?? ErrorCode.NONE;
  }
  work.replies.push({ to, kind: 'LeaveGroup', response });
  return finish(group, work, generationBefore);
}

function leaveMember<R>(group: GroupState<R>, leaving: { memberId: string; groupInstanceId: string | null }, nowMs: number, work: Work<R>): number {
  let memberId = leaving.memberId;
  if (memberId === unknownMemberId) {
    // Administrative removal by group.instance.id (KIP-345).
    const current = leaving.groupInstanceId === null ? undefined : group.staticMembers.get(leaving.groupInstanceId);
    if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    memberId = current;
  } else if (group.pendingMembers.delete(memberId)) {
    tryCompleteJoin(group, nowMs, work);
    return ErrorCode.NONE;
  } else {
    const memberError = validateCurrentMember(group, memberId, leaving.groupInstanceId);
    if (memberError !== null) return memberError;
  }
  removeMemberAndUpdateGroup(group, group.members.get(memberId)!, nowMs, work);
  return ErrorCode.NONE;
}

/**
 * The host could not persist the group's new assignment (Kafka's storeGroup failing during
 * SyncGroup): the assignment is void and a new round starts, so that an assignment that is
 * not durable is never the one a failed-over coordinator's generation reuses.
 */
export function rebalance<R>(group: GroupState<R>, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  if (group.state === 'Stable' || group.state === 'CompletingRebalance') {
    for (const member of group.members.values()) member.assignment = emptyBytes;
    prepareRebalance(group, nowMs, work);
    tryCompleteJoin(group, nowMs, work);
  }
  return finish(group, work, generationBefore);
}

// ---------------------------------------------------------------------------------------------
// Timers

/**
 * Fires whatever is due at `nowMs`: pending (KIP-394) ids and sessions expire, a rebalance round
 * whose timeout passed completes without the laggards, members that never sent SyncGroup
 * within the rebalance timeout are removed.
 */
export function tick<R>(group: GroupState<R>, nowMs: number): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  if (group.state !== 'Dead') {
    for (const [memberId, expiresAtMs] of [...group.pendingMembers]) {
      if (expiresAtMs <= nowMs) group.pendingMembers.delete(memberId);
    }
    tryCompleteJoin(group, nowMs, work);
    for (const member of [...group.members.values()]) {
      const expiresAtMs = sessionExpiresAtMs(member);
      if (expiresAtMs !== null && expiresAtMs <= nowMs && group.members.get(member.memberId) === member) {
        removeMemberAndUpdateGroup(group, member, nowMs, work);
      }
    }
    if (group.state === 'PreparingRebalance' && group.rebalanceDeadlineMs !== null && group.rebalanceDeadlineMs <= nowMs) {
      completeJoin(group, nowMs, work);
    }
    if (group.pendingSyncDeadlineMs !== null && group.pendingSyncDeadlineMs <= nowMs) {
      const laggards = [...group.pendingSyncMembers].map((id) => group.members.get(id)!);
      group.pendingSyncDeadlineMs = null;
      group.pendingSyncMembers.clear();
      if (laggards.length > 0) {
        for (const member of laggards) removeMember(group, member, work);
        prepareRebalance(group, nowMs, work);
        tryCompleteJoin(group, nowMs, work);
      }
    }
  }
  return finish(group, work, generationBefore);
}

/** A member waiting for a JoinGroup or SyncGroup answer is kept alive (Kafka's shouldKeepAlive). */
function sessionExpiresAtMs<R>(member: MemberState<R>): number | null {
  if (member.awaitingJoin !== null || member.awaitingSync !== null) return null;
  return member.lastHeartbeatMs + member.sessionTimeoutMs;
}

export function nextWakeAtMs<R>(group: GroupState<R>): number | null {
  if (group.state === 'Dead') return null;
  let wakeAtMs: number | null = null;
  const consider = (atMs: number | null): void => {
    if (atMs !== null && (wakeAtMs === null || atMs < wakeAtMs)) wakeAtMs = atMs;
  };
  for (const expiresAtMs of group.pendingMembers.values()) consider(expiresAtMs);
  for (const member of group.members.values()) consider(sessionExpiresAtMs(member));
  if (group.state === 'PreparingRebalance') consider(group.rebalanceDeadlineMs);
  if (group.pendingSyncMembers.size > 0) consider(group.pendingSyncDeadlineMs);
  return wakeAtMs;
}

/**
 * The coordinator gives the group up (its __consumer_offsets partition moved, or the group was
 * deleted): waiting requests are answered with `errorCode` (NOT_COORDINATOR when it moved) and
 * the group is Dead.
 */
export function unload<R>(group: GroupState<R>, errorCode: number = ErrorCode.NOT_COORDINATOR): GroupStep<R> {
  const generationBefore = group.generationId;
  const work: Work<R> = { replies: [], changed: false };
  for (const member of group.members.values()) {
    if (member.awaitingJoin !== null) {
      work.replies.push({ to: member.awaitingJoin.to, kind: 'JoinGroup', response: joinError(errorCode, member.memberId) });
      member.awaitingJoin = null;
    }
    if (member.awaitingSync !== null) {
      work.replies.push({ to: member.awaitingSync.to, kind: 'SyncGroup', response: syncError(errorCode) });
      member.awaitingSync = null;
    }
  }
  group.state = 'Dead';
  group.rebalanceDeadlineMs = null;
  group.pendingSyncMembers.clear();
  group.pendingSyncDeadlineMs = null;
  group.pendingMembers.clear();
  return finish(group, work, generationBefore);
}

// ---------------------------------------------------------------------------------------------
// DescribeGroups / ListGroups

export interface GroupDescription {
  groupId: string;
  state: GroupStateName;
  protocolType: string;
  /** Empty unless Stable (Kafka's GroupMetadata.summary). */
  protocolName: string;
  members: Array<{
    memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string;
    /** Empty unless Stable. */
    metadata: Uint8Array;
    assignment: Uint8Array;
  }>;
}

export function describeGroup<R>(group: GroupState<R>): GroupDescription {
  const stable = group.state === 'Stable';
  const protocolName = stable ? group.protocolName ?? '' : '';
  return {
    groupId: group.groupId, state: group.state, protocolType: group.protocolType ?? '', protocolName,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      metadata: stable ? m.protocols.find((p) => p.name === protocolName)?.metadata ?? emptyBytes : emptyBytes,
      assignment: stable ? m.assignment : emptyBytes,
    })),
  };
}

export function listGroupsEntry<R>(group: GroupState<R>): { groupId: string; protocolType: string; groupState: GroupStateName } {
  return { groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state };
}

// ---------------------------------------------------------------------------------------------
// Invariants

/** Throws GroupInvariantError when the group is in a state the protocol never produces. */
export function assertGroupInvariants<R>(group: GroupState<R>): void {
  const { state, members, leaderId } = group;
  if (members.size === 0) invariant(leaderId === null, `empty group ${group.groupId} has leader ${leaderId}`);
  else invariant(leaderId !== null && members.has(leaderId), `leader ${leaderId} is not a member of ${group.groupId}`);
  if (state === 'Empty') invariant(members.size === 0, `Empty group ${group.groupId} has members`);
  if (state === 'Stable' || state === 'CompletingRebalance') {
    invariant(members.size > 0, `${state} group ${group.groupId} has no members`);
    invariant(group.protocolName !== null, `${state} group ${group.groupId} has no protocol`);
    for (const member of members.values()) {
      // Static members that missed the round keep their place (KIP-345); dynamic ones cannot.
      invariant(member.groupInstanceId !== null || member.joinedGenerationId === group.generationId,
        `member ${member.memberId} did not join generation ${group.generationId}`);
      invariant(member.joinedGenerationId <= group.generationId, `member ${member.memberId} joined a future generation`);
    }
  }
  for (const member of members.values()) {
    invariant(member.awaitingJoin === null || state === 'PreparingRebalance', `member ${member.memberId} awaits a join in ${state}`);
    invariant(member.awaitingSync === null || state === 'CompletingRebalance', `member ${member.memberId} awaits a sync in ${state}`);
    if (member.groupInstanceId !== null) {
      invariant(group.staticMembers.get(member.groupInstanceId) === member.memberId, `static member ${member.memberId} not mapped`);
    }
  }
  for (const [instanceId, memberId] of group.staticMembers) {
    invariant(members.get(memberId)?.groupInstanceId === instanceId, `instance ${instanceId} maps to ${memberId}, not its member`);
  }
  for (const memberId of group.pendingSyncMembers) invariant(members.has(memberId), `pending sync ${memberId} is not a member`);
  invariant((state === 'PreparingRebalance') === (group.rebalanceDeadlineMs !== null), `rebalance deadline in ${state}`);
}
