import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { traceLine } from '../../sim/trace.js';

test('trace lines are exactly JSON.stringify of the event', () => {
  fc.assert(fc.property(
    fc.record({
      t: fc.double({ min: 0, max: 1e7, noNaN: true }), node: fc.nat(), actor: fc.string(), kind: fc.string(), id: fc.string(), parent: fc.string(),
    }, { requiredKeys: ['t', 'node', 'actor', 'kind', 'id', 'parent'] }),
    fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined }),
    (base, from, state) => {
      const event = { ...base, ...(from === undefined ? {} : { from }), ...(state === undefined ? {} : { state }) };
      assert.equal(traceLine(event), JSON.stringify(event));
    },
  ));
  assert.equal(traceLine({ t: 1.5, node: 2, actor: 'nemesis', kind: '@fault:partition', id: 'nemesis:1', parent: '', state: 'halves [[1],[2,3]] "x"' }),
    JSON.stringify({ t: 1.5, node: 2, actor: 'nemesis', kind: '@fault:partition', id: 'nemesis:1', parent: '', state: 'halves [[1],[2,3]] "x"' }));
});
