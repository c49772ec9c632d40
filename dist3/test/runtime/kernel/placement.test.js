import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlacementTable } from '../../../runtime/kernel/placement.js';
import { runSimulation } from '../../../sim/run.js';
test('the placement table tracks which nodes host which actors', () => {
    const table = new PlacementTable();
    table.place('controller', 3);
    table.place('controller', 1);
    table.place('controller', 3);
    table.place('broker', 1);
    assert.deepEqual(table.nodesOf('controller'), [1, 3]);
    assert.deepEqual(table.actorsOn(1), ['broker', 'controller']);
    table.remove('controller', 1);
    assert.deepEqual(table.nodesOf('controller'), [3]);
    assert.deepEqual(table.nodesOf('nobody'), []);
});
test('kernels record their actors in the shared table, and a crashed node leaves it', () => {
    runSimulation({
        seed: 5, nodes: 3, durationMs: 5_000, faults: [],
        onFinish: (cluster) => {
            assert.deepEqual(cluster.placement.nodesOf('controller'), [1, 2, 3]);
            assert.deepEqual(cluster.placement.nodesOf('broker'), [1, 2, 3]);
            cluster.crash(2);
            assert.deepEqual(cluster.placement.nodesOf('controller'), [1, 3]);
            cluster.restart(2);
            assert.deepEqual(cluster.placement.actorsOn(2), ['broker', 'controller']);
        },
    });
});
//# sourceMappingURL=placement.test.js.map