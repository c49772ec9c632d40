import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../../sim/run.js';
const faults = ['partition', 'crash', 'drop', 'duplicate', 'reorder', 'delay'];
test('the same seed gives the same trace hash; another seed gives another', () => {
    const a = runSimulation({ seed: 42, nodes: 3, durationMs: 20_000, faults: [...faults] });
    const b = runSimulation({ seed: 42, nodes: 3, durationMs: 20_000, faults: [...faults] });
    const c = runSimulation({ seed: 43, nodes: 3, durationMs: 20_000, faults: [...faults] });
    assert.equal(a.traceHash, b.traceHash);
    assert.equal(a.events, b.events);
    assert.notEqual(a.traceHash, c.traceHash);
    assert.match(a.traceHash, /^[0-9a-f]{64}$/);
    assert.equal(a.violations, 0, JSON.stringify(a.violationDetails));
    assert.ok(Object.values(a.faults).reduce((x, y) => x + y, 0) > 0, 'faults were injected');
});
test('--trace writes JSON Lines whose SHA-256 is the trace hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logmesh-trace-'));
    try {
        const path = join(dir, 'trace.jsonl');
        const result = runSimulation({ seed: 7, nodes: 3, durationMs: 10_000, faults: ['crash'], tracePath: path });
        const text = readFileSync(path, 'utf8');
        assert.equal(createHash('sha256').update(text).digest('hex'), result.traceHash);
        const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line));
        assert.equal(lines.length, result.traceLines);
        const delivery = lines.find((l) => l.kind === 'AppendEntriesRequest');
        for (const key of ['t', 'node', 'actor', 'kind', 'id', 'parent'])
            assert.ok(key in delivery, `trace lines carry ${key}`);
        assert.ok(lines.some((l) => l.state === 'leader'), 'state changes are recorded');
        assert.ok(lines.some((l) => l.kind === '@fault:crash'), 'injected faults are recorded');
        // Causality: every parent named by a delivered message is itself in the trace or a start.
        const ids = new Set(lines.map((l) => l.id));
        const delivered = lines.filter((l) => l.actor === 'controller' && typeof l.parent === 'string' && l.parent !== '');
        const known = delivered.filter((l) => ids.has(l.parent) || String(l.parent).includes(':start:'));
        assert.ok(known.length / delivered.length > 0.9, `most causal parents are in the trace (${known.length}/${delivered.length})`);
    }
    finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
//# sourceMappingURL=determinism.test.js.map