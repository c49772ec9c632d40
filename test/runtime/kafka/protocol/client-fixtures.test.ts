// Bodies encoded by real clients (kafkajs, sarama) and returned by real brokers: each decodes
// completely and re-encodes to the very same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiByKey, decodeMessage, decodeResponse, encodeMessage, encodeResponse, KafkaProtocolError, Reader,
  supportedApiVersions, Writer,
} from '../../../../runtime/kafka/protocol/index.js';
import { allBodyFixtures, bodyFixture, fromHex, toHex } from './helpers.js';
import type { BodyFixture } from './fixtures/kafkajs.js';

// Fixtures that must fail, and why.
const expectedFailures = new Map<string, RegExp>([
  // A broker that leaves out the v1 throttle time (kafkajs issue 491): a v0 body.
  ['apiVersions/fixtures/v1_response_missing_throttle_time.json', /^ApiVersions v1 response field throttleTimeMs: truncated/],
  // sarama puts 0x0102030405060708 in a diverging epoch's end offset: beyond 2^53.
  ['fetch_response_test.go preferredReplicaFetchResponseV12',
    /^Fetch v12 response field responses\[0\]\.partitions\[0\]\.divergingEpoch\.endOffset: int64 72623859790382856 is beyond 2\^53/],
]);

function specOf(fixture: BodyFixture) {
  const api = apiByKey(fixture.apiKey);
  assert.ok(api, `api ${fixture.apiKey}`);
  return fixture.part === 'request' ? api.request : api.response;
}

function roundTrip(fixture: BodyFixture): void {
  const spec = specOf(fixture);
  const bytes = fromHex(fixture.hex);
  const reader = new Reader(bytes);
  const body = decodeMessage(spec, fixture.version, reader);
  assert.equal(reader.remaining, 0, `${fixture.source}: ${reader.remaining} bytes not decoded`);
  assert.equal(toHex(encodeMessage(spec, fixture.version, body, new Writer()).written()), fixture.hex, fixture.source);
}

test('every kafkajs and sarama body fixture decodes completely and re-encodes to the same bytes', () => {
  assert.ok(allBodyFixtures.length > 300);
  for (const fixture of allBodyFixtures) {
    const expected = expectedFailures.get(fixture.source);
    if (expected === undefined) {
      roundTrip(fixture);
      continue;
    }
    assert.throws(() => roundTrip(fixture), (error: unknown) => {
      assert.ok(error instanceof KafkaProtocolError);
      assert.match(error.message, expected);
      return true;
    });
  }
});

test('the fixtures cover every api, and flexible versions of most', () => {
  const keys = new Set(allBodyFixtures.map((f) => f.apiKey));
  const missing = supportedApiVersions().map((a) => a.apiKey).filter((k) => !keys.has(k));
  // OffsetForLeaderEpoch, SaslHandshake, ListGroups requests, DescribeLogDirs, DescribeCluster
  // and the ACL and SCRAM credential APIs have no client fixture; the schema-driven round trip
  // covers them, the security tests run the ACL APIs with kafkajs
  // (test/runtime/kafka/security-clients.test.ts), and a test checks
  // DescribeLogDirs against Kafka's bytes (protocol/describe-log-dirs.test.ts).
  assert.deepEqual(missing, [17, 23, 29, 30, 31, 35, 50, 51, 60]);
  const flexible = allBodyFixtures.filter((f) => f.version >= apiByKey(f.apiKey)!.firstFlexibleVersion);
  assert.ok(flexible.length >= 60, `${flexible.length} flexible fixtures`);
});

test('ApiVersions bodies in v0 form decode as v0: a broker without throttle time, UNSUPPORTED_VERSION answers', () => {
  const fixture = bodyFixture('apiVersions/fixtures/v1_response_missing_throttle_time.json');
  const body = decodeResponse(18, 0, new Reader(fromHex(fixture.hex)));
  assert.equal(body.errorCode, 0);
  assert.equal(body.apiKeys.length, 34);
  assert.deepEqual(body.apiKeys[0], { apiKey: 0, minVersion: 0, maxVersion: 3 });

  const sarama = bodyFixture('api_versions_response_test.go apiVersionsResponseUnsupportedVersionV4');
  const fromSarama = decodeResponse(18, 0, new Reader(fromHex(sarama.hex)));
  assert.deepEqual(fromSarama, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false });
});

test('sarama fetch v12 response with a safe end offset: tagged diverging epoch and current leader', () => {
  const fixture = bodyFixture('fetch_response_test.go preferredReplicaFetchResponseV12');
  // Same bytes with the diverging epoch's end offset 0x0102030405060708 -> 0x05060708.
  const patchedHex = fixture.hex.replace('0000007701020304050607080', '0000007700000000050607080');
  assert.notEqual(patchedHex, fixture.hex);
  const bytes = fromHex(patchedHex);
  const reader = new Reader(bytes);
  const body = decodeResponse(1, 12, reader);
  assert.equal(reader.remaining, 0);
  const partition = body.responses[0]!.partitions[0]!;
  assert.deepEqual(partition.divergingEpoch, { epoch: 0x77, endOffset: 0x05060708 });
  assert.deepEqual(partition.currentLeader, { leaderId: 9, leaderEpoch: 0x88 });
  assert.deepEqual(partition.snapshotId, { endOffset: -1, epoch: -1 });
  assert.equal(partition.preferredReadReplica, 3);
  assert.deepEqual(partition.abortedTransactions, []);
  assert.deepEqual(partition.records, new Uint8Array(0));
  assert.equal(toHex(encodeResponse(1, 12, body)), patchedHex);
});
