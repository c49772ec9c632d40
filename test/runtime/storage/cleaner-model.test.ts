// Model-based property test of compaction: any sequence of keyed appends (some tombstones, keys
// from a small set), segment rolls, the clock moving, the high watermark moving, truncations
// (never below the high watermark, as replication guarantees), cleaning passes (sometimes with
// an offset map too small for one pass), crashes at each step of a pass's swap and reopening
// keeps the log's promises. Reading from the start gives records in offset order, each one of the
// appended records at its own offset, once; every key's last record read is its latest
// (a tombstone may be gone once delete.retention.ms has passed since it was appended, and then
// nothing of its key is left); no record at or after the end of every pass's cleanable part
// (active segment, high watermark) is removed; below the first dirty offset every key appears
// at most once. (A crash after a swap but before the cleaner
// checkpoint leaves the first dirty offset below records already compacted: the next pass
// does that part again.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { scanBatches } from '../../../actors/protocol/record-batch.js';
import { type CleanerStep, CleanerStoppedError } from '../../../runtime/storage/cleaner.js';
import { OffsetMap } from '../../../runtime/storage/offset-map.js';
import { PartitionLog, defaultLogConfig, type LogConfig } from '../../../runtime/storage/partition-log.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

const logger = pino({ level: 'silent' });
const deleteRetentionMs = 10_000;
const keyCount = 5;

interface ModelRecord { offset: number; key: string; value: string | null; timestamp: number }
interface Model {
  records: ModelRecord[];
  /** First offsets of the appended batches still in the log. */
  batchStarts: number[];
  end: number;
  now: number;
  nextValue: number;
  /** Committed: passes clean below it, truncations stay at or above it. At a batch start or the end. */
  highWatermark: number;
  /** The highest end of a cleanable part any pass has seen: nothing from here on is ever removed. */
  cleanedBelow: number;
}
interface Real { dir: string; log: PartitionLog; config: LogConfig; clock: { now: number }; map: OffsetMap }

interface Row { offset: number; key: string; value: string | null }

async function readAll(log: PartitionLog, maxBytes: number): Promise<Row[]> {
  const rows: Row[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, maxBytes);
    const scan = scanBatches(result.bytes, 0, result.bytes.length, crc32c);
    assert.equal(scan.error, null);
    for (const header of scan.headers) {
      for (const r of decodeRecords(result.bytes, header)) {
        if (r.offset >= offset) rows.push({ offset: r.offset, key: Buffer.from(r.key!).toString(), value: r.value === null ? null : Buffer.from(r.value).toString() });
      }
    }
    assert.ok(result.nextOffset > offset, `read at ${offset} made no progress`);
    offset = result.nextOffset;
  }
  return rows;
}

/** The log's promises about what reading from the start gives (see the header). */
async function checkLog(model: Model, real: Real, maxBytes: number): Promise<void> {
  const rows = await readAll(real.log, maxBytes);
  const byOffset = new Map(model.records.map((r) => [r.offset, r]));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (i > 0) assert.ok(row.offset > rows[i - 1]!.offset, `offset ${row.offset} after ${rows[i - 1]!.offset}: a copy or a reordering`);
    const appended = byOffset.get(row.offset);
    assert.ok(appended !== undefined && appended.key === row.key && appended.value === row.value, `offset ${row.offset} holds ${row.key}=${row.value}, not what was appended there`);
  }
  const latest = new Map<string, ModelRecord>();
  for (const r of model.records) latest.set(r.key, r);
  const lastRead = new Map<string, Row>();
  for (const row of rows) lastRead.set(row.key, row);
  for (const [key, record] of latest) {
    const read = lastRead.get(key);
    if (read !== undefined) {
      assert.equal(read.offset, record.offset, `key ${key}: last read at ${read.offset}, latest at ${record.offset}`);
      continue;
    }
    assert.equal(record.value, null, `key ${key}: its latest value (offset ${record.offset}) is gone`);
    assert.ok(model.now - record.timestamp >= deleteRetentionMs, `key ${key}: the tombstone at ${record.offset} went before delete.retention.ms`);
  }
  // (After a truncation the active segment may be one a pass cleaned: the first dirty offset is then above its base.)
  const firstDirty = real.log.firstDirtyOffset;
  assert.ok(firstDirty <= real.log.logEndOffset, `the first dirty offset ${firstDirty} is past the log end`);
  const present = new Set(rows.map((r) => r.offset));
  for (const r of model.records) if (r.offset >= model.cleanedBelow) assert.ok(present.has(r.offset), `offset ${r.offset}, above every pass's cleanable part (${model.cleanedBelow}), was removed`);
  const cleanKeys = rows.filter((r) => r.offset < firstDirty).map((r) => r.key);
  assert.equal(new Set(cleanKeys).size, cleanKeys.length, `a key appears twice below the first dirty offset ${firstDirty}`);
}

class Append implements fc.AsyncCommand<Model, Real> {
  constructor(readonly records: Array<[number, boolean]>) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const records = this.records.map(([key, tombstone]) => ({ key: `k${key}`, value: tombstone ? null : `v${model.nextValue++}` }));
    const bytes = encodeRecordBatch(records.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), timestamp: model.now })), { baseTimestamp: model.now });
    const result = await real.log.append(bytes, 1);
    assert.equal(result.firstOffset, model.end);
    records.forEach((r, i) => model.records.push({ offset: model.end + i, key: r.key, value: r.value, timestamp: model.now }));
    model.batchStarts.push(model.end);
    model.end += records.length;
    await real.log.waitDurable(model.end);
  }
  toString = () => `append(${this.records.map(([k, t]) => `k${k}${t ? '=null' : ''}`).join(' ')})`;
}

class Roll implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    await real.log.rollSegment();
  }
  toString = () => 'roll';
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.ms;
    real.clock.now = model.now;
  }
  toString = () => `advance(${this.ms} ms)`;
}

/** A batch start at or above the high watermark (or the end), picked by a fraction. */
function committedBoundary(model: Model, at: number): number {
  const candidates = [...model.batchStarts.filter((b) => b >= model.highWatermark), model.end];
  return candidates[Math.min(candidates.length - 1, Math.floor(at * candidates.length))]!;
}

class AdvanceHighWatermark implements fc.AsyncCommand<Model, Real> {
  constructor(readonly at: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.highWatermark = committedBoundary(model, this.at);
    real.log.setHighWatermark(model.highWatermark, model.highWatermark);
  }
  toString = () => `high-watermark(${this.at.toFixed(2)})`;
}

class Truncate implements fc.AsyncCommand<Model, Real> {
  constructor(readonly at: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const offset = committedBoundary(model, this.at);
    const end = await real.log.truncateTo(offset);
    assert.equal(end, offset, 'above the high watermark nothing was cleaned: the log ends where asked');
    model.records = model.records.filter((r) => r.offset < end);
    model.batchStarts = model.batchStarts.filter((b) => b < end);
    model.end = end;
  }
  toString = () => `truncate(${this.at.toFixed(2)})`;
}

/** Notes how far the coming pass may clean. */
function notePass(model: Model, real: Real): void {
  model.cleanedBelow = Math.max(model.cleanedBelow, real.log.cleanerStatus(model.now).firstUncleanableOffset);
}

/** What the replica's actor does after a restart: tell the log its high watermark. */
async function reopen(model: Model, real: Real): Promise<void> {
  real.log = await PartitionLog.open(real.dir, 'orders', 0, real.config, logger, () => real.clock.now);
  real.log.setHighWatermark(model.highWatermark, model.highWatermark);
}

class Clean implements fc.AsyncCommand<Model, Real> {
  constructor(readonly maxBytes: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    notePass(model, real);
    const stats = await real.log.clean(model.now, { offsetMap: real.map });
    assert.ok(stats.firstDirtyAfter >= stats.firstDirtyBefore);
    await checkLog(model, real, this.maxBytes);
  }
  toString = () => `clean(read ${this.maxBytes})`;
}

class CrashDuringClean implements fc.AsyncCommand<Model, Real> {
  constructor(readonly step: CleanerStep, readonly maxBytes: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    // A pass with nothing to swap ends normally before any step: the crash then comes after it.
    notePass(model, real);
    await real.log.clean(model.now, { offsetMap: real.map, stopAt: this.step }).catch((error: unknown) => {
      if (!(error instanceof CleanerStoppedError)) throw error;
    });
    await real.log.abandon();
    await reopen(model, real);
    assert.equal(real.log.logEndOffset, model.end);
    assert.deepEqual(readdirSync(real.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), []);
    await checkLog(model, real, this.maxBytes);
  }
  toString = () => `crash-during-clean(${this.step})`;
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  constructor(readonly clean: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    if (this.clean) await real.log.close();
    else await real.log.abandon();
    await reopen(model, real);
    assert.equal(real.log.logEndOffset, model.end);
  }
  toString = () => (this.clean ? 'close+open' : 'crash+open');
}

class ReadAll implements fc.AsyncCommand<Model, Real> {
  constructor(readonly maxBytes: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await checkLog(model, real, this.maxBytes);
  }
  toString = () => `read-all(${this.maxBytes})`;
}

const readBytes = fc.integer({ min: 1, max: 800 });
/** A fraction in [0, 1], spread evenly. */
const fraction = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 10_000);
const commands = [
  fc.array(fc.tuple(fc.integer({ min: 0, max: keyCount - 1 }), fc.integer({ min: 0, max: 4 }).map((n) => n === 0)), { minLength: 1, maxLength: 4 })
    .map((records) => new Append(records)),
  fc.constant(new Roll()),
  fc.integer({ min: 0, max: 6_000 }).map((ms) => new Advance(ms)),
  readBytes.map((max) => new Clean(max)),
  fc.tuple(fc.constantFrom<CleanerStep>('cleaned', 'swap', 'deleted'), readBytes).map(([step, max]) => new CrashDuringClean(step, max)),
  fc.boolean().map((clean) => new Reopen(clean)),
  readBytes.map((max) => new ReadAll(max)),
  fraction.map((at) => new AdvanceHighWatermark(at)),
  fraction.map((at) => new AdvanceHighWatermark(at)),
  fraction.map((at) => new Truncate(at)),
];

test('compaction keeps its promises through appends, rolls, high watermarks, truncations, passes, crashes during a pass and recovery', { timeout: 600_000 }, async () => {
  await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), fc.boolean(), fc.integer({ min: 150, max: 700 }), async (cmds, tinyMap, segmentBytes) => {
    const dir = mkdtempSync(join(tmpdir(), 'logmesh-cleaner-model-'));
    const config: LogConfig = { ...defaultLogConfig, segmentBytes, indexIntervalBytes: 64, retentionMs: -1, compact: true, deleteRetentionMs };
    const clock = { now: 1_000_000 };
    // A map of 4 keys (batches hold at most 4 records) forces several passes over 5 keys.
    const map = tinyMap ? new OffsetMap(5) : new OffsetMap(1024);
    const real: Real = { dir, log: await PartitionLog.open(dir, 'orders', 0, config, logger, () => clock.now), config, clock, map };
    const model: Model = { records: [], batchStarts: [], end: 0, now: clock.now, nextValue: 0, highWatermark: 0, cleanedBelow: 0 };
    real.log.setHighWatermark(0, 0);
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // Everything committed, cleaning until nothing is dirty leaves one record per key below the active segment.
      model.highWatermark = model.end;
      real.log.setHighWatermark(model.end, model.end);
      notePass(model, real);
      for (let pass = 0; pass < 50 && real.log.firstDirtyOffset < real.log.segmentBaseOffsets.at(-1)!; pass++) await real.log.clean(model.now, { offsetMap: map });
      await checkLog(model, real, 10_000);
    } finally {
      await real.log.abandon().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }), { numRuns: 120, includeErrorInReport: true });
});
