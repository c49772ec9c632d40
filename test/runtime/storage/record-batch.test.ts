import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { kafkajsGzipBatch, kafkajsProduceBatch } from '../../fixtures/record-batches.js';
import {
  batchHeaderBytes, readBatchHeader, scanBatches, setBaseOffset, setPartitionLeaderEpoch,
} from '../../../actors/protocol/record-batch.js';
import {
  crc32c, decodeRecords, encodeRecordBatch, validateBatches,
} from '../../../runtime/storage/record-batch.js';
import type { RecordInput } from '../../../runtime/storage/record-batch.js';
import { crc32c as raftStoreCrc32c } from '../../../runtime/storage/raft-store.js';

const utf8 = (s: string) => new TextEncoder().encode(s);


const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

test('crc32c has the Castagnoli check value, works on ranges and views, and is what raft-store uses', () => {
  assert.equal(crc32c(utf8('123456789')), 0xe3069283);
  assert.equal(crc32c(utf8('xx123456789yy'), 2, 11), 0xe3069283);
  assert.equal(crc32c(utf8('xx123456789yy').subarray(2, 11)), 0xe3069283);
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array([1, 2, 3]), 1, 1), 0);
  assert.equal(raftStoreCrc32c, crc32c);
});

test('crc32c agrees with a bitwise reference implementation (property)', () => {
  const ref = (bytes: Uint8Array) => {
    let c = 0xffffffff;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, s, e) => {
    const start = bytes.length ? s % (bytes.length + 1) : 0;
    const end = start + (bytes.length - start ? e % (bytes.length - start + 1) : 0);
    assert.equal(crc32c(bytes, start, end), ref(bytes.subarray(start, end)));
  }));
});

test('a kafkajs batch decodes: fields, CRC and records with headers', () => {
  const r = validateBatches(kafkajsProduceBatch);
  assert.equal(r.error, null);
  const h = r.headers[0]!;
  assert.equal(crc32c(kafkajsProduceBatch, 21, 270), 0xd20a45ed);
  assert.equal(h.crc, 0xd20a45ed);
  assert.equal(h.recordCount, 3);
  assert.equal(h.baseSequence, 10);
  const records = decodeRecords(kafkajsProduceBatch, h);
  assert.deepEqual(records.map((x) => [x.offset, x.timestamp, text(x.key), text(x.value), x.headers.map((hd) => [hd.key, text(hd.value)])]), [
    [0, 1509928155660, 'key-9d0f348cb2e730e1edc4', 'some-value-a17b4c81f9ecd1e896e3', [['a', 'b'], ['c', 'd'], ['c', 'e']]],
    [1, 1509928155660, 'key-c7073e965c34b4cc6442', 'some-value-65df422070d7ad73914f', [['a', 'b']]],
    [2, 1509928155660, 'key-1693b184a9b52dbe03bc', 'some-value-3fcb65ffca087cba20ad', [['a', 'b']]],
  ]);
  // Our encoder produces the same bytes from the same input.
  const again = encodeRecordBatch(records.map((x) => ({ key: x.key, value: x.value, headers: x.headers, timestamp: x.timestamp })), {
    partitionLeaderEpoch: 0, producerEpoch: 0, baseSequence: 10,
  });
  assert.deepEqual(again, kafkajsProduceBatch);
});

test('a compressed batch (kafkajs gzip fixture from a broker) validates, refuses decoding, and decodes once inflated', () => {
  const r = validateBatches(kafkajsGzipBatch);
  assert.equal(r.error, null);
  const h = r.headers[0]!;
  assert.equal(h.compression, 1);
  assert.throws(() => decodeRecords(kafkajsGzipBatch, h), /compressed \(gzip\)/);
  // Inflate by hand into an uncompressed batch (the CRC no longer matters for decoding).
  const records = gunzipSync(kafkajsGzipBatch.subarray(batchHeaderBytes));
  const plain = new Uint8Array(batchHeaderBytes + records.length);
  plain.set(kafkajsGzipBatch.subarray(0, batchHeaderBytes));
  plain.set(records, batchHeaderBytes);
  const v = new DataView(plain.buffer);
  v.setInt32(8, plain.length - 12);
  v.setInt16(21, h.attributes & ~7);
  const decoded = decodeRecords(plain, readBatchHeader(plain, 0));
  // LogAppendTime: every record carries the batch's maxTimestamp.
  assert.deepEqual(decoded.map((x) => [x.offset, x.timestamp, text(x.key), text(x.value), x.headers]), [
    [0, 1597425188809, 'key-0', 'value-0-2020-08-14T17:13:08.682Z', []],
  ]);
});

const bytesArb = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: bytesArb,
  value: bytesArb,
  headers: fc.array(fc.record({ key: fc.string({ unit: 'binary', maxLength: 8 }), value: bytesArb }), { maxLength: 3 }),
  timestamp: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
}, { requiredKeys: ['key', 'value'] });
const optionsArb = fc.record({
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
  producerId: fc.integer({ min: -1, max: 2 ** 50 }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  transactional: fc.boolean(),
  control: fc.boolean(),
}, { requiredKeys: [] });

test('encode → validate → decode round trips (property)', () => {
  fc.assert(fc.property(fc.array(fc.array(recordArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }), optionsArb, (batches, options) => {
    const encoded = batches.map((records, i) => encodeRecordBatch(records, { ...options, baseOffset: (options.baseOffset ?? 0) + i * 10 }));
    const all = Buffer.concat(encoded); // a Buffer with a byte offset in its pool, on purpose
    const scan = validateBatches(all);
    assert.equal(scan.error, null);
    assert.equal(scan.validEnd, all.length);
    assert.equal(scan.headers.length, batches.length);
    batches.forEach((records, i) => {
      const h = scan.headers[i]!;
      const baseOffset = (options.baseOffset ?? 0) + i * 10;
      const firstTs = records.find((r) => r.timestamp !== undefined)?.timestamp ?? -1;
      const timestamps = records.map((r) => r.timestamp ?? firstTs);
      assert.equal(h.baseOffset, baseOffset);
      assert.equal(h.lastOffset, baseOffset + records.length - 1);
      assert.equal(h.recordCount, records.length);
      assert.equal(h.magic, 2);
      assert.equal(h.compression, 0);
      assert.equal(h.partitionLeaderEpoch, options.partitionLeaderEpoch ?? -1);
      assert.equal(h.producerId, options.producerId ?? -1);
      assert.equal(h.producerEpoch, options.producerEpoch ?? -1);
      assert.equal(h.baseSequence, options.baseSequence ?? -1);
      assert.equal(h.isTransactional, options.transactional ?? false);
      assert.equal(h.isControl, options.control ?? false);
      assert.equal(h.baseTimestamp, firstTs);
      assert.equal(h.maxTimestamp, Math.max(...timestamps));
      const decoded = decodeRecords(all, h);
      assert.deepEqual(decoded, records.map((r, j) => ({
        offset: baseOffset + j,
        timestamp: timestamps[j],
        key: r.key,
        value: r.value,
        headers: (r.headers ?? []).map((hd) => ({ key: hd.key, value: hd.value })), // fast-check's objects have no prototype
      })));
    });
  }));
});

test('timestamps: explicit baseTimestamp, negative deltas and large values survive', () => {
  const batch = encodeRecordBatch([
    { key: null, value: utf8('a'), timestamp: 1_700_000_000_000 },
    { key: null, value: utf8('b'), timestamp: 5 },
    { key: null, value: utf8('c') },
    { key: null, value: utf8('d'), timestamp: 2 ** 52 },
  ], { baseTimestamp: 1_700_000_000_500 });
  const h = validateBatches(batch).headers[0]!;
  assert.equal(h.baseTimestamp, 1_700_000_000_500);
  assert.equal(h.maxTimestamp, 2 ** 52);
  assert.deepEqual(decodeRecords(batch, h).map((r) => r.timestamp), [1_700_000_000_000, 5, 1_700_000_000_500, 2 ** 52]);
});

test('zero records cannot be encoded', () => {
  assert.throws(() => encodeRecordBatch([], {}), /at least one record/);
});

test('offsets and epochs set in place keep the CRC valid', () => {
  fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 2 ** 52 }), fc.integer({ min: -1, max: 0x7fffffff }), (records, offset, epoch) => {
    const batch = encodeRecordBatch(records, {});
    const before = validateBatches(batch).headers[0]!;
    setBaseOffset(batch, 0, offset);
    setPartitionLeaderEpoch(batch, 0, epoch);
    const r = validateBatches(batch);
    assert.equal(r.error, null);
    assert.deepEqual(r.headers[0], { ...before, baseOffset: offset, lastOffset: offset + records.length - 1, partitionLeaderEpoch: epoch });
    assert.deepEqual(decodeRecords(batch, r.headers[0]!).map((d) => d.offset), records.map((_, i) => offset + i));
  }));
});

test('every single-byte corruption inside the CRC-covered range is detected (property)', () => {
  fc.assert(fc.property(
    fc.array(recordArb, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(),
    (records, posSeed, xor, second) => {
      const a = encodeRecordBatch(records, { baseOffset: 0 });
      const b = encodeRecordBatch(records, { baseOffset: records.length });
      const all = Buffer.concat([a, b]);
      const start = second ? a.length : 0;
      const pos = start + 17 + (posSeed % (b.length - 17)); // the CRC field and everything it covers
      all[pos]! ^= xor;
      const r = validateBatches(all);
      assert.ok(r.error, `corruption at ${pos} went unnoticed`);
      assert.equal(r.error.position, start);
      assert.equal(r.validEnd, start);
      assert.equal(r.headers.length, second ? 1 : 0);
      // Structure-only scanning misses what only the CRC catches, but never reports a bad batch
      // before the corrupted one.
      const s = scanBatches(all);
      assert.ok(s.validEnd >= start);
    },
  ), { numRuns: 500 });
});

test('truncated batches and bad magic or length are reported at the right position', () => {
  const a = encodeRecordBatch([{ key: utf8('k'), value: utf8('v') }], {});
  const b = encodeRecordBatch([{ key: null, value: utf8('vv') }, { key: null, value: null }], { baseOffset: 1 });
  const all = Buffer.concat([a, b]);
  for (let cut = a.length + 1; cut < all.length; cut++) {
    const r = validateBatches(all.subarray(0, cut));
    assert.equal(r.error?.reason, 'truncated', `cut at ${cut}`);
    assert.equal(r.error?.position, a.length);
    assert.equal(r.validEnd, a.length);
  }
  const magic = Buffer.from(all);
  magic[a.length + 16] = 0;
  assert.equal(validateBatches(magic).error?.reason, 'unsupported magic 0');
  assert.equal(validateBatches(magic).error?.position, a.length);
  const length = Buffer.from(all);
  length.writeInt32BE(1000, a.length + 8);
  assert.equal(validateBatches(length).error?.reason, 'truncated');
  length.writeInt32BE(20, a.length + 8);
  assert.match(validateBatches(length).error!.reason, /batchLength 20/);
  // A longer batchLength that still fits swallows the next bytes: the CRC notices.
  const longer = Buffer.concat([a, new Uint8Array(5)]);
  longer.writeInt32BE(a.length - 12 + 5, 8);
  assert.match(validateBatches(longer).error!.reason, /crc mismatch/);
});

test('decodeRecords rejects records that do not match their lengths', () => {
  const batch = encodeRecordBatch([{ key: utf8('key'), value: utf8('value') }], {});
  // The record length varint is the first byte after the header: claim one byte more.
  const bad = batch.slice();
  bad[batchHeaderBytes]! += 2; // zigzag: +1
  assert.throws(() => decodeRecords(bad, readBatchHeader(bad, 0)), /overruns|bytes long/);
  const count = batch.slice();
  new DataView(count.buffer).setInt32(57, 2);
  assert.throws(() => decodeRecords(count, readBatchHeader(count, 0)), /overruns/);
});
