// The simulated partition disk against a model: reads equal the model, a crash keeps at
// least everything flushed (short of bit-flipped batches), and a flipped bit is never served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scanBatches } from '../../actors/protocol/record-batch.js';
import type { LogOp, LogResult } from '../../actors/protocol/effects.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';
import { SimLogDisk } from '../../sim/partition-disk.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';

type Command =
  | { kind: 'append'; values: string[] }
  | { kind: 'flush' }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'crash' }
  | { kind: 'flip' };

const fraction = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 5 }).map((values) => ({ kind: 'append' as const, values })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 3, arbitrary: fc.tuple(fraction, fc.integer({ min: 1, max: 400 })).map(([at, maxBytes]) => ({ kind: 'read' as const, at, maxBytes })) },
  { weight: 1, arbitrary: fraction.map((at) => ({ kind: 'truncate' as const, at })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flip' as const }) },
);

function run(disk: SimLogDisk, scheduler: Scheduler, op: LogOp): LogResult {
  let result: LogResult | null = null;
  disk.submitLog('orders-0', op, (r) => { result = r; });
  scheduler.runUntil(scheduler.now + 100);
  assert.ok(result !== null, 'the operation completed');
  return result;
}

function values(bytes: Uint8Array, from: number): Array<[number, string]> {
  const scan = scanBatches(bytes, 0, bytes.length, crc32c);
  assert.equal(scan.error, null, 'a read never returns a bad batch');
  return scan.headers.flatMap((h) => decodeRecords(bytes, h).map((r) => [r.offset, Buffer.from(r.value!).toString()] as [number, string])).filter(([o]) => o >= from);
}

test('the simulated partition disk keeps flushed batches through crashes and never serves a flipped bit', () => {
  fc.assert(fc.property(fc.integer(), fc.array(command, { maxLength: 60 }), (seed, commands) => {
    const scheduler = new Scheduler();
    const disk = new SimLogDisk(scheduler, new Prng(seed));
    let model: Array<[number, string]> = [];
    let start = 0;
    let synced = 0;
    let corruptFrom = Infinity;
    const end = (): number => (model.length === 0 ? start : model[model.length - 1]![0] + 1);
    for (const c of commands) {
      if (c.kind === 'append') {
        const result = run(disk, scheduler, { kind: 'logAppend', bytes: encodeRecordBatch(c.values.map((v) => ({ key: null, value: Buffer.from(v) }))), leaderEpoch: 1 });
        assert.equal(result.kind, 'appended');
        if (result.kind === 'appended') {
          assert.equal(result.firstOffset, end());
          c.values.forEach((v, i) => model.push([result.firstOffset + i, v]));
        }
      } else if (c.kind === 'flush') {
        let flushed: LogResult | null = null;
        disk.flushLog('orders-0', end(), (r) => { flushed = r; });
        scheduler.runUntil(scheduler.now + 100);
        assert.deepEqual(flushed, { kind: 'flushed', flushedOffset: end() });
        synced = end();
      } else if (c.kind === 'read') {
        const offset = start + Math.floor(c.at * (end() - start));
        const result = run(disk, scheduler, { kind: 'logRead', offset, maxBytes: c.maxBytes, maxOffset: end() });
        if (result.kind === 'failed') {
          assert.equal(result.code, 'corrupt');
          assert.ok(corruptFrom < Infinity, 'corrupt only after a bit flip');
        } else {
          assert.equal(result.kind, 'read');
          if (result.kind === 'read') {
            const got = values(result.bytes, offset);
            assert.deepEqual(got, model.filter(([o]) => o >= offset).slice(0, got.length));
            if (offset < end()) assert.ok(got.length > 0, 'a read below the end returns at least one batch');
          }
        }
      } else if (c.kind === 'truncate') {
        const offset = start + Math.floor(c.at * (end() - start));
        const result = run(disk, scheduler, { kind: 'logTruncate', offset });
        assert.equal(result.kind, 'truncated');
        // Whole batches go; the model does not know batch bounds, so take the disk's answer and check it.
        if (result.kind === 'truncated') {
          assert.ok(result.logEndOffset <= offset && result.logEndOffset >= start);
          model = model.filter(([o]) => o < result.logEndOffset);
          if (model.length === 0) start = result.logEndOffset;
          synced = Math.min(synced, result.logEndOffset);
        }
      } else if (c.kind === 'crash') {
        disk.crash();
        const after = disk.logRange('orders-0').logEndOffset;
        assert.ok(after >= Math.min(synced, corruptFrom) || (model.length === 0 && after === start), `crash lost flushed data: end ${after}, synced ${synced}`);
        assert.ok(after <= end());
        model = model.filter(([o]) => o < after);
        if (model.length === 0) start = after;
        synced = after;
        if (corruptFrom >= after) corruptFrom = Infinity; // recovery cut the flipped batch away
      } else {
        const first = disk.flipRandomBit();
        if (first >= 0) corruptFrom = Math.min(corruptFrom, first);
      }
    }
  }), { numRuns: 300 });
});
