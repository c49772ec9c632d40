// Each checker is shown to fail: a deliberate protocol bug, switched on through the
// test-only bug switches, must make a campaign find a seed that the checker flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';
import { bugSwitches } from '../../runtime/ops/bugs.js';
import {
  ackedCommitsDurable, checkGroups, committedOffsetsMonotonic, groupCheckerNames, groupExclusiveAssignment, resumeFromCommit,
} from '../../sim/checkers/groups.js';
import { ViolationLog } from '../../sim/checkers/types.js';
import { type AckedCommit, type FetchedOffset, type GroupHistory, type StartPosition, newGroupHistory } from '../../sim/workloads/groups.js';

// Two leaders in one term need two candidates racing in the same term, which pre-vote
// makes rare; five nodes give more candidates to race.
const cases: Array<{ bug: string; checker: string; nodes: number }> = [
  { bug: 'vote-twice', checker: 'election-safety', nodes: 5 },
  { bug: 'skip-prev-log-check', checker: 'log-matching', nodes: 3 },
  { bug: 'vote-without-log-check', checker: 'leader-completeness', nodes: 3 },
  { bug: 'vote-without-log-check', checker: 'acked-metadata-durable', nodes: 3 },
  { bug: 'commit-without-quorum', checker: 'committed-agreement', nodes: 3 },
  { bug: 'broker-skips-records', checker: 'metadata-convergence', nodes: 3 },
];

for (const { bug, checker, nodes } of cases) {
  test(`the ${checker} checker catches the "${bug}" bug`, { timeout: 300_000 }, async () => {
    const summary = await runCampaign({
      seedFrom: 1, seedTo: 300, nodes, durationMs: 30_000, faults: ['partition', 'crash', 'drop'],
      // A buggy run may livelock; a small event budget ends such runs quickly.
      bugs: bugSwitches[bug], eventsMax: 100_000, stopWhen: (result) => (result.checks[checker] ?? 0) > 0,
    });
    const caught = summary.results.filter((r) => (r.checks[checker] ?? 0) > 0);
    assert.ok(caught.length > 0, `no seed in 1..300 tripped ${checker} with ${bug} switched on`);
  });
}

// The compaction checkers, each against a cleaner bug. A cleaner that ignores the high
// watermark needs a truncation of records it compacted away (seed 49 is the first in 1..300);
// one that ignores the tombstone horizon, a replica away for longer than delete.retention.ms
// while its value's tombstone expires (seed 208).
const cleanerCases: Array<{ bug: string; checker: string }> = [
  { bug: 'cleaner-keeps-first-value', checker: 'compacted-latest-value' },
  { bug: 'cleaner-ignores-high-watermark', checker: 'compacted-latest-value' },
  { bug: 'cleaner-ignores-tombstone-horizon', checker: 'compacted-latest-value' },
  { bug: 'cleaner-renumbers-offsets', checker: 'offsets-stable' },
  { bug: 'cleaner-swap-not-atomic', checker: 'compacted-read-order' },
];

for (const { bug, checker } of cleanerCases) {
  test(`the ${checker} checker catches the "${bug}" bug`, { timeout: 300_000 }, async () => {
    const summary = await runCampaign({
      seedFrom: 1, seedTo: 300, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'compaction',
      bugs: bugSwitches[bug], eventsMax: 200_000, stopWhen: (result) => (result.checks[checker] ?? 0) > 0,
    });
    const caught = summary.results.filter((r) => (r.checks[checker] ?? 0) > 0);
    assert.ok(caught.length > 0, `no seed in 1..${summary.seeds} tripped ${checker} with ${bug} switched on`);
  });
}

// A follower that fetches on before its fsync lets the leader count page-cache copies toward
// the high watermark. Only a power loss of every node at once, aimed at a moment when such a
// copy is all that stands behind an acknowledged write (sim/nemesis.ts aimPowerLoss), loses
// that write; a slow disk keeps the copy unsynced long enough (seed 8 is the first in 1..300).
test('the acked-writes-durable checker catches the "follower-fetches-before-fsync" bug under power loss', { timeout: 300_000 }, async () => {
  const checker = 'acked-writes-durable';
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 300, nodes: 3, durationMs: 30_000, faults: ['power-loss', 'slow-disk'], workload: 'produce-consume',
    bugs: bugSwitches['follower-fetches-before-fsync'], eventsMax: 200_000, stopWhen: (result) => (result.checks[checker] ?? 0) > 0,
  });
  const caught = summary.results.filter((r) => (r.checks[checker] ?? 0) > 0);
  assert.ok(caught.length > 0, `no seed in 1..${summary.seeds} tripped ${checker} with follower-fetches-before-fsync switched on`);
});

test('without bugs, power losses lose no acknowledged write', { timeout: 300_000 }, async () => {
  const summary = await runCampaign({ seedFrom: 1, seedTo: 12, nodes: 3, durationMs: 30_000, faults: ['power-loss', 'slow-disk'], workload: 'produce-consume' });
  assert.deepEqual(summary.failedSeeds, []);
});

// The cleaner on the transactions workload's compacted topics: markers dropped with data left
// leave a replica's log with an open transaction below the cleaned offset (seed 1); aborted
// offset commits kept as committed supersede the committed ones, and a group resumes from an
// older offset after its coordinator reloads (seed 20); aborted transactions listed to read_committed
// consumers after the cleaner removed their data and abort markers make the consumer that
// reads the cleaned output from 0 drop a producer's later committed records (seed 1).
const txnCleanerCases: Array<{ bug: string; checker: string }> = [
  { bug: 'cleaner-drops-markers-early', checker: 'cleaned-txns-resolved' },
  { bug: 'cleaner-keeps-aborted-as-committed', checker: 'txn-atomic-visibility' },
  { bug: 'fetch-lists-cleaned-aborts', checker: 'read-committed-isolation' },
];

for (const { bug, checker } of txnCleanerCases) {
  test(`the ${checker} checker catches the "${bug}" bug`, { timeout: 300_000 }, async () => {
    const summary = await runCampaign({
      seedFrom: 1, seedTo: 100, nodes: 3, durationMs: 10_000, faults: ['partition', 'crash', 'drop'], workload: 'transactions',
      bugs: bugSwitches[bug], eventsMax: 200_000, stopWhen: (result) => (result.checks[checker] ?? 0) > 0,
    });
    const caught = summary.results.filter((r) => (r.checks[checker] ?? 0) > 0);
    assert.ok(caught.length > 0, `no seed in 1..${summary.seeds} tripped ${checker} with ${bug} switched on`);
  });
}

test('without bugs the same seeds are clean', { timeout: 300_000 }, async () => {
  const summary = await runCampaign({ seedFrom: 1, seedTo: 30, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'] });
  assert.deepEqual(summary.failedSeeds, []);
});

// The consumer-group checkers on made-up histories: each fires on the history that breaks its
// property, and none fires on a history that keeps them all.
function commit(key: string, offset: number, sentSeq: number, ackedSeq: number, memberId = 'm1', generation = 1): AckedCommit {
  return { group: 'g1', key, offset, generation, memberId, sentSeq, ackedSeq, sentAtMs: sentSeq, ackedAtMs: ackedSeq };
}
function fetched(key: string, offset: number, sentSeq: number, answeredSeq: number, memberId = 'm2'): FetchedOffset {
  return { group: 'g1', key, offset, memberId, sentSeq, answeredSeq, sentAtMs: sentSeq, answeredAtMs: answeredSeq };
}
function start(key: string, fetchedOffset: number, startOffset: number, fetchSentSeq: number): StartPosition {
  return { group: 'g1', key, memberId: 'm2', generation: 2, fetchedOffset, startOffset, fetchSentSeq, atMs: fetchSentSeq + 1 };
}

/** Two generations, a handover of orders/0 from m1 to m2 at the committed offset, a final fetch. */
function cleanGroupHistory(): GroupHistory {
  const history = newGroupHistory();
  history.syncs.push(
    { group: 'g1', generation: 1, memberId: 'm1', partitions: ['orders/0', 'orders/1'], atMs: 1 },
    { group: 'g1', generation: 1, memberId: 'm2', partitions: ['orders/2', 'orders/3'], atMs: 1 },
    { group: 'g1', generation: 2, memberId: 'm2', partitions: ['orders/0', 'orders/1', 'orders/2', 'orders/3'], atMs: 20 },
  );
  history.commits.push(commit('orders/0', 5, 2, 3), commit('orders/0', 9, 10, 12), commit('orders/0', 14, 30, 31, 'm2', 2));
  // Sent before the commit of 9 was acknowledged: 5 is enough.
  history.fetchedOffsets.push(fetched('orders/0', 5, 11, 13), fetched('orders/0', 9, 21, 22), fetched('orders/0', 14, 40, 41, ''));
  history.starts.push(start('orders/0', 9, 9, 21), start('orders/1', -1, 0, 21));
  history.finalFetch = { sentSeq: 40, answeredSeq: 41, offsets: new Map([['orders/0', 14], ['orders/1', -1], ['orders/2', -1], ['orders/3', -1]]) };
  return history;
}

function groupViolations(history: GroupHistory): Record<string, number> {
  const log = new ViolationLog();
  checkGroups(history, log, 100);
  return Object.fromEntries(groupCheckerNames.map((name) => [name, log.countFor(name)]));
}

test('the group checkers are silent on a history that keeps every property', () => {
  assert.deepEqual(groupViolations(cleanGroupHistory()), {
    [groupExclusiveAssignment]: 0, [committedOffsetsMonotonic]: 0, [ackedCommitsDurable]: 0, [resumeFromCommit]: 0,
  });
});

test('group-exclusive-assignment fires when two members of one generation own a partition', () => {
  const history = cleanGroupHistory();
  history.syncs.push({ group: 'g1', generation: 1, memberId: 'm3', partitions: ['orders/1'], atMs: 2 });
  assert.equal(groupViolations(history)[groupExclusiveAssignment], 1);
  // The same partition in another generation is a handover, not a conflict.
  const handover = cleanGroupHistory();
  handover.syncs.push({ group: 'g1', generation: 3, memberId: 'm3', partitions: ['orders/1'], atMs: 50 });
  assert.equal(groupViolations(handover)[groupExclusiveAssignment], 0);
});

test('committed-offsets-monotonic fires when an OffsetFetch answers below an acknowledged commit', () => {
  const history = cleanGroupHistory();
  history.fetchedOffsets.push(fetched('orders/0', 5, 13, 14));
  assert.equal(groupViolations(history)[committedOffsetsMonotonic], 1);
});

test('acked-commits-durable fires when the settled committed offset lost an acknowledged commit', () => {
  const history = cleanGroupHistory();
  history.finalFetch!.offsets.set('orders/0', 9);
  assert.equal(groupViolations(history)[ackedCommitsDurable], 1);
  history.finalFetch!.offsets.delete('orders/0');
  assert.equal(groupViolations(history)[ackedCommitsDurable], 1);
});

test('resume-from-commit fires when a member resumes below a commit or not where the commit says', () => {
  const below = cleanGroupHistory();
  below.starts.push(start('orders/0', 5, 5, 21));
  assert.equal(groupViolations(below)[resumeFromCommit], 1);
  const elsewhere = cleanGroupHistory();
  elsewhere.starts.push(start('orders/2', -1, 3, 21));
  assert.equal(groupViolations(elsewhere)[resumeFromCommit], 1);
});

// A coordinator that ignores the offset records when it loads after a failover loses every
// acknowledged commit of its groups: the lag monitor, resuming members or the final fetch see
// a committed offset below one that was acknowledged.
test('the group checkers catch a coordinator that forgets committed offsets when it loads', { timeout: 300_000 }, async () => {
  const lostCommit = (r: { checks: Record<string, number> }): boolean => (r.checks[committedOffsetsMonotonic] ?? 0) + (r.checks[ackedCommitsDurable] ?? 0) > 0;
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 300, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'groups',
    bugs: { controller: {}, broker: { group: { forgetOffsetsOnLoad: true } } }, eventsMax: 200_000, stopWhen: lostCommit,
  });
  const caught = summary.results.filter(lostCommit);
  assert.ok(caught.length > 0, `no seed in 1..${summary.seeds} lost a commit with forgetOffsetsOnLoad switched on`);
  assert.match(caught[0]!.firstViolation?.message ?? '', /acknowledged commit|was acknowledged/);
});

test('without the bug the same group seeds are clean', { timeout: 300_000 }, async () => {
  const summary = await runCampaign({ seedFrom: 1, seedTo: 30, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'groups' });
  assert.deepEqual(summary.failedSeeds, []);
});
