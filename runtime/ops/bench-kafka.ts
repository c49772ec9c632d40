// `npm run bench -- kafka`: logmesh side by side with NATS JetStream and with the physical
// limits, in one run, on one disk, on loopback. In order: the disk and loopback TCP limits;
// then for each system in turn (started, measured, stopped, so that they never share the
// CPUs): produce throughput for 100-byte and 1 KiB records, consume throughput from the
// beginning, produce-to-ack latency at 25/50/75% of its own measured maximum, and
// produce-to-ack and end-to-end latency at a fixed 5,000 messages/s.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cell, type MetricLine, type SystemName, systemNames } from './bench-kafka-report.js';
import { JetStreamSystem, jetStreamSyncSetting } from './bench-jetstream.js';
import { LatencyHistogram, type LatencySummary } from './bench-latency.js';
import { combineDiskLimits, diskBatches, measureDisk, measureLoopbackTcp, tcpWriteBytes } from './bench-limits.js';
import { type SystemUnderTest, produceMax, produceOpenLoop } from './bench-load.js';
import { LogmeshSystem, batchBytesMax } from './bench-logmesh.js';
import { inBenchDir } from './bench-processes.js';

export const recordSizes = [100, 1024] as const;
/** The producer's concurrency: batches of up to 64 KiB in flight (Kafka's max.in.flight.requests.per.connection default). */
export const inFlightBatches = 5;
const throughputMs = 5000;
const throughputWarmupMs = 1000;
const consumeTimeMaxMs = 8000;
export const latencyRecordBytes = 1024;
export const latencyFractions = [0.25, 0.5, 0.75] as const;
const latencyRunMs = 4000;
export const fixedRatePerSecond = 5000;
const fixedRateRunMs = 4000;
/** How long the end-to-end consumer may trail the producer's last acknowledgement. */
const tailGraceMs = 10_000;
const tcpRunMs = 3000;

/** Ports: all on 127.0.0.1, in 23000-23999 (below the kernel's ephemeral range). */
const ports = {
  tcpSink: 23000,
  logmeshR1: { natsPort: 23100, kafkaPortBase: 23101 },
  logmeshR3: { natsPort: 23200, kafkaPortBase: 23201 },
  jetStreamR1: { clientPortBase: 23300, routePortBase: 23310 },
  jetStreamR3: { clientPortBase: 23400, routePortBase: 23410 },
};

const mebibyte = 1024 * 1024;

const sizeLabel = (bytes: number): string => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);
const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;

export const metricNames = {
  diskMBps: `limit: ${batchBytesMax / 1024} KiB write+fdatasync, MB/s`,
  diskSyncMs: 'limit: one write+fdatasync, ms',
  tcpMBps: `limit: loopback TCP, ${tcpWriteBytes / 1024} KiB writes, MB/s`,
  produceMessages: (bytes: number) => `produce ${sizeLabel(bytes)}, msgs/s`,
  produceMBps: (bytes: number) => `produce ${sizeLabel(bytes)}, MB/s`,
  consumeMessages: (bytes: number) => `consume ${sizeLabel(bytes)} from start, msgs/s`,
  consumeMBps: (bytes: number) => `consume ${sizeLabel(bytes)} from start, MB/s`,
  /** Issue 10's aim: consume from the start at least 3x as fast as produce. */
  consumeOverProduce: (bytes: number) => `consume ÷ produce ${sizeLabel(bytes)}, msgs/s ratio`,
  fractionRate: (fraction: number) => `ack latency ${sizeLabel(latencyRecordBytes)} at ${percent(fraction)} of max: rate, msgs/s`,
  fractionLatency: (fraction: number, percentile: string) => `ack latency ${sizeLabel(latencyRecordBytes)} at ${percent(fraction)} of max: ${percentile}, ms`,
  fixedAck: (percentile: string) => `ack latency ${sizeLabel(latencyRecordBytes)} at ${fixedRatePerSecond.toLocaleString('en-US')}/s: ${percentile}, ms`,
  fixedEndToEnd: (percentile: string) => `end-to-end ${sizeLabel(latencyRecordBytes)} at ${fixedRatePerSecond.toLocaleString('en-US')}/s, consumer tailing: ${percentile}, ms`,
};

const percentiles: Array<[string, (s: LatencySummary) => number]> = [['p50', (s) => s.p50Ms], ['p99', (s) => s.p99Ms], ['p99.9', (s) => s.p999Ms]];

/** Every line of the table, in order, before anything is measured (so that a failure leaves a marked cell, not a missing line). */
function emptyLines(): Map<string, MetricLine> {
  const names = [metricNames.diskMBps, metricNames.diskSyncMs, metricNames.tcpMBps];
  for (const bytes of recordSizes) names.push(metricNames.produceMessages(bytes), metricNames.produceMBps(bytes));
  for (const bytes of recordSizes) names.push(metricNames.consumeMessages(bytes), metricNames.consumeMBps(bytes));
  for (const bytes of recordSizes) names.push(metricNames.consumeOverProduce(bytes));
  for (const fraction of latencyFractions) {
    names.push(metricNames.fractionRate(fraction), ...percentiles.map(([p]) => metricNames.fractionLatency(fraction, p)));
  }
  names.push(...percentiles.map(([p]) => metricNames.fixedAck(p)), ...percentiles.map(([p]) => metricNames.fixedEndToEnd(p)));
  return new Map(names.map((metric) => [metric, { metric, cells: {} }]));
}

export interface KafkaBenchReport {
  lines: MetricLine[];
  /** What each column is: the systems' setups, the limits' loops. */
  setup: Partial<Record<SystemName, string>>;
}

interface SystemPlan {
  name: SystemName;
  start(dataDir: string): Promise<SystemUnderTest>;
}

const plans: SystemPlan[] = [
  { name: 'logmesh R1', start: (dataDir) => LogmeshSystem.start({ nodes: 1, dataDir, ...ports.logmeshR1 }) },
  { name: 'JetStream R1', start: (dataDir) => JetStreamSystem.start({ servers: 1, dataDir, ...ports.jetStreamR1 }) },
  { name: 'logmesh R3', start: (dataDir) => LogmeshSystem.start({ nodes: 3, dataDir, ...ports.logmeshR3 }) },
  { name: 'JetStream R3', start: (dataDir) => JetStreamSystem.start({ servers: 3, dataDir, ...ports.jetStreamR3 }) },
];

/** Steps per system: start, produce and consume per size, each latency fraction, the fixed rate, end to end, stop. */
const stepsPerSystem = 1 + recordSizes.length * 2 + latencyFractions.length + 2 + 1;

async function measureSystem(
  plan: SystemPlan, dataDir: string, lines: Map<string, MetricLine>, setup: KafkaBenchReport['setup'], step: (steps?: number) => void,
): Promise<void> {
  const set = (metric: string, cell: Cell): void => {
    lines.get(metric)!.cells[plan.name] = cell;
  };
  const fail = (metrics: string[], failure: string): void => {
    for (const metric of metrics) set(metric, { failure });
  };
  const systemMetrics = [...lines.keys()].filter((metric) => !metric.startsWith('limit:'));
  let system: SystemUnderTest;
  try {
    system = await plan.start(dataDir);
  } catch (error) {
    fail(systemMetrics, `start: ${(error as Error).message}`);
    step(stepsPerSystem);
    return;
  }
  step();
  setup[plan.name] = system.description;
  try {
    const maxByBytes = new Map<number, number>();
    for (const bytes of recordSizes) {
      const log = `bench-${bytes}`;
      const produced = [metricNames.produceMessages(bytes), metricNames.produceMBps(bytes)];
      try {
        await system.createLog(log);
        const sender = await system.sender(log, bytes, inFlightBatches, false);
        const result = await produceMax(sender, throughputMs, throughputWarmupMs);
        if (result.failure !== null) fail(produced, result.failure);
        else {
          maxByBytes.set(bytes, result.messagesPerSecond);
          set(produced[0]!, { value: result.messagesPerSecond });
          set(produced[1]!, { value: (result.messagesPerSecond * bytes) / mebibyte });
        }
      } catch (error) {
        fail(produced, (error as Error).message);
      }
      step();
      const consumed = [metricNames.consumeMessages(bytes), metricNames.consumeMBps(bytes)];
      try {
        const result = await system.consumeAll(log, consumeTimeMaxMs);
        if (result.failure !== null) fail(consumed, result.failure);
        else {
          const perSecond = result.messages / (result.ms / 1000);
          set(consumed[0]!, { value: perSecond });
          set(consumed[1]!, { value: (perSecond * bytes) / mebibyte });
          const produced = maxByBytes.get(bytes);
          if (produced !== undefined && produced > 0) set(metricNames.consumeOverProduce(bytes), { value: perSecond / produced });
        }
      } catch (error) {
        fail(consumed, (error as Error).message);
      }
      step();
    }

    const latencyLog = 'bench-latency';
    const maximum = maxByBytes.get(latencyRecordBytes);
    let latencyLogReady = false;
    for (const fraction of latencyFractions) {
      const metrics = [metricNames.fractionRate(fraction), ...percentiles.map(([p]) => metricNames.fractionLatency(fraction, p))];
      try {
        if (maximum === undefined || maximum === 0) throw new Error(`no maximum measured (produce ${sizeLabel(latencyRecordBytes)} failed)`);
        if (!latencyLogReady) await system.createLog(latencyLog);
        latencyLogReady = true;
        const rate = Math.max(1, Math.round(maximum * fraction));
        const result = await produceOpenLoop(await system.sender(latencyLog, latencyRecordBytes, inFlightBatches, false), rate, latencyRunMs);
        set(metrics[0]!, { value: rate });
        if (result.failure !== null) fail(metrics.slice(1), result.failure);
        else percentiles.forEach(([p, of]) => set(metricNames.fractionLatency(fraction, p), { value: of(result.ack) }));
      } catch (error) {
        fail(metrics, (error as Error).message);
      }
      step();
    }

    const fixedAck = percentiles.map(([p]) => metricNames.fixedAck(p));
    try {
      if (!latencyLogReady) await system.createLog(latencyLog);
      latencyLogReady = true;
      const result = await produceOpenLoop(await system.sender(latencyLog, latencyRecordBytes, inFlightBatches, false), fixedRatePerSecond, fixedRateRunMs);
      if (result.failure !== null) fail(fixedAck, result.failure);
      else percentiles.forEach(([, of], i) => set(fixedAck[i]!, { value: of(result.ack) }));
    } catch (error) {
      fail(fixedAck, (error as Error).message);
    }
    step();

    // End to end: the same rate, each value stamped with its intended send time, and a
    // consumer tailing the log from the start.
    const fixedEndToEnd = percentiles.map(([p]) => metricNames.fixedEndToEnd(p));
    try {
      const log = 'bench-e2e';
      await system.createLog(log);
      const endToEnd = new LatencyHistogram();
      const total = Math.floor((fixedRateRunMs * fixedRatePerSecond) / 1000);
      const finishTail = await system.tail(log, endToEnd, total);
      const result = await produceOpenLoop(await system.sender(log, latencyRecordBytes, inFlightBatches, true), fixedRatePerSecond, fixedRateRunMs);
      const tailFailure = await finishTail(tailGraceMs);
      if (result.failure !== null) fail(fixedEndToEnd, `producer: ${result.failure}`);
      else if (tailFailure !== null) fail(fixedEndToEnd, tailFailure);
      else {
        const summary = endToEnd.summary();
        percentiles.forEach(([, of], i) => set(fixedEndToEnd[i]!, { value: of(summary) }));
      }
    } catch (error) {
      fail(fixedEndToEnd, (error as Error).message);
    }
    step();
  } finally {
    await system.stop();
    step();
  }
}

export async function runKafkaBench(progress: (done: number, total: number) => void): Promise<KafkaBenchReport> {
  const total = 3 + plans.length * stepsPerSystem;
  let done = 0;
  const step = (steps = 1): void => {
    done += steps;
    progress(done, total);
  };
  const lines = emptyLines();
  const setup: KafkaBenchReport['setup'] = {};
  await inBenchDir('logmesh-bench-kafka-', async (dataDir) => {
    const diskBefore = measureDisk(dataDir);
    step();
    const tcp = await measureLoopbackTcp(ports.tcpSink, tcpRunMs);
    lines.get(metricNames.tcpMBps)!.cells.limit = { value: tcp };
    step();
    for (const plan of plans) {
      const systemDir = join(dataDir, plan.name.replace(/\s+/g, '-'));
      mkdirSync(systemDir);
      await measureSystem(plan, systemDir, lines, setup, step);
    }
    // The disk loop runs before and after the systems (the disk's speed drifts); the limit is both together.
    const diskAfter = measureDisk(dataDir);
    step();
    const disk = combineDiskLimits(diskBefore, diskAfter);
    lines.get(metricNames.diskMBps)!.cells.limit = { value: disk.megabytesPerSecond };
    lines.get(metricNames.diskSyncMs)!.cells.limit = { value: disk.msPerSync };
    // The limit column of the throughput lines: the disk for produce, loopback TCP for consume.
    for (const bytes of recordSizes) {
      lines.get(metricNames.produceMBps(bytes))!.cells.limit = { value: disk.megabytesPerSecond };
      lines.get(metricNames.consumeMBps(bytes))!.cells.limit = { value: tcp };
    }
    setup.limit = `disk: ${diskBatches} writes of a ${disk.batchBytes}-byte batch, each followed by fdatasync, in the data directory (${tmpdir()}), before the systems and after them `
      + `(${diskBefore.megabytesPerSecond.toFixed(1)} and ${diskAfter.megabytesPerSecond.toFixed(1)} MB/s; ${diskBefore.msPerSync.toFixed(2)} and ${diskAfter.msPerSync.toFixed(2)} ms a sync); `
      + `TCP: ${tcpWriteBytes / 1024} KiB writes to a sink process for ${tcpRunMs / 1000} s`;
  });
  return { lines: [...lines.values()], setup };
}

/** Setup notes printed under the table. */
export function setupNotes(setup: KafkaBenchReport['setup']): string[] {
  const notes = systemNames.filter((name) => setup[name] !== undefined).map((name) => `${name}: ${setup[name]}`);
  notes.push(
    `producer: ${inFlightBatches} batches of up to ${batchBytesMax / 1024} KiB in flight (logmesh: Produce v7 requests, acks=-1, over runtime/kafka/client.ts; JetStream: that many records' worth of unacknowledged async publishes); throughput runs ${throughputMs / 1000} s, the first ${throughputWarmupMs / 1000} s not counted`,
    `latency: open loop, each message timed from its intended send time (corrected for coordinated omission; the generator hands out due messages every millisecond), HDR histogram; ${latencyRunMs / 1000} s per rate; a batch is whatever fell due while the sends in flight were busy (linger 0); the 25/50/75% rates are of each system's own maximum`,
    `fixed rate: ${fixedRatePerSecond.toLocaleString('en-US')} msgs/s of ${sizeLabel(latencyRecordBytes)} for ${fixedRateRunMs / 1000} s, once without a consumer (ack latency), once with a consumer tailing the log (end to end: from the intended send time stamped in the value to its arrival at the consumer, same process)`,
    `JetStream sync: ${jetStreamSyncSetting}`,
    'MB/s: 2^20 bytes of record values per second',
  );
  return notes;
}
