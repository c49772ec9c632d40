// Runs many seeds across worker threads (one per core) and sums up what they found.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SimBugs } from './cluster.js';
import type { FaultKind } from './nemesis.js';
import type { SimResult, WorkloadKind } from './run.js';

export const youngGenerationMb = 96;

export interface CampaignOptions {
  seedFrom: number;
  seedTo: number;
  /** Seeds of the range not to run (known failures waiting for a fix). */
  excludeSeeds?: readonly number[];
  nodes: number;
  durationMs: number;
  faults: FaultKind[];
  workload?: WorkloadKind;
  uncleanLeaderElection?: boolean;
  bugs?: SimBugs;
  /** Per-run event budget (see runSimulation). */
  eventsMax?: number;
  workers?: number;
  /** Stop handing out seeds once this is true of a result. */
  stopWhen?: (result: CampaignSeedResult) => boolean;
  onResult?: (result: CampaignSeedResult, done: number, total: number) => void;
}

/** One seed's result, without the bulky parts. */
export type CampaignSeedResult = Omit<SimResult, 'violationDetails'> & { firstViolation: SimResult['violationDetails'][number] | null };

export interface CampaignSummary {
  seeds: number;
  failedSeeds: number[];
  violationsByChecker: Record<string, number>;
  faultsInjected: Record<string, number>;
  events: number;
  virtualMs: number;
  wallMs: number;
  results: CampaignSeedResult[];
}

export interface WorkerRequest {
  seed: number;
  nodes: number;
  durationMs: number;
  faults: FaultKind[];
  workload?: WorkloadKind;
  uncleanLeaderElection?: boolean;
  bugs?: SimBugs;
  eventsMax?: number;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const started = performance.now();
  const seeds: number[] = [];
  const excluded = new Set(options.excludeSeeds ?? []);
  for (let seed = options.seedFrom; seed <= options.seedTo; seed++) if (!excluded.has(seed)) seeds.push(seed);
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), seeds.length));
  const results: CampaignSeedResult[] = [];
  let next = 0;
  let stopped = false;

  const runWorker = (): Promise<void> => new Promise((resolve, reject) => {
    // A larger young generation: a run allocates a lot of short-lived envelopes and events,
    // and fewer scavenges make a worker 10-20% faster.
    const worker = new Worker(new URL('./campaign-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } });
    const hand = (): void => {
      if (next >= seeds.length || stopped) {
        void worker.terminate().then(() => resolve());
        return;
      }
      const request: WorkerRequest = {
        seed: seeds[next++]!, nodes: options.nodes, durationMs: options.durationMs, faults: options.faults, workload: options.workload,
        uncleanLeaderElection: options.uncleanLeaderElection, bugs: options.bugs, eventsMax: options.eventsMax,
      };
      worker.postMessage(request);
    };
    worker.on('message', (result: CampaignSeedResult) => {
      results.push(result);
      if (options.stopWhen?.(result) === true) stopped = true;
      options.onResult?.(result, results.length, seeds.length);
      hand();
    });
    worker.on('error', reject);
    hand();
  });

  await Promise.all(Array.from({ length: workerCount }, runWorker));
  results.sort((a, b) => a.seed - b.seed);
  const violationsByChecker: Record<string, number> = {};
  const faultsInjected: Record<string, number> = {};
  for (const result of results) {
    for (const [checker, count] of Object.entries(result.checks)) violationsByChecker[checker] = (violationsByChecker[checker] ?? 0) + count;
    for (const [fault, count] of Object.entries(result.faults)) faultsInjected[fault] = (faultsInjected[fault] ?? 0) + count;
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
