// The NATS batch format (runtime/transport/nats-batch.ts): join and split are inverse for any
// envelopes, one envelope travels as itself, and a broken batch never throws and yields only
// whole envelopes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { encodeEnvelope, encodePayload } from '../../../actors/protocol/codec.js';
import { batchMarker, joinEnvelopes, lengthPrefixBytes, splitEnvelopes } from '../../../runtime/transport/nats-batch.js';

const bytes = fc.uint8Array({ maxLength: 300 });
const same = (a: readonly Uint8Array[], b: readonly Uint8Array[]) => a.length === b.length && a.every((x, i) => Buffer.from(x).equals(b[i]!));

test('any list of byte arrays round-trips through join and split, in order', () => {
  fc.assert(fc.property(fc.array(bytes, { maxLength: 20 }), (envelopes) => {
    const { envelopes: split, malformed } = splitEnvelopes(joinEnvelopes(envelopes));
    assert.equal(malformed, null);
    assert.ok(same(split, envelopes), 'same envelopes, same order');
  }));
});

test('one envelope is the payload itself, not a copy; several start with the marker', () => {
  const envelope = encodeEnvelope({
    clusterId: 'c', from: { node: 1, actor: 'a' }, to: { node: 2, actor: 'b' }, kind: 'DescribeQuorumRequest',
    payload: encodePayload('DescribeQuorumRequest', { requestId: 'r' }), msgId: '1:1', parentId: '',
  });
  assert.ok(envelope[0]! >= 0x08, 'an envelope starts with a field key');
  assert.equal(joinEnvelopes([envelope]), envelope);
  assert.equal(splitEnvelopes(envelope).envelopes[0], envelope);
  fc.assert(fc.property(bytes.filter((b) => b[0] !== batchMarker), (single) => {
    assert.equal(joinEnvelopes([single]), single);
    const split = splitEnvelopes(single);
    assert.equal(split.envelopes.length, 1);
    assert.equal(split.envelopes[0], single);
  }));
  const batch = joinEnvelopes([envelope, envelope]);
  assert.equal(batch[0], batchMarker);
  assert.equal(batch.byteLength, 1 + 2 * (lengthPrefixBytes(envelope.byteLength) + envelope.byteLength));
});

/** A varint written by hand, to check the batch against the format rather than against protobufjs. */
function varint(value: number): number[] {
  const out: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 0x80)) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

test('the batch is the marker, then each envelope after its varint length (encodeDelimited framing)', () => {
  fc.assert(fc.property(fc.array(bytes, { minLength: 2, maxLength: 5 }), (envelopes) => {
    const expected = [batchMarker, ...envelopes.flatMap((e) => [...varint(e.byteLength), ...e])];
    assert.deepEqual([...joinEnvelopes(envelopes)], expected);
  }));
  const big = new Uint8Array(300);
  assert.deepEqual([...joinEnvelopes([big, big]).subarray(0, 3)], [batchMarker, 0xac, 0x02]);
});

test('lengthPrefixBytes is the varint length of the length', () => {
  for (const n of [0, 1, 127, 128, 16_383, 16_384, 1 << 21, 1024 * 1024, 2 ** 31]) {
    assert.equal(lengthPrefixBytes(n), protobuf.Writer.create().uint32(n).finish().byteLength, String(n));
  }
});

test('a truncated batch yields the whole envelopes before the cut and says why', () => {
  fc.assert(fc.property(fc.array(bytes, { minLength: 2, maxLength: 8 }), fc.nat(), (envelopes, cutSeed) => {
    const batch = joinEnvelopes(envelopes);
    const cut = 1 + (cutSeed % (batch.byteLength - 1));
    const { envelopes: split, malformed } = splitEnvelopes(batch.subarray(0, cut));
    // Where each envelope ends in the batch: the cut keeps those that end at or before it.
    const ends: number[] = [];
    let end = 1;
    for (const envelope of envelopes) ends.push(end += lengthPrefixBytes(envelope.byteLength) + envelope.byteLength);
    const whole = ends.filter((e) => e <= cut).length;
    assert.ok(same(split, envelopes.slice(0, whole)));
    assert.equal(malformed === null, cut === 1 || ends.includes(cut), 'only a cut between envelopes reads cleanly');
  }));
});

test('garbage after the marker never throws, and every envelope it yields lies inside the payload', () => {
  fc.assert(fc.property(bytes, (tail) => {
    const payload = new Uint8Array([batchMarker, ...tail]);
    const { envelopes, malformed } = splitEnvelopes(payload);
    let consumed = 1;
    for (const envelope of envelopes) {
      if (envelope.byteLength > 0) assert.equal(envelope.buffer, payload.buffer, 'a view, not a copy');
      consumed += lengthPrefixBytes(envelope.byteLength) + envelope.byteLength;
    }
    assert.ok(consumed <= payload.byteLength);
    if (malformed === null) assert.equal(consumed, payload.byteLength);
    else assert.match(malformed, /^batch of \d+ bytes broken at byte \d+ after \d+ envelope\(s\)/);
  }));
  const lengthPastTheEnd = splitEnvelopes(new Uint8Array([batchMarker, 2, 0x0a, 0x0b, 5, 0x0a]));
  assert.equal(lengthPastTheEnd.envelopes.length, 1);
  assert.match(lengthPastTheEnd.malformed ?? '', /broken at byte 4 after 1 envelope/);
  const truncatedLength = splitEnvelopes(new Uint8Array([batchMarker, 0x80]));
  assert.deepEqual(truncatedLength.envelopes, []);
  assert.notEqual(truncatedLength.malformed, null);
});
