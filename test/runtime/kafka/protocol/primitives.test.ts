import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KafkaProtocolError, Reader, Writer } from '../../../../runtime/kafka/protocol/index.js';
import { decodeMessage, encodeMessage } from '../../../../runtime/kafka/protocol/codec.js';
import type { MessageSpec } from '../../../../runtime/kafka/protocol/schema.js';
import { fromHex, toHex } from './helpers.js';

function written(write: (writer: Writer) => void): Uint8Array {
  const writer = new Writer(1);
  write(writer);
  return writer.written();
}

// Writes, reads back, and checks every byte was read.
function roundTrip<T>(value: T, write: (writer: Writer, value: T) => void, read: (reader: Reader) => T): T {
  const reader = new Reader(written((w) => write(w, value)));
  const back = read(reader);
  assert.equal(reader.remaining, 0);
  return back;
}

function assertProtocolError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof KafkaProtocolError, `expected KafkaProtocolError, got ${String(error)}`);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

test('varints have the encodings of the protocol guide (zigzag, 7 bits a byte)', () => {
  const varints: [number, string][] = [[0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '8001'],
    [300, 'd804'], [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f']];
  for (const [value, hex] of varints) {
    assert.equal(toHex(written((w) => w.varint(value))), hex, `varint ${value}`);
    assert.equal(new Reader(fromHex(hex)).varint(), value);
  }
  const unsigned: [number, string][] = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [4294967295, 'ffffffff0f']];
  for (const [value, hex] of unsigned) {
    assert.equal(toHex(written((w) => w.unsignedVarint(value))), hex, `unsigned varint ${value}`);
    assert.equal(new Reader(fromHex(hex)).unsignedVarint(), value);
  }
  const varlongs: [number, string][] = [[0, '00'], [-1, '01'], [1, '02'], [2 ** 31, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'], [-Number.MAX_SAFE_INTEGER, 'fdffffffffffff1f']];
  for (const [value, hex] of varlongs) {
    assert.equal(toHex(written((w) => w.varlong(value))), hex, `varlong ${value}`);
    assert.equal(new Reader(fromHex(hex)).varlong(), value);
  }
});

test('varint, unsigned varint and varlong round trip (property)', () => {
  fc.assert(fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (n) => {
    assert.equal(roundTrip(n, (w, v) => w.varint(v), (r) => r.varint()), n);
  }));
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
    assert.equal(roundTrip(n, (w, v) => w.unsignedVarint(v), (r) => r.unsignedVarint()), n);
  }));
  fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
    assert.equal(roundTrip(n, (w, v) => w.varlong(v), (r) => r.varlong()), n);
  }));
});

test('over-long or out-of-range varints are refused', () => {
  assertProtocolError(() => new Reader(fromHex('ffffffff1f')).unsignedVarint(), /varint longer than 32 bits \(offset 0\)/);
  assertProtocolError(() => new Reader(fromHex('ffffffffffffffffff02')).varlong(), /varlong longer than 64 bits/);
  assertProtocolError(() => new Reader(fromHex('ffffffffffffffff7f')).varlong(), /varlong beyond 2\^53/);
  assertProtocolError(() => new Reader(fromHex('8080')).unsignedVarint(), /truncated: needs 1 bytes, 0 left \(offset 2\)/);
  assertProtocolError(() => new Writer().varint(2 ** 31), /cannot encode 2147483648 as varint/);
  assertProtocolError(() => new Writer().unsignedVarint(-1));
});

test('fixed-width integers, int64 as safe numbers, float64, boolean, uuid (property)', () => {
  fc.assert(fc.property(
    fc.integer({ min: -128, max: 127 }), fc.integer({ min: -32768, max: 32767 }), fc.integer({ min: 0, max: 65535 }),
    fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeInteger(),
    fc.double(), fc.boolean(), fc.uuid(),
    (i8, i16, u16, i32, u32, i64, f64, bool, uuid) => {
      const reader = new Reader(written((w) => w.int8(i8).int16(i16).uint16(u16).int32(i32).uint32(u32).int64(i64)
        .float64(f64).boolean(bool).uuid(uuid)));
      assert.deepEqual(
        [reader.int8(), reader.int16(), reader.uint16(), reader.int32(), reader.uint32(), reader.int64(),
          reader.float64(), reader.boolean(), reader.uuid()],
        [i8, i16, u16, i32, u32, i64, f64, bool, uuid.toLowerCase()],
      );
      assert.equal(reader.remaining, 0);
    },
  ));
  assert.equal(toHex(written((w) => w.int64(-1))), 'ffffffffffffffff');
  assert.equal(toHex(written((w) => w.int64(-(2 ** 32)))), 'ffffffff00000000');
  assert.equal(toHex(written((w) => w.uuid('01234567-89ab-cdef-0123-456789ABCDEF'))), '0123456789abcdef0123456789abcdef');
});

test('int64 beyond 2^53 and out-of-range integers are refused, not rounded', () => {
  assertProtocolError(() => new Reader(fromHex('0020000000000000')).int64(), /int64 9007199254740992 is beyond 2\^53/);
  assertProtocolError(() => new Reader(fromHex('7fffffffffffffff')).int64(), /beyond 2\^53/);
  assert.equal(new Reader(fromHex('001fffffffffffff')).int64(), Number.MAX_SAFE_INTEGER);
  assert.equal(new Reader(fromHex('ffe0000000000001')).int64(), -Number.MAX_SAFE_INTEGER);
  assertProtocolError(() => new Reader(fromHex('ffe0000000000000')).int64(), /beyond 2\^53/);
  assertProtocolError(() => new Writer().int64(2 ** 53));
  assertProtocolError(() => new Writer().int16(40000), /cannot encode 40000 as int16/);
  assertProtocolError(() => new Writer().int32(1.5));
  assertProtocolError(() => new Writer().uuid('not-a-uuid'), /as uuid/);
});

test('strings: classic and compact, nullable, any unicode (property)', () => {
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  fc.assert(fc.property(text, (s) => {
    assert.equal(roundTrip(s, (w, v) => w.string(v), (r) => r.string()), s);
    assert.equal(roundTrip(s, (w, v) => w.compactString(v), (r) => r.compactString()), s);
  }));
  fc.assert(fc.property(fc.option(text), (s) => {
    assert.equal(roundTrip(s, (w, v) => w.nullableString(v), (r) => r.nullableString()), s);
    assert.equal(roundTrip(s, (w, v) => w.compactNullableString(v), (r) => r.compactNullableString()), s);
  }));
  assert.equal(toHex(written((w) => w.compactString('héllo'))), `07${Buffer.from('héllo').toString('hex')}`);
  assert.equal(toHex(written((w) => w.compactNullableString(null).compactString('').nullableString(null))), '0001ffff');
  assertProtocolError(() => new Reader(fromHex('ffff')).string(), /null string where none is allowed/);
  assertProtocolError(() => new Reader(fromHex('00')).compactString(), /null string where none is allowed/);
  assertProtocolError(() => new Reader(fromHex('fffe')).nullableString(), /negative string length -2/);
  assertProtocolError(() => new Writer().string('x'.repeat(0x8000)), /at most 32767 bytes/);
});

test('bytes are copies, records are views; both nullable and compact (property)', () => {
  fc.assert(fc.property(fc.option(fc.uint8Array({ maxLength: 40 })), (b: Uint8Array | null) => {
    assert.deepEqual(roundTrip(b, (w, v) => w.nullableBytes(v), (r) => r.nullableBytes()), b);
    assert.deepEqual(roundTrip(b, (w, v) => w.compactNullableBytes(v), (r) => r.compactNullableBytes()), b);
    assert.deepEqual(roundTrip(b, (w, v) => w.records(v, true), (r) => r.records(true)), b);
    assert.deepEqual(roundTrip(b, (w, v) => w.records(v, false), (r) => r.records(false)), b);
  }));
  const frame = fromHex('00000003 aabbcc 00000002 ddee');
  const reader = new Reader(frame);
  const records = reader.records(false)!;
  const bytes = reader.bytes();
  assert.equal(records.buffer, frame.buffer);
  assert.equal(records.byteOffset, frame.byteOffset + 4);
  assert.notEqual(bytes.buffer, frame.buffer);
  assert.deepEqual(bytes, fromHex('ddee'));

  // From a socket Buffer (whose slice() is a view), bytes are still copies and plain Uint8Arrays.
  const socketBytes = Buffer.from(frame);
  const fromSocket = new Reader(socketBytes);
  const socketRecords = fromSocket.records(false)!;
  const socketCopy = fromSocket.bytes();
  socketBytes.fill(0);
  assert.deepEqual(socketCopy, fromHex('ddee'));
  assert.deepEqual(socketRecords, new Uint8Array(3));
  assert.equal(Object.getPrototypeOf(socketRecords), Uint8Array.prototype);
});

test('arrays: classic, compact and nullable round trip, lying lengths refused (property)', () => {
  const ints = fc.option(fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { maxLength: 20 }));
  fc.assert(fc.property(ints, (a) => {
    const classic = roundTrip(a, (w, v) => w.nullableArray(v, (x, n) => x.int32(n)), (r) => r.nullableArray((x) => x.int32(), 4));
    assert.deepEqual(classic, a);
    const compact = roundTrip(a, (w, v) => w.compactNullableArray(v, (x, n) => x.int32(n)), (r) => r.compactNullableArray((x) => x.int32(), 4));
    assert.deepEqual(compact, a);
  }));
  const strings = fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 });
  fc.assert(fc.property(strings, (a) => {
    assert.deepEqual(roundTrip(a, (w, v) => w.compactArray(v, (x, s) => x.compactString(s)), (r) => r.compactArray((x) => x.compactString())), a);
    assert.deepEqual(roundTrip(a, (w, v) => w.array(v, (x, s) => x.string(s)), (r) => r.array((x) => x.string(), 2)), a);
  }));
  assert.equal(toHex(written((w) => w.compactNullableArray(null, () => {}).nullableArray(null, () => {}))), '00ffffffff');
  assertProtocolError(() => new Reader(fromHex('ffffffff')).array((r) => r.int8()), /null array where none is allowed/);
  assertProtocolError(() => new Reader(fromHex('00000003 0000')).array((r) => r.int32(), 4), /array of 3 elements cannot fit in the 2 bytes left/);
  assertProtocolError(() => new Reader(fromHex('ffffffff0f')).compactArray((r) => r.int8()), /cannot fit/);
});

// A small flexible message to exercise tagged fields through the codec.
const Tagged = {
  name: 'TaggedTest',
  type: 'header',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'id', type: 'int32', versions: '0+' },
    { name: 'note', type: 'string', versions: '1+', nullableVersions: '1+', taggedVersions: '1+', tag: 0, default: null },
    { name: 'epoch', type: 'int64', versions: '1+', taggedVersions: '1+', tag: 5, default: -1 },
    { name: 'ids', type: '[]int32', versions: '1+', taggedVersions: '1+', tag: 2 },
    { name: 'leader', type: 'Leader', versions: '1+', taggedVersions: '1+', tag: 300, fields: [
      { name: 'leaderId', type: 'int32', versions: '1+', default: -1 },
    ] },
  ],
} as const satisfies MessageSpec;

test('tagged fields: written only when not default, ascending tags, unknown tags skipped (property)', () => {
  const value = fc.record({
    id: fc.integer({ min: 0, max: 1000 }),
    note: fc.option(fc.string({ maxLength: 10 })),
    epoch: fc.constantFrom(-1, 0, 7, Number.MAX_SAFE_INTEGER),
    ids: fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
    leader: fc.record({ leaderId: fc.integer({ min: -1, max: 3 }) }, { noNullPrototype: true }),
  }, { noNullPrototype: true });
  fc.assert(fc.property(value, (v) => {
    const bytes = encodeMessage(Tagged, 1, v, new Writer()).written();
    const reader = new Reader(bytes);
    assert.deepEqual(decodeMessage(Tagged, 1, reader), v);
    assert.equal(reader.remaining, 0);
    // v0 is not flexible: no tagged fields at all, decoded as defaults.
    const v0 = decodeMessage(Tagged, 0, new Reader(encodeMessage(Tagged, 0, v, new Writer()).written()));
    assert.deepEqual(v0, { id: v.id, note: null, epoch: -1, ids: [], leader: { leaderId: -1 } });
  }));
  assert.equal(toHex(encodeMessage(Tagged, 1, { id: 1 }, new Writer()).written()), '0000000100');
  assert.equal(
    toHex(encodeMessage(Tagged, 1, { id: 1, note: 'a', epoch: 2, leader: { leaderId: 3 } }, new Writer()).written()),
    '00000001 03 00 02 0261 05 08 0000000000000002 ac02 05 0000000300'.replace(/ /g, ''),
  );
  // Unknown tags 1 and 7 are skipped; tags may come in any order.
  const withUnknown = fromHex('00000001 03 07 02 abcd 00 02 0262 01 00');
  assert.deepEqual(decodeMessage(Tagged, 1, new Reader(withUnknown)), { id: 1, note: 'b', epoch: -1, ids: [], leader: { leaderId: -1 } });
});

test('the reader refuses to read past its end, with the offset', () => {
  const reader = new Reader(fromHex('0102030405'), 1, 4);
  assert.equal(reader.int16(), 0x0203);
  assertProtocolError(() => reader.int16(), /truncated: needs 2 bytes, 1 left \(offset 3\)/);
  assertProtocolError(() => new Reader(new Uint8Array(2), 0, 3));
  const short = new Reader(fromHex('00'));
  for (const read of [() => short.int16(), () => short.int32(), () => short.int64(), () => short.uuid(), () => short.float64()]) {
    assertProtocolError(read, /truncated/);
  }
});

test('the writer grows from one byte to large messages', () => {
  const writer = new Writer(1);
  const chunk = new Uint8Array(1000).fill(7);
  for (let i = 0; i < 100; i++) writer.raw(chunk).int32(i);
  assert.equal(writer.length, 100 * 1004);
  const reader = new Reader(writer.written());
  for (let i = 0; i < 100; i++) {
    reader.skip(1000);
    assert.equal(reader.int32(), i);
  }
});

test('a Writer that splices large bytes hands them out uncopied, between its own bytes, in order (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -1000, max: 1000 })), { maxLength: 12 }),
    fc.integer({ min: 1, max: 30 }),
    (parts, spliceBytesMin) => {
      const plain = new Writer(1);
      const splicing = new Writer(1, spliceBytesMin);
      const sizeAtPlain = plain.placeholderInt32();
      const sizeAtSplicing = splicing.placeholderInt32();
      for (const part of parts) {
        if (typeof part === 'number') {
          plain.varint(part);
          splicing.varint(part);
        } else {
          plain.compactBytes(part);
          splicing.compactBytes(part);
        }
      }
      plain.patchInt32(sizeAtPlain, plain.length - 4);
      splicing.patchInt32(sizeAtSplicing, splicing.length - 4);
      assert.equal(splicing.length, plain.length);
      const chunks = splicing.writtenChunks();
      assert.deepEqual(Buffer.concat(chunks), Buffer.from(plain.written()));
      assert.deepEqual(Buffer.from(splicing.written()), Buffer.from(plain.written()));
      assert.ok(chunks.every((chunk) => chunk.length > 0), 'no empty chunks');
      // Every byte field of the threshold's size or more is one of the chunks, by identity.
      const spliced: Uint8Array[] = parts.flatMap((p) => (typeof p !== 'number' && p.length >= spliceBytesMin ? [p] : []));
      assert.deepEqual(chunks.filter((chunk) => spliced.includes(chunk)), spliced);
    },
  ));
});
