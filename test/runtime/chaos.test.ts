// The real-process nemesis (runtime/ops/chaos.ts) for two minutes: nats-server and three node
// processes on loopback, kafkajs producers (idempotent, acks=all) and a consumer group, and
// kill -9, SIGSTOP pauses past the session timeout, nats-server restarts, mesh cuts and (as
// root, on a tmpfs per node) full disks on a seeded schedule. Every checker must pass: no
// acknowledged write lost, no duplicate from the idempotent producer, consumers' reads still in
// the log, committed offsets intact, and the cluster writable on every partition within 10 s of
// each fault healing. Before it, the schedule and the adapter that feeds the real history to
// the simulator's checkers are checked on their own (the checkers must be able to fail).
//
// Needs nats-server (skipped without it outside CI). Loopback only, ports 24100-24113; the
// campaign stops every process it started by PID, and unmounts its tmpfs disks, even on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChaosFaultKind, ChaosSchedule, chaosFaultKinds, checkChaosHistory, formatChaosReport, recoveryLimitMs, runChaos } from '../../runtime/ops/chaos.js';
import { newClientHistory } from '../../runtime/ops/chaos-workload.js';
import { ViolationLog } from '../../sim/checkers/types.js';
import { natsServer, natsSkip } from './real-cluster-harness.js';

const campaignMs = 120_000;
const portBase = 24100;
const seed = 20_261_127;

test('the schedule: the same seed gives the same faults, and every kind comes once in each round', () => {
  const draw = (s: number) => {
    const schedule = new ChaosSchedule(s, chaosFaultKinds);
    return Array.from({ length: 2 * chaosFaultKinds.length }, () => schedule.next());
  };
  assert.deepEqual(draw(5), draw(5));
  assert.notDeepEqual(draw(5), draw(6));
  const faults = draw(5);
  for (const round of [faults.slice(0, chaosFaultKinds.length), faults.slice(chaosFaultKinds.length)]) {
    assert.deepEqual(round.map((f) => f.kind).sort(), [...chaosFaultKinds].sort());
  }
  for (const fault of faults.filter((f) => f.kind === 'pause' || f.kind === 'mesh-cut')) assert.ok(fault.holdMs > 3000, 'longer than the broker session');
});

test('the checkers catch, on a real-shaped history, a lost acknowledged write, a duplicate, a hole and a lost commit', () => {
  const history = newClientHistory();
  const key = 'chaos/0';
  history.data.acked.push({ topic: 'chaos', partition: 0, baseOffset: 0, values: ['p0-0-0'], leaderEpoch: -1, node: 0, atMs: 1 });
  history.data.acked.push({ topic: 'chaos', partition: 0, baseOffset: 1, values: ['p0-0-1'], leaderEpoch: -1, node: 0, atMs: 2 });
  history.groups.commits.push({ group: 'g', key, offset: 3, generation: 1, memberId: 'm', sentSeq: 1, ackedSeq: 1, sentAtMs: 3, ackedAtMs: 3 });
  history.groups.finalFetch = { sentSeq: 2, answeredSeq: 3, offsets: new Map([[key, 2]]) };
  const clean = new ViolationLog();
  checkChaosHistory(history, new Map([[key, { values: new Map([[0, 'p0-0-0'], [1, 'p0-0-1'], [2, 'p0-0-2']]), highWatermark: 3 }]]), clean, 10);
  assert.deepEqual(clean.violations.map((v) => v.checker), ['acked-commits-durable'], 'the final offset 2 is below the acknowledged commit 3');

  const broken = new ViolationLog();
  checkChaosHistory(history, new Map([[key, { values: new Map([[0, 'p0-0-0'], [2, 'p0-0-0']]), highWatermark: 3 }]]), broken, 10);
  assert.deepEqual([...new Set(broken.violations.map((v) => v.checker))].sort(),
    ['acked-commits-durable', 'acked-writes-durable', 'dense-offsets', 'idempotent-no-duplicates']);
});

test(`two minutes of faults on three real node processes: nothing acknowledged is lost, and every fault heals within ${recoveryLimitMs / 1000} s`, {
  timeout: campaignMs + 180_000, skip: natsSkip,
}, async () => {
  assert.ok(natsServer !== null, 'nats-server is not installed');
  const report = await runChaos({ durationMs: campaignMs, seed, natsServer, portBase });
  const text = formatChaosReport(report).join('\n');
  assert.deepEqual(report.violations, [], text);
  const injected = new Set(report.faults.map((f) => f.kind));
  const expected = chaosFaultKinds.filter((kind: ChaosFaultKind) => report.skippedKinds[kind] === undefined);
  for (const kind of expected) assert.ok(injected.has(kind), `no ${kind} fault in two minutes:\n${text}`);
  if (process.getuid?.() === 0) assert.ok(injected.has('disk-full'), `as root every node has a tmpfs to fill:\n${text}`);
  for (const fault of report.faults) assert.ok(fault.recoveryMs !== null && fault.recoveryMs <= recoveryLimitMs, `${fault.kind}: ${fault.recoveryMs} ms`);
  assert.ok(report.acknowledgedWrites > 100, `the producers kept writing through the faults (${report.acknowledgedWrites} acknowledged)\n${text}`);
  assert.ok(report.commitsAcknowledged > 10, `the group kept committing (${report.commitsAcknowledged})\n${text}`);
  assert.equal(report.recordsRead >= report.acknowledgedWrites, true, 'every acknowledged write was read back');
});
