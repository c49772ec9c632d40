// A create the controller wrote but whose answer was lost or late is sent again by its
// client (the admin workload here, the Kafka listener's askController in a node): the resend
// carries the same creation id and must be acknowledged with the topic the first one made,
// not refused TOPIC_ALREADY_EXISTS. Before creation ids these seeds had 1-3 such refusals each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../sim/run.js';

test('resent CreateTopics under partitions, crashes and drops are acknowledged, never TOPIC_ALREADY_EXISTS', () => {
  let acked = 0;
  for (const seed of [2, 3, 4]) {
    const result = runSimulation({ seed, nodes: 3, durationMs: 60_000, faults: ['partition', 'crash', 'drop'] });
    assert.equal(result.violations, 0, `seed ${seed}: ${JSON.stringify(result.violationDetails)}`);
    assert.equal(result.workload.ambiguous, 0, `seed ${seed}: a resent create was refused as if another client had made the topic`);
    acked += result.workload.topicsAcked;
  }
  assert.ok(acked > 30, `creations were acknowledged (${acked})`);
});
