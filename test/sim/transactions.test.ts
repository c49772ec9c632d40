// The transactions workload's campaign: a read-process-write pipeline under partitions,
// crashes and drops, with processors that crash mid-transaction and zombies that carry on
// with a fenced epoch. Every seed must be clean, and the campaign must have exercised what
// the checkers judge: commits, aborts on purpose, fencing, zombies, aborted records that
// read_committed consumers dropped. Then each transaction checker is shown to fail, with a
// transaction coordinator bug switched on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';
import { bugSwitches } from '../../runtime/ops/bugs.js';
import type { TxnStats } from '../../sim/workloads/transactions-history.js';

/**
 * Seeds that fail on a bug in code outside sim/, recorded in .bench-me/txn-bugs.md for its
 * owner, and left out until it is fixed.
 */
const knownFailingSeeds: number[] = [];

/** Short runs, so that 200 seeds fit npm test: 10 s of faults, then healing and settling. */
const campaign = { nodes: 3, durationMs: 10_000, faults: ['partition', 'crash', 'drop'] as const, workload: 'transactions' as const };
// 200 seeds since each also cleans the output and reads it again at the end (300 took 126-217 s
// of a CI run); the floors below are per 100 seeds. Seeds 1..200 gave 3,127 commits, 559 aborts
// on purpose, 1,383 aborted records dropped, 90 processor crashes, 131 zombies (2,246 requests),
// 138 fenced answers, 214 node crashes, 20,635 passes, 5,567 aborted batches and 9,447 markers removed.
const seeds = 200;
const perHundred = (n: number): number => (n * seeds) / 100;

test(`${seeds} seeds of the transactions workload are clean, with commits, aborts, crashes, zombies and fencing`, { timeout: 900_000 }, async () => {
  const summary = await runCampaign({
    ...campaign, faults: [...campaign.faults], seedFrom: 1, seedTo: seeds + knownFailingSeeds.length, excludeSeeds: knownFailingSeeds,
  });
  assert.equal(summary.seeds, seeds);
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
  const sum = (pick: (t: TxnStats) => number): number => summary.results.reduce((n, r) => n + pick(r.workload.transactions), 0);
  const committed = sum((t) => t.commitsAnswered);
  assert.ok(committed > perHundred(1000), `only ${committed} commits`);
  assert.ok(sum((t) => t.abortsChosen) > perHundred(100), 'too few aborts on purpose');
  assert.ok(sum((t) => t.abortedRecordsSkipped) > perHundred(100), 'read_committed consumers dropped too few aborted records');
  assert.ok(sum((t) => t.processorCrashes) > perHundred(33), 'too few processor crashes');
  assert.ok(sum((t) => t.zombies) > perHundred(33), 'too few zombies');
  assert.ok(sum((t) => t.zombieRequests) > perHundred(33), 'zombies sent too few requests with their fenced epoch');
  assert.ok(sum((t) => t.fencedAnswers) > perHundred(33), 'too few fenced answers');
  assert.ok(summary.faultsInjected.crash! > perHundred(67), 'too few node crashes');
  // The internal topics and the output are compacted: transactional offset commits, aborted data and markers are cleaned.
  const cleaned = (pick: (c: (typeof summary.results)[number]['cleaner']) => number): number => summary.results.reduce((n, r) => n + pick(r.cleaner), 0);
  assert.ok(cleaned((c) => c.passes) > perHundred(100), 'too few cleaning passes over __consumer_offsets, __transaction_state and txn-output');
  // The output's records are never superseded: its passes remove only aborted data and markers (seeds 1..100: 7.08 MB -> 3.79 MB).
  assert.ok(cleaned((c) => c.bytesAfter) < cleaned((c) => c.bytesBefore) * 0.6, 'the passes removed less than 40% of what they rewrote');
  assert.ok(cleaned((c) => c.abortedBatchesRemoved) > perHundred(100), 'too few aborted batches removed');
  assert.ok(cleaned((c) => c.markersRemoved) > perHundred(100), 'too few markers removed');
});

// Each transaction checker, against a transaction coordinator bug: the first seeds catch them.
const cases: Array<{ bug: string; checker: string }> = [
  { bug: 'txn-skips-epoch-check', checker: 'zombie-never-commits' },
  { bug: 'txn-marks-aborts-as-commits', checker: 'read-committed-isolation' },
  { bug: 'txn-marks-aborts-as-commits', checker: 'txn-atomic-visibility' },
  { bug: 'txn-marks-aborts-as-commits', checker: 'exactly-once-output' },
];

for (const { bug, checker } of cases) {
  test(`the ${checker} checker catches the "${bug}" bug`, { timeout: 300_000 }, async () => {
    const summary = await runCampaign({
      ...campaign, faults: [...campaign.faults], seedFrom: 1, seedTo: 100, bugs: bugSwitches[bug], eventsMax: 200_000,
      stopWhen: (result) => (result.checks[checker] ?? 0) > 0,
    });
    const caught = summary.results.filter((r) => (r.checks[checker] ?? 0) > 0);
    assert.ok(caught.length > 0, `no seed in 1..${summary.seeds} tripped ${checker} with ${bug} switched on`);
  });
}
