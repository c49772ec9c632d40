// Compaction in the simulator: the simulated disk's cleaner on hand-made logs (what it keeps,
// the bounds it respects, a crash during a pass), then the compaction workload's campaign, in
// which crashes land in cleaning passes and every compaction checker must stay silent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../sim/campaign.js';
import { runSimulation } from '../../sim/run.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimLogDisk } from '../../sim/partition-disk.js';
import { defaultSimCleaner } from '../../sim/log-cleaner.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import type { LogResult } from '../../actors/protocol/effects.js';
import { decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';

const utf8 = new TextEncoder();
const store = 'ledger-0';
const compacted = [
  { name: 'cleanup.policy', value: 'compact' }, { name: 'delete.retention.ms', value: '1000' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' },
];

/** A disk with one compacted log and its cleaner running (every 1000-1500 ms, 3 batches of tail). */
function diskWithLog(configs = compacted): { disk: SimLogDisk; scheduler: Scheduler } {
  const scheduler = new Scheduler();
  const disk = new SimLogDisk(scheduler, new Prng(1));
  disk.submitLog(store, { kind: 'logOpen', configs }, () => {});
  disk.startCleaner(defaultSimCleaner, new Prng(2), {}, (run) => run());
  return { disk, scheduler };
}

/** Appends one batch per entry as a leader of epoch 0 ([key, value]; null value: tombstone) and makes it durable. */
function write(disk: SimLogDisk, scheduler: Scheduler, records: Array<[string, string | null]>, epoch = 0): void {
  for (const [key, value] of records) {
    const bytes = encodeRecordBatch([{ key: utf8.encode(key), value: value === null ? null : utf8.encode(value), timestamp: Math.floor(scheduler.now) }]);
    let result: LogResult | null = null;
    disk.submitLog(store, { kind: 'logAppend', bytes, leaderEpoch: epoch }, (r) => { result = r; });
    scheduler.runUntil(scheduler.now + 5);
    assert.equal(result!.kind, 'appended');
  }
  disk.flushLog(store, 0, () => {});
  scheduler.runUntil(scheduler.now + 5);
}

/** Offset -> "key=value" (or "key=null") of every record the log holds. */
function contents(disk: SimLogDisk): Map<number, string> {
  const records = new Map<number, string>();
  for (const batch of disk.storedBatches(store)) {
    for (const record of decodeRecords(batch.bytes, readBatchHeader(batch.bytes, 0))) {
      const value = record.value === null ? 'null' : new TextDecoder().decode(record.value);
      records.set(record.offset, `${new TextDecoder().decode(record.key!)}=${value}`);
    }
  }
  return records;
}

test('the cleaner keeps the latest record per key at its offset, below the high watermark and before the tail', () => {
  const { disk, scheduler } = diskWithLog();
  write(disk, scheduler, [['a', '1'], ['b', '1'], ['a', '2'], ['b', '2'], ['a', '3'], ['c', '1'], ['a', '4'], ['b', '3'], ['a', '5']]);
  // No high watermark noted: nothing is cleanable.
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(disk.cleanerStats.passes, 0);
  disk.noteHighWatermark(store, 7, 7);
  scheduler.runUntil(scheduler.now + 5000);
  assert.ok(disk.cleanerStats.passes > 0);
  // Offsets 0..5 are cleanable (6..8 are the tail; 7 and up are above the watermark anyway):
  // a@0, b@1 and a@2 are superseded within them; b@3 and a@4 are the latest there (the map
  // covers only the cleanable part). Offset 0's batch stays, empty, as the log's first.
  assert.deepEqual([...contents(disk)], [[3, 'b=2'], [4, 'a=3'], [5, 'c=1'], [6, 'a=4'], [7, 'b=3'], [8, 'a=5']]);
  const batches = disk.storedBatches(store);
  assert.equal(batches[0]!.firstOffset, 0, 'the log still starts at 0');
  for (let i = 1; i < batches.length; i++) assert.ok(batches[i]!.firstOffset > batches[i - 1]!.lastOffset, 'batches stay in offset order');
  assert.equal(disk.logRange(store).logEndOffset, 9);
});

test('a tombstone goes once delete.retention.ms has passed since a pass first covered it', () => {
  const { disk, scheduler } = diskWithLog();
  write(disk, scheduler, [['a', '1'], ['a', null], ['b', '1'], ['b', '2'], ['b', '3'], ['b', '4'], ['b', '5']]);
  disk.noteHighWatermark(store, 7, 7);
  scheduler.runUntil(scheduler.now + 1600);
  assert.equal(contents(disk).get(1), 'a=null', 'the tombstone stays at first');
  // More dirty records, so that later passes run; the tombstone is then past its retention.
  write(disk, scheduler, [['b', '6'], ['b', '7'], ['b', '8']]);
  disk.noteHighWatermark(store, 10, 10);
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(contents(disk).get(1), undefined, 'the tombstone is gone');
  assert.ok(disk.cleanerStats.tombstonesRemoved >= 1);
});

test('an expired tombstone stays until the tombstone horizon (every replica fetched) passes it', () => {
  const { disk, scheduler } = diskWithLog();
  write(disk, scheduler, [['a', '1'], ['a', null], ['b', '1'], ['b', '2'], ['b', '3'], ['b', '4'], ['b', '5']]);
  disk.noteHighWatermark(store, 7, 1);
  scheduler.runUntil(scheduler.now + 1600);
  write(disk, scheduler, [['b', '6'], ['b', '7'], ['b', '8']]);
  disk.noteHighWatermark(store, 10, 1);
  scheduler.runUntil(scheduler.now + 5000);
  assert.ok(disk.cleanerStats.passes > 1);
  assert.equal(contents(disk).get(1), 'a=null', 'a replica has not fetched offset 1: the tombstone stays past delete.retention.ms');
  disk.noteHighWatermark(store, 10, 2);
  write(disk, scheduler, [['b', '9'], ['b', '10'], ['b', '11']]);
  disk.noteHighWatermark(store, 13, 2);
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(contents(disk).get(1), undefined, 'the tombstone is gone once every replica has it');
});

test('a crash during a pass leaves the old batches; the pass completed leaves the new ones', () => {
  const { disk, scheduler } = diskWithLog();
  write(disk, scheduler, [['a', '1'], ['a', '2'], ['a', '3'], ['a', '4'], ['a', '5'], ['a', '6'], ['a', '7'], ['a', '8']]);
  const before = contents(disk);
  disk.noteHighWatermark(store, 8, 8);
  // Run until a pass has started, then crash the node before its swap.
  while (disk.cleanerStats.passes === 0) scheduler.runUntil(scheduler.now + 10);
  disk.crash();
  assert.equal(disk.cleanerStats.crashesDuringCleaning, 1);
  assert.deepEqual(contents(disk), before, 'the old batches, all of them');
  // After the restart the cleaner runs again (the watermark is known again) and finishes.
  disk.startCleaner(defaultSimCleaner, new Prng(3), {}, (run) => run());
  disk.noteHighWatermark(store, 8, 8);
  scheduler.runUntil(scheduler.now + 5000);
  assert.deepEqual([...contents(disk)], [[4, 'a=5'], [5, 'a=6'], [6, 'a=7'], [7, 'a=8']]);
});

test('logs without a compact cleanup.policy are never cleaned', () => {
  const { disk, scheduler } = diskWithLog([{ name: 'cleanup.policy', value: 'delete' }]);
  write(disk, scheduler, [['a', '1'], ['a', '2'], ['a', '3'], ['a', '4'], ['a', '5']]);
  disk.noteHighWatermark(store, 5, 5);
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(disk.cleanerStats.passes, 0);
  assert.equal(contents(disk).size, 5);
});

test('a compaction run is deterministic: same seed, same trace hash', () => {
  const options = { seed: 5, nodes: 3, durationMs: 15_000, faults: ['partition', 'crash', 'drop'] as const, workload: 'compaction' as const };
  const a = runSimulation({ ...options, faults: [...options.faults] });
  const b = runSimulation({ ...options, faults: [...options.faults] });
  assert.equal(a.traceHash, b.traceHash);
  assert.equal(a.events, b.events);
  assert.deepEqual(a.cleaner, b.cleaner);
  assert.equal(a.violations, 0, JSON.stringify(a.violationDetails.slice(0, 3)));
  assert.ok(a.cleaner.passes > 0 && a.workload.compaction.updatesAcked > 0);
});

// The fixed compaction campaign: producers update few keys of a compacted topic (RF 3) with
// tombstones, consumers read it from the beginning again and again, the disks' cleaners
// rewrite it, and nodes crash (some in the middle of a pass), the network splits and drops.
test('100 compaction seeds under partition, crash and drop: no violations, crashes during cleaning', { timeout: 600_000 }, async () => {
  const summary = await runCampaign({
    seedFrom: 1, seedTo: 100, nodes: 3, durationMs: 30_000, faults: ['partition', 'crash', 'drop'], workload: 'compaction', workers: 2,
  });
  assert.equal(summary.seeds, 100);
  const failures = summary.results.filter((r) => r.violations > 0).map((r) => `seed ${r.seed}: ${r.firstViolation?.checker}: ${r.firstViolation?.message}`);
  assert.deepEqual(failures, []);
  const total = (key: keyof (typeof summary.results)[number]['cleaner']): number => summary.results.reduce((n, r) => n + r.cleaner[key], 0);
  const crashedMidClean = summary.results.filter((r) => r.cleaner.crashesDuringCleaning > 0).length;
  assert.ok(crashedMidClean >= 10, `only ${crashedMidClean} seeds had a crash during a cleaning pass`);
  assert.ok(total('batchesCleaned') > 10_000, `only ${total('batchesCleaned')} batches cleaned`);
  assert.ok(total('tombstonesRemoved') > 100, `only ${total('tombstonesRemoved')} tombstones removed`);
  assert.ok(total('bytesAfter') < total('bytesBefore') / 2, `cleaning kept ${total('bytesAfter')} of ${total('bytesBefore')} bytes`);
  const acked = summary.results.reduce((n, r) => n + r.workload.compaction.updatesAcked, 0);
  const passes = summary.results.reduce((n, r) => n + r.workload.compaction.consumerPasses, 0);
  assert.ok(acked > 5000 && passes > 5000, `updates acknowledged ${acked}, consumer passes ${passes}`);
});
