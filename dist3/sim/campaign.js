// Runs many seeds across worker threads (one per core) and sums up what they found.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
export async function runCampaign(options) {
    const started = performance.now();
    const seeds = [];
    for (let seed = options.seedFrom; seed <= options.seedTo; seed++)
        seeds.push(seed);
    const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), seeds.length));
    const results = [];
    let next = 0;
    let stopped = false;
    const runWorker = () => new Promise((resolve, reject) => {
        const worker = new Worker(new URL('./campaign-worker.js', import.meta.url));
        const hand = () => {
            if (next >= seeds.length || stopped) {
                void worker.terminate().then(() => resolve());
                return;
            }
            const request = { seed: seeds[next++], nodes: options.nodes, durationMs: options.durationMs, faults: options.faults, bugs: options.bugs };
            worker.postMessage(request);
        };
        worker.on('message', (result) => {
            results.push(result);
            if (options.stopWhen?.(result) === true)
                stopped = true;
            options.onResult?.(result, results.length, seeds.length);
            hand();
        });
        worker.on('error', reject);
        hand();
    });
    await Promise.all(Array.from({ length: workerCount }, runWorker));
    results.sort((a, b) => a.seed - b.seed);
    const violationsByChecker = {};
    const faultsInjected = {};
    for (const result of results) {
        for (const [checker, count] of Object.entries(result.checks))
            violationsByChecker[checker] = (violationsByChecker[checker] ?? 0) + count;
        for (const [fault, count] of Object.entries(result.faults))
            faultsInjected[fault] = (faultsInjected[fault] ?? 0) + count;
    }
    return {
        seeds: results.length,
        failedSeeds: results.filter((r) => r.violations > 0).map((r) => r.seed),
        violationsByChecker,
        faultsInjected,
        events: results.reduce((sum, r) => sum + r.events, 0),
        virtualMs: results.reduce((sum, r) => sum + r.virtualMs, 0),
        wallMs: Math.round(performance.now() - started),
        results,
    };
}
//# sourceMappingURL=campaign.js.map