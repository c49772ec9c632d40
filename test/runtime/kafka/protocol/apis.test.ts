import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiKeys, apiByKey, apis, decodeRequest, decodeResponse, encodeRequest, encodeResponse, Reader, requestHeaderVersion,
  responseHeaderVersion, supportedApiVersions, supportsApiVersion, UnsupportedVersionError, type ApiSpec,
} from '../../../../runtime/kafka/protocol/index.js';
import { planFor } from '../../../../runtime/kafka/protocol/codec.js';

// The versions logmesh advertises: they cover librdkafka 2.0, kafkajs 2.2 and kafka-python 2.0.
const advertised: [number, string, number, number, number][] = [
  // key, name, min, max, first flexible version
  [0, 'Produce', 0, 9, 9],
  [1, 'Fetch', 0, 12, 12],
  [2, 'ListOffsets', 0, 7, 6],
  [3, 'Metadata', 0, 12, 9],
  [8, 'OffsetCommit', 0, 8, 8],
  [9, 'OffsetFetch', 0, 8, 6],
  [10, 'FindCoordinator', 0, 4, 3],
  [11, 'JoinGroup', 0, 9, 6],
  [12, 'Heartbeat', 0, 4, 4],
  [13, 'LeaveGroup', 0, 5, 4],
  [14, 'SyncGroup', 0, 5, 4],
  [15, 'DescribeGroups', 0, 5, 5],
  [16, 'ListGroups', 0, 4, 3],
  [17, 'SaslHandshake', 0, 1, Infinity],
  [18, 'ApiVersions', 0, 3, 3],
  [19, 'CreateTopics', 0, 7, 5],
  [20, 'DeleteTopics', 0, 6, 4],
  [22, 'InitProducerId', 0, 4, 2],
  [23, 'OffsetForLeaderEpoch', 0, 4, 4],
  [24, 'AddPartitionsToTxn', 0, 3, 3],
  [25, 'AddOffsetsToTxn', 0, 3, 3],
  [26, 'EndTxn', 0, 3, 3],
  [28, 'TxnOffsetCommit', 0, 3, 3],
  [29, 'DescribeAcls', 0, 3, 2],
  [30, 'CreateAcls', 0, 3, 2],
  [31, 'DeleteAcls', 0, 3, 2],
  [32, 'DescribeConfigs', 0, 4, 4],
  [35, 'DescribeLogDirs', 0, 4, 2],
  [36, 'SaslAuthenticate', 0, 2, 2],
  [37, 'CreatePartitions', 0, 3, 2],
  [42, 'DeleteGroups', 0, 2, 2],
  [47, 'OffsetDelete', 0, 0, Infinity],
  [50, 'DescribeUserScramCredentials', 0, 0, 0],
  [51, 'AlterUserScramCredentials', 0, 0, 0],
  [60, 'DescribeCluster', 0, 0, 0],
];

test('the api table declares exactly the advertised apis and versions', () => {
  const table = (Object.values(apis) as ApiSpec[])
    .map((a) => [a.apiKey, a.name, a.minVersion, a.maxVersion, a.firstFlexibleVersion])
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  assert.deepEqual(table, advertised);
  assert.deepEqual(supportedApiVersions(), advertised.map(([apiKey, , minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })));
  for (const [key, name] of advertised) assert.equal(ApiKeys[name as keyof typeof ApiKeys], key);
});

test('every declared version of every message compiles to a plan (declarations are consistent)', () => {
  for (const api of Object.values(apis) as ApiSpec[]) {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      assert.equal(planFor(api.request, version).flexible, version >= api.firstFlexibleVersion);
      assert.equal(planFor(api.response, version).flexible, version >= api.firstFlexibleVersion);
      assert.equal(planFor(api.request, version), planFor(api.request, version), 'compiled once');
    }
    assert.throws(() => planFor(api.request, api.maxVersion + 1), /has no version/);
  }
});

test('header versions follow flexible versions; ApiVersions responses always use header v0', () => {
  for (const [key, , min, max, flexible] of advertised) {
    for (let version = min; version <= max; version++) {
      assert.equal(requestHeaderVersion(key, version), version >= flexible ? 2 : 1, `api ${key} v${version}`);
      assert.equal(responseHeaderVersion(key, version), key !== 18 && version >= flexible ? 1 : 0, `api ${key} v${version}`);
    }
  }
  // Past the table: open-ended flexible ranges still tell the header of a newer version.
  assert.equal(requestHeaderVersion(18, 4), 2);
  assert.equal(responseHeaderVersion(18, 4), 0);
  assert.equal(requestHeaderVersion(0, 11), 2);
  assert.equal(requestHeaderVersion(17, 5), 1);
  assert.equal(requestHeaderVersion(57, 1), 1);
});

test('supportsApiVersion and apiByKey', () => {
  assert.equal(supportsApiVersion(0, 9), true);
  assert.equal(supportsApiVersion(0, 10), false);
  assert.equal(supportsApiVersion(0, -1), false);
  assert.equal(supportsApiVersion(4, 0), false);
  assert.equal(supportsApiVersion(60, 0), true);
  assert.equal(supportsApiVersion(42, 2), true);
  assert.equal(supportsApiVersion(42, 3), false);
  assert.equal(supportsApiVersion(47, 0), true);
  assert.equal(supportsApiVersion(47, 1), false);
  assert.equal(apiByKey(-1), undefined);
  assert.equal(apiByKey(1.5), undefined);
  assert.equal(apiByKey(1)?.name, 'Fetch');
  assert.equal(apiByKey(42)?.name, 'DeleteGroups');
  assert.equal(apiByKey(47)?.name, 'OffsetDelete');
});

test('body-level calls by api key: typed bodies, UnsupportedVersionError for what the table lacks', () => {
  const body = encodeRequest(ApiKeys.Heartbeat, 3, { groupId: 'g', generationId: 4, memberId: 'm', groupInstanceId: null });
  assert.deepEqual(decodeRequest(ApiKeys.Heartbeat, 3, new Reader(body)), { groupId: 'g', generationId: 4, memberId: 'm', groupInstanceId: null });
  const response = encodeResponse(ApiKeys.Heartbeat, 4, { errorCode: 27 });
  assert.deepEqual(decodeResponse(ApiKeys.Heartbeat, 4, new Reader(response)), { throttleTimeMs: 0, errorCode: 27 });
  assert.throws(() => decodeRequest(ApiKeys.Heartbeat, 5, new Reader(body)), (error: unknown) =>
    error instanceof UnsupportedVersionError && error.knownApi && error.correlationId === -1);
  assert.throws(() => decodeRequest(4 as typeof ApiKeys.Heartbeat, 0, new Reader(body)), (error: unknown) =>
    error instanceof UnsupportedVersionError && !error.knownApi);
});
