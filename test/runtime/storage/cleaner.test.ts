// The log cleaner (cleanup.policy=compact): what a pass keeps, when a log is due, several
// passes with a small offset map, tombstone expiry, crashes at each step of the swap, the
// refusal of keyless records, the node's cleaner loop and the compaction config checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { scanBatches } from '../../../actors/protocol/record-batch.js';
import type { LogOp, LogResult } from '../../../actors/protocol/effects.js';
import {
  type CleanerCheckpoint, type CleanerStep, CleanerStoppedError, afterPass, cleanerCheckpointFile, clampCheckpoint, firstCleanedAt,
} from '../../../runtime/storage/cleaner.js';
import { NodeStorage } from '../../../runtime/storage/node-storage.js';
import { OffsetMap, keyDigest, offsetMapSlotBytes } from '../../../runtime/storage/offset-map.js';
import { InvalidRecordError, PartitionLog, defaultLogConfig, producerStateFile, type LogConfig } from '../../../runtime/storage/partition-log.js';
import { FileStoragePort } from '../../../runtime/storage/raft-store.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { TopicConfigError, topicLogConfig, topicLogConfigError } from '../../../runtime/storage/topic-config.js';

const logger = pino({ level: 'silent' });

interface Row { offset: number; key: string | null; value: string | null }

function harness(config: Partial<LogConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-cleaner-'));
  const clock = { now: 1_000_000 };
  const full: LogConfig = { ...defaultLogConfig, segmentBytes: 400, indexIntervalBytes: 100, retentionMs: -1, compact: true, ...config };
  return {
    dir, clock, config: full,
    open: () => PartitionLog.open(dir, 'orders', 0, full, logger, () => clock.now),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One batch of keyed records; a null value is a tombstone. */
function keyed(records: Array<[string | null, string | null]>, timestamp: number, producer?: { id: number; sequence: number }): Uint8Array {
  return encodeRecordBatch(
    records.map(([key, value]) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp })),
    { baseTimestamp: timestamp, producerId: producer?.id ?? -1, producerEpoch: producer === undefined ? -1 : 0, baseSequence: producer?.sequence ?? -1 },
  );
}

async function readAll(log: PartitionLog): Promise<Row[]> {
  const rows: Row[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 700);
    const scan = scanBatches(result.bytes, 0, result.bytes.length, crc32c);
    assert.equal(scan.error, null);
    for (const header of scan.headers) {
      for (const r of decodeRecords(result.bytes, header)) {
        if (r.offset < offset) continue;
        rows.push({ offset: r.offset, key: r.key === null ? null : Buffer.from(r.key).toString(), value: r.value === null ? null : Buffer.from(r.value).toString() });
      }
    }
    assert.ok(result.nextOffset > offset, `read at ${offset} made no progress`);
    offset = result.nextOffset;
  }
  return rows;
}

/** Appends `updates` one-record batches cycling over `keys` keys, value "<key>@<offset>", and flushes. */
async function appendUpdates(log: PartitionLog, keys: number, updates: number, timestamp: number): Promise<void> {
  for (let i = 0; i < updates; i++) {
    const offset = log.logEndOffset;
    await log.append(keyed([[`k${i % keys}`, `k${i % keys}@${offset}`]], timestamp), 1);
  }
  await log.waitDurable(log.logEndOffset);
}

/** What a full compaction of everything below `below` leaves: per key its last row there, then every row from `below` on. */
function compacted(rows: Row[], below: number): Row[] {
  const last = new Map<string | null, number>();
  for (const row of rows) if (row.offset < below) last.set(row.key, row.offset);
  return rows.filter((row) => row.offset >= below || last.get(row.key) === row.offset);
}

test('a pass keeps the latest record per key below the active segment; offsets do not change; the active segment is untouched', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 5, 60, h.clock.now);
    const before = await readAll(log);
    const active = log.segmentBaseOffsets.at(-1)!;
    assert.ok(log.segmentCount > 3);
    const sizeBefore = log.sizeBytes;
    const stats = await log.clean(h.clock.now);
    const after = await readAll(log);
    assert.deepEqual(after, compacted(before, active));
    assert.equal(stats.recordsRemoved, before.length - after.length);
    assert.equal(stats.firstDirtyBefore, 0);
    assert.equal(stats.firstDirtyAfter, active);
    assert.ok(stats.dirtyRatioBefore === 1 && stats.dirtyRatioAfter === 0, `ratios ${stats.dirtyRatioBefore} -> ${stats.dirtyRatioAfter}`);
    assert.ok(stats.bytesWritten > 0 && stats.bytesRead >= stats.bytesWritten);
    assert.ok(log.sizeBytes < sizeBefore);
    assert.ok(existsSync(join(h.dir, cleanerCheckpointFile)));
    // A second pass finds nothing dirty; a reopened log reads the same and keeps the first dirty offset.
    const again = await log.clean(h.clock.now);
    assert.equal(again.recordsRemoved, 0);
    await log.close();
    const reopened = await h.open();
    assert.deepEqual(await readAll(reopened), after);
    assert.equal(reopened.firstDirtyOffset, active);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('one pass leaves no run of small segments: what its rewrite shrank is merged up to segment.bytes in the same pass', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 2, 60, h.clock.now);
    await log.rollSegment();
    const before = await readAll(log);
    assert.ok(log.segmentCount > 5, `${log.segmentCount} segments before`);
    const stats = await log.clean(h.clock.now);
    assert.ok(stats.segmentsSwapped > log.segmentCount);
    const bases = log.segmentBaseOffsets;
    const sizes = await Promise.all(bases.slice(0, -1).map(async (base, i) => (await log.read(base, 100_000, bases[i + 1]!)).bytes.length));
    for (let i = 1; i < sizes.length; i++) {
      assert.ok(sizes[i - 1]! + sizes[i]! > h.config.segmentBytes, `closed segments at ${bases[i - 1]} and ${bases[i]} (${sizes[i - 1]} + ${sizes[i]} bytes) fit in one`);
    }
    const afterFirst = await readAll(log);
    assert.deepEqual(afterFirst, compacted(before, log.logEndOffset));
    // The empty batches that ended the first round's groups went, but for the merged group's last.
    const first = await log.read(0, 100_000);
    const empty = scanBatches(first.bytes, 0, first.bytes.length, crc32c).headers.filter((b) => b.recordCount === 0);
    assert.ok(empty.length <= 1, `${empty.length} empty batches in the first segment`);
    // The next pass has nothing left to merge.
    const segments = log.segmentCount;
    await log.clean(h.clock.now);
    assert.equal(log.segmentCount, segments);
    assert.deepEqual(await readAll(log), afterFirst);
    await log.close();
    const reopened = await h.open();
    assert.deepEqual(await readAll(reopened), afterFirst);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('compact,delete: retention deletes old segments of a compacted log and the first dirty offset follows the log start', async () => {
  const h = harness({ retentionMs: 60_000 });
  try {
    const log = await h.open();
    await appendUpdates(log, 3, 20, h.clock.now - 120_000);
    await log.rollSegment();
    await log.clean(h.clock.now);
    const cleanedTo = log.firstDirtyOffset;
    await appendUpdates(log, 3, 20, h.clock.now);
    await log.rollSegment();
    assert.ok((await log.applyRetention()) > 0);
    assert.ok(log.logStartOffset >= cleanedTo, `log start ${log.logStartOffset}`);
    const status = log.cleanerStatus();
    assert.equal(status.firstDirtyOffset, log.logStartOffset);
    assert.equal(status.cleanBytes, 0);
    await log.clean(h.clock.now);
    const rows = await readAll(log);
    assert.deepEqual(rows.map((r) => r.key).sort(), ['k0', 'k1', 'k2']);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('truncation below the first dirty offset moves it back, in memory and in the cleaner checkpoint', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 3, 30, h.clock.now);
    await log.rollSegment();
    await log.clean(h.clock.now);
    assert.equal(log.firstDirtyOffset, 30);
    await log.truncateTo(25);
    assert.ok(log.firstDirtyOffset <= 25 && log.firstDirtyOffset === log.logEndOffset, `first dirty ${log.firstDirtyOffset}, end ${log.logEndOffset}`);
    const end = log.logEndOffset;
    await appendUpdates(log, 3, 6, h.clock.now);
    await log.close();
    const reopened = await h.open();
    assert.equal(reopened.firstDirtyOffset, end);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('a compacted log rolls its active segment once it is max.compaction.lag.ms old (KIP-354), so that it can be cleaned', async () => {
  const h = harness({ segmentBytes: 1024 * 1024, maxCompactionLagMs: 5_000 });
  try {
    const log = await h.open();
    await log.append(keyed([['a', '1']], h.clock.now), 1);
    await log.append(keyed([['a', '2']], h.clock.now + 4_999), 1);
    assert.equal(log.segmentCount, 1);
    await log.append(keyed([['a', '3']], h.clock.now + 5_000), 1);
    assert.equal(log.segmentCount, 2);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('a log is due for cleaning over min.cleanable.dirty.ratio, or once its oldest dirty record is past max.compaction.lag.ms', async () => {
  const h = harness({ minCleanableDirtyRatio: 0.5, maxCompactionLagMs: 60_000 });
  try {
    const log = await h.open();
    assert.equal(log.cleanerStatus().needsCleaning, false, 'an empty log');
    await appendUpdates(log, 20, 40, h.clock.now);
    let status = log.cleanerStatus();
    assert.equal(status.dirtyRatio, 1);
    assert.equal(status.needsCleaning, true);
    assert.equal(status.cleanerLagMs, 0);
    await log.clean();
    status = log.cleanerStatus();
    assert.equal(status.dirtyRatio, 0);
    assert.equal(status.needsCleaning, false);
    // A little new dirt: below the ratio, so not due until the max lag passes.
    await log.rollSegment();
    const clean = status.cleanBytes;
    await appendUpdates(log, 20, 1, h.clock.now);
    await log.rollSegment();
    status = log.cleanerStatus();
    assert.ok(status.dirtyRatio > 0 && status.dirtyRatio < 0.5, `ratio ${status.dirtyRatio}`);
    assert.equal(status.cleanBytes, clean);
    assert.equal(status.needsCleaning, false);
    h.clock.now += 60_001;
    status = log.cleanerStatus();
    assert.equal(status.cleanerLagMs, 60_001);
    assert.equal(status.maxCompactionLagExceeded, true);
    assert.equal(status.needsCleaning, true);
    assert.equal(log.cleanerLagMs, 60_001);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('a log whose cleanup.policy is delete is never due and a pass leaves it alone', async () => {
  const h = harness({ compact: false });
  try {
    const log = await h.open();
    await appendUpdates(log, 2, 20, h.clock.now);
    assert.equal(log.cleanerStatus().needsCleaning, false);
    const stats = await log.clean();
    assert.equal(stats.recordsRemoved, 0);
    assert.equal(stats.bytesRead, 0);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('min.compaction.lag.ms keeps segments with younger records out of the pass', async () => {
  const h = harness({ minCompactionLagMs: 10_000 });
  try {
    const log = await h.open();
    await appendUpdates(log, 2, 20, h.clock.now - 20_000); // old enough
    await log.rollSegment();
    const young = log.logEndOffset;
    await appendUpdates(log, 2, 20, h.clock.now - 1_000); // too young
    await log.rollSegment();
    const before = await readAll(log);
    const status = log.cleanerStatus();
    assert.equal(status.firstUncleanableOffset, young);
    await log.clean();
    assert.deepEqual(await readAll(log), compacted(before, young));
    assert.equal(log.firstDirtyOffset, young);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('more keys than the offset map holds: each pass covers a prefix of the dirty part, and together they compact it all', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 12, 48, h.clock.now);
    const before = await readAll(log);
    const active = log.segmentBaseOffsets.at(-1)!;
    const map = new OffsetMap(6); // holds 5 keys
    assert.equal(map.entriesMax, 5);
    const ends: number[] = [];
    for (let pass = 0; pass < 40 && log.firstDirtyOffset < active; pass++) {
      const stats = await log.clean(h.clock.now, { offsetMap: map });
      assert.ok(stats.firstDirtyAfter > stats.firstDirtyBefore, 'every pass moves on');
      ends.push(stats.firstDirtyAfter);
    }
    assert.ok(ends.length > 3, `passes: ${ends.join(', ')}`);
    assert.equal(log.firstDirtyOffset, active);
    assert.deepEqual(await readAll(log), compacted(before, active));
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('the offset map refuses nothing it holds and keeps records whose 64-bit hash collides with another key', () => {
  const map = new OffsetMap(16);
  const a = keyDigest(Buffer.from('a'));
  map.put(a, 3);
  map.put(a, 7);
  assert.deepEqual(map.get(a), { kind: 'latest', offset: 7 });
  assert.deepEqual(map.get(keyDigest(Buffer.from('b'))), { kind: 'absent' });
  // A forged key with a's 64 bits and other check bits: a collision, so keep both keys' records.
  const forged = { ...a, check: (a.check + 1) >>> 0 };
  assert.deepEqual(map.get(forged), { kind: 'collided' });
  map.put(forged, 9);
  assert.deepEqual(map.get(a), { kind: 'collided' });
  assert.equal(map.collisions, 1);
  assert.equal(OffsetMap.forBytes(offsetMapSlotBytes * 100).slots, 100);
});

test('a tombstone stays delete.retention.ms after the pass that first cleaned it, then goes with nothing older of its key', async () => {
  const h = harness({ deleteRetentionMs: 10_000 });
  try {
    const log = await h.open();
    await log.append(keyed([['a', 'a1'], ['b', 'b1']], h.clock.now), 1);
    await log.append(keyed([['a', null]], h.clock.now), 1);
    await log.append(keyed([['b', 'b2']], h.clock.now), 1);
    await log.rollSegment();
    await log.append(keyed([['c', 'c1']], h.clock.now), 1);
    const first = h.clock.now;
    await log.clean(first);
    assert.deepEqual(await readAll(log), [
      { offset: 2, key: 'a', value: null }, { offset: 3, key: 'b', value: 'b2' }, { offset: 4, key: 'c', value: 'c1' },
    ]);
    h.clock.now = first + 9_999;
    await log.rollSegment();
    await log.append(keyed([['c', 'c2']], h.clock.now), 1);
    let stats = await log.clean(h.clock.now);
    assert.equal(stats.tombstonesRemoved, 0);
    assert.ok((await readAll(log)).some((r) => r.key === 'a'), 'the tombstone is still there');
    h.clock.now = first + 10_000;
    stats = await log.clean(h.clock.now); // nothing dirty: the ratio is 0, but a pass still removes expired tombstones
    assert.equal(stats.tombstonesRemoved, 1);
    assert.deepEqual((await readAll(log)).filter((r) => r.key === 'a'), []);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('an expired tombstone stays while a replica has not fetched past it (the tombstone horizon), then goes', async () => {
  const h = harness({ deleteRetentionMs: 1_000 });
  try {
    const log = await h.open();
    await log.append(keyed([['a', 'a1'], ['b', 'b1']], h.clock.now), 1);
    await log.append(keyed([['a', null]], h.clock.now), 1);
    await log.rollSegment();
    await log.append(keyed([['c', 'c1']], h.clock.now), 1);
    // Committed up to the log end, but one replica has fetched only offsets 0 and 1.
    log.setHighWatermark(log.logEndOffset, 2);
    const first = h.clock.now;
    await log.clean(first);
    h.clock.now = first + 5_000;
    let stats = await log.clean(h.clock.now);
    assert.equal(stats.tombstonesRemoved, 0, 'past delete.retention.ms, but above the horizon');
    assert.deepEqual((await readAll(log)).filter((r) => r.key === 'a'), [{ offset: 2, key: 'a', value: null }]);
    log.setHighWatermark(log.logEndOffset, 3);
    stats = await log.clean(h.clock.now);
    assert.equal(stats.tombstonesRemoved, 1);
    assert.deepEqual((await readAll(log)).filter((r) => r.key === 'a'), []);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('the cleaner checkpoint remembers when ranges were first cleaned, merges expired ranges and follows truncation', () => {
  let checkpoint: CleanerCheckpoint = { firstDirtyOffset: 0, cleaned: [] };
  checkpoint = afterPass(checkpoint, 10, 1_000, 5_000);
  checkpoint = afterPass(checkpoint, 20, 2_000, 5_000);
  assert.equal(firstCleanedAt(checkpoint, 5), 1_000);
  assert.equal(firstCleanedAt(checkpoint, 15), 2_000);
  assert.equal(firstCleanedAt(checkpoint, 20), null);
  checkpoint = afterPass(checkpoint, 30, 7_500, 5_000);
  assert.deepEqual(checkpoint.cleaned, [{ endOffset: 20, cleanedAtMs: 2_000 }, { endOffset: 30, cleanedAtMs: 7_500 }], 'the range of 1000 says nothing the one of 2000 does not');
  assert.equal(checkpoint.firstDirtyOffset, 30);
  const truncated = clampCheckpoint(checkpoint, 0, 25);
  assert.deepEqual(truncated, { firstDirtyOffset: 25, cleaned: [{ endOffset: 20, cleanedAtMs: 2_000 }, { endOffset: 25, cleanedAtMs: 7_500 }] });
});

for (const step of ['cleaned', 'swap', 'deleted'] as CleanerStep[]) {
  test(`a crash after the cleaner's "${step}" step loses nothing and serves one copy of every record`, async () => {
    const h = harness();
    try {
      const log = await h.open();
      await appendUpdates(log, 4, 40, h.clock.now);
      const before = await readAll(log);
      const active = log.segmentBaseOffsets.at(-1)!;
      await assert.rejects(log.clean(h.clock.now, { stopAt: step }), CleanerStoppedError);
      const names = readdirSync(h.dir);
      assert.ok(names.some((n) => n.endsWith(step === 'cleaned' ? '.log.cleaned' : '.log.swap')), names.join(' '));
      await log.abandon();
      const reopened = await h.open();
      const rows = await readAll(reopened);
      // Before the commit the old segments stand; after it the first group's cleaned segment replaces them.
      if (step === 'cleaned') assert.deepEqual(rows, before);
      else assert.ok(rows.length < before.length, 'the committed swap was completed');
      assert.ok(rows.every((r, i) => i === 0 || r.offset > rows[i - 1]!.offset), 'one copy of each record, in offset order');
      assert.ok(rows.every((r) => before.some((b) => b.offset === r.offset && b.value === r.value)), 'records keep their offsets');
      assert.ok(compacted(before, active).every((e) => rows.some((r) => r.offset === e.offset)), 'every latest value is there');
      assert.deepEqual(readdirSync(h.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), []);
      // The checkpoint was not moved: the next pass cleans (again) and ends in the same place.
      await reopened.clean(h.clock.now);
      assert.deepEqual(await readAll(reopened), compacted(before, active));
      await reopened.close();
    } finally {
      h.cleanup();
    }
  });
}

test('an idempotent producer\'s batches that producer state points at stay, emptied, so that its sequence survives a rebuild', async () => {
  const h = harness({ segmentBytes: 10_000 });
  try {
    const log = await h.open();
    await log.append(keyed([['a', 'a1'], ['b', 'b1']], h.clock.now, { id: 7, sequence: 0 }), 1);
    await log.append(keyed([['x', 'x1']], h.clock.now), 1);
    await log.append(keyed([['a', 'a2'], ['b', 'b2']], h.clock.now), 1);
    await log.append(keyed([['x', 'x2']], h.clock.now), 1);
    await log.rollSegment();
    const snapshot = log.producerSnapshot();
    await log.clean(h.clock.now);
    const log2bytes = await log.read(0, 10_000);
    const scan = scanBatches(log2bytes.bytes, 0, log2bytes.bytes.length, crc32c);
    // The producer's batch (emptied, offsets 0-1) and the group's last batch stay; the emptied x1 batch (no producer) goes.
    assert.deepEqual(scan.headers.map((b) => [b.baseOffset, b.lastOffset, b.recordCount, b.producerId]), [[0, 1, 0, 7], [3, 4, 2, -1], [5, 5, 1, -1]]);
    await log.close();
    rmSync(join(h.dir, producerStateFile));
    rmSync(join(h.dir, 'recovery-point-offset-checkpoint'));
    const reopened = await h.open();
    assert.deepEqual(reopened.producerSnapshot(), snapshot);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('only committed records are compacted: segments holding offsets at or above the high watermark stay as they are', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 3, 60, h.clock.now);
    await log.rollSegment();
    const before = await readAll(log);
    log.setHighWatermark(30, 30);
    const limit = Math.max(...log.segmentBaseOffsets.filter((base) => base <= 30));
    assert.equal(log.cleanerStatus().firstUncleanableOffset, limit);
    await log.clean(h.clock.now);
    assert.deepEqual(await readAll(log), compacted(before, limit));
    assert.equal(log.firstDirtyOffset, limit);
    log.setHighWatermark(log.logEndOffset, log.logEndOffset);
    await log.clean(h.clock.now);
    assert.deepEqual(await readAll(log), compacted(before, log.logEndOffset));
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('a truncation to an offset that compaction removed ends the log at that offset, not at the next batch', async () => {
  const h = harness();
  try {
    const log = await h.open();
    for (const [key, value] of [['a', '1'], ['a', '2'], ['a', '3'], ['b', '1']]) await log.append(keyed([[key, value]], h.clock.now), 1);
    await log.rollSegment();
    await log.clean(h.clock.now);
    assert.deepEqual((await readAll(log)).map((r) => r.offset), [2, 3]);
    assert.equal(await log.truncateTo(1), 1);
    assert.equal((await log.append(keyed([['c', '1']], h.clock.now), 2)).firstOffset, 1);
    assert.deepEqual((await readAll(log)).map((r) => [r.offset, r.key]), [[1, 'c']]);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('compressed batches are kept as they are: the repo has no codecs to look into them', async () => {
  const h = harness();
  try {
    const log = await h.open();
    // A batch marked gzip (its records are not really compressed: the cleaner never decodes them).
    const compressed = keyed([['a', 'old'], [null, 'keyless']], h.clock.now);
    const view = new DataView(compressed.buffer, compressed.byteOffset, compressed.byteLength);
    view.setInt16(21, view.getInt16(21) | 1);
    view.setUint32(17, crc32c(compressed, 21, compressed.length));
    const stored = Buffer.from(compressed);
    await log.append(compressed, 1);
    await log.append(keyed([['a', 'new']], h.clock.now), 1);
    await log.append(keyed([['a', 'newer']], h.clock.now), 1);
    await log.rollSegment();
    const stats = await log.clean(h.clock.now);
    assert.equal(stats.recordsRemoved, 1);
    const result = await log.read(0, 10_000);
    const headers = scanBatches(result.bytes, 0, result.bytes.length, crc32c).headers;
    assert.deepEqual(headers.map((b) => [b.baseOffset, b.compression, b.recordCount]), [[0, 1, 2], [3, 0, 1]]);
    stored.writeBigInt64BE(0n, 0);
    stored.writeInt32BE(1, 12);
    assert.deepEqual(Buffer.from(result.bytes.subarray(0, stored.length)), stored, 'byte for byte, but for the offset and epoch the leader set');
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('a truncation while a pass runs: the pass gives up or finishes, and the log, its files and its reopening stay consistent', async () => {
  for (const truncateAt of [0, 5, 20]) {
    const h = harness();
    try {
      const log = await h.open();
      await appendUpdates(log, 4, 60, h.clock.now);
      const before = await readAll(log);
      const cleaning = log.clean(h.clock.now);
      await log.truncateTo(truncateAt);
      const stats = await cleaning;
      // Truncated below what the pass reads, it gives up; above, it may finish.
      if (truncateAt < 20) assert.equal(stats.abandoned, true);
      const end = log.logEndOffset;
      const rows = await readAll(log);
      assert.ok(rows.every((r) => r.offset < end && before.some((b) => b.offset === r.offset && b.value === r.value)));
      assert.ok(log.firstDirtyOffset <= end);
      await log.close();
      assert.deepEqual(readdirSync(h.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), []);
      const reopened = await h.open();
      assert.equal(reopened.logEndOffset, end);
      assert.deepEqual(await readAll(reopened), rows);
      await reopened.close();
    } finally {
      h.cleanup();
    }
  }
});

test('a compacted log refuses a leader append with a keyless record, naming its offset; nothing of the batch is written', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await log.append(keyed([['a', '1']], h.clock.now), 1);
    const error = await log.append(keyed([['b', '2'], [null, '3']], h.clock.now), 1).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof InvalidRecordError, String(error));
    assert.equal(error.offset, 2);
    assert.match(error.message, /compacted topic orders partition 0 cannot accept a record without a key \(the record at offset 2\)/);
    assert.equal(log.logEndOffset, 1);
    // A follower copies the leader's log as it is; a log that is not compacted takes keyless records.
    await log.close();
    const plain = await PartitionLog.open(join(h.dir, 'plain'), 'plain', 0, { ...h.config, compact: false }, logger);
    await plain.append(keyed([[null, 'x']], h.clock.now), 1);
    assert.equal(plain.logEndOffset, 1);
    await plain.close();
  } finally {
    h.cleanup();
  }
});

test('reads under way while segments are swapped finish on the old files and never mix old and new', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await appendUpdates(log, 3, 80, h.clock.now);
    const before = await readAll(log);
    const active = log.segmentBaseOffsets.at(-1)!;
    const reads: Array<Promise<Row[]>> = [];
    const cleaning = log.clean(h.clock.now);
    for (let i = 0; i < 20; i++) reads.push(readAll(log));
    await cleaning;
    const expected = compacted(before, active);
    for (const rows of await Promise.all(reads)) {
      // Each read follows offsets forwards: one copy of each record, every key ending on its latest value.
      assert.ok(rows.every((r, i) => i === 0 || r.offset > rows[i - 1]!.offset));
      assert.ok(rows.every((r) => before.some((b) => b.offset === r.offset && b.value === r.value)));
      assert.ok(expected.every((e) => rows.some((r) => r.offset === e.offset)));
    }
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('compaction settings are checked, and an invalid one is refused with a message naming its key', () => {
  const error = (name: string, value: string, more: Array<{ name: string; value: string }> = []): TopicConfigError | null =>
    topicLogConfigError([{ name, value }, ...more]);
  for (const policy of ['delete', 'compact', 'compact,delete', 'delete,compact']) assert.equal(error('cleanup.policy', policy), null);
  assert.match(String(error('cleanup.policy', 'compress')?.message), /^Invalid value compress for configuration cleanup\.policy:/);
  assert.equal(error('min.cleanable.dirty.ratio', '0.3'), null);
  assert.equal(error('min.cleanable.dirty.ratio', '1.5')?.key, 'min.cleanable.dirty.ratio');
  assert.equal(error('min.cleanable.dirty.ratio', 'dirty')?.key, 'min.cleanable.dirty.ratio');
  assert.equal(error('min.compaction.lag.ms', '-1')?.key, 'min.compaction.lag.ms');
  assert.equal(error('max.compaction.lag.ms', '0')?.key, 'max.compaction.lag.ms');
  assert.match(String(error('max.compaction.lag.ms', '100', [{ name: 'min.compaction.lag.ms', value: '200' }])?.message), /max\.compaction\.lag\.ms.*min\.compaction\.lag\.ms \(200\)/);
  assert.equal(error('delete.retention.ms', '1.5')?.key, 'delete.retention.ms');
  assert.throws(() => topicLogConfig([{ name: 'delete.retention.ms', value: '-5' }]), TopicConfigError);
  assert.deepEqual(topicLogConfig([
    { name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' }, { name: 'min.compaction.lag.ms', value: '5' },
    { name: 'max.compaction.lag.ms', value: '50' }, { name: 'delete.retention.ms', value: '500' },
  ]), { compact: true, minCleanableDirtyRatio: 0.1, minCompactionLagMs: 5, maxCompactionLagMs: 50, deleteRetentionMs: 500, retentionMs: -1, retentionBytes: -1 });
  assert.equal(topicLogConfig([{ name: 'cleanup.policy', value: 'delete,compact' }]).compact, true);
  assert.equal(topicLogConfig([{ name: 'cleanup.policy', value: 'delete' }]).compact, false);
});

test('the node cleans its dirtiest compacted log, one pass at a time, and refuses to open a log with an invalid compaction setting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-node-cleaner-'));
  const fatal: Error[] = [];
  const storage = new NodeStorage(new FileStoragePort(join(dir, '__cluster_metadata'), logger, (e) => fatal.push(e)), dir, logger, (e) => fatal.push(e));
  const submit = (store: string, op: LogOp) => new Promise<LogResult>((resolve) => storage.submitLog(store, op, resolve));
  try {
    const compact = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '300' }];
    assert.equal((await submit('a-0', { kind: 'logOpen', configs: compact })).kind, 'opened');
    assert.equal((await submit('b-0', { kind: 'logOpen', configs: compact })).kind, 'opened');
    assert.equal((await submit('c-0', { kind: 'logOpen', configs: [{ name: 'segment.bytes', value: '300' }] })).kind, 'opened');
    const bad = await submit('d-0', { kind: 'logOpen', configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '2' }] });
    assert.equal(bad.kind, 'failed');
    assert.match((bad as { message: string }).message, /min\.cleanable\.dirty\.ratio/);
    const append = (store: string, key: string) => submit(store, { kind: 'logAppend', bytes: keyed([[key, 'value']], Date.now()), leaderEpoch: 1 });
    for (let i = 0; i < 30; i++) await append('a-0', 'same');
    for (let i = 0; i < 30; i++) await append('b-0', `k${i}`); // nothing to remove, but as dirty
    for (let i = 0; i < 30; i++) await append('c-0', 'same'); // delete policy: never cleaned
    const keyless = await submit('a-0', { kind: 'logAppend', bytes: keyed([[null, 'v']], Date.now()), leaderEpoch: 1 });
    assert.equal(keyless.kind, 'failed');
    assert.equal((keyless as { code: string }).code, 'invalid_record', 'a keyless record is refused for what it is: the produce is answered INVALID_RECORD');
    assert.equal(await storage.cleanOnce(Date.now()), null, 'no log has been told its high watermark');
    for (const store of ['a-0', 'b-0', 'c-0']) storage.noteHighWatermark(store, 1_000, 1_000);
    // Asked twice at once: the passes take turns (one offset map), the second on the next dirtiest log.
    const [first, second] = await Promise.all([storage.cleanOnce(Date.now()), storage.cleanOnce(Date.now())]);
    assert.ok(first !== null && first.stats.recordsRemoved > 0);
    assert.ok(second !== null && second.store !== first.store && second.store !== 'c-0', `${first.store} then ${second?.store}`);
    assert.equal(await storage.cleanOnce(Date.now()), null, 'nothing is dirty any more');
    storage.startCleaner({ backoffMs: 5, offsetMapBytes: 1024 * 1024 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await storage.stopCleaner();
    assert.deepEqual(fatal, []);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
