// The pure parts of `npm run bench -- kafka`: the HDR histogram's percentiles, the open-loop
// schedule that corrects for coordinated omission, the load generator against fake senders,
// and the table with its ratios. The benchmark itself is not run here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram, OpenLoopSchedule, latencyMicrosMax } from '../../../runtime/ops/bench-latency.js';
import { produceMax, produceOpenLoop, type Sender } from '../../../runtime/ops/bench-load.js';
import { figuresOf, formatFigure, formatTable, lineFromFigures, type MetricLine, ratioOf, ratios } from '../../../runtime/ops/bench-kafka-report.js';
import { combineDiskLimits } from '../../../runtime/ops/bench-limits.js';
import { recordsPerBatch } from '../../../runtime/ops/bench-logmesh.js';

const close = (actual: number, expected: number, relative: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= expected * relative, `${what}: ${actual} is not within ${relative * 100}% of ${expected}`);
};

test('the histogram gives percentiles to within 0.1%, in milliseconds', () => {
  const histogram = new LatencyHistogram();
  for (let ms = 1; ms <= 1000; ms++) histogram.recordMs(ms);
  const summary = histogram.summary();
  assert.equal(summary.count, 1000);
  close(summary.p50Ms, 500, 0.002, 'p50');
  close(summary.p99Ms, 990, 0.002, 'p99');
  close(summary.p999Ms, 999, 0.002, 'p99.9');
  close(summary.maxMs, 1000, 0.002, 'max');
});

test('the histogram keeps microseconds and clamps what it cannot hold', () => {
  const histogram = new LatencyHistogram();
  histogram.recordMs(0.25);
  histogram.recordMs(-3);
  histogram.recordMs(1e9);
  assert.equal(histogram.count, 3);
  assert.equal(histogram.summary().p50Ms, 0.25);
  close(histogram.summary().maxMs, latencyMicrosMax / 1000, 0.001, 'clamped max');
});

test('the open-loop schedule spaces messages evenly from the start and stops at the run length', () => {
  const schedule = new OpenLoopSchedule(1000, 200, 100); // 200/s for 100 ms: 20 messages, 5 ms apart
  assert.equal(schedule.total, 20);
  assert.equal(schedule.dueBy(999), 0);
  assert.equal(schedule.dueBy(1000), 1);
  assert.equal(schedule.dueBy(1012), 3);
  assert.deepEqual(schedule.takeDue(1012), [1000, 1005, 1010]);
  assert.deepEqual(schedule.takeDue(1012), []);
  assert.equal(schedule.takeDue(5000).length, 17);
  assert.ok(schedule.done);
  assert.throws(() => new OpenLoopSchedule(0, 0, 100), RangeError);
});

test('coordinated omission: a stall is charged to every message due during it, not to one', () => {
  // 1,000 messages/s for 2 s; the server answers in 0.1 ms except that it stalls from 500 ms
  // to 1,500 ms, when everything due meanwhile is answered at once.
  const schedule = new OpenLoopSchedule(0, 1000, 2000);
  const histogram = new LatencyHistogram();
  const stallFromMs = 500;
  const stallToMs = 1500;
  for (let now = 0; now <= 2000; now += 1) {
    if (now >= stallFromMs && now < stallToMs) continue; // the generator cannot send during the stall
    for (const intended of schedule.takeDue(now)) histogram.recordSince(intended, Math.max(now, intended) + 0.1);
  }
  const summary = histogram.summary();
  assert.equal(summary.count, 2000);
  // Half of the messages were due during the stall: their latencies spread from 0 to 1 s.
  close(summary.p99Ms, 980, 0.01, 'p99');
  close(summary.p999Ms, 998, 0.01, 'p99.9');
  // Measured from when each message left (closed loop), they would all look like 0.1 ms.
});

test('the open-loop generator times messages from their intended send times and batches what waited', async () => {
  const batchSizes: number[] = [];
  // One send at a time, 20 ms each, at most 50 messages: 1,000 messages/s cannot all go out at
  // once, so sends carry what fell due meanwhile.
  const slow: Sender = {
    inFlightMax: 1,
    messagesPerSendMax: 50,
    send: async (intended) => {
      batchSizes.push(intended.length);
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
  const result = await produceOpenLoop(slow, 1000, 300);
  assert.equal(result.failure, null);
  assert.equal(result.acknowledged, 300);
  assert.equal(result.sent, 300);
  assert.ok(Math.max(...batchSizes) > 1, `sends carried batches (${batchSizes.join(',')})`);
  assert.ok(result.ack.p99Ms >= 20, `p99 ${result.ack.p99Ms} ms includes the 20 ms send`);
});

test('a failing send stops the run and says why', async () => {
  let calls = 0;
  const failing: Sender = {
    inFlightMax: 2,
    messagesPerSendMax: 10,
    send: async () => {
      calls += 1;
      if (calls === 3) throw new Error('Produce v7 (acks=-1, 10 records) to t-0: answered NOT_LEADER_OR_FOLLOWER (6)');
    },
  };
  const max = await produceMax(failing, 200, 0);
  assert.match(max.failure ?? '', /NOT_LEADER_OR_FOLLOWER/);
  calls = 0;
  const open = await produceOpenLoop(failing, 10_000, 100);
  assert.match(open.failure ?? '', /NOT_LEADER_OR_FOLLOWER/);
});

test('a batch of 64 KiB holds 63 records of 1 KiB and 595 of 100 bytes', () => {
  assert.equal(recordsPerBatch(1024), 63);
  assert.equal(recordsPerBatch(100), 595);
});

test('figures read as three significant digits, thousands grouped', () => {
  assert.equal(formatFigure(123456.7), '123,457');
  assert.equal(formatFigure(1234), '1,234');
  assert.equal(formatFigure(123.4), '123');
  assert.equal(formatFigure(12.34), '12.3');
  assert.equal(formatFigure(1.234), '1.23');
  assert.equal(formatFigure(0), '0.00');
});

test('the table shows each system, the ratios, and numbered failures', () => {
  const lines: MetricLine[] = [
    { metric: 'produce 1 KiB, MB/s', cells: { limit: { value: 200 }, 'logmesh R1': { value: 100 }, 'JetStream R1': { value: 50 }, 'logmesh R3': { value: 60 }, 'JetStream R3': { value: 40 } } },
    { metric: 'end-to-end p99, ms', cells: { 'logmesh R3': { failure: 'Fetch v4 of t-0 at offset 0: answered NOT_LEADER_OR_FOLLOWER (6)' }, 'JetStream R3': { value: 2 } } },
    { metric: 'end-to-end p99.9, ms', cells: { 'logmesh R3': { failure: 'Fetch v4 of t-0 at offset 0: answered NOT_LEADER_OR_FOLLOWER (6)' }, 'JetStream R3': { failure: 'start: TIMEOUT' } } },
  ];
  assert.equal(ratioOf(lines[0]!, ratios[0]!), 2);
  assert.equal(ratioOf(lines[0]!, ratios[1]!), 1.5);
  assert.equal(ratioOf(lines[0]!, ratios[3]!), 0.3);
  assert.equal(ratioOf(lines[1]!, ratios[1]!), null);
  const table = formatTable(lines).split('\n');
  assert.match(table[0]!, /^\| metric +\| limit \| logmesh R1 \| JetStream R1 \| logmesh R3 \| JetStream R3 \| logmesh R1 ÷ JetStream R1 \|/);
  assert.match(table[1]!, /^\|-+\|-+:\|/);
  const cells = (row: string): string[] => row.split('|').slice(1, -1).map((cell) => cell.trim());
  assert.deepEqual(cells(table[2]!), ['produce 1 KiB, MB/s', '200', '100', '50.0', '60.0', '40.0', '2.00', '1.50', '0.50', '0.30']);
  assert.deepEqual(cells(table[3]!), ['end-to-end p99, ms', '-', '-', '-', 'failed [1]', '2.00', '-', '-', '-', '-']);
  // The same failure of the same system is one note.
  assert.deepEqual(cells(table[4]!), ['end-to-end p99.9, ms', '-', '-', '-', 'failed [1]', 'failed [2]', '-', '-', '-', '-']);
  assert.deepEqual(table.slice(5), ['', '[1] logmesh R3: Fetch v4 of t-0 at offset 0: answered NOT_LEADER_OR_FOLLOWER (6)', '[2] JetStream R3: start: TIMEOUT']);
  // Every row is as wide as the header.
  for (const row of table.slice(0, 5)) assert.equal(row.length, table[0]!.length);
});

test('the --json figures give the same table back', () => {
  const line: MetricLine = { metric: 'consume 100 B, msgs/s', cells: { 'logmesh R1': { value: 195271.25 }, 'JetStream R1': { value: 64366 }, 'logmesh R3': { failure: 'timed out' } } };
  const figures = figuresOf(line);
  assert.equal(figures['logmesh R1'], 195271.25);
  assert.equal(figures['logmesh R3'], 'failed: timed out');
  assert.equal(figures['logmesh R1 ÷ JetStream R1'], Number((195271.25 / 64366).toFixed(3)));
  assert.equal(formatTable([lineFromFigures(line.metric, figures)]), formatTable([line]));
});

test('two runs of the disk loop combine as their bytes over their time', () => {
  const combined = combineDiskLimits({ batchBytes: 65536, megabytesPerSecond: 125, msPerSync: 0.5 }, { batchBytes: 65536, megabytesPerSecond: 41.67, msPerSync: 1.5 });
  assert.equal(combined.msPerSync, 1);
  close(combined.megabytesPerSecond, 62.5, 0.001, 'MB/s');
});
