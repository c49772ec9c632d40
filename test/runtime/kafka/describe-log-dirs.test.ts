// DescribeLogDirs against a one-node cluster in this process (port 21105), with an authorizer
// on a SASL_PLAINTEXT listener: the super user gets the node's log directory with each
// partition log's size, a topic filter narrows it, a compacted log carries logmesh's cleaner
// fields from v2 on; a user without DESCRIBE on the cluster gets CLUSTER_AUTHORIZATION_FAILED
// (v3+) and no directories, as Kafka answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { startSingleNode, waitUntil } from './single-node.js';

const port = 21105;
const utf8 = new TextEncoder();

test('DescribeLogDirs: the node\'s log dir and partition sizes for CLUSTER DESCRIBE, cleaner fields on compacted logs, CLUSTER_AUTHORIZATION_FAILED otherwise', { timeout: 90_000 }, async () => {
  const node = await startSingleNode([
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'sasl.bootstrap.users=admin:admin-secret,alice:alice-secret',
    'super.users=User:admin', 'sasl.enabled.mechanisms=PLAIN',
  ], null, { port, protocol: 'SASL_PLAINTEXT', clientSecurity: { sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' } } });
  try {
    const admin = await node.connect();
    const created = await admin.request(ApiKeys.CreateTopics, 5, {
      topics: [
        { name: 'plain', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'latest', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
      timeoutMs: 10_000,
    });
    assert.deepEqual(created.topics.map((t) => t.errorCode), [0, 0]);
    const records = encodeRecordBatch([{ key: utf8.encode('k'), value: utf8.encode('a value of some length') }]);
    for (const topic of ['plain', 'latest']) {
      await waitUntil(`${topic} to take a write`, 10_000, async () => {
        const answer = await admin.request(ApiKeys.Produce, 7, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
        return answer.responses[0]?.partitionResponses[0]?.errorCode === ErrorCode.NONE ? true : undefined;
      });
    }

    const all = await admin.request(ApiKeys.DescribeLogDirs, 4, { topics: null });
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.equal(all.results.length, 1);
    const dir = all.results[0]!;
    assert.equal(dir.errorCode, ErrorCode.NONE);
    assert.equal(dir.logDir, resolve(node.host.config.logDirs[0]!));
    assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes, `total ${dir.totalBytes}, usable ${dir.usableBytes}`);
    const byName = new Map(dir.topics.map((t) => [t.name, t.partitions]));
    assert.deepEqual(byName.get('plain')?.map((p) => p.partitionIndex), [0, 1]);
    const [written, empty] = byName.get('plain')!;
    assert.equal(written!.partitionSize, records.length, 'the one batch written');
    assert.equal(empty!.partitionSize, 0);
    for (const p of byName.get('plain')!) assert.deepEqual([p.offsetLag, p.isFutureKey, p.logmeshDirtyRatio, p.logmeshCleanerLagMs], [0, false, -1, -1]);
    const compacted = byName.get('latest')![0]!;
    assert.equal(compacted.partitionSize, records.length);
    // Nothing closed yet: nothing cleanable, so nothing dirty.
    assert.deepEqual([compacted.logmeshDirtyRatio, compacted.logmeshCleanerLagMs], [0, 0], 'a compacted log reports its cleaner fields');

    const narrowed = await admin.request(ApiKeys.DescribeLogDirs, 1, { topics: [{ topic: 'plain', partitions: [1] }, { topic: 'missing', partitions: [0] }] });
    assert.deepEqual(narrowed.results[0]!.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [['plain', [1]]]);
    const classic = await admin.request(ApiKeys.DescribeLogDirs, 1, { topics: [{ topic: 'latest', partitions: [0] }] });
    assert.equal(classic.results[0]!.topics[0]!.partitions[0]!.logmeshDirtyRatio, -1, 'v0-1 have no tagged fields');

    const alice = await node.connect({ sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' } });
    const refused = await alice.request(ApiKeys.DescribeLogDirs, 4, { topics: null });
    assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.deepEqual(refused.results, []);
    const refusedClassic = await alice.request(ApiKeys.DescribeLogDirs, 0, { topics: null });
    assert.deepEqual(refusedClassic.results, [], 'before v3 there is no error code: no directories');
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
