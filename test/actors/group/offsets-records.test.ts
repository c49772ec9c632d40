// __consumer_offsets keys and values: the bytes are written out here by hand from Kafka's
// record declarations (OffsetCommitKey/Value, GroupMetadataKey/Value .json), so a wrong
// field order, width or version fails; older versions are built by hand and decoded; random,
// mutated and cut input only ever throws OffsetsRecordError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsKey, decodeOffsetsRecord, encodeGroupMetadataValue,
  encodeOffsetCommitValue, encodeOffsetsKey, OffsetsRecordError, UnknownOffsetsRecordVersionError,
  type GroupMetadataMember, type GroupMetadataValue, type OffsetCommitValue, type OffsetsKey,
} from '../../../actors/group/offsets-records.js';

// Hex with whitespace and `# comments` to the end of a line.
function fromHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  assert.match(digits, /^([0-9a-f]{2})*$/);
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const commitTimestamp = 1_700_000_000_000; // 0000018bcfe56800
const expireTimestamp = 1_700_000_060_000; // 0000018bcfe65260

// ---- Keys ----

const offsetKey: OffsetsKey = { kind: 'offset', group: 'app', topic: 'orders', partition: 3 };
const offsetKeyHex = `
  0001                    # version 1: an offset commit
  0003 617070             # group 'app'
  0006 6f7264657273       # topic 'orders'
  00000003                # partition`;
const groupKey: OffsetsKey = { kind: 'group', group: 'app' };
const groupKeyHex = `
  0002                    # version 2: group metadata
  0003 617070             # group 'app'`;

test('keys: an offset key is version 1, a group key version 2, as Kafka writes them', () => {
  assert.equal(toHex(encodeOffsetsKey(offsetKey)), toHex(fromHex(offsetKeyHex)));
  assert.equal(toHex(encodeOffsetsKey(groupKey)), toHex(fromHex(groupKeyHex)));
  assert.deepEqual(decodeOffsetsKey(fromHex(offsetKeyHex)), offsetKey);
  assert.deepEqual(decodeOffsetsKey(fromHex(groupKeyHex)), groupKey);
  // A view into a larger buffer (a record inside a fetched batch) reads the same.
  const inBatch = fromHex(`ee ee ${groupKeyHex}\nee`).subarray(2, 2 + fromHex(groupKeyHex).length);
  assert.deepEqual(decodeOffsetsKey(inBatch), groupKey);
  // Version 0 is the same offset key, written by brokers before 0.10.1.
  assert.deepEqual(decodeOffsetsKey(fromHex('0000 0003 617070 0006 6f7264657273 00000003')), offsetKey);
});

// ---- Offset commit values ----

const offsetValue: OffsetCommitValue = { offset: 100, leaderEpoch: 5, metadata: 'é', commitTimestamp, expireTimestamp: -1 };
const offsetValueHex = `
  0003                    # version 3
  0000000000000064        # offset 100
  00000005                # leaderEpoch
  0002 c3a9               # metadata 'é': 2 UTF-8 bytes
  0000018bcfe56800        # commitTimestamp`;

test('offset commit values: version 3; version 1 when there is an expiry (Kafka\'s choice, without leader epoch)', () => {
  assert.equal(toHex(encodeOffsetCommitValue(offsetValue)), toHex(fromHex(offsetValueHex)));
  assert.deepEqual(decodeOffsetCommitValue(fromHex(offsetValueHex)), offsetValue);

  const expiring = { ...offsetValue, metadata: '', expireTimestamp };
  const expiringHex = `
    0001                  # version 1
    0000000000000064      # offset
    0000                  # metadata ''
    0000018bcfe56800      # commitTimestamp
    0000018bcfe65260      # expireTimestamp`;
  assert.equal(toHex(encodeOffsetCommitValue(expiring)), toHex(fromHex(expiringHex)));
  assert.deepEqual(decodeOffsetCommitValue(fromHex(expiringHex)), { ...expiring, leaderEpoch: -1 });
});

test('offset commit values of versions 0, 1, 2 and 4 (flexible) decode', () => {
  const base = { offset: 100, leaderEpoch: -1, metadata: 'm', commitTimestamp, expireTimestamp: -1 };
  const v0 = '0000 0000000000000064 0001 6d 0000018bcfe56800';
  assert.deepEqual(decodeOffsetCommitValue(fromHex(v0)), base);
  const v1 = '0001 0000000000000064 0001 6d 0000018bcfe56800 0000018bcfe65260';
  assert.deepEqual(decodeOffsetCommitValue(fromHex(v1)), { ...base, expireTimestamp });
  const v2 = '0002 0000000000000064 0001 6d 0000018bcfe56800';
  assert.deepEqual(decodeOffsetCommitValue(fromHex(v2)), base);
  const v4 = `
    0004 0000000000000064 00000005
    02 6d                 # compact string: length + 1
    0000018bcfe56800
    01 0a 02 abcd         # one tagged field (tag 10, 2 bytes), unknown here: skipped`;
  assert.deepEqual(decodeOffsetCommitValue(fromHex(v4)), { ...base, leaderEpoch: 5 });
});

// ---- Group metadata values ----

const member = (overrides: Partial<GroupMetadataMember>): GroupMetadataMember => ({
  memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: '/10.0.0.1', rebalanceTimeoutMs: 300_000,
  sessionTimeoutMs: 45_000, subscription: Uint8Array.of(1, 2), assignment: new Uint8Array(0), ...overrides,
});
const groupValue: GroupMetadataValue = {
  protocolType: 'consumer', generationId: 7, protocolName: 'range', leaderId: 'm1', currentStateTimestamp: commitTimestamp,
  members: [member({}), member({ memberId: 'm2', groupInstanceId: 'i2', subscription: new Uint8Array(0), assignment: Uint8Array.of(0xff) })],
};
const groupValueHex = `
  0003                    # version 3
  0008 636f6e73756d6572   # protocolType 'consumer'
  00000007                # generation
  0005 72616e6765         # protocol 'range'
  0002 6d31               # leader 'm1'
  0000018bcfe56800        # currentStateTimestamp
  00000002                # members: 2
    0002 6d31             # memberId 'm1'
    ffff                  # groupInstanceId null
    0001 63               # clientId 'c'
    0009 2f31302e302e302e31 # clientHost '/10.0.0.1'
    000493e0              # rebalanceTimeout 300000
    0000afc8              # sessionTimeout 45000
    00000002 0102         # subscription
    00000000              # assignment: empty
    0002 6d32             # memberId 'm2'
    0002 6932             # groupInstanceId 'i2'
    0001 63
    0009 2f31302e302e302e31
    000493e0
    0000afc8
    00000000              # subscription: empty
    00000001 ff           # assignment`;

test('group metadata values: version 3, and an empty group with null protocol and leader', () => {
  assert.equal(toHex(encodeGroupMetadataValue(groupValue)), toHex(fromHex(groupValueHex)));
  assert.deepEqual(decodeGroupMetadataValue(fromHex(groupValueHex)), groupValue);

  const empty: GroupMetadataValue = { protocolType: 'consumer', generationId: 0, protocolName: null, leaderId: null, currentStateTimestamp: -1, members: [] };
  const emptyHex = '0003 0008 636f6e73756d6572 00000000 ffff ffff ffffffffffffffff 00000000';
  assert.equal(toHex(encodeGroupMetadataValue(empty)), toHex(fromHex(emptyHex)));
  assert.deepEqual(decodeGroupMetadataValue(fromHex(emptyHex)), empty);
});

const oneMember = (version: number): GroupMetadataValue => ({
  protocolType: 'consumer', generationId: 1, protocolName: 'range', leaderId: 'm1',
  currentStateTimestamp: version >= 2 ? commitTimestamp : -1,
  members: [member({ rebalanceTimeoutMs: version >= 1 ? 300_000 : 45_000 })],
});

test('group metadata values of versions 0-2 and 4 (flexible) decode; version 0 takes the session timeout as rebalance timeout', () => {
  const head = '0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31';
  const v0 = `0000 ${head} 00000001 0002 6d31 0001 63 0009 2f31302e302e302e31 0000afc8 00000002 0102 00000000`;
  assert.deepEqual(decodeGroupMetadataValue(fromHex(v0)), oneMember(0));
  const v1 = `0001 ${head} 00000001 0002 6d31 0001 63 0009 2f31302e302e302e31 000493e0 0000afc8 00000002 0102 00000000`;
  assert.deepEqual(decodeGroupMetadataValue(fromHex(v1)), oneMember(1));
  const v2 = `0002 ${head} 0000018bcfe56800 00000001 0002 6d31 0001 63 0009 2f31302e302e302e31 000493e0 0000afc8 00000002 0102 00000000`;
  assert.deepEqual(decodeGroupMetadataValue(fromHex(v2)), oneMember(2));
  const v4 = `
    0004 09 636f6e73756d6572 00000001 06 72616e6765 03 6d31 0000018bcfe56800
    02                    # members: compact array, 1 + 1
      03 6d31             # memberId
      00                  # groupInstanceId: null
      02 63 0a 2f31302e302e302e31
      000493e0 0000afc8
      03 0102             # subscription: compact bytes, length + 1
      01                  # assignment: empty
      00                  # member tagged fields
    00                    # tagged fields`;
  assert.deepEqual(decodeGroupMetadataValue(fromHex(v4)), oneMember(4));
});

// ---- Records, tombstones ----

test('a record with a null value is a tombstone; a record without key is refused', () => {
  assert.deepEqual(decodeOffsetsRecord(fromHex(offsetKeyHex), null), { key: offsetKey, value: null });
  assert.deepEqual(decodeOffsetsRecord(fromHex(groupKeyHex), null), { key: groupKey, value: null });
  assert.deepEqual(decodeOffsetsRecord(fromHex(offsetKeyHex), fromHex(offsetValueHex)), { key: offsetKey, value: offsetValue });
  assert.deepEqual(decodeOffsetsRecord(fromHex(groupKeyHex), fromHex(groupValueHex)), { key: groupKey, value: groupValue });
  assert.throws(() => decodeOffsetsRecord(null, fromHex(offsetValueHex)), OffsetsRecordError);
  // A key of one kind with the other kind's value does not read.
  assert.throws(() => decodeOffsetsRecord(fromHex(groupKeyHex), fromHex(offsetValueHex)), OffsetsRecordError);
});

// ---- Malformed input ----

function throwsRecordError(decode: () => unknown, pattern: RegExp, type: abstract new (...args: never[]) => OffsetsRecordError = OffsetsRecordError): void {
  assert.throws(decode, (error: unknown) => {
    assert.ok(error instanceof type, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

test('unknown versions, trailing bytes, bad lengths, unsafe int64s and bad UTF-8 are refused', () => {
  throwsRecordError(() => decodeOffsetsKey(fromHex('0003 0003 617070')), /unknown version 3/, UnknownOffsetsRecordVersionError);
  throwsRecordError(() => decodeOffsetsKey(fromHex('ffff')), /unknown version -1/, UnknownOffsetsRecordVersionError);
  throwsRecordError(() => decodeOffsetsKey(fromHex(`${groupKeyHex}\n00`)), /1 bytes left over/);
  throwsRecordError(() => decodeOffsetsKey(fromHex('0002 ffff')), /null in a non-nullable string/);
  throwsRecordError(() => decodeOffsetsKey(fromHex('0002 fffe')), /string length -2/);
  throwsRecordError(() => decodeOffsetsKey(fromHex('0002 0002 c328')), /not UTF-8/);
  throwsRecordError(() => decodeOffsetCommitValue(fromHex('0005 0000000000000064')), /unknown version 5/, UnknownOffsetsRecordVersionError);
  throwsRecordError(() => decodeOffsetCommitValue(fromHex('0003 0020000000000000 00000000 0000 0000000000000000')), /offset: 9007199254740992 is beyond 2\^53/);
  assert.equal(decodeOffsetCommitValue(fromHex('0003 001fffffffffffff 00000000 0000 ffe0000000000001')).offset, Number.MAX_SAFE_INTEGER);
  assert.equal(decodeOffsetCommitValue(fromHex('0003 001fffffffffffff 00000000 0000 ffe0000000000001')).commitTimestamp, Number.MIN_SAFE_INTEGER);
  throwsRecordError(() => decodeOffsetCommitValue(fromHex(`${offsetValueHex}\n00`)), /left over/);
  throwsRecordError(() => decodeOffsetCommitValue(fromHex('0004 0000000000000064 00000005 02 6d 0000018bcfe56800 01 0a 05 abcd')), /tagged field: truncated/);
  throwsRecordError(() => decodeOffsetCommitValue(fromHex('0004 0000000000000064 00000005 ffffffffff7f')), /varint/);
  const groupHead = '0003 0008 636f6e73756d6572 00000000 ffff ffff ffffffffffffffff';
  throwsRecordError(() => decodeGroupMetadataValue(fromHex(`${groupHead} ffffffff`)), /members: array length -1/);
  throwsRecordError(() => decodeGroupMetadataValue(fromHex(`${groupHead} 7fffffff`)), /members: array of 2147483647 in 0 bytes/);
  throwsRecordError(() => decodeGroupMetadataValue(fromHex('0003 0008 636f6e73756d6572 00000000 fffe')), /protocol: string length -2/);
  throwsRecordError(() => decodeGroupMetadataValue(fromHex(`${groupHead} 00000001 0002 6d31 ffff 0001 63 0001 68 00000000 00000000 ffffffff`)),
    /members\[0\]\.subscription: bytes length -1/);
});

test('encoders refuse what the format cannot hold', () => {
  throwsRecordError(() => encodeOffsetsKey({ kind: 'group', group: 'x'.repeat(0x8000) }), /group: 32768 bytes/);
  throwsRecordError(() => encodeOffsetsKey({ ...offsetKey, partition: 2 ** 31 }), /partition/);
  throwsRecordError(() => encodeOffsetCommitValue({ ...offsetValue, offset: 2 ** 53 }), /offset: .* not a safe integer/);
  throwsRecordError(() => encodeGroupMetadataValue({ ...groupValue, generationId: 1.5 }), /generation/);
  assert.equal(decodeOffsetsKey(encodeOffsetsKey({ kind: 'group', group: 'x'.repeat(0x7fff) })).kind, 'group');
});

// ---- Properties ----

const text = fc.string({ unit: 'binary', maxLength: 12 });
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const int64 = fc.oneof(fc.constantFrom(-1, 0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), fc.maxSafeInteger());
const bytes = fc.uint8Array({ maxLength: 12 });

const keyArbitrary: fc.Arbitrary<OffsetsKey> = fc.oneof(
  fc.record({ kind: fc.constant('offset' as const), group: text, topic: text, partition: int32 }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('group' as const), group: text }, { noNullPrototype: true }),
);
const offsetValueArbitrary: fc.Arbitrary<OffsetCommitValue> = fc.record({
  offset: int64, leaderEpoch: int32, metadata: text, commitTimestamp: int64,
  expireTimestamp: fc.oneof(fc.constant(-1), int64),
}, { noNullPrototype: true });
const memberArbitrary: fc.Arbitrary<GroupMetadataMember> = fc.record({
  memberId: text, groupInstanceId: fc.option(text, { nil: null }), clientId: text, clientHost: text,
  rebalanceTimeoutMs: int32, sessionTimeoutMs: int32, subscription: bytes, assignment: bytes,
}, { noNullPrototype: true });
const groupValueArbitrary: fc.Arbitrary<GroupMetadataValue> = fc.record({
  protocolType: text, generationId: int32, protocolName: fc.option(text, { nil: null }), leaderId: fc.option(text, { nil: null }),
  currentStateTimestamp: int64, members: fc.array(memberArbitrary, { maxLength: 3 }),
}, { noNullPrototype: true });

test('keys and values round trip (property)', () => {
  fc.assert(fc.property(keyArbitrary, (key) => {
    assert.deepEqual(decodeOffsetsKey(encodeOffsetsKey(key)), key);
  }), { numRuns: 500 });
  fc.assert(fc.property(offsetValueArbitrary, (value) => {
    const encoded = encodeOffsetCommitValue(value);
    // Only version 1 holds an expiry, and it has no leader epoch.
    const expected = value.expireTimestamp === -1 ? value : { ...value, leaderEpoch: -1 };
    assert.deepEqual(decodeOffsetCommitValue(encoded), expected);
    assert.equal(encoded[1], value.expireTimestamp === -1 ? 3 : 1);
  }), { numRuns: 500 });
  fc.assert(fc.property(groupValueArbitrary, (value) => {
    assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(value)), value);
  }), { numRuns: 500 });
});

type Decoder = (bytes: Uint8Array) => unknown;
const decoders: [string, Decoder][] = [
  ['key', decodeOffsetsKey],
  ['offset value', decodeOffsetCommitValue],
  ['group value', decodeGroupMetadataValue],
];

// Valid encodings, one per version read, with the decoder they belong to.
const handWritten: [Decoder, string][] = [
  [decodeOffsetsKey, offsetKeyHex],
  [decodeOffsetsKey, groupKeyHex],
  [decodeOffsetCommitValue, offsetValueHex],
  [decodeOffsetCommitValue, '0000 0000000000000064 0001 6d 0000018bcfe56800'],
  [decodeOffsetCommitValue, '0001 0000000000000064 0001 6d 0000018bcfe56800 0000018bcfe65260'],
  [decodeOffsetCommitValue, '0004 0000000000000064 00000005 02 6d 0000018bcfe56800 01 0a 02 abcd'],
  [decodeGroupMetadataValue, groupValueHex],
  [decodeGroupMetadataValue, '0000 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31 00000001 0002 6d31 0001 63 0001 68 0000afc8 00000002 0102 00000000'],
  [decodeGroupMetadataValue, '0004 09 636f6e73756d6572 00000001 06 72616e6765 03 6d31 0000018bcfe56800 02 03 6d31 00 02 63 02 68 000493e0 0000afc8 03 0102 01 00 00'],
];

test('every cut of a valid encoding throws OffsetsRecordError, and so does one byte more', () => {
  for (const [decode, hex] of handWritten) {
    const valid = fromHex(hex);
    decode(valid);
    for (let length = 0; length < valid.length; length++) {
      throwsRecordError(() => decode(valid.slice(0, length)), /truncated|unknown version|array of/);
    }
    throwsRecordError(() => decode(Uint8Array.from([...valid, 0])), /left over|truncated/);
  }
});

function onlyRecordErrors(input: Uint8Array): void {
  for (const [name, decode] of decoders) {
    try {
      decode(input);
    } catch (error) {
      if (!(error instanceof OffsetsRecordError)) assert.fail(`${name} of ${toHex(input)}: ${String(error)}`);
    }
  }
  try {
    decodeOffsetsRecord(input, input);
  } catch (error) {
    if (!(error instanceof OffsetsRecordError)) assert.fail(`record of ${toHex(input)}: ${String(error)}`);
  }
}

test('random, mutated, cut and extended bytes only ever throw OffsetsRecordError (property)', () => {
  const seeds = fc.oneof(
    fc.constantFrom(...handWritten.map(([, hex]) => fromHex(hex))),
    keyArbitrary.map(encodeOffsetsKey),
    offsetValueArbitrary.map(encodeOffsetCommitValue),
    groupValueArbitrary.map(encodeGroupMetadataValue),
  );
  const malformed = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc.tuple(fc.integer({ min: -3, max: 6 }), fc.uint8Array({ maxLength: 80 })).map(([version, tail]) => {
      const bytes = new Uint8Array(2 + tail.length);
      new DataView(bytes.buffer).setInt16(0, version);
      bytes.set(tail, 2);
      return bytes;
    }),
    fc.tuple(seeds, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 })).map(([seed, flips]) => {
      const copy = seed.slice();
      for (const [at, value] of flips) if (copy.length > 0) copy[at % copy.length] = value;
      return copy;
    }),
    fc.tuple(seeds, fc.nat()).map(([seed, cut]) => seed.slice(0, cut % (seed.length + 1))),
    fc.tuple(seeds, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([seed, tail]) => Uint8Array.from([...seed, ...tail])),
  );
  fc.assert(fc.property(malformed, onlyRecordErrors), { numRuns: 20_000 });
});
