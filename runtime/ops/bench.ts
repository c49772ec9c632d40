// `npm run bench [-- SCENARIO ...] [--json FILE]`: measures, prints a table, optionally
// writes the figures as JSON. Scenarios start what they measure themselves.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { runCampaign } from '../../sim/campaign.js';
import cliProgress from 'cli-progress';
import { type WorkloadKind, runSimulation } from '../../sim/run.js';
import type { FaultKind } from '../../sim/nemesis.js';
import { appendBatches, rounds, runStorageBench } from './bench-storage.js';
import { type MetricLine, type TableLayout, figuresOf, formatTable, kafkaLayout, lineFromFigures } from './bench-kafka-report.js';
import { floorLayout, runFloorBench } from './bench-floor-run.js';
import { runKafkaBench, setupNotes } from './bench-kafka.js';
import { memoryAimMiB, memorySetup, runMemoryBench } from './bench-memory.js';

interface Row {
  scenario: string;
  case: string;
  figures: Record<string, number | string>;
}

interface Scenario {
  describe: string;
  run(progress: (done: number, total: number) => void): Row[] | Promise<Row[]>;
  /** How its rows are printed, when not one figure a line. */
  format?(rows: Row[]): string;
}

/** Seeds per repetition, and repetitions: the machine is shared, so the best and the median are reported. */
const simSeeds = 10;
const simRepetitions = 5;
const simWarmupSeeds = 10;

function simCase(name: string, nodes: number, faults: FaultKind[], workload: WorkloadKind, progress: (done: number) => void): Row {
  // Warm-up seeds (not measured) so that JIT compilation is not billed to the figures: a
  // campaign worker runs thousands of seeds, so the steady state is what matters.
  for (let seed = 1; seed <= simWarmupSeeds; seed++) runSimulation({ seed: 1_000_000 + seed, nodes, durationMs: 60_000, faults, workload });
  const repetitions: Array<{ wallMs: number; cpuMs: number; virtualMs: number; events: number }> = [];
  let violations = 0;
  for (let rep = 0; rep < simRepetitions; rep++) {
    let virtualMs = 0;
    let wallMs = 0;
    let events = 0;
    const cpuBefore = process.cpuUsage();
    for (let seed = 1; seed <= simSeeds; seed++) {
      const started = performance.now();
      const result = runSimulation({ seed, nodes, durationMs: 60_000, faults, workload });
      wallMs += performance.now() - started;
      virtualMs += result.virtualMs;
      events += result.events;
      violations += result.violations;
      progress(rep * simSeeds + seed);
    }
    const cpu = process.cpuUsage(cpuBefore);
    repetitions.push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, virtualMs, events });
  }
  const speeds = repetitions.map((r) => r.virtualMs / r.wallMs).sort((a, b) => a - b);
  // CPU time is less disturbed than wall time by other tenants of a shared machine.
  const cpuSpeeds = repetitions.map((r) => r.virtualMs / r.cpuMs).sort((a, b) => a - b);
  const best = repetitions.reduce((a, b) => (a.wallMs < b.wallMs ? a : b));
  return {
    scenario: 'sim',
    case: name,
    figures: {
      'seeds x repetitions': `${simSeeds} x ${simRepetitions}`,
      'virtual s per rep': Math.round(best.virtualMs / 1000),
      'speed best (virt/wall)': Math.round(speeds[speeds.length - 1]!),
      'speed median': Math.round(speeds[Math.floor(speeds.length / 2)]!),
      'speed worst': Math.round(speeds[0]!),
      'virtual s per CPU s (median)': Math.round(cpuSpeeds[Math.floor(cpuSpeeds.length / 2)]!),
      'events/s (best)': Math.round(best.events / (best.wallMs / 1000)),
      'us/event (best)': Number(((best.wallMs * 1000) / best.events).toFixed(1)),
      violations,
    },
  };
}

/** A side-by-side table's lines as rows (figures and ratios, for --json), and its setup notes as one more. */
function tableRows(scenario: string, lines: readonly MetricLine[], notes: readonly string[], layout: TableLayout): Row[] {
  return [
    ...lines.map((line) => ({ scenario, case: line.metric, figures: figuresOf(line, layout) })),
    { scenario, case: 'setup', figures: Object.fromEntries(notes.map((note, i) => [`note ${i + 1}`, note])) },
  ];
}

/** The rows of tableRows printed back as the table, then the notes. */
function formatTableRows(rows: Row[], layout: TableLayout): string {
  const lines = rows.filter((row) => row.case !== 'setup').map((row) => lineFromFigures(row.case, row.figures, layout));
  const notes = rows.filter((row) => row.case === 'setup').flatMap((row) => Object.values(row.figures).map(String));
  return `${formatTable(lines, layout)}\n\n${notes.map((note) => `- ${note}`).join('\n')}\n`;
}

const scenarios: Record<string, Scenario> = {
  storage: {
    describe: 'partition log: 1 KiB records in 64 KiB batches, an fsync per batch, against a write + fdatasync loop of the same bytes; reads; recovery of 2 GiB after kill -9',
    async run(progress) {
      const f = await runStorageBench(progress);
      return [{
        scenario: 'storage',
        case: `${appendBatches} batches of ${f.batchBytes} bytes, same directory, ${rounds} alternating rounds`,
        figures: {
          'raw write+fdatasync MB/s': f.rawMBps,
          'raw batches/s': f.rawBatchesPerSecond,
          'append+fsync MB/s': f.appendMBps,
          'append batches/s': f.appendBatchesPerSecond,
          'append / raw': f.appendVsRaw,
          'append / raw, median round': f.appendVsRawMedianRound,
          'append, 8 in flight MB/s': f.concurrentAppendMBps,
          'sequential read MB/s': f.readMBps,
          'recovery after kill -9 ms': f.recoveryMs,
          'recovered log bytes': f.recoveredBytes,
        },
      }];
    },
  },
  sim: {
    describe: 'simulator speed: virtual seconds per wall second, one thread, 60 s runs (plus settling); the admin workload, producers and consumers on a replicated topic, and a consumer group',
    run(progress) {
      const cases: Array<[string, number, FaultKind[], WorkloadKind]> = [
        ['3 nodes, partition+crash+drop', 3, ['partition', 'crash', 'drop'], 'admin'],
        ['3 nodes, all faults', 3, ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder'], 'admin'],
        ['3 nodes, no faults', 3, [], 'admin'],
        ['5 nodes, partition+crash+drop', 5, ['partition', 'crash', 'drop'], 'admin'],
        ['3 nodes, partition+crash+drop, produce-consume', 3, ['partition', 'crash', 'drop'], 'produce-consume'],
        ['3 nodes, partition+crash+drop, groups', 3, ['partition', 'crash', 'drop'], 'groups'],
      ];
      const perCase = simSeeds * simRepetitions;
      const total = cases.length * perCase;
      return cases.map(([name, nodes, faults, workload], i) => simCase(name, nodes, faults, workload, (done) => progress(i * perCase + done, total)));
    },
  },
  kafka: {
    describe: 'logmesh (1 node; 3 nodes over NATS, acks=all) side by side with NATS JetStream (R1; R3) and the disk and loopback TCP limits: produce and consume throughput, open-loop ack latency at 25/50/75% of max, end-to-end latency',
    async run(progress) {
      const report = await runKafkaBench(progress);
      return tableRows('kafka', report.lines, setupNotes(report.setup), kafkaLayout);
    },
    format: (rows) => formatTableRows(rows, kafkaLayout),
  },
  floor: {
    describe: 'logmesh R3 and JetStream R3 beside the replication floor (the same processes, NATS hops, writes and fsyncs with no actors or Kafka codec; with and without fsync): produce throughput, ack latency at the fixed rate',
    async run(progress) {
      const report = await runFloorBench(progress);
      return tableRows('floor', report.lines, Object.entries(report.setup).map(([name, description]) => `${name}: ${description}`), floorLayout);
    },
    format: (rows) => formatTableRows(rows, floorLayout),
  },
  memory: {
    describe: `resident memory of 3 node processes hosting 1,000 partition replicas each (10 topics x 100 partitions, replication factor 3): idle, under produce and a consumer group, after; aim under ${memoryAimMiB} MiB`,
    async run(progress) {
      const report = await runMemoryBench(progress);
      const mib = (value: number): number => Math.round(value);
      return [
        ...report.nodes.map((node) => ({
          scenario: 'memory',
          case: `node ${node.nodeId}: ${node.replicas} replicas, ${node.leaders} leaders`,
          figures: {
            'RSS before topics MiB': mib(node.noTopicsMiB),
            'RSS partitions idle MiB': mib(node.idleMiB),
            'RSS under load MiB (max)': mib(node.loadMiB),
            'RSS after load MiB': mib(node.afterMiB),
            'peak RSS (VmHWM) MiB': mib(node.peakMiB),
            [`under ${memoryAimMiB} MiB`]: node.peakMiB < memoryAimMiB ? 'yes' : 'no',
          },
        })),
        {
          scenario: 'memory',
          case: 'load',
          figures: {
            partitions: report.partitions,
            'partitions ready s': Number((report.readyMs / 1000).toFixed(1)),
            'records produced': report.recordsProduced,
            'records consumed': report.recordsConsumed,
            'produce s': Number((report.produceMs / 1000).toFixed(1)),
            'produce + consume s': Number((report.consumeMs / 1000).toFixed(1)),
            'kafkajs warnings': report.consumerLog.join(' | ') || 'none',
            setup: memorySetup(report),
          },
        },
      ];
    },
  },
  campaign: {
    describe: 'campaign rate: seeds per minute on worker threads (one per core), 60 s mixed runs under partition, crash and drop',
    async run(progress) {
      const seeds = 4 * Math.max(1, availableParallelism()) * 5;
      const summary = await runCampaign({
        seedFrom: 1, seedTo: seeds, nodes: 3, durationMs: 60_000, faults: ['partition', 'crash', 'drop'], workload: 'mixed',
        onResult: (_result, done, total) => progress(done, total),
      });
      return [{
        scenario: 'campaign',
        case: `${seeds} mixed seeds, 3 nodes, 60 s, partition+crash+drop`,
        figures: {
          workers: Math.max(1, availableParallelism()),
          'seeds per minute': Math.round((summary.seeds / summary.wallMs) * 60_000),
          'virtual s per wall s': Math.round(summary.virtualMs / summary.wallMs),
          'failed seeds': summary.failedSeeds.length,
          'wall s': Math.round(summary.wallMs / 1000),
        },
      }];
    },
  },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const jsonAt = args.indexOf('--json');
  const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
  if (jsonAt >= 0 && jsonPath === undefined) throw new Error('--json needs a file name');
  const names = args.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
  const chosen = names.length === 0 ? Object.keys(scenarios) : names;
  for (const name of chosen) {
    if (scenarios[name] === undefined) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(scenarios).join(', ')})`);
  }
  const rows: Row[] = [];
  for (const name of chosen) {
    const bar = new cliProgress.SingleBar({ format: `${name} {bar} {value}/{total}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
    bar.start(1, 0);
    try {
      rows.push(...await scenarios[name]!.run((done, total) => {
        bar.setTotal(total);
        bar.update(done);
      }));
    } finally {
      // The bar's timer would keep a failed run from exiting.
      bar.stop();
    }
  }
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
  process.stdout.write(`machine: ${machine}\n`);
  for (const name of chosen) {
    const scenarioRows = rows.filter((row) => row.scenario === name);
    const format = scenarios[name]!.format;
    if (format !== undefined) {
      process.stdout.write(`\n${name}\n${format(scenarioRows)}`);
      continue;
    }
    for (const row of scenarioRows) {
      process.stdout.write(`\n${row.scenario} | ${row.case}\n`);
      for (const [key, value] of Object.entries(row.figures)) process.stdout.write(`  ${key.padEnd(22)} ${value}\n`);
    }
  }
  if (jsonPath !== undefined) writeFileSync(jsonPath, `${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 1;
});
