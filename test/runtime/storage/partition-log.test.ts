import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { scanBatches } from '../../../actors/protocol/record-batch.js';
import {
  CorruptRecordError, InvalidAppendError, OffsetOutOfRangeError, PartitionLog, defaultLogConfig, leaderEpochFile, recoveryPointFile, type LogConfig,
} from '../../../runtime/storage/partition-log.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

function harness(config: Partial<LogConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-plog-'));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  let now = 1_000_000;
  const full: LogConfig = { ...defaultLogConfig, ...config };
  return {
    dir, lines, config: full,
    clock: { now: () => now, advance: (ms: number) => { now += ms; } },
    open: () => PartitionLog.open(dir, 'orders', 0, full, logger, () => now),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function batch(values: string[], timestamp = 1_000_000): Uint8Array {
  return encodeRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp })), { baseTimestamp: timestamp });
}

function valuesOf(bytes: Uint8Array): Array<[number, string]> {
  const scan = scanBatches(bytes, 0, bytes.length, crc32c);
  assert.equal(scan.error, null);
  return scan.headers.flatMap((h) => decodeRecords(bytes, h).map((r) => [r.offset, Buffer.from(r.value!).toString()] as [number, string]));
}

async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 1000);
    assert.ok(result.bytes.length > 0, `read at ${offset} returned nothing before the log end ${log.logEndOffset}`);
    out.push(...valuesOf(result.bytes).filter(([o]) => o >= offset));
    offset = result.nextOffset;
  }
  return out;
}

test('a leader assigns offsets and its epoch in place; reads return the stored batches', async () => {
  const h = harness();
  try {
    const log = await h.open();
    const a = await log.append(batch(['a', 'b', 'c']), 3);
    const b = await log.append(batch(['d']), 3);
    assert.deepEqual([a.firstOffset, a.lastOffset, b.firstOffset, b.lastOffset], [0, 2, 3, 3]);
    await log.waitDurable(4);
    assert.equal(log.flushedOffset, 4);
    assert.deepEqual(await readAll(log), [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']]);
    const middle = await log.read(1, 10_000);
    assert.equal(middle.firstOffset, 0, 'reads start at the batch that holds the offset');
    assert.equal(scanBatches(middle.bytes, 0, middle.bytes.length).headers[0]!.partitionLeaderEpoch, 3);
    assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 4 });
    await assert.rejects(log.read(9, 100), OffsetOutOfRangeError);
    await assert.rejects(log.append(new Uint8Array([1, 2, 3])), InvalidAppendError);
    const bad = Buffer.from(batch(['x']));
    bad[bad.length - 1]! ^= 0xff;
    await assert.rejects(log.append(bad, 3), /CRC/i);
    assert.equal(log.logEndOffset, 4, 'nothing of an invalid append is written');
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('concurrent appends share fsyncs, and the high-watermark limit is respected', async () => {
  const h = harness();
  try {
    const log = await h.open();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batch([`v${i}`]), 1).then(async (r) => {
      await log.waitDurable(r.lastOffset + 1);
      return r;
    })));
    assert.deepEqual(results.map((r) => r.firstOffset).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(log.flushedOffset, 50);
    const limited = await log.read(0, 1_000_000, 10);
    assert.equal(limited.nextOffset, 10);
    assert.equal(valuesOf(limited.bytes).length, 10);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('segments roll by size and time, survive a restart, and retention deletes whole old segments', async () => {
  const h = harness({ segmentBytes: 400, indexIntervalBytes: 100, retentionMs: 60_000, retentionBytes: -1 });
  try {
    let log = await h.open();
    for (let i = 0; i < 30; i++) await log.append(batch([`value-${i}`], 1_000_000 + i), 1);
    assert.ok(log.segmentCount > 3, `rolled into ${log.segmentCount} segments`);
    const names = readdirSync(h.dir);
    assert.ok(names.includes('00000000000000000000.log') && names.includes('00000000000000000000.index') && names.includes('00000000000000000000.timeindex'));
    await log.close();
    log = await h.open();
    assert.equal(log.logEndOffset, 30);
    assert.deepEqual((await readAll(log)).map(([o]) => o), Array.from({ length: 30 }, (_, i) => i));
    h.clock.advance(10 * 60_000);
    await log.append(batch(['late'], 1_000_000 + 10 * 60_000), 1); // rolls by time, then retention can delete all older segments
    const deleted = await log.applyRetention();
    assert.ok(deleted > 0);
    assert.equal(log.logStartOffset, 30);
    await assert.rejects(log.read(0, 100), OffsetOutOfRangeError);
    assert.deepEqual(await readAll(log), [[30, 'late']]);
    await log.close();
    log = await h.open();
    assert.equal(log.logStartOffset, 30);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('retention.bytes keeps the newest segments within the limit', async () => {
  const h = harness({ segmentBytes: 300, retentionMs: -1, retentionBytes: 600 });
  try {
    const log = await h.open();
    for (let i = 0; i < 20; i++) await log.append(batch([`value-${i}`]), 1);
    await log.applyRetention();
    assert.ok(log.sizeBytes <= 600 + 300, `size ${log.sizeBytes}`);
    assert.ok(log.logStartOffset > 0);
    assert.deepEqual((await readAll(log)).map(([o]) => o).at(-1), 19);
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('truncation drops whole batches from the offset on, across segments, and the epoch cache follows', async () => {
  const h = harness({ segmentBytes: 300 });
  try {
    const log = await h.open();
    for (let i = 0; i < 10; i++) await log.append(batch([`e1-${i}`, `e1-${i}b`]), 1);
    for (let i = 0; i < 5; i++) await log.append(batch([`e2-${i}`]), 2);
    assert.deepEqual(log.epochEntries, [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 20 }]);
    assert.equal(await log.truncateTo(21), 21);
    assert.equal(await log.truncateTo(7), 6, 'an offset inside a batch drops that whole batch');
    assert.deepEqual(log.epochEntries, [{ epoch: 1, startOffset: 0 }]);
    assert.deepEqual((await readAll(log)).map(([o]) => o), [0, 1, 2, 3, 4, 5]);
    const next = await log.append(batch(['after']), 3);
    assert.equal(next.firstOffset, 6);
    await log.close();
    const reopened = await h.open();
    assert.deepEqual((await readAll(reopened)).map(([, v]) => v).slice(-1), ['after']);
    assert.deepEqual(reopened.epochEntries, [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 6 }]);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('recovery cuts a torn write at the first invalid batch and says so in one line', async () => {
  const h = harness();
  try {
    const log = await h.open();
    for (let i = 0; i < 5; i++) await log.append(batch([`v${i}`]), 1);
    await log.close();
    const file = join(h.dir, '00000000000000000000.log');
    const size = statSync(file).size;
    appendFileSync(file, Buffer.from(batch(['torn'])).subarray(0, 30)); // half a batch: a torn write
    const reopened = await h.open();
    assert.equal(reopened.logEndOffset, 5);
    assert.equal(statSync(file).size, size);
    const line = h.lines.find((l) => l.includes('recovery: truncated'));
    assert.ok(line !== undefined && line.includes(file) && line.includes(`at byte ${size}`), line);
    assert.equal((await reopened.append(batch(['next']), 1)).firstOffset, 5);
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('a lookup by time finds the records a cut left, whose timestamps are past the last time-index entry (truncation and recovery)', async () => {
  // One time-index entry (the first batch's, index points are 4 KiB apart): 200 and 300 raise the
  // segment's largest timestamp without one.
  const h = harness();
  try {
    const log = await h.open();
    for (const timestamp of [100, 200, 300]) await log.append(batch([`at-${timestamp}`], timestamp), 1);
    assert.deepEqual(await log.offsetForTime(150), { offset: 1, timestamp: 200 });
    await log.truncateTo(2);
    assert.deepEqual(await log.offsetForTime(150), { offset: 1, timestamp: 200 }, 'after truncateTo');
    assert.deepEqual(await log.offsetForTime(250), { offset: -1, timestamp: -1 });
    await log.append(batch(['at-400'], 400), 1);
    await log.close();
    appendFileSync(join(h.dir, '00000000000000000000.log'), Buffer.from(batch(['torn'], 500)).subarray(0, 30));
    const reopened = await h.open();
    assert.equal(reopened.logEndOffset, 3, 'recovery cut the torn batch');
    assert.deepEqual(await reopened.offsetForTime(350), { offset: 2, timestamp: 400 }, 'after recovery');
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

test('the offset of the largest timestamp: its first record, across segments, none at or past the limit, none in a log without timestamps', async () => {
  const h = harness();
  try {
    const log = await h.open();
    assert.deepEqual(await log.offsetOfMaxTimestamp(), { offset: -1, timestamp: -1 }, 'empty');
    await log.append(encodeRecordBatch([{ key: null, value: Buffer.from('none') }]), 1); // timestamp -1
    assert.deepEqual(await log.offsetOfMaxTimestamp(), { offset: -1, timestamp: -1 }, 'no timestamps');
    await log.append(batch(['a', 'b'], 300), 1); // offsets 1-2
    await log.rollSegment();
    await log.append(encodeRecordBatch([300, 500, 200, 500].map((timestamp, i) => ({ key: null, value: Buffer.from(`c${i}`), timestamp }))), 1); // 3-6
    await log.rollSegment();
    await log.append(batch(['d'], 400), 1); // 7
    assert.deepEqual(await log.offsetOfMaxTimestamp(), { offset: 4, timestamp: 500 });
    assert.deepEqual(await log.offsetOfMaxTimestamp(5), { offset: 4, timestamp: 500 });
    assert.deepEqual(await log.offsetOfMaxTimestamp(4), { offset: -1, timestamp: -1 }, 'past the limit: not the largest below it, as Kafka');
    await log.close();
  } finally {
    h.cleanup();
  }
});

test('a corrupted byte is never served: the read names file and position, and recovery truncates there', async () => {
  const h = harness({ segmentBytes: 250 });
  try {
    const log = await h.open();
    for (let i = 0; i < 12; i++) await log.append(batch([`value-${i}`]), 1);
    await log.close();
    const file = join(h.dir, '00000000000000000000.log');
    const bytes = readFileSync(file);
    const headers = scanBatches(bytes, 0, bytes.length).headers;
    const victim = headers[1]!;
    bytes[victim.position + victim.sizeBytes - 3]! ^= 0x40; // a bit flip inside the CRC-covered range
    writeFileSync(file, bytes);
    const reopened = await h.open(); // the segment is below the recovery point: trusted, so not rescanned yet
    await assert.rejects(reopened.read(victim.baseOffset, 10_000), (error: Error) => {
      assert.ok(error instanceof CorruptRecordError);
      assert.equal(error.file, file);
      assert.equal(error.position, victim.position);
      return true;
    });
    await reopened.close();
    const recovered = await h.open();
    assert.equal(recovered.logEndOffset, victim.baseOffset, 'recovery truncated at the corrupt batch');
    assert.deepEqual((await readAll(recovered)).map(([o]) => o), [0]);
    await recovered.close();
  } finally {
    h.cleanup();
  }
});

test('missing or corrupt indexes and checkpoints are rebuilt from the log itself', async () => {
  const h = harness({ segmentBytes: 300, indexIntervalBytes: 64 });
  try {
    const log = await h.open();
    for (let i = 0; i < 20; i++) await log.append(batch([`value-${i}`]), i < 10 ? 1 : 2);
    await log.close();
    rmSync(join(h.dir, '00000000000000000000.index'));
    writeFileSync(join(h.dir, '00000000000000000000.timeindex'), Buffer.from([1, 2, 3]));
    writeFileSync(join(h.dir, leaderEpochFile), 'garbage\n');
    truncateSync(join(h.dir, recoveryPointFile), 3);
    const reopened = await h.open();
    assert.equal(reopened.logEndOffset, 20);
    assert.deepEqual((await readAll(reopened)).map(([o]) => o), Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(reopened.epochEntries, [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 10 }]);
    assert.ok(h.lines.some((l) => l.includes(leaderEpochFile)), 'the bad epoch checkpoint is named in the log');
    assert.ok(existsSync(join(h.dir, '00000000000000000000.index')));
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

function txnData(producerId: number, baseSequence: number, value: string): Uint8Array {
  return encodeRecordBatch([{ key: null, value: Buffer.from(value), timestamp: 1_000_000 }], { producerId, producerEpoch: 0, baseSequence, transactional: true });
}

function txnMarker(producerId: number, commit: boolean): Uint8Array {
  return encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array(6), timestamp: 1_000_000 }], {
    producerId, producerEpoch: 0, baseSequence: -1, transactional: true, control: true,
  });
}

test('transactions survive a restart: the checkpoint holds them as of its log end, and recovery replays the batches after it', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await log.append(txnData(7, 0, 'a'), 0);
    await log.append(txnData(8, 0, 'b'), 0);
    await log.append(txnMarker(7, false), 0);
    await log.checkpoint();
    await log.append(txnMarker(8, true), 0);
    await log.append(txnData(9, 0, 'c'), 0);
    await log.flush();
    const expected = log.txnSnapshot();
    assert.deepEqual(expected.aborted, [{ producerId: 7, firstOffset: 0, lastOffset: 2 }]);
    assert.deepEqual(expected.unstable.map((t) => [t.producerId, t.firstOffset, t.markerOffset]), [[7, 0, 2], [8, 1, 3], [9, 4, -1]], 'no high watermark told yet: markers may still be cut');
    // No close: as after kill -9, the checkpoint is older than the log.
    const reopened = await h.open();
    assert.deepEqual(reopened.txnSnapshot(), expected);
    reopened.setHighWatermark(5, 5);
    assert.deepEqual(reopened.txnSnapshot().unstable.map((t) => t.producerId), [9], 'a marker below the high watermark makes its transaction stable');
    await reopened.close();
    // Without the checkpoint, the whole log is read again.
    rmSync(join(h.dir, 'transaction-state-checkpoint'));
    const rebuilt = await h.open();
    assert.deepEqual(rebuilt.txnSnapshot(), expected);
    await rebuilt.close();
    writeFileSync(join(h.dir, 'transaction-state-checkpoint'), '0\n1\nend x\n');
    const fromBadFile = await h.open();
    assert.deepEqual(fromBadFile.txnSnapshot(), expected);
    assert.ok(h.lines.some((l) => l.includes('transaction-state-checkpoint') && l.includes('rebuilding the transaction state')), 'the operator hears which file was bad');
    await fromBadFile.close();
  } finally {
    h.cleanup();
  }
});
