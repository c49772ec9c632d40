import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { kafkajsGzipBatch, kafkajsProduceBatch } from '../../fixtures/record-batches.js';
import {
  InvalidBatchError, batchHeaderBytes, batchOverheadBytes, readBatchHeader, scanBatches, setBaseOffset,
  setPartitionLeaderEpoch,
} from '../../../actors/protocol/record-batch.js';

// A reference CRC-32C (bitwise table), so that these tests of the pure code need no host.
const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function refCrc32c(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}


/** A structurally valid batch with `bodyBytes` opaque record bytes and a correct CRC. */
function makeBatch(opts: { baseOffset?: number; lastOffsetDelta?: number; recordCount?: number; bodyBytes?: number; fill?: number } = {}): Uint8Array {
  const body = opts.bodyBytes ?? 5;
  const b = new Uint8Array(batchHeaderBytes + body).fill(opts.fill ?? 7);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(opts.baseOffset ?? 0));
  v.setInt32(8, b.length - batchOverheadBytes);
  v.setInt32(12, -1);
  v.setInt8(16, 2);
  v.setInt16(21, 0);
  v.setInt32(23, opts.lastOffsetDelta ?? 0);
  v.setBigInt64(27, 1000n);
  v.setBigInt64(35, 1005n);
  v.setBigInt64(43, -1n);
  v.setInt16(51, -1);
  v.setInt32(53, -1);
  v.setInt32(57, opts.recordCount ?? 1);
  v.setUint32(17, refCrc32c(b, 21, b.length));
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('the reference CRC-32C has the Castagnoli check value', () => {
  assert.equal(refCrc32c(new TextEncoder().encode('123456789'), 0, 9), 0xe3069283);
});

test('the header of a kafkajs batch reads as kafkajs wrote it, CRC included', () => {
  const h = readBatchHeader(kafkajsProduceBatch, 0);
  assert.deepEqual(h, {
    position: 0, sizeBytes: 270, baseOffset: 0, lastOffsetDelta: 2, lastOffset: 2, partitionLeaderEpoch: 0, magic: 2,
    crc: 0xd20a45ed, attributes: 0, compression: 0, timestampType: 0, isTransactional: false, isControl: false, controlType: -1,
    baseTimestamp: 1509928155660, maxTimestamp: 1509928155660, producerId: -1, producerEpoch: 0, baseSequence: 10,
    recordCount: 3,
  });
  const scan = scanBatches(kafkajsProduceBatch, 0, kafkajsProduceBatch.length, refCrc32c);
  assert.equal(scan.error, null);
  assert.equal(scan.validEnd, 270);

  const g = readBatchHeader(kafkajsGzipBatch, 0);
  assert.equal(g.sizeBytes, kafkajsGzipBatch.length);
  assert.equal(g.compression, 1);
  assert.equal(g.timestampType, 1);
  assert.equal(g.baseTimestamp, 1597425188775);
  assert.equal(g.maxTimestamp, 1597425188809);
  assert.equal(g.crc, 0xe4c324a5);
  assert.equal(scanBatches(kafkajsGzipBatch, 0, kafkajsGzipBatch.length, refCrc32c).error, null);
});

test('scanBatches walks consecutive batches and reports the first bad one where it starts', () => {
  const a = makeBatch({ baseOffset: 0, bodyBytes: 3 });
  const b = makeBatch({ baseOffset: 1, bodyBytes: 10, lastOffsetDelta: 2, recordCount: 3 });
  const c = makeBatch({ baseOffset: 4, bodyBytes: 0 });
  const all = concat([a, b, c]);
  const ok = scanBatches(all, 0, all.length, refCrc32c);
  assert.equal(ok.error, null);
  assert.deepEqual(ok.headers.map((h) => [h.position, h.sizeBytes, h.baseOffset, h.lastOffset]), [
    [0, a.length, 0, 0], [a.length, b.length, 1, 3], [a.length + b.length, c.length, 4, 4],
  ]);
  // Without a CRC function nothing CRC-related is checked.
  const flipped = all.slice();
  flipped[a.length + 70]! ^= 1;
  assert.equal(scanBatches(flipped).error, null);
  const crcErr = scanBatches(flipped, 0, flipped.length, refCrc32c);
  assert.equal(crcErr.error?.position, a.length);
  assert.equal(crcErr.validEnd, a.length);
  assert.equal(crcErr.headers.length, 1);
  assert.match(crcErr.error!.reason, /^crc mismatch: expected 0x[0-9a-f]{8}, actual 0x[0-9a-f]{8}$/);

  // Bad magic in the second batch.
  const badMagic = all.slice();
  badMagic[a.length + 16] = 1;
  const m = scanBatches(badMagic);
  assert.ok(m.error instanceof InvalidBatchError);
  assert.equal(m.error.position, a.length);
  assert.equal(m.error.reason, 'unsupported magic 1');
  assert.equal(m.validEnd, a.length);

  // batchLength below the minimum, and negative.
  for (const len of [48, 0, -5]) {
    const badLen = all.slice();
    new DataView(badLen.buffer).setInt32(a.length + 8, len);
    const r = scanBatches(badLen);
    assert.equal(r.error?.position, a.length);
    assert.match(r.error!.reason, /batchLength/);
  }
  // Negative recordCount and lastOffsetDelta in the third batch.
  const negCount = all.slice();
  new DataView(negCount.buffer).setInt32(a.length + b.length + 57, -1);
  assert.equal(scanBatches(negCount).error?.position, a.length + b.length);
  assert.match(scanBatches(negCount).error!.reason, /recordCount/);
  const negDelta = all.slice();
  new DataView(negDelta.buffer).setInt32(a.length + b.length + 23, -1);
  assert.match(scanBatches(negDelta).error!.reason, /lastOffsetDelta/);
  // An unknown compression codec.
  const codec = all.slice();
  codec[a.length + 22] = 5;
  assert.match(scanBatches(codec).error!.reason, /compression codec 5/);
  // An offset beyond Number.MAX_SAFE_INTEGER.
  const huge = all.slice();
  new DataView(huge.buffer).setBigInt64(a.length, 2n ** 60n);
  assert.match(scanBatches(huge).error!.reason, /^baseOffset 1152921504606846976 is beyond Number.MAX_SAFE_INTEGER$/);
  assert.throws(() => readBatchHeader(huge, a.length), InvalidBatchError);
});

test('a scan range can start and end inside a buffer', () => {
  const a = makeBatch({ bodyBytes: 4 });
  const b = makeBatch({ baseOffset: 1, bodyBytes: 4 });
  const all = concat([new Uint8Array(3), a, b, new Uint8Array(9)]);
  const r = scanBatches(all, 3, 3 + a.length + b.length, refCrc32c);
  assert.equal(r.error, null);
  assert.deepEqual(r.headers.map((h) => h.position), [3, 3 + a.length]);
  assert.deepEqual(scanBatches(all, 5, 5), { headers: [], validEnd: 5, error: null });
  assert.throws(() => scanBatches(all, 0, all.length + 1), RangeError);
  // A subarray view: positions are relative to the view.
  const view = all.subarray(3 + a.length);
  assert.equal(readBatchHeader(view, 0).baseOffset, 1);
});

test('a truncated trailing batch is reported at its start, after the good ones (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }),
    fc.nat(),
    (bodies, cutSeed) => {
      const batches = bodies.map((n, i) => makeBatch({ baseOffset: i, bodyBytes: n, fill: i }));
      const all = concat(batches);
      const starts = batches.map((_, i) => batches.slice(0, i).reduce((s, x) => s + x.length, 0));
      const k = cutSeed % batches.length;
      const cut = starts[k]! + 1 + (cutSeed % (batches[k]!.length - 1)); // strictly inside batch k
      const r = scanBatches(all, 0, cut, refCrc32c);
      assert.equal(r.error?.reason, 'truncated');
      assert.equal(r.error?.position, starts[k]);
      assert.equal(r.validEnd, starts[k]);
      assert.equal(r.headers.length, k);
      // The same through a shorter buffer rather than a shorter range.
      const r2 = scanBatches(all.slice(0, cut));
      assert.equal(r2.error?.reason, 'truncated');
      assert.equal(r2.validEnd, starts[k]);
    },
  ));
});

test('setBaseOffset and setPartitionLeaderEpoch write in place and keep the CRC valid', () => {
  fc.assert(fc.property(
    fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER - 100 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.nat(30),
    (offset, epoch, pad) => {
      const batch = makeBatch({ bodyBytes: 7, lastOffsetDelta: 2, recordCount: 3 });
      const buf = concat([new Uint8Array(pad), batch]);
      setBaseOffset(buf, pad, offset);
      setPartitionLeaderEpoch(buf, pad, epoch);
      const r = scanBatches(buf, pad, buf.length, refCrc32c);
      assert.equal(r.error, null);
      assert.equal(r.headers[0]!.baseOffset, offset);
      assert.equal(r.headers[0]!.lastOffset, offset + 2);
      assert.equal(r.headers[0]!.partitionLeaderEpoch, epoch);
      assert.deepEqual(buf.subarray(pad + 16), batch.subarray(16));
    },
  ));
  const b = makeBatch();
  assert.throws(() => setBaseOffset(b, 0, 2 ** 53), RangeError);
  assert.throws(() => setPartitionLeaderEpoch(b, 0, 2 ** 31), RangeError);
  assert.throws(() => setBaseOffset(b, b.length - 4, 1), InvalidBatchError);
});

test('every single-byte corruption of the CRC-covered range is detected (property)', () => {
  const batch = kafkajsProduceBatch;
  fc.assert(fc.property(
    fc.integer({ min: 17, max: batch.length - 1 }), fc.integer({ min: 1, max: 255 }),
    (pos, xor) => {
      const bad = batch.slice();
      bad[pos]! ^= xor;
      const r = scanBatches(bad, 0, bad.length, refCrc32c);
      assert.ok(r.error, `corruption at ${pos} went unnoticed`);
      assert.equal(r.error.position, 0);
      assert.equal(r.validEnd, 0);
    },
  ), { numRuns: 500 });
});
