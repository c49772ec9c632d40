import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import {
  assertGroupInvariants, describeGroup, heartbeat, join, leave, listGroupsEntry, newGroup, sync, tick, unload,
  type GroupProtocol, type GroupReply, type GroupState, type GroupStep, type JoinGroupRequest, type JoinGroupResponse,
  type SyncGroupResponse,
} from '../../../actors/group/group-state.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const consumerProtocols = (meta = 'm'): GroupProtocol[] => [
  { name: 'range', metadata: bytes(`range:${meta}`) },
  { name: 'roundrobin', metadata: bytes(`rr:${meta}`) },
];

function joinRequest(clientId: string, memberId: string, opts: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    version: 9, memberId, groupInstanceId: null, clientId, clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: consumerProtocols(),
    ...opts,
  };
}

function replyTo<R>(step: GroupStep<R>, to: R): GroupReply<R> {
  const replies = step.replies.filter((r) => r.to === to);
  assert.equal(replies.length, 1, `one reply to ${String(to)}, got ${replies.length}`);
  return replies[0]!;
}
function joinReply<R>(step: GroupStep<R>, to: R): JoinGroupResponse {
  const reply = replyTo(step, to);
  assert.equal(reply.kind, 'JoinGroup');
  return reply.response as JoinGroupResponse;
}
function syncReply<R>(step: GroupStep<R>, to: R): SyncGroupResponse {
  const reply = replyTo(step, to);
  assert.equal(reply.kind, 'SyncGroup');
  return reply.response as SyncGroupResponse;
}
function errorOf<R>(step: GroupStep<R>, to: R): number {
  return (replyTo(step, to).response as { errorCode: number }).errorCode;
}

const hb = (generationId: number, memberId: string, groupInstanceId: string | null = null) => ({ generationId, memberId, groupInstanceId });
const syncRequest = (generationId: number, memberId: string, assignments: Array<[string, string]> = [], groupInstanceId: string | null = null) => ({
  generationId, memberId, groupInstanceId, protocolType: 'consumer', protocolName: null,
  assignments: assignments.map(([id, a]) => ({ memberId: id, assignment: bytes(a) })),
});

/** Two members through KIP-394's two-step join, in one generation, synced. */
function stableGroupOfTwo(): { group: GroupState<string>; a: string; b: string; generationId: number } {
  const group = newGroup<string>('g1');
  const a = joinReply(join(group, joinRequest('a', ''), 'a0', 0), 'a0').memberId;
  const b = joinReply(join(group, joinRequest('b', ''), 'b0', 0), 'b0').memberId;
  join(group, joinRequest('a', a), 'a1', 1);
  const step = join(group, joinRequest('b', b, { protocols: consumerProtocols('b') }), 'b1', 2);
  const generationId = joinReply(step, 'a1').generationId;
  sync(group, syncRequest(generationId, b), 'b2', 3);
  sync(group, syncRequest(generationId, a, [[a, 'A'], [b, 'B']]), 'a2', 3);
  assert.equal(group.state, 'Stable');
  return { group, a, b, generationId };
}

test('two members join into one generation: the leader gets both metadata, sync hands out the assignments', () => {
  const group = newGroup<string>('g1');
  const a0 = join(group, joinRequest('a', ''), 'a0', 0);
  const a = joinReply(a0, 'a0');
  assert.equal(a.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const b = joinReply(join(group, joinRequest('b', ''), 'b0', 0), 'b0');
  assert.equal(b.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.notEqual(a.memberId, b.memberId);

  const a1 = join(group, joinRequest('a', a.memberId), 'a1', 10);
  assert.deepEqual(a1.replies, [], 'the round waits for the pending member');
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(a1.wakeAtMs, 10_000, 'the next deadline is the pending member id expiring');

  const b1 = join(group, joinRequest('b', b.memberId, { protocols: consumerProtocols('b') }), 'b1', 20);
  assert.equal(b1.replies.length, 2);
  const leader = joinReply(b1, 'a1');
  const follower = joinReply(b1, 'b1');
  assert.equal(group.state, 'CompletingRebalance');
  assert.equal(leader.errorCode, ErrorCode.NONE);
  assert.equal(leader.generationId, 1);
  assert.equal(leader.leader, a.memberId);
  assert.equal(leader.protocolName, 'range');
  assert.deepEqual(leader.members.map((m) => [m.memberId, text(m.metadata)]), [[a.memberId, 'range:m'], [b.memberId, 'range:b']]);
  assert.equal(follower.generationId, 1);
  assert.equal(follower.leader, a.memberId);
  assert.deepEqual(follower.members, []);

  const b2 = sync(group, syncRequest(1, b.memberId), 'b2', 30);
  assert.deepEqual(b2.replies, [], 'the follower waits for the leader');
  const a2 = sync(group, syncRequest(1, a.memberId, [[a.memberId, 'A'], [b.memberId, 'B']]), 'a2', 40);
  assert.equal(text(syncReply(a2, 'a2').assignment), 'A');
  assert.equal(text(syncReply(a2, 'b2').assignment), 'B');
  assert.equal(syncReply(a2, 'b2').protocolName, 'range');
  assert.equal(a2.changed, true);
  assert.equal(group.state, 'Stable');
  assert.equal(errorOf(heartbeat(group, hb(1, b.memberId), 'b3', 50), 'b3'), ErrorCode.NONE);

  const description = describeGroup(group);
  assert.equal(description.state, 'Stable');
  assert.equal(description.protocolName, 'range');
  assert.deepEqual(description.members.map((m) => text(m.assignment)), ['A', 'B']);
});

test('a third member triggers a rebalance: heartbeats answer REBALANCE_IN_PROGRESS until everyone rejoined', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  assert.deepEqual(join(group, joinRequest('c', '', { version: 3 }), 'c0', 100).replies, [], 'before v4 no member id is required');
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(errorOf(heartbeat(group, hb(generationId, a), 'a3', 110), 'a3'), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(errorOf(heartbeat(group, hb(generationId, b), 'b3', 110), 'b3'), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(errorOf(sync(group, syncRequest(generationId, b), 'b4', 110), 'b4'), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(errorOf(sync(group, syncRequest(generationId - 1, b), 'b4b', 110), 'b4b'), ErrorCode.ILLEGAL_GENERATION);
  assert.deepEqual(join(group, joinRequest('b', b), 'b5', 120).replies, []);
  const step = join(group, joinRequest('a', a), 'a5', 130);
  assert.equal(step.replies.length, 3);
  assert.equal(joinReply(step, 'c0').errorCode, ErrorCode.NONE);
  const leader = joinReply(step, 'a5');
  assert.equal(leader.generationId, generationId + 1);
  assert.equal(leader.leader, a, 'the leader keeps its role when it rejoins');
  assert.equal(leader.members.length, 3);
  assert.equal(errorOf(heartbeat(group, hb(generationId, b), 'b6', 140), 'b6'), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(errorOf(heartbeat(group, hb(generationId + 1, b), 'b7', 140), 'b7'), ErrorCode.NONE, 'heartbeats count while completing');
  assert.equal(errorOf(sync(group, syncRequest(generationId + 1, 'nobody'), 'x', 140), 'x'), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('stale join with the same metadata from a follower is answered at once with the current generation', () => {
  const { group, b, generationId } = stableGroupOfTwo();
  const step = join(group, joinRequest('b', b, { protocols: consumerProtocols('b') }), 'b9', 100);
  assert.equal(joinReply(step, 'b9').generationId, generationId);
  assert.equal(group.state, 'Stable');
});

test('a member whose session expires is removed and the others rebalance without it', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  const wake = heartbeat(group, hb(generationId, a), 'a3', 9_000).wakeAtMs;
  assert.equal(wake, 3 + 10_000, 'b, last seen at 3, expires first');
  const expired = tick(group, wake!);
  assert.deepEqual(expired.replies, []);
  assert.equal(group.members.has(b), false);
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(errorOf(heartbeat(group, hb(generationId, b), 'b3', wake!), 'b3'), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(errorOf(heartbeat(group, hb(generationId, a), 'a4', wake!), 'a4'), ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoined = join(group, joinRequest('a', a), 'a5', wake! + 1);
  assert.equal(joinReply(rejoined, 'a5').generationId, generationId + 1);
  assert.equal(joinReply(rejoined, 'a5').members.length, 1);
});

test('a rebalance that times out goes on without the members that did not rejoin', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  const step = join(group, joinRequest('a', a), 'a5', 1_000);
  assert.equal(step.wakeAtMs, 3 + 10_000, 'b, last seen at 3, would expire before the 30 s rebalance timeout');
  // b keeps heartbeating (told REBALANCE_IN_PROGRESS each time) but never rejoins.
  for (const atMs of [9_000, 18_000, 27_000]) assert.equal(errorOf(heartbeat(group, hb(generationId, b), `b${atMs}`, atMs), `b${atMs}`), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(tick(group, 27_500).wakeAtMs, 31_000, 'now the rebalance timeout comes first');
  const timedOut = tick(group, 31_000);
  const leader = joinReply(timedOut, 'a5');
  assert.equal(leader.generationId, generationId + 1);
  assert.deepEqual(leader.members.map((m) => m.memberId), [a]);
  assert.equal(group.members.has(b), false);
});

test('members that never send SyncGroup are removed after the rebalance timeout', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  join(group, joinRequest('a', a), 'a5', 100);
  const round = join(group, joinRequest('b', b, { protocols: consumerProtocols('b') }), 'b5', 100);
  assert.equal(round.wakeAtMs, 100 + 10_000, 'the leader\'s session');
  assert.equal(sync(group, syncRequest(generationId + 1, b), 'b6', 200).wakeAtMs, 10_100, 'b waits, kept alive');
  // The leader a heartbeats but never syncs.
  for (const atMs of [9_000, 18_000, 27_000]) assert.equal(errorOf(heartbeat(group, hb(generationId + 1, a), `a${atMs}`, atMs), `a${atMs}`), ErrorCode.NONE);
  assert.equal(tick(group, 28_000).wakeAtMs, 30_100);
  const step = tick(group, 30_100);
  assert.equal(syncReply(step, 'b6').errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(group.members.has(a), false);
  assert.equal(group.leaderId, b);
  assert.equal(group.state, 'PreparingRebalance');
});

test('a follower kept waiting on SyncGroup past its session is not dropped when the wait ends (found by the model test)', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  join(group, joinRequest('a', a), 'a5', 100);
  join(group, joinRequest('b', b, { protocols: consumerProtocols('b') }), 'b5', 100);
  sync(group, syncRequest(generationId + 1, b), 'b6', 100); // the leader a goes silent
  const step = tick(group, 100 + 10_000); // a's session ends; b, last seen at 100 too, was kept alive
  assert.equal(syncReply(step, 'b6').errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.deepEqual([...group.members.keys()], [b], 'b gets a fresh session with the answer');
  assert.equal(joinReply(join(group, joinRequest('b', b), 'b7', 100 + 10_001), 'b7').errorCode, ErrorCode.NONE);
});

test('leave removes the members and rebalances; an emptied group is Empty and keeps its generation', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  const left = leave(group, { version: 5, members: [{ memberId: b, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }] }, 'l1', 100);
  const response = replyTo(left, 'l1').response as { errorCode: number; members: Array<{ errorCode: number }> };
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.deepEqual(response.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal(group.state, 'PreparingRebalance');
  const legacy = leave(group, { version: 1, members: [{ memberId: a, groupInstanceId: null }] }, 'l2', 200);
  assert.equal((replyTo(legacy, 'l2').response as { errorCode: number }).errorCode, ErrorCode.NONE);
  assert.equal(group.state, 'Empty');
  assert.equal(group.members.size, 0);
  assert.equal(group.leaderId, null);
  assert.ok(group.generationId > generationId, 'the generation moves on, never back');
  assert.equal(legacy.changed, true);
  assert.equal(legacy.wakeAtMs, null);
});

test('a static member restarts without a rebalance; its old member id is fenced', () => {
  const group = newGroup<string>('g1');
  const s = joinRequest('s', '', { groupInstanceId: 'inst-s' });
  const first = joinReply(join(group, s, 's0', 0), 's0');
  assert.equal(first.errorCode, ErrorCode.NONE, 'a static member needs no second join');
  const b = joinReply(join(group, joinRequest('b', ''), 'b0', 0), 'b0').memberId;
  join(group, joinRequest('b', b), 'b1', 1);
  const round = join(group, { ...s, memberId: first.memberId }, 's1', 2);
  const generationId = joinReply(round, 's1').generationId;
  sync(group, syncRequest(generationId, b), 'b2', 3);
  sync(group, syncRequest(generationId, first.memberId, [[first.memberId, 'S'], [b, 'B']], 'inst-s'), 's2', 3);
  assert.equal(group.state, 'Stable');

  const restart = join(group, s, 's3', 100);
  const rejoined = joinReply(restart, 's3');
  assert.equal(rejoined.errorCode, ErrorCode.NONE);
  assert.equal(rejoined.generationId, generationId, 'no new generation');
  assert.notEqual(rejoined.memberId, first.memberId);
  assert.equal(rejoined.leader, rejoined.memberId, 'the leader role moves to the new member id');
  assert.equal(rejoined.skipAssignment, true, 'a rejoined static leader must not reassign');
  assert.equal(rejoined.members.length, 2);
  assert.equal(restart.changed, true);
  assert.equal(group.state, 'Stable');
  assert.equal(text(syncReply(sync(group, syncRequest(generationId, rejoined.memberId, [], 'inst-s'), 's4', 110), 's4').assignment), 'S');
  assert.equal(errorOf(heartbeat(group, hb(generationId, b), 'b3', 110), 'b3'), ErrorCode.NONE, 'the others go on');

  assert.equal(errorOf(heartbeat(group, hb(generationId, first.memberId, 'inst-s'), 'z1', 120), 'z1'), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(errorOf(sync(group, syncRequest(generationId, first.memberId, [], 'inst-s'), 'z2', 120), 'z2'), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(errorOf(join(group, { ...s, memberId: first.memberId }, 'z3', 120), 'z3'), ErrorCode.FENCED_INSTANCE_ID);
  const zombieLeave = leave(group, { version: 5, members: [{ memberId: first.memberId, groupInstanceId: 'inst-s' }] }, 'z4', 120);
  assert.equal((replyTo(zombieLeave, 'z4').response as { members: Array<{ errorCode: number }> }).members[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(errorOf(heartbeat(group, hb(generationId, 'never-was', 'inst-other'), 'z5', 120), 'z5'), ErrorCode.UNKNOWN_MEMBER_ID);

  // A zombie waiting on a round is answered FENCED_INSTANCE_ID when its successor joins.
  join(group, joinRequest('c', '', { version: 3 }), 'c0', 200);
  assert.equal(group.state, 'PreparingRebalance');
  assert.deepEqual(join(group, { ...s, memberId: rejoined.memberId }, 's5', 210).replies, []);
  const successor = join(group, s, 's6', 220);
  assert.equal(joinReply(successor, 's5').errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(successor.replies.length, 1, 'the successor waits for b like everyone else');
  const completed = join(group, joinRequest('b', b), 'b4', 230);
  assert.equal(joinReply(completed, 's6').generationId, generationId + 1);
  assert.equal(joinReply(completed, 's6').leader, joinReply(completed, 's6').memberId, 'the successor keeps the leader role');

  // Administrative removal by instance id.
  const removed = leave(group, { version: 5, members: [{ memberId: '', groupInstanceId: 'inst-s' }] }, 'l1', 300);
  assert.equal((replyTo(removed, 'l1').response as { members: Array<{ errorCode: number }> }).members[0]!.errorCode, ErrorCode.NONE);
  assert.equal(group.staticMembers.size, 0);
});

test('MEMBER_ID_REQUIRED from v4; an unused member id expires with the session timeout', () => {
  const group = newGroup<string>('g1');
  const first = join(group, joinRequest('a', '', { version: 4 }), 'a0', 0);
  const required = joinReply(first, 'a0');
  assert.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(required.memberId, /^a-/);
  assert.equal(first.wakeAtMs, 10_000);
  assert.equal(group.state, 'Empty');
  tick(group, 10_000);
  assert.equal(group.pendingMembers.size, 0);
  assert.equal(errorOf(join(group, joinRequest('a', required.memberId), 'a1', 10_001), 'a1'), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('join rejects bad session timeouts and protocols no member shares; the most voted protocol wins', () => {
  const group = newGroup<string>('g1');
  assert.equal(errorOf(join(group, joinRequest('a', '', { sessionTimeoutMs: 5_999 }), 't1', 0), 't1'), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(errorOf(join(group, joinRequest('a', '', { sessionTimeoutMs: 1_800_001 }), 't2', 0), 't2'), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(errorOf(join(group, joinRequest('a', '', { protocols: [] }), 't3', 0), 't3'), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

  const rrFirst: GroupProtocol[] = [{ name: 'roundrobin', metadata: bytes('x') }, { name: 'range', metadata: bytes('x') }];
  join(group, joinRequest('a', '', { version: 3, protocols: rrFirst }), 'a0', 0);
  assert.equal(group.protocolName, 'roundrobin');
  assert.equal(errorOf(join(group, joinRequest('b', '', { version: 3, protocols: [{ name: 'sticky', metadata: bytes('') }] }), 'b0', 0), 'b0'),
    ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(errorOf(join(group, joinRequest('b', '', { version: 3, protocolType: 'connect' }), 'b1', 0), 'b1'),
    ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const a = [...group.members.keys()][0]!;
  join(group, joinRequest('b', '', { version: 3 }), 'b2', 1);
  join(group, joinRequest('c', '', { version: 3 }), 'c2', 1);
  const step = join(group, joinRequest('a', a, { protocols: rrFirst }), 'a1', 2);
  assert.equal(joinReply(step, 'a1').protocolName, 'range', 'two votes for range against one');

  const small = newGroup<string>('g2', { minSessionTimeoutMs: 6_000, maxSessionTimeoutMs: 60_000, groupMaxSize: 1 });
  join(small, joinRequest('a', '', { version: 3 }), 'a0', 0);
  assert.equal(errorOf(join(small, joinRequest('b', '', { version: 3 }), 'b0', 0), 'b0'), ErrorCode.GROUP_MAX_SIZE_REACHED);
});

test('unloading the group answers the waiting requests with NOT_COORDINATOR; a Dead group sends clients elsewhere', () => {
  const { group, a, b, generationId } = stableGroupOfTwo();
  join(group, joinRequest('a', a), 'a5', 100);
  const step = unload(group);
  assert.equal(joinReply(step, 'a5').errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(group.state, 'Dead');
  assert.equal(step.wakeAtMs, null);
  assert.equal(errorOf(heartbeat(group, hb(generationId, b), 'b5', 110), 'b5'), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(errorOf(join(group, joinRequest('c', ''), 'c5', 110), 'c5'), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(errorOf(sync(group, syncRequest(generationId, b), 'b6', 110), 'b6'), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(listGroupsEntry(group).groupState, 'Dead');
});

test('a known static member restarting in a full group takes its own place', () => {
  const group = newGroup<string>('g1', { minSessionTimeoutMs: 6_000, maxSessionTimeoutMs: 60_000, groupMaxSize: 1 });
  const s = joinRequest('s', '', { groupInstanceId: 'inst-s' });
  const first = joinReply(join(group, s, 's0', 0), 's0');
  sync(group, syncRequest(first.generationId, first.memberId, [[first.memberId, 'S']], 'inst-s'), 's1', 1);
  assert.equal(errorOf(join(group, joinRequest('b', '', { version: 3 }), 'b0', 2), 'b0'), ErrorCode.GROUP_MAX_SIZE_REACHED);
  const again = joinReply(join(group, s, 's2', 3), 's2');
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.generationId, first.generationId);
});

// ---------------------------------------------------------------------------------------------
// Model test: random clients against the protocol, with one diligent client.

interface Token {
  id: number; client: string; kind: 'join' | 'sync' | 'heartbeat' | 'leave'; memberId: string; generationId: number;
  /** A SyncGroup from the group's leader: the assignment it sent. */
  leaderAssignments: Map<string, string> | null;
}
interface Client {
  name: string; instanceId: string | null; sessionTimeoutMs: number; rebalanceTimeoutMs: number;
  memberId: string; generationId: number; members: string[]; leader: boolean;
  phase: 'fresh' | 'joining' | 'joined' | 'syncing' | 'stable' | 'rejoin';
}

type Command =
  | { t: 'join'; client: number; fresh: boolean; variant: number }
  | { t: 'sync'; client: number; salt: number }
  | { t: 'heartbeat'; client: number }
  | { t: 'leave'; client: number }
  | { t: 'act'; client: number }
  | { t: 'tick'; dtMs: number };

const randomClients = 4; // x, y dynamic; s1, s2 share one group.instance.id (a restart and its zombie)
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ t: fc.constant('join' as const), client: fc.nat(randomClients - 1), fresh: fc.boolean(), variant: fc.nat(1) }),
  fc.record({ t: fc.constant('sync' as const), client: fc.nat(randomClients - 1), salt: fc.nat(9) }),
  fc.record({ t: fc.constant('heartbeat' as const), client: fc.nat(randomClients - 1) }),
  fc.record({ t: fc.constant('leave' as const), client: fc.nat(randomClients - 1) }),
  fc.record({ t: fc.constant('tick' as const), dtMs: fc.integer({ min: 0, max: 4_000 }) }),
  // The next sensible step of a well-behaved client, so that schedules get past the first join.
  fc.record({ t: fc.constant('act' as const), client: fc.nat(randomClients - 1) }),
  fc.record({ t: fc.constant('act' as const), client: fc.nat(randomClients - 1) }),
);

function protocolsFor(variant: number): GroupProtocol[] {
  // Every variant shares roundrobin, so no join is ever inconsistent.
  return variant === 0 ? consumerProtocols('v0') : [{ name: 'roundrobin', metadata: bytes('rr:v1') }];
}

interface ModelStats { checkedAssignments: number; generations: number; staticTakeovers: number; fenced: number; rebalanceTimeouts: number; diligentJoined: boolean }

function runModel(commands: Command[]): ModelStats {
  const group = newGroup<Token>('model');
  const stats: ModelStats = { checkedAssignments: 0, generations: 0, staticTakeovers: 0, fenced: 0, rebalanceTimeouts: 0, diligentJoined: false };
  let nowMs = 0;
  let nextToken = 0;
  const answered = new Set<number>();
  const outstanding = new Map<number, Token>();
  const acceptedAssignments = new Map<number, Map<string, string>>();
  const aliases = new Map<string, string>(); // static replacement: new member id → the id it took over
  const clientsByToken = new Map<number, Client>();
  let lastGeneration = group.generationId;
  const mk = (name: string, instanceId: string | null, sessionTimeoutMs: number, rebalanceTimeoutMs: number): Client => ({
    name, instanceId, sessionTimeoutMs, rebalanceTimeoutMs, memberId: '', generationId: -1, members: [], leader: false, phase: 'fresh',
  });
  const clients = [mk('x', null, 6_000, 8_000), mk('y', null, 6_000, 8_000), mk('s1', 'inst', 6_000, 8_000), mk('s2', 'inst', 6_000, 8_000)];
  const diligent = mk('d', null, 10_000, 10_000);
  let diligentEverJoined = false;

  const token = (client: Client, kind: Token['kind'], leaderAssignments: Map<string, string> | null = null): Token => {
    const t: Token = { id: nextToken++, client: client.name, kind, memberId: client.memberId, generationId: client.generationId, leaderAssignments };
    outstanding.set(t.id, t);
    clientsByToken.set(t.id, client);
    return t;
  };

  const apply = (step: GroupStep<Token>, sent: Token | null, staticBefore: { instanceId: string; memberId: string | undefined; generationId: number } | null): void => {
    assertGroupInvariants(group);
    assert.ok(group.generationId >= lastGeneration, 'generation never goes back');
    lastGeneration = group.generationId;
    // Leader syncs first, so that followers answered in the same step can be checked.
    for (const reply of step.replies) {
      const t = reply.to;
      assert.ok(!answered.has(t.id), `token ${t.id} answered twice`);
      assert.ok(outstanding.has(t.id), `token ${t.id} was never sent`);
      if (reply.kind === 'SyncGroup' && t.leaderAssignments !== null && reply.response.errorCode === ErrorCode.NONE
          && !acceptedAssignments.has(t.generationId)) {
        acceptedAssignments.set(t.generationId, t.leaderAssignments);
      }
    }
    for (const reply of step.replies) {
      const t = reply.to;
      answered.add(t.id);
      outstanding.delete(t.id);
      const client = clientsByToken.get(t.id)!;
      const current = client.memberId === t.memberId || t.memberId === '';
      if (reply.kind === 'JoinGroup') {
        const r = reply.response;
        if (r.errorCode === ErrorCode.NONE) {
          assert.ok(r.generationId >= client.generationId || !current, 'a client never sees its generation go back');
          if (staticBefore !== null && t.id === sent?.id && r.generationId === staticBefore.generationId && staticBefore.memberId !== undefined
              && r.memberId !== staticBefore.memberId) {
            aliases.set(r.memberId, staticBefore.memberId);
            stats.staticTakeovers += 1;
          }
          Object.assign(client, { memberId: r.memberId, generationId: r.generationId, leader: r.leader === r.memberId && !r.skipAssignment,
            members: r.members.map((m) => m.memberId), phase: 'joined' });
          if (client === diligent) diligentEverJoined = true;
        } else if (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
          Object.assign(client, { memberId: r.memberId, phase: 'fresh' });
        } else if (current) {
          if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || r.errorCode === ErrorCode.FENCED_INSTANCE_ID) client.memberId = '';
          client.phase = 'rejoin';
        }
      } else if (reply.kind === 'SyncGroup') {
        const r = reply.response;
        if (r.errorCode === ErrorCode.NONE) {
          const accepted = acceptedAssignments.get(t.generationId);
          assert.ok(accepted !== undefined, `a member was answered in generation ${t.generationId} before its leader`);
          let owner = t.memberId;
          while (!accepted.has(owner) && aliases.has(owner)) owner = aliases.get(owner)!;
          assert.equal(text(r.assignment), accepted.get(owner) ?? '', `member ${t.memberId} gets what the leader sent for it`);
          if (accepted.has(owner)) stats.checkedAssignments += 1;
          if (current) client.phase = 'stable';
        } else if (current) client.phase = 'rejoin';
      } else if (reply.kind === 'Heartbeat') {
        assert.equal(t.id, sent?.id, 'heartbeats are answered at once');
        if (reply.response.errorCode !== ErrorCode.NONE && current) client.phase = 'rejoin';
      }
      if ((reply.response as { errorCode: number }).errorCode === ErrorCode.FENCED_INSTANCE_ID) stats.fenced += 1;
      if (client === diligent && diligentEverJoined) {
        const code = (reply.response as { errorCode: number }).errorCode;
        assert.notEqual(code, ErrorCode.UNKNOWN_MEMBER_ID, 'the diligent member is never dropped');
      }
    }
    if (sent !== null && (sent.kind === 'heartbeat' || sent.kind === 'leave')) assert.ok(answered.has(sent.id), `${sent.kind} answered at once`);
    if (diligentEverJoined) assert.ok(group.members.has(diligent.memberId), 'the diligent member stays in the group');
  };

  const sendJoin = (client: Client, fresh: boolean, variant: number): void => {
    if (fresh) client.memberId = '';
    const t = token(client, 'join');
    const staticBefore = client.instanceId === null ? null
      : { instanceId: client.instanceId, memberId: group.staticMembers.get(client.instanceId), generationId: group.generationId };
    client.phase = 'joining';
    apply(join(group, {
      version: 9, memberId: client.memberId, groupInstanceId: client.instanceId, clientId: client.name, clientHost: 'h',
      sessionTimeoutMs: client.sessionTimeoutMs, rebalanceTimeoutMs: client.rebalanceTimeoutMs, protocolType: 'consumer',
      protocols: protocolsFor(variant),
    }, t, nowMs), t, staticBefore);
  };
  const sendSync = (client: Client, salt: number): void => {
    const sent = new Map(client.leader ? client.members.map((m) => [m, assignmentText(client.generationId, m, salt)]) : []);
    const t = token(client, 'sync', group.leaderId === client.memberId ? sent : null);
    client.phase = 'syncing';
    const assignments = [...sent].map(([memberId, a]) => ({ memberId, assignment: bytes(a) }));
    apply(sync(group, {
      generationId: client.generationId, memberId: client.memberId, groupInstanceId: client.instanceId,
      protocolType: 'consumer', protocolName: null, assignments,
    }, t, nowMs), t, null);
  };
  const sendHeartbeat = (client: Client): void => {
    const t = token(client, 'heartbeat');
    apply(heartbeat(group, { generationId: client.generationId, memberId: client.memberId, groupInstanceId: client.instanceId }, t, nowMs), t, null);
  };
  const sendLeave = (client: Client): void => {
    const t = token(client, 'leave');
    apply(leave(group, { version: 5, members: [{ memberId: client.memberId, groupInstanceId: client.instanceId }] }, t, nowMs), t, null);
    client.memberId = '';
    client.phase = 'fresh';
  };

  /** What a well-behaved consumer does before time passes: answer the group at once. */
  const acts = (client: Client, steps: number, salt: number): void => {
    for (let i = 0; i < steps; i++) {
      switch (client.phase) {
        case 'fresh': case 'rejoin': sendJoin(client, false, 0); continue;
        case 'joined': sendSync(client, salt); continue;
        case 'stable': sendHeartbeat(client); if (client.phase === 'stable') return; continue;
        case 'joining': case 'syncing': return; // kept alive while it waits
      }
    }
  };
  const diligentActs = (): void => { acts(diligent, 6, 0); };

  for (const command of commands) {
    if (command.t === 'tick') {
      diligentActs();
      nowMs += command.dtMs;
      const timingOut = group.state === 'PreparingRebalance' && group.rebalanceDeadlineMs! <= nowMs;
      apply(tick(group, nowMs), null, null);
      if (timingOut) stats.rebalanceTimeouts += 1;
      continue;
    }
    const client = clients[command.client]!;
    if (command.t === 'act') acts(client, 1, nextToken % 10);
    else if (command.t === 'join') sendJoin(client, command.fresh || client.memberId === '', command.variant);
    else if (command.t === 'sync') sendSync(client, command.salt);
    else if (command.t === 'heartbeat') sendHeartbeat(client);
    else sendLeave(client);
  }
  stats.generations = group.generationId;
  stats.diligentJoined = diligentEverJoined;
  return stats;
}

function assignmentText(generationId: number, memberId: string, salt: number): string {
  return `${generationId}/${memberId}/${salt}`;
}

test('model: assignments, generations, single replies and the diligent member survive random schedules', () => {
  const total: Omit<ModelStats, 'diligentJoined'> = { checkedAssignments: 0, generations: 0, staticTakeovers: 0, fenced: 0, rebalanceTimeouts: 0 };
  let diligentRuns = 0;
  fc.assert(fc.property(fc.array(commandArb, { minLength: 30, maxLength: 150 }), (commands) => {
    const stats = runModel(commands);
    total.checkedAssignments += stats.checkedAssignments;
    total.generations += stats.generations;
    total.staticTakeovers += stats.staticTakeovers;
    total.fenced += stats.fenced;
    total.rebalanceTimeouts += stats.rebalanceTimeouts;
    if (stats.diligentJoined) diligentRuns += 1;
  }), { numRuns: 400 });
  // The schedules reach the interesting cases, so the checks above are not vacuous.
  console.log(`model coverage: ${JSON.stringify({ ...total, diligentRuns })}`);
  assert.ok(total.checkedAssignments > 400, `assignments checked: ${total.checkedAssignments}`);
  assert.ok(total.staticTakeovers > 20, `static takeovers: ${total.staticTakeovers}`);
  assert.ok(total.fenced > 20, `fenced answers: ${total.fenced}`);
  assert.ok(total.rebalanceTimeouts > 10, `rebalance timeouts: ${total.rebalanceTimeouts}`);
  assert.ok(diligentRuns > 200, `runs where the diligent member joined: ${diligentRuns}`);
});

test('model: a long quiet stretch where only the diligent member acts keeps it in the group', () => {
  const stats = runModel(Array.from({ length: 200 }, () => ({ t: 'tick' as const, dtMs: 3_999 })));
  assert.equal(stats.diligentJoined, true);
  assert.equal(stats.generations, 1, 'alone and diligent: one generation, no rebalance');
});
