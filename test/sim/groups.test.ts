// The consumer-group workload: its consumer protocol bytes and range assignor, and whole
// simulated runs in which the group forms, rebalances after member faults and coordinator
// failovers, commits, and keeps every group property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runSimulation } from '../../sim/run.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../actors/group/consumer-protocol.js';
import { rangeAssign } from '../../sim/workloads/groups.js';

test('subscriptions and assignments round-trip through the consumer protocol bytes', () => {
  assert.deepEqual(decodeSubscription(encodeSubscription(['orders', 'events'])), ['orders', 'events']);
  // Kafka's ConsumerProtocol v0: version 0, one topic "orders", null user data.
  assert.deepEqual([...encodeSubscription(['orders'])], [0, 0, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115, 255, 255, 255, 255]);
  fc.assert(fc.property(
    fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 10 })),
    (byTopic) => {
      const assigned = new Map(Object.entries(byTopic));
      assert.deepEqual(decodeAssignment(encodeAssignment(assigned)), assigned);
    },
  ));
  assert.deepEqual(decodeAssignment(new Uint8Array(0)), new Map(), 'a member the leader left out has no partitions');
  assert.throws(() => decodeAssignment(Uint8Array.of(0, 0, 0, 0, 0, 1, 0, 9)), /end/);
});

test('the range assignor gives every partition to exactly one subscribed member, in contiguous ranges', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 20 }), (members, partitions) => {
    const subscriptions = Array.from({ length: members }, (_, i) => ({ memberId: `m-${(i * 7) % members}-${i}`, topics: ['orders'] }));
    const plan = rangeAssign(subscriptions, new Map([['orders', partitions]]));
    const owned = [...plan.values()].flatMap((assigned) => assigned.get('orders') ?? []);
    assert.deepEqual([...owned].sort((a, b) => a - b), Array.from({ length: partitions }, (_, p) => p));
    const sizes = [...plan.values()].map((assigned) => (assigned.get('orders') ?? []).length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, 'balanced');
  }));
  const plan = rangeAssign([{ memberId: 'b', topics: ['orders'] }, { memberId: 'a', topics: ['orders'] }, { memberId: 'c', topics: [] }], new Map([['orders', 5]]));
  assert.deepEqual(plan.get('a')!.get('orders'), [0, 1, 2]);
  assert.deepEqual(plan.get('b')!.get('orders'), [3, 4]);
  assert.equal(plan.get('c')!.size, 0, 'not subscribed, nothing assigned');
});

test('without faults the group forms, reads every record and commits the end of every partition', () => {
  const result = runSimulation({ seed: 5, nodes: 3, durationMs: 20_000, faults: [], workload: 'groups' });
  assert.equal(result.violations, 0, JSON.stringify(result.violationDetails));
  const { group } = result.workload;
  assert.ok(group.syncs >= 3 && group.generations >= 1, `the group formed: ${JSON.stringify(group)}`);
  assert.ok(group.commitsAcked > 20, `commits were acknowledged: ${group.commitsAcked}`);
  assert.ok(group.recordsConsumed >= result.workload.recordsAcked, `members read ${group.recordsConsumed} of ${result.workload.recordsAcked} records`);
  assert.ok(group.memberCrashes + group.memberLeaves + group.memberPauses > 0, 'member faults happen without cluster faults too');
});

test('under partitions, crashes and message loss the group rebalances, commits and keeps its properties', () => {
  const totals = { generations: 0, joins: 0, commitsAcked: 0, memberFaults: 0, fencedAfterPause: 0, coordinatorMoves: 0, notCoordinator: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const result = runSimulation({ seed, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'groups' });
    assert.equal(result.violations, 0, `seed ${seed}: ${JSON.stringify(result.violationDetails.slice(0, 3))}`);
    assert.notEqual(result.settledMs, null, `seed ${seed} settled`);
    const { group } = result.workload;
    assert.ok(group.generations >= 2, `seed ${seed}: the group rebalanced (${group.generations} generations)`);
    assert.ok(group.commitsAcked > 0, `seed ${seed}: commits were acknowledged`);
    totals.generations += group.generations;
    totals.joins += group.joins;
    totals.commitsAcked += group.commitsAcked;
    totals.memberFaults += group.memberCrashes + group.memberLeaves + group.memberPauses;
    totals.fencedAfterPause += group.fencedAfterPause;
    totals.coordinatorMoves += group.coordinatorMoves;
    totals.notCoordinator += group.notCoordinator;
  }
  assert.ok(totals.memberFaults >= 6, `member faults: ${JSON.stringify(totals)}`);
  assert.ok(totals.coordinatorMoves > 0 && totals.notCoordinator > 0, `the coordinator moved: ${JSON.stringify(totals)}`);
  // A member that joined after a crash or leave is a new member; rebalances follow the faults.
  assert.ok(totals.joins > totals.memberFaults, `joins: ${JSON.stringify(totals)}`);
});

test('a group run is deterministic: same seed, same trace hash', () => {
  const options = { seed: 11, nodes: 3, durationMs: 15_000, faults: ['partition', 'crash', 'drop', 'duplicate'] as const, workload: 'groups' as const };
  const a = runSimulation({ ...options, faults: [...options.faults] });
  const b = runSimulation({ ...options, faults: [...options.faults] });
  assert.equal(a.traceHash, b.traceHash);
  assert.equal(a.events, b.events);
  assert.deepEqual(a.workload.group, b.workload.group);
});
