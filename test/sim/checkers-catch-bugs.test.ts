// Each checker is shown to fail: a deliberate protocol bug, switched on through the
// test-only bug switches, must make a campaign find a seed that the checker flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';
import { bugSwitches } from '../../runtime/ops/bugs.js';

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

test('without bugs the same seeds are clean', { timeout: 300_000 }, async () => {
  const summary = await runCampaign({ seedFrom: 1, seedTo: 30, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'] });
  assert.deepEqual(summary.failedSeeds, []);
});
