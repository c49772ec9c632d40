// `npm run bench -- floor`: logmesh R3 and JetStream R3 beside the replication floor
// (bench-floor.ts) with and without fsync, in one run: the produce cases and the fixed-rate
// latency of the kafka bench, the cases issue 10's unmet aims are about. logmesh ÷ floor says
// how much of what the design allows on this machine logmesh reaches; floor ÷ JetStream says
// whether the design could meet an aim at all.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Cell, type MetricLine, type TableLayout } from './bench-kafka-report.js';
import { fixedRatePerSecond, inFlightBatches, latencyRecordBytes } from './bench-kafka.js';
import { FloorSystem, floorDataDir } from './bench-floor.js';
import { JetStreamSystem } from './bench-jetstream.js';
import { LogmeshSystem } from './bench-logmesh.js';
import { type Sender, produceMax, produceOpenLoop } from './bench-load.js';
import { inBenchDir } from './bench-processes.js';

export const floorColumns = ['logmesh R3', 'JetStream R3', 'floor R3', 'floor R3 no fsync'] as const;
type FloorColumn = (typeof floorColumns)[number];

export const floorLayout: TableLayout = {
  columns: floorColumns,
  ratios: [
    { name: 'logmesh R3 ÷ floor R3', numerator: 'logmesh R3', denominator: 'floor R3' },
    { name: 'logmesh R3 ÷ JetStream R3', numerator: 'logmesh R3', denominator: 'JetStream R3' },
    { name: 'floor R3 ÷ JetStream R3', numerator: 'floor R3', denominator: 'JetStream R3' },
    { name: 'floor R3 no fsync ÷ JetStream R3', numerator: 'floor R3 no fsync', denominator: 'JetStream R3' },
  ],
};

const throughputMs = 5000;
const throughputWarmupMs = 1000;
const fixedRateRunMs = 4000;
const mebibyte = 1024 * 1024;

/** Ports: 127.0.0.1, 23000-23999 like the kafka bench (whose logmesh R3 and JetStream R3 ports these reuse: the scenarios run one after another). */
const ports = {
  logmeshR3: { natsPort: 23200, kafkaPortBase: 23201 },
  jetStreamR3: { clientPortBase: 23400, routePortBase: 23410 },
  floor: { natsPort: 23600, leaderPort: 23601 },
  floorNoSync: { natsPort: 23610, leaderPort: 23611 },
};

export const floorMetrics = {
  produce1k: 'produce 1 KiB, MB/s',
  produce100: 'produce 100 B, msgs/s',
  ack: (percentile: string) => `ack latency 1 KiB at ${fixedRatePerSecond.toLocaleString('en-US')}/s: ${percentile}, ms`,
};
const percentiles = ['p50', 'p99', 'p99.9'] as const;

/** What a column needs: a fresh log and a producer for it, and a way to stop. */
interface Producing {
  readonly description: string;
  senderFor(log: string, recordBytes: number): Promise<Sender>;
  stop(): Promise<void>;
}

interface FloorPlan {
  name: FloorColumn;
  start(dataDir: string): Promise<Producing>;
}

const kafkaLike = (system: LogmeshSystem | JetStreamSystem): Producing => ({
  description: system.description,
  async senderFor(log, recordBytes) {
    await system.createLog(log);
    return system.sender(log, recordBytes, inFlightBatches, false);
  },
  stop: () => system.stop(),
});

const floorLike = (system: FloorSystem): Producing => ({
  description: system.description,
  senderFor: (_log, recordBytes) => system.sender(recordBytes, inFlightBatches),
  stop: () => system.stop(),
});

const plans: FloorPlan[] = [
  { name: 'logmesh R3', start: async (dataDir) => kafkaLike(await LogmeshSystem.start({ nodes: 3, dataDir, ...ports.logmeshR3 })) },
  { name: 'JetStream R3', start: async (dataDir) => kafkaLike(await JetStreamSystem.start({ servers: 3, dataDir, ...ports.jetStreamR3 })) },
  { name: 'floor R3', start: async (dataDir) => floorLike(await FloorSystem.start({ dataDir: floorDataDir(dataDir, true), sync: true, ...ports.floor })) },
  { name: 'floor R3 no fsync', start: async (dataDir) => floorLike(await FloorSystem.start({ dataDir: floorDataDir(dataDir, false), sync: false, ...ports.floorNoSync })) },
];

/** Steps per column: start, two produce cases, the fixed rate, stop. */
const stepsPerPlan = 5;

export interface FloorBenchReport {
  lines: MetricLine[];
  setup: Partial<Record<FloorColumn, string>>;
}

async function measurePlan(plan: FloorPlan, dataDir: string, lines: Map<string, MetricLine>, setup: FloorBenchReport['setup'], step: (steps?: number) => void): Promise<void> {
  const set = (metric: string, cell: Cell): void => {
    lines.get(metric)!.cells[plan.name] = cell;
  };
  let system: Producing;
  try {
    system = await plan.start(dataDir);
  } catch (error) {
    for (const metric of lines.keys()) set(metric, { failure: `start: ${(error as Error).message}` });
    step(stepsPerPlan);
    return;
  }
  setup[plan.name] = system.description;
  step();
  try {
    for (const [bytes, metric, figure] of [
      [1024, floorMetrics.produce1k, (perSecond: number) => (perSecond * 1024) / mebibyte],
      [100, floorMetrics.produce100, (perSecond: number) => perSecond],
    ] as const) {
      try {
        const result = await produceMax(await system.senderFor(`floor-${bytes}`, bytes), throughputMs, throughputWarmupMs);
        set(metric, result.failure === null ? { value: figure(result.messagesPerSecond) } : { failure: result.failure });
      } catch (error) {
        set(metric, { failure: (error as Error).message });
      }
      step();
    }
    const ackMetrics = percentiles.map((p) => floorMetrics.ack(p));
    try {
      const result = await produceOpenLoop(await system.senderFor('floor-latency', latencyRecordBytes), fixedRatePerSecond, fixedRateRunMs);
      if (result.failure !== null) for (const metric of ackMetrics) set(metric, { failure: result.failure });
      else {
        set(ackMetrics[0]!, { value: result.ack.p50Ms });
        set(ackMetrics[1]!, { value: result.ack.p99Ms });
        set(ackMetrics[2]!, { value: result.ack.p999Ms });
      }
    } catch (error) {
      for (const metric of ackMetrics) set(metric, { failure: (error as Error).message });
    }
    step();
  } finally {
    await system.stop();
    step();
  }
}

export async function runFloorBench(progress: (done: number, total: number) => void): Promise<FloorBenchReport> {
  const total = plans.length * stepsPerPlan;
  let done = 0;
  const step = (steps = 1): void => {
    done += steps;
    progress(done, total);
  };
  const names = [floorMetrics.produce1k, floorMetrics.produce100, ...percentiles.map((p) => floorMetrics.ack(p))];
  const lines = new Map<string, MetricLine>(names.map((metric) => [metric, { metric, cells: {} }]));
  const setup: FloorBenchReport['setup'] = {};
  await inBenchDir('logmesh-bench-floor-', async (dataDir) => {
    for (const plan of plans) {
      const planDir = join(dataDir, plan.name.replace(/\s+/g, '-'));
      mkdirSync(planDir);
      await measurePlan(plan, planDir, lines, setup, step);
    }
  });
  return { lines: [...lines.values()], setup };
}
