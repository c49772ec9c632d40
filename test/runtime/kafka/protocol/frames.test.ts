// Whole frames, byte by byte, as real clients send them: the layouts follow the Kafka
// protocol guide (https://kafka.apache.org/protocol) and each client's own encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRequestFrame, decodeResponseFrame, encodeApiVersionsFallbackFrame, encodeRequestFrame, encodeResponseFrame,
  encodeResponseFrameChunks, KafkaProtocolError, responseSpliceBytesMin, ApiKeys, supportedApiVersions, UnsupportedVersionError, type DecodedRequest,
} from '../../../../runtime/kafka/protocol/index.js';
import { kafkajsProduceBatch } from '../../../fixtures/record-batches.js';
import { ascii, fromHex, toHex, withoutSize } from './helpers.js';
import { kafkajsFetchV11, kafkajsMetadataV1, kafkajsProduceV3, librdkafkaApiVersionsV3 } from './fixtures/frames.js';

const nullUuid = '00000000-0000-0000-0000-000000000000';

function sized(payloadHex: string): Uint8Array {
  const payload = fromHex(payloadHex);
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setInt32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

function decodeFrame(hex: string): DecodedRequest {
  return decodeRequestFrame(fromHex(hex));
}

test('librdkafka ApiVersions v3 request: header v2 with a classic client id, compact strings', () => {
  const request = decodeFrame(librdkafkaApiVersionsV3);
  assert.equal(request.apiKey, 18);
  assert.equal(request.apiName, 'ApiVersions');
  assert.equal(request.apiVersion, 3);
  assert.deepEqual(request.header, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.deepEqual(request.body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });

  const again = encodeRequestFrame({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' }, request.body);
  assert.equal(toHex(again), toHex(sized(librdkafkaApiVersionsV3)));
});

test('the ApiVersions v3 response has response header v0 and lists exactly what the codec implements', () => {
  const frame = encodeResponseFrame(18, 3, 1, { errorCode: 0, apiKeys: supportedApiVersions(), throttleTimeMs: 0 });
  const payload = withoutSize(frame);
  const apis = supportedApiVersions();
  const expected = [
    '00000001',                       // correlation id; no header tagged fields (header v0)
    '0000',                           // error code
    (apis.length + 1).toString(16).padStart(2, '0'), // compact array: count + 1
    ...apis.map((a) => [a.apiKey, a.minVersion, a.maxVersion].map((n) => n.toString(16).padStart(4, '0')).join('') + '00'),
    '00000000',                       // throttle time
    '00',                             // body tagged fields: none
  ].join('');
  assert.equal(toHex(payload), expected);
  const decoded = decodeResponseFrame(18, 3, payload);
  assert.equal(decoded.correlationId, 1);
  assert.deepEqual(decoded.body.apiKeys, apis);
});

test('a flexible response other than ApiVersions has response header v1 (tagged fields)', () => {
  const payload = withoutSize(encodeResponseFrame(3, 9, 7, { brokers: [], topics: [] }));
  assert.equal(toHex(payload.subarray(0, 5)), '0000000700');
  const legacy = withoutSize(encodeResponseFrame(3, 8, 7, { brokers: [], topics: [] }));
  assert.equal(toHex(legacy.subarray(0, 4)), '00000007');
  // v8: 4 correlation id + 4 throttle + 4 brokers + 2 cluster id + 4 controller + 4 topics + 4 cluster ops;
  // v9: compact counts and null string (1 byte each), header and body tags.
  assert.deepEqual([legacy.length, payload.length], [26, 21]);
});

test('kafkajs Metadata v1 request: topics by name, v4+ fields at their defaults', () => {
  const request = decodeFrame(kafkajsMetadataV1);
  assert.equal(request.apiKey, 3);
  assert.deepEqual(request.header, { requestApiKey: 3, requestApiVersion: 1, correlationId: 0, clientId: 'kafkajs' });
  assert.deepEqual(request.body, {
    topics: [{ topicId: nullUuid, name: 'test-topic-1' }, { topicId: nullUuid, name: 'test-topic-2' }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const again = encodeRequestFrame({ apiKey: 3, apiVersion: 1, correlationId: 0, clientId: 'kafkajs' }, request.body);
  assert.equal(toHex(again), toHex(sized(kafkajsMetadataV1)));

  // A null topic array (v1+) asks for every topic.
  const allTopics = decodeFrame(`0003 0001 00000001 0007 ${ascii('kafkajs')} ffffffff`);
  assert.equal(allTopics.apiKey === 3 && allTopics.body.topics, null);
});

test('kafkajs Produce v3 request: records stay an undecoded view into the frame', () => {
  const frame = fromHex(kafkajsProduceV3);
  const request = decodeRequestFrame(frame);
  assert.equal(request.apiKey, 0);
  if (request.apiKey !== 0) return;
  assert.equal(request.header.correlationId, 5);
  assert.equal(request.body.transactionalId, null);
  assert.equal(request.body.acks, -1);
  assert.equal(request.body.timeoutMs, 30000);
  const topic = request.body.topicData[0]!;
  assert.equal(topic.name, 'test-topic-ebba68879c6f5081d8c2');
  const partition = topic.partitionData[0]!;
  assert.equal(partition.index, 0);
  const records = partition.records!;
  assert.deepEqual(records, kafkajsProduceBatch);
  assert.equal(records.buffer, frame.buffer, 'a view, not a copy');
  assert.equal(records.byteOffset, frame.byteOffset + frame.length - kafkajsProduceBatch.length);

  const again = encodeRequestFrame({ apiKey: 0, apiVersion: 3, correlationId: 5, clientId: 'kafkajs' }, request.body);
  assert.equal(toHex(again), toHex(sized(kafkajsProduceV3)));
});

test('kafkajs Fetch v11 request: session fields, rack id, current leader epoch', () => {
  const request = decodeFrame(kafkajsFetchV11);
  assert.equal(request.apiKey, 1);
  if (request.apiKey !== 1) return;
  assert.deepEqual(request.body, {
    clusterId: null,
    replicaId: -1,
    maxWaitMs: 100,
    minBytes: 1,
    maxBytes: 10485760,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic: 'test-topic-2077b9d2b36c4082e594-4020-b5a52b27-56df-4b87-800d-82c1cf26317d',
      partitions: [{
        partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1,
        partitionMaxBytes: 1048576,
      }],
    }],
    forgottenTopicsData: [],
    rackId: 'rack1',
  });
  const again = encodeRequestFrame({ apiKey: 1, apiVersion: 11, correlationId: 6, clientId: 'kafkajs' }, request.body);
  assert.equal(toHex(again), toHex(sized(kafkajsFetchV11)));
});

test('Fetch v12 request: flexible header and body, the cluster id as a tagged field', () => {
  const body = {
    clusterId: 'c1', replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 52428800, isolationLevel: 0,
    sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 't', partitions: [{ partition: 2, fetchOffset: 7, partitionMaxBytes: 1048576 }] }],
  };
  const hex = `
    0001 000c 00000009 0002 ${ascii('me')} 00  # header v2
    ffffffff 000001f4 00000001 03200000 00 00000000 ffffffff
    02 02 ${ascii('t')}                        # topics: 1 (compact), name "t"
    02 00000002 ffffffff 0000000000000007 ffffffff ffffffffffffffff 00100000 00
    00                                         # topic tags
    01                                         # forgotten topics: none (compact)
    01                                         # rack id: "" (compact)
    01 00 03 03 ${ascii('c1')}                 # one tagged field: tag 0, 3 bytes, "c1"
  `;
  const frame = encodeRequestFrame({ apiKey: 1, apiVersion: 12, correlationId: 9, clientId: 'me' }, body);
  assert.equal(toHex(frame), toHex(sized(hex)));
  const decoded = decodeRequestFrame(withoutSize(frame));
  assert.equal(decoded.apiKey === 1 && decoded.body.clusterId, 'c1');
  assert.equal(decoded.apiKey === 1 && decoded.body.topics[0]!.partitions[0]!.lastFetchedEpoch, -1);
});

test('an ApiVersions version the codec does not know: UnsupportedVersionError with the correlation id', () => {
  // A newer client asks for ApiVersions v4 (header v2, like v3).
  const v4 = librdkafkaApiVersionsV3.replace('0003   ', '0004   ').replace('00000001  ', '0000002a  ');
  assert.throws(() => decodeFrame(v4), (error: unknown) => {
    assert.ok(error instanceof UnsupportedVersionError);
    assert.ok(!(error instanceof KafkaProtocolError));
    assert.equal(error.code, 'UNSUPPORTED_VERSION');
    assert.equal(error.errorCode, 35);
    assert.deepEqual([error.apiKey, error.apiVersion, error.correlationId, error.clientId, error.knownApi], [18, 4, 42, 'rdkafka', true]);
    return true;
  });
  // The answer: header v0, a v0 body with UNSUPPORTED_VERSION and every supported range.
  const payload = withoutSize(encodeApiVersionsFallbackFrame(42));
  const apis = supportedApiVersions();
  assert.equal(toHex(payload.subarray(0, 10)), `0000002a0023${apis.length.toString(16).padStart(8, '0')}`);
  assert.equal(payload.length, 10 + apis.length * 6);
  const decoded = decodeResponseFrame(18, 0, payload);
  assert.deepEqual(decoded.body.apiKeys, apis);
  assert.equal(decoded.body.errorCode, 35);
});

test('unknown api keys and versions beyond the table are UnsupportedVersionError, not malformed', () => {
  const cases: [string, number, number, boolean][] = [
    ['0039 0000 00000003 0003 616263', 57, 0, false], // UpdateFeatures, not implemented
    ['7fff 0000 00000003 ffff', 0x7fff, 0, false],
    ['0000 000a 00000003 0003 616263 00 00', 0, 10, true], // Produce v10 (flexible header)
    ['0001 ffff 00000003 0003 616263', 1, -1, true],
  ];
  for (const [hex, apiKey, apiVersion, knownApi] of cases) {
    assert.throws(() => decodeFrame(hex), (error: unknown) => {
      assert.ok(error instanceof UnsupportedVersionError, String(error));
      assert.deepEqual([error.apiKey, error.apiVersion, error.correlationId, error.knownApi], [apiKey, apiVersion, 3, knownApi]);
      return true;
    });
  }
});

function assertMalformed(hex: string, message: RegExp): void {
  assert.throws(() => decodeFrame(hex), (error: unknown) => {
    assert.ok(error instanceof KafkaProtocolError, String(error));
    assert.equal(error.code, 'MALFORMED');
    assert.match(error.message, message);
    return true;
  });
}

test('malformed requests: KafkaProtocolError naming the api, version and field', () => {
  const header = `0003 0001 00000000 0007 ${ascii('kafkajs')}`;
  assertMalformed(`${header} 00000001 ffff`, /^Metadata v1 request field topics\[0\]\.name: null string where none is allowed \(offset 21\)$/);
  assertMalformed(`${header} 00000001 0005 6162`, /^Metadata v1 request field topics\[0\]\.name: truncated: needs 5 bytes, 2 left/);
  assertMalformed(`${header} 7fffffff 0001 61`, /^Metadata v1 request field topics: array of 2147483647 elements cannot fit in the 3 bytes left/);
  assertMalformed(`${header} fffffffe`, /^Metadata v1 request field topics: negative array length -2/);
  assertMalformed(`${header} 00000000 00`, /^Metadata v1 request: 1 bytes left over after the body \(offset 21\)$/);
  assertMalformed('0003 00', /^RequestHeader: truncated: needs 4 bytes, 3 left/);
  assertMalformed('0003 0001 0000', /^RequestHeader v1 field correlationId: truncated/);
  assertMalformed('0012 0003 00000001 0000 00 00 01 00', /^ApiVersions v3 request field clientSoftwareName: null string where none/);
  // A tagged field whose size disagrees with its content.
  assertMalformed(`0001 000c 00000001 0000 00 ffffffff 00000000 00000000 00000000 00 00000000 ffffffff 01 01 01 01 00 02 03 ${ascii('c1')}`,
    /^Fetch v12 request field clusterId: tagged field took 3 bytes, its size says 2/);
  // A varint that never ends.
  assertMalformed('0012 0003 00000001 0000 00 ffffffffff', /^ApiVersions v3 request field clientSoftwareName: varint longer than 32 bits/);
});

test('a Fetch response as chunks: the same bytes as the frame, large records uncopied (v4 and flexible v12)', () => {
  const large = new Uint8Array(responseSpliceBytesMin + 17).map((_, i) => i & 0xff);
  const small = new Uint8Array(responseSpliceBytesMin - 1).fill(7);
  for (const version of [4, 12]) {
    const partition = (index: number, records: Uint8Array | null) => ({
      partitionIndex: index, errorCode: 0, highWatermark: 9, lastStableOffset: 9, logStartOffset: 0,
      abortedTransactions: [], preferredReadReplica: -1, records,
    });
    const body = {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{ topic: 'orders', partitions: [partition(0, large), partition(1, small), partition(2, large), partition(3, null)] }],
    };
    const chunks = encodeResponseFrameChunks(ApiKeys.Fetch, version, 5, body);
    const frame = encodeResponseFrame(ApiKeys.Fetch, version, 5, body);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(frame), `v${version}`);
    assert.equal(chunks.filter((chunk) => chunk === large).length, 2, 'each large records field is its own chunk');
    assert.ok(!chunks.includes(small), 'records below the threshold are copied into the frame');
    const decoded = decodeResponseFrame(ApiKeys.Fetch, version, withoutSize(Buffer.concat(chunks))).body;
    assert.deepEqual(decoded.responses[0]?.partitions.map((p) => p.records?.length ?? null), [large.length, small.length, large.length, null]);
  }
});
