import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';
// The fixed campaign of `npm test`: 200 seeds of a 3-node cluster, one virtual minute of
// partitions, crashes and message loss each, then healing. Every checker must stay silent.
test('200 seeds under partition, crash and drop: no violations', { timeout: 600_000 }, async () => {
    const summary = await runCampaign({ seedFrom: 1, seedTo: 200, nodes: 3, durationMs: 60_000, faults: ['partition', 'crash', 'drop'] });
    assert.equal(summary.seeds, 200);
    const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
    assert.deepEqual(failures, []);
    assert.ok((summary.faultsInjected.crash ?? 0) > 200 && (summary.faultsInjected.partition ?? 0) > 200, 'faults were injected');
});
test('50 seeds with every fault kind on 5 nodes: no violations', { timeout: 600_000 }, async () => {
    const summary = await runCampaign({
        seedFrom: 1001, seedTo: 1050, nodes: 5, durationMs: 30_000, faults: ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder'],
    });
    const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
    assert.deepEqual(failures, []);
});
//# sourceMappingURL=campaign.test.js.map