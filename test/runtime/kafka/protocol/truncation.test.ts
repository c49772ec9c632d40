// Cut or corrupted input fails with the codec's own errors, never with a RangeError or a
// TypeError from deep inside: the listener drops the connection on KafkaProtocolError and
// answers UnsupportedVersionError, and must see nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  apiByKey, decodeMessage, decodeRequestFrame, KafkaProtocolError, Reader, requestHeaderVersion,
  UnsupportedVersionError,
} from '../../../../runtime/kafka/protocol/index.js';
import { kafkajsFetchV11, kafkajsMetadataV1, kafkajsProduceV3, librdkafkaApiVersionsV3 } from './fixtures/frames.js';
import { allBodyFixtures, ascii, fromHex } from './helpers.js';

const undecodable = new Set([
  'apiVersions/fixtures/v1_response_missing_throttle_time.json',
  'fetch_response_test.go preferredReplicaFetchResponseV12',
]);

// Every request body fixture behind the header its version calls for.
function requestFrames(): { source: string; frame: Uint8Array }[] {
  const frames = [
    { source: 'librdkafka ApiVersions v3', frame: fromHex(librdkafkaApiVersionsV3) },
    { source: 'kafkajs Metadata v1', frame: fromHex(kafkajsMetadataV1) },
    { source: 'kafkajs Produce v3', frame: fromHex(kafkajsProduceV3) },
    { source: 'kafkajs Fetch v11', frame: fromHex(kafkajsFetchV11) },
  ];
  for (const fixture of allBodyFixtures) {
    if (fixture.part !== 'request') continue;
    const hex = (n: number, digits: number) => (n >>> 0).toString(16).padStart(digits, '0').slice(-digits);
    const tags = requestHeaderVersion(fixture.apiKey, fixture.version) === 2 ? '00' : '';
    const header = `${hex(fixture.apiKey, 4)}${hex(fixture.version, 4)}0000002a0004${ascii('test')}${tags}`;
    frames.push({ source: fixture.source, frame: fromHex(header + fixture.hex) });
  }
  return frames;
}

function assertOnlyProtocolErrors(decode: () => unknown, what: string): void {
  try {
    decode();
  } catch (error) {
    if (error instanceof KafkaProtocolError || error instanceof UnsupportedVersionError) return;
    assert.fail(`${what}: ${String(error)}`);
  }
}

test('every request frame decodes, and every cut of it throws KafkaProtocolError', () => {
  const frames = requestFrames();
  assert.ok(frames.length > 150);
  let cuts = 0;
  for (const { source, frame } of frames) {
    decodeRequestFrame(frame);
    for (let length = 0; length < frame.length; length++) {
      const cut = frame.slice(0, length);
      assert.throws(() => decodeRequestFrame(cut), (error: unknown) => {
        assert.ok(error instanceof KafkaProtocolError, `${source} cut at ${length}: ${String(error)}`);
        assert.match(error.message, /truncated|cannot fit/, `${source} cut at ${length}`);
        return true;
      });
      cuts++;
    }
  }
  assert.ok(cuts > 10000, `${cuts} cuts`);
});

test('every cut of every response body fixture throws KafkaProtocolError', () => {
  for (const fixture of allBodyFixtures) {
    if (fixture.part !== 'response' || undecodable.has(fixture.source)) continue;
    const spec = apiByKey(fixture.apiKey)!.response;
    const bytes = fromHex(fixture.hex);
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => decodeMessage(spec, fixture.version, new Reader(bytes.slice(0, length))), KafkaProtocolError,
        `${fixture.source} cut at ${length}`);
    }
  }
});

test('corrupted request frames fail only with the codec\'s errors (property)', () => {
  const frames = requestFrames();
  const corruption = fc.record({
    frame: fc.integer({ min: 0, max: frames.length - 1 }),
    changes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    cut: fc.option(fc.nat()),
  });
  fc.assert(fc.property(corruption, ({ frame: index, changes, cut }) => {
    const original = frames[index]!;
    const frame = original.frame.slice();
    for (const [at, byte] of changes) frame[at % frame.length] = byte;
    const input = cut === null ? frame : frame.subarray(0, cut % (frame.length + 1));
    assertOnlyProtocolErrors(() => decodeRequestFrame(input), original.source);
  }), { numRuns: 3000 });
});

test('random bytes after a valid api key and version fail only with the codec\'s errors (property)', () => {
  const versions = [...Object.entries({ 0: 9, 1: 12, 3: 12, 18: 3, 19: 7, 11: 9, 32: 4 })];
  fc.assert(fc.property(fc.constantFrom(...versions), fc.nat(), fc.uint8Array({ maxLength: 64 }), ([key, max], v, tail) => {
    const frame = new Uint8Array(4 + tail.length);
    const view = new DataView(frame.buffer);
    view.setInt16(0, Number(key));
    view.setInt16(2, v % (max + 2));
    frame.set(tail, 4);
    assertOnlyProtocolErrors(() => decodeRequestFrame(frame), `api ${key}`);
  }), { numRuns: 3000 });
});
