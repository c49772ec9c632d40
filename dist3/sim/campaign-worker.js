// A campaign worker thread: runs the seeds it is handed, one at a time.
import { parentPort } from 'node:worker_threads';
import { runSimulation } from './run.js';
parentPort.on('message', (request) => {
    const { violationDetails, ...rest } = runSimulation({
        seed: request.seed, nodes: request.nodes, durationMs: request.durationMs, faults: request.faults, bugs: request.bugs,
    });
    const result = { ...rest, firstViolation: violationDetails[0] ?? null };
    parentPort.postMessage(result);
});
//# sourceMappingURL=campaign-worker.js.map