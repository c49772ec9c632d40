// DescribeLogDirs (key 35), byte by byte: each version's encoding is written out here by hand
// from Kafka's DescribeLogDirs{Request,Response}.json (v0-1 classic, v2+ flexible, v3 adds the
// top-level error code, v4 the directory's total and usable bytes), so a wrong declaration
// fails. logmesh's cleaner fields travel as tagged fields 10000 and 10001 of each partition: a
// decoder that does not know them (Kafka's, or ours without them) skips them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiKeys, Reader, decodeRequest, decodeResponse, encodeRequest, encodeResponse,
} from '../../../../runtime/kafka/protocol/index.js';
import { decodeMessage } from '../../../../runtime/kafka/protocol/codec.js';
import type { MessageSpec } from '../../../../runtime/kafka/protocol/schema.js';
import { DescribeLogDirsResponse } from '../../../../runtime/kafka/protocol/messages/describe-log-dirs.js';
import { ascii, fromHex, toHex } from './helpers.js';

const request = { topics: [{ topic: 'ab', partitions: [0, 3] }] };
const allTopics = { topics: null };

const requestClassic = `
  00000001                # topics: 1
  0002 ${ascii('ab')}     # topic
  00000002 00000000 00000003  # partitions [0, 3]`;
const requestFlexible = `
  02                      # topics: compact array, 1 + 1
  03 ${ascii('ab')}       # compact string, length + 1
  03 00000000 00000003    # partitions: compact array of 2
  00                      # the topic's tagged fields
  00                      # tagged fields`;

/** A compacted partition (dirty ratio 0.25, cleaner lag 1500 ms) and a plain one (cleaner fields -1, left out). */
function response(version: number) {
  const partitions = [
    { partitionIndex: 0, partitionSize: 4096, offsetLag: 0, isFutureKey: false, logmeshDirtyRatio: 0.25, logmeshCleanerLagMs: 1500 },
    { partitionIndex: 3, partitionSize: 70, offsetLag: 2, isFutureKey: false, logmeshDirtyRatio: -1, logmeshCleanerLagMs: -1 },
  ];
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    results: [{
      errorCode: 0, logDir: '/d', topics: [{ name: 'ab', partitions }],
      totalBytes: version >= 4 ? 1_000_000 : -1, usableBytes: version >= 4 ? 600_000 : -1,
    }],
  };
}

const responseClassic = `
  00000000                # throttleTimeMs
  00000001                # results: 1
  0000 0002 ${ascii('/d')}  # errorCode, logDir
  00000001 0002 ${ascii('ab')}  # topics: 1, name
  00000002                # partitions: 2
  00000000 0000000000001000 0000000000000000 00  # index 0, size 4096, lag 0, not future
  00000003 0000000000000046 0000000000000002 00  # index 3, size 70, lag 2`;

/** v2-4: compact encodings and tagged fields; the compacted partition carries tags 10000 and 10001. */
function responseFlexible(version: number): string {
  return `
  00000000                # throttleTimeMs
  ${version >= 3 ? '0000  # errorCode (v3+)' : ''}
  02                      # results: 1 + 1
  0000 03 ${ascii('/d')}  # errorCode, logDir
  02 03 ${ascii('ab')}    # topics: 1 + 1, name
  03                      # partitions: 2 + 1
  00000000 0000000000001000 0000000000000000 00
  02                      # tagged fields: 2
  904e 08 3fd0000000000000  # tag 10000 (varint 90 4e), 8 bytes: 0.25
  914e 08 00000000000005dc  # tag 10001, 8 bytes: 1500
  00000003 0000000000000046 0000000000000002 00
  00                      # no tagged fields: -1 is the default
  00                      # the topic's tagged fields
  ${version >= 4 ? '00000000000f4240 00000000000927c0  # totalBytes 1,000,000, usableBytes 600,000 (v4+)' : ''}
  00                      # the result's tagged fields
  00                      # tagged fields`;
}

test('DescribeLogDirs v0-4: requests and responses encode to the hand-written bytes and decode back', () => {
  for (const version of [0, 1, 2, 3, 4]) {
    const flexible = version >= 2;
    const requestBytes = encodeRequest(ApiKeys.DescribeLogDirs, version, request);
    assert.equal(toHex(requestBytes), toHex(fromHex(flexible ? requestFlexible : requestClassic)), `request v${version}`);
    assert.deepEqual(decodeRequest(ApiKeys.DescribeLogDirs, version, new Reader(requestBytes)), request);
    // Null topics: every partition of the broker.
    const nullBytes = encodeRequest(ApiKeys.DescribeLogDirs, version, allTopics);
    assert.equal(toHex(nullBytes), flexible ? '0000' : 'ffffffff', `null topics v${version}`);
    assert.deepEqual(decodeRequest(ApiKeys.DescribeLogDirs, version, new Reader(nullBytes)), allTopics);

    const expected = response(version);
    const responseBytes = encodeResponse(ApiKeys.DescribeLogDirs, version, expected);
    assert.equal(toHex(responseBytes), toHex(fromHex(flexible ? responseFlexible(version) : responseClassic)), `response v${version}`);
    const decoded = decodeResponse(ApiKeys.DescribeLogDirs, version, new Reader(responseBytes));
    // Classic versions have no tags: the cleaner fields read as their defaults.
    const seen = flexible ? expected : {
      ...expected,
      results: expected.results.map((r) => ({
        ...r, topics: r.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, logmeshDirtyRatio: -1, logmeshCleanerLagMs: -1 })) })),
      })),
    };
    assert.deepEqual(decoded, seen, `decoded v${version}`);
  }
});

/** The response as Kafka declares it: the same fields without logmesh's tags. */
function withoutLogmeshTags(spec: MessageSpec): MessageSpec {
  const strip = (fields: MessageSpec['fields']): MessageSpec['fields'] => fields
    .filter((f) => f.tag === undefined)
    .map((f) => (f.fields === undefined ? f : { ...f, fields: strip(f.fields) }));
  return { ...spec, fields: strip(spec.fields) };
}

test('a client that knows only Kafka\'s fields reads a response with logmesh\'s cleaner tags, skipping them', () => {
  const kafkaSpec = withoutLogmeshTags(DescribeLogDirsResponse);
  const bytes = encodeResponse(ApiKeys.DescribeLogDirs, 4, response(4));
  const reader = new Reader(bytes);
  const decoded = decodeMessage(kafkaSpec, 4, reader) as { results: Array<{ topics: Array<{ partitions: Array<Record<string, unknown>> }>; totalBytes: number }> };
  assert.equal(reader.remaining, 0);
  const partitions = decoded.results[0]!.topics[0]!.partitions;
  assert.deepEqual(partitions, [
    { partitionIndex: 0, partitionSize: 4096, offsetLag: 0, isFutureKey: false },
    { partitionIndex: 3, partitionSize: 70, offsetLag: 2, isFutureKey: false },
  ]);
  assert.equal(decoded.results[0]!.totalBytes, 1_000_000);
});
