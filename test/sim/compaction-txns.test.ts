// The simulated disk's cleaner on a log written in transactions: aborted data goes, nothing at
// or above the last stable offset is cleaned, and the disk's transaction state (kept from its
// appends, rebuilt after a crash) is what its cleaner and a reopening see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimLogDisk } from '../../sim/partition-disk.js';
import { defaultSimCleaner } from '../../sim/log-cleaner.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import type { LogResult, TxnSnapshot } from '../../actors/protocol/effects.js';
import { decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';

const utf8 = new TextEncoder();
const store = '__consumer_offsets-0';
const configs = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'delete.retention.ms', value: '1000' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }];

type Entry = { key: string; value: string; producerId?: number } | { marker: 'commit' | 'abort'; producerId: number };

function batchOf(entry: Entry, timestamp: number): Uint8Array {
  if ('marker' in entry) {
    return encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, entry.marker === 'commit' ? 1 : 0]), value: new Uint8Array(6), timestamp }], {
      baseTimestamp: timestamp, producerId: entry.producerId, producerEpoch: 0, baseSequence: -1, transactional: true, control: true,
    });
  }
  const txn = entry.producerId === undefined ? {} : { producerId: entry.producerId, producerEpoch: 0, baseSequence: -1, transactional: true };
  return encodeRecordBatch([{ key: utf8.encode(entry.key), value: utf8.encode(entry.value), timestamp }], { baseTimestamp: timestamp, ...txn });
}

function setup(): { disk: SimLogDisk; scheduler: Scheduler } {
  const scheduler = new Scheduler();
  const disk = new SimLogDisk(scheduler, new Prng(1));
  disk.submitLog(store, { kind: 'logOpen', configs }, () => {});
  disk.startCleaner(defaultSimCleaner, new Prng(2), {}, (run) => run());
  return { disk, scheduler };
}

function write(disk: SimLogDisk, scheduler: Scheduler, entries: Entry[]): void {
  for (const entry of entries) {
    let result: LogResult | null = null;
    disk.submitLog(store, { kind: 'logAppend', bytes: batchOf(entry, Math.floor(scheduler.now)), leaderEpoch: 0 }, (r) => { result = r; });
    scheduler.runUntil(scheduler.now + 5);
    assert.equal(result!.kind, 'appended');
  }
  disk.flushLog(store, 0, () => {});
  scheduler.runUntil(scheduler.now + 5);
}

/** Offset -> "key=value" of every data record the log holds. */
function contents(disk: SimLogDisk): Map<number, string> {
  const records = new Map<number, string>();
  for (const batch of disk.storedBatches(store)) {
    const header = readBatchHeader(batch.bytes, 0);
    if (header.isControl) continue;
    for (const record of decodeRecords(batch.bytes, header)) records.set(record.offset, `${new TextDecoder().decode(record.key!)}=${new TextDecoder().decode(record.value!)}`);
  }
  return records;
}

function opened(disk: SimLogDisk, scheduler: Scheduler): TxnSnapshot {
  let result: LogResult | null = null;
  disk.submitLog(store, { kind: 'logOpen', configs }, (r) => { result = r; });
  scheduler.runUntil(scheduler.now + 5);
  const answer = result as LogResult | null;
  assert.ok(answer !== null && answer.kind === 'opened');
  return answer.txns;
}

test('aborted data goes, the last stable offset bounds the cleaner, and a crash rebuilds the transaction state it uses', () => {
  const { disk, scheduler } = setup();
  write(disk, scheduler, [
    { key: 'a', value: 'aborted', producerId: 7 }, { marker: 'abort', producerId: 7 }, { key: 'a', value: '1' },
    { key: 'k', value: 'open', producerId: 9 }, { key: 'a', value: '2' }, { key: 't', value: '1' }, { key: 't', value: '2' }, { key: 't', value: '3' },
  ]);
  disk.noteHighWatermark(store, 8, 8);
  scheduler.runUntil(scheduler.now + 5000);
  assert.ok(disk.cleanerStats.abortedBatchesRemoved >= 1);
  // Offset 0's batch stays, emptied (the log's first, and producer 7's state); offset 3 opens a transaction: nothing from it on is cleaned.
  assert.equal(contents(disk).get(0), undefined, 'the aborted record is gone');
  assert.equal(contents(disk).get(2), 'a=1', 'a=2 lies above the last stable offset: it supersedes nothing yet');
  assert.equal(contents(disk).get(3), 'k=open');
  assert.deepEqual(opened(disk, scheduler).aborted, [{ producerId: 7, firstOffset: 0, lastOffset: 1 }]);
  disk.crash();
  disk.startCleaner(defaultSimCleaner, new Prng(3), {}, (run) => run());
  assert.deepEqual(opened(disk, scheduler).unstable.map((t) => [t.producerId, t.firstOffset, t.markerOffset]), [[7, 0, 1], [9, 3, -1]], 'rebuilt from the batches');
  disk.noteHighWatermark(store, 8, 8);
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(contents(disk).get(2), 'a=1', 'still open after the crash');
  write(disk, scheduler, [{ marker: 'commit', producerId: 9 }, { key: 't', value: '4' }, { key: 't', value: '5' }, { key: 't', value: '6' }]);
  disk.noteHighWatermark(store, 12, 12);
  scheduler.runUntil(scheduler.now + 5000);
  assert.equal(contents(disk).get(2), undefined, 'committed: the cleaner passes offset 3 and a=2 supersedes a=1');
  assert.equal(contents(disk).get(3), 'k=open', 'the committed record stays, the latest of its key');
  assert.equal(opened(disk, scheduler).unstable.length, 0);
});
