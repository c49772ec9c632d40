// Model-based property test: any sequence of append, read, flush, truncate, roll (small
// segments), retention and crash-then-recover keeps the log equal to a simple in-memory
// model; after a crash the log holds at least everything that was flushed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { scanBatches } from '../../../actors/protocol/record-batch.js';
import { PartitionLog, defaultLogConfig, type LogConfig } from '../../../runtime/storage/partition-log.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

interface ModelBatch { first: number; last: number; values: string[] }
interface Model { batches: ModelBatch[]; start: number; end: number; synced: number; epoch: number; now: number }
interface Real {
  dir: string;
  log: PartitionLog;
  config: LogConfig;
  clock: { now: number };
  /** The active segment's file and its size at the last flush (what a crash cannot take). */
  flushedFile: string | null;
  flushedSize: number;
}

const logger = pino({ level: 'silent' });

function activeFile(dir: string): string {
  return join(dir, readdirSync(dir).filter((n) => n.endsWith('.log')).sort().at(-1)!);
}

function expectedFrom(model: Model, offset: number): Array<[number, string]> {
  return model.batches.flatMap((b) => b.values.map((v, i) => [b.first + i, v] as [number, string])).filter(([o]) => o >= offset);
}

async function readRange(log: PartitionLog, from: number, maxBytes: number): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, maxBytes);
    const scan = scanBatches(result.bytes, 0, result.bytes.length, crc32c);
    assert.equal(scan.error, null);
    for (const header of scan.headers) {
      for (const record of decodeRecords(result.bytes, header)) if (record.offset >= offset) out.push([record.offset, Buffer.from(record.value!).toString()]);
    }
    assert.ok(result.nextOffset > offset, `read at ${offset} made no progress`);
    offset = result.nextOffset;
  }
  return out;
}

class Append implements fc.AsyncCommand<Model, Real> {
  constructor(readonly values: string[], readonly newEpoch: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    if (this.newEpoch) model.epoch += 1;
    const bytes = encodeRecordBatch(this.values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: model.now })), { baseTimestamp: model.now });
    const result = await real.log.append(bytes, model.epoch);
    assert.equal(result.firstOffset, model.end);
    model.batches.push({ first: model.end, last: model.end + this.values.length - 1, values: this.values });
    model.end += this.values.length;
    assert.equal(real.log.logEndOffset, model.end);
  }
  toString = () => `append(${this.values.length}${this.newEpoch ? ', new epoch' : ''})`;
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly at: number, readonly maxBytes: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const offset = model.start + Math.floor(this.at * (model.end - model.start + 1));
    assert.deepEqual(await readRange(real.log, Math.min(offset, model.end), this.maxBytes), expectedFrom(model, Math.min(offset, model.end)));
  }
  toString = () => `read(${this.at.toFixed(2)}, ${this.maxBytes})`;
}

class Flush implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.log.waitDurable(model.end);
    model.synced = model.end;
    real.flushedFile = activeFile(real.dir);
    real.flushedSize = statSync(real.flushedFile).size;
  }
  toString = () => 'flush';
}

class Truncate implements fc.AsyncCommand<Model, Real> {
  constructor(readonly at: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const offset = model.start + Math.floor(this.at * (model.end - model.start));
    const end = await real.log.truncateTo(offset);
    // Whole batches go: the one holding `offset` and everything after it.
    model.batches = model.batches.filter((b) => b.last < offset);
    model.end = Math.max(model.start, model.batches.at(-1)?.last === undefined ? model.start : model.batches.at(-1)!.last + 1);
    if (offset <= model.start) model.end = offset;
    assert.equal(end, model.end);
    model.synced = Math.min(model.synced, model.end);
    // Truncation fsyncs the active segment: what is left of it can no longer be lost.
    real.flushedFile = activeFile(real.dir);
    real.flushedSize = statSync(real.flushedFile).size;
  }
  toString = () => `truncate(${this.at.toFixed(2)})`;
}

class Retention implements fc.AsyncCommand<Model, Real> {
  constructor(readonly advanceMs: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.advanceMs;
    real.clock.now = model.now;
    await real.log.applyRetention();
    const start = real.log.logStartOffset;
    assert.ok(start >= model.start && start <= model.end, `log start ${start} outside [${model.start}, ${model.end}]`);
    assert.ok(start === model.end || model.batches.some((b) => b.first === start), 'retention deletes whole batches');
    model.batches = model.batches.filter((b) => b.first >= start);
    model.start = start;
  }
  toString = () => `retention(+${this.advanceMs} ms)`;
}

class CrashRecover implements fc.AsyncCommand<Model, Real> {
  constructor(readonly cut: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.log.abandon();
    // Unflushed bytes of the active segment may be lost or torn: cut the file somewhere after what was flushed.
    const file = activeFile(real.dir);
    const size = statSync(file).size;
    const floor = real.flushedFile === file ? real.flushedSize : 0;
    const keep = floor + Math.floor(this.cut * (size - floor));
    if (model.synced < model.end) truncateSync(file, keep);
    real.log = await PartitionLog.open(real.dir, 'orders', 0, real.config, logger, () => real.clock.now);
    const end = real.log.logEndOffset;
    assert.ok(end >= model.synced && end <= model.end, `recovered end ${end} outside [${model.synced}, ${model.end}]`);
    model.batches = model.batches.filter((b) => b.last < end);
    assert.equal(end, model.batches.at(-1) === undefined ? end : model.batches.at(-1)!.last + 1, 'recovery ends at a batch boundary');
    model.end = end;
    model.synced = end;
    assert.deepEqual(await readRange(real.log, real.log.logStartOffset, 4096), expectedFrom(model, real.log.logStartOffset));
    real.flushedFile = activeFile(real.dir);
    real.flushedSize = statSync(real.flushedFile).size;
  }
  toString = () => `crash(cut ${this.cut.toFixed(2)})`;
}

/** A fraction in [0, 1], spread evenly (fc.double favours 0 and 1, which hides off-by-ones). */
const fraction = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 10_000);

const commands = [
  fc.tuple(fc.array(fc.string({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 6 }), fc.boolean()).map(([values, epoch]) => new Append(values, epoch)),
  fc.tuple(fraction, fc.integer({ min: 1, max: 600 })).map(([at, max]) => new Read(at, max)),
  fc.constant(new Flush()),
  fraction.map((at) => new Truncate(at)),
  fc.integer({ min: 0, max: 40_000 }).map((ms) => new Retention(ms)),
  fraction.map((cut) => new CrashRecover(cut)),
];

test('the partition log behaves like its model through appends, reads, truncation, retention and crashes', { timeout: 300_000 }, async () => {
  await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 80, size: 'large' }), async (cmds) => {
    const dir = mkdtempSync(join(tmpdir(), 'logmesh-model-'));
    const config: LogConfig = { ...defaultLogConfig, segmentBytes: 512, indexIntervalBytes: 128, retentionMs: 60_000, retentionBytes: -1 };
    const clock = { now: 1_000_000 };
    const real: Real = { dir, log: await PartitionLog.open(dir, 'orders', 0, config, logger, () => clock.now), config, clock, flushedFile: null, flushedSize: 0 };
    const model: Model = { batches: [], start: 0, end: 0, synced: 0, epoch: 0, now: clock.now };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      assert.deepEqual(await readRange(real.log, model.start, 10_000), expectedFrom(model, model.start));
    } finally {
      await real.log.abandon().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }), { numRuns: 100 });
});
