// Compacted topics on a one-node cluster, through the Kafka listener: the node's cleaner
// shrinks a compacted topic on disk; its metrics count the bytes cleaned and show the dirty
// ratio fall; compaction settings are checked at creation; a record without a key is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { Registry } from 'prom-client';
import { type KafkaClient } from '../../../runtime/kafka/client.js';
import { startSingleNode, waitUntil } from './single-node.js';

const utf8 = new TextEncoder();

/** Bytes of a partition's segment files on the node's disk. */
function segmentBytesOnDisk(logDir: string, store: string): number {
  const dir = join(logDir, store);
  return readdirSync(dir).filter((name) => name.endsWith('.log')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

test('the node\'s cleaner shrinks a compacted topic on disk after many updates to few keys', { timeout: 60_000 }, async () => {
  const node = await startSingleNode(['log.cleaner.backoff.ms=50', 'log.cleaner.dedupe.buffer.size=1048576']);
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, {
      topics: [{
        name: 'latest', numPartitions: 1, replicationFactor: 1, assignments: [],
        configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '4096' }],
      }],
      timeoutMs: 10_000,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE, created.topics[0]?.errorMessage ?? '');
    const keys = 5;
    const rounds = 60;
    let written = 0;
    for (let round = 0; round < rounds; round++) {
      const records = encodeRecordBatch(Array.from({ length: keys }, (_, k) => ({
        key: utf8.encode(`key-${k}`), value: utf8.encode(`round ${round} of key ${k}, padded to take some room on disk`),
      })));
      written += records.length;
      const answer = await waitUntil(`round ${round} to be written`, 10_000, async () => {
        const produced = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 2000, topicData: [{ name: 'latest', partitionData: [{ index: 0, records }] }] });
        const response = produced.responses[0]?.partitionResponses[0];
        return response?.errorCode === ErrorCode.NONE ? response : undefined;
      });
      assert.equal(Number(answer.baseOffset), round * keys);
    }
    const logDir = node.host.config.logDirs[0]!;
    assert.ok(written > 3 * 4096, `several segments' worth was written (${written} bytes)`);
    // The active segment is never cleaned: at most one segment of it plus one record per key.
    const cleaned = await waitUntil('the cleaner to compact the topic', 20_000, async () => {
      const size = segmentBytesOnDisk(logDir, 'latest-0');
      return size <= 4096 + keys * 200 ? size : undefined;
    });
    assert.ok(cleaned < written / 2, `${written} bytes written, ${cleaned} on disk after cleaning`);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});

/** The value of one series of the registry (0 when absent). */
async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number }>;
  return values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((sum, v) => sum + v.value, 0);
}

/** Writes `rounds` batches of one update to each of `keys` keys to partition 0 (acks=all). */
async function writeRounds(client: KafkaClient, topic: string, keys: number, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const records = encodeRecordBatch(Array.from({ length: keys }, (_, k) => ({
      key: utf8.encode(`key-${k}`), value: utf8.encode(`round ${round} of key ${k}, padded to take some room on disk`),
    })));
    await waitUntil(`round ${round} to be written`, 10_000, async () => {
      const produced = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 2000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
      return produced.responses[0]?.partitionResponses[0]?.errorCode === ErrorCode.NONE ? true : undefined;
    });
  }
}

test('the cleaner metrics: a pass counts bytes cleaned and the dirty ratio falls', { timeout: 60_000 }, async () => {
  const registry = new Registry();
  // The loop waits an hour between looks: the test runs the one pass itself.
  const node = await startSingleNode(['log.cleaner.backoff.ms=3600000'], registry, { port: 21095 });
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, {
      topics: [{
        name: 'measured', numPartitions: 1, replicationFactor: 1, assignments: [],
        configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '4096' }],
      }],
      timeoutMs: 10_000,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE, created.topics[0]?.errorMessage ?? '');
    await writeRounds(client, 'measured', 5, 60);
    const labels = { topic: 'measured', partition: '0' };
    // Nothing was ever cleaned: every closed segment is dirty.
    const dirtyBefore = await waitUntil('a dirty compacted log in the metrics', 10_000, async () => {
      const ratio = await metricValue(registry, 'logmesh_log_dirty_ratio', labels);
      return ratio > 0.9 ? ratio : undefined;
    });
    assert.equal(await metricValue(registry, 'logmesh_log_cleaner_bytes_cleaned_total'), 0);
    assert.ok(await metricValue(registry, 'logmesh_log_cleaner_max_lag_seconds') >= 0);
    const pass = await waitUntil('a cleaning pass', 10_000, async () => (await node.host.storage.cleanOnce(Date.now())) ?? undefined);
    assert.equal(pass.store, 'measured-0');
    const cleaned = await metricValue(registry, 'logmesh_log_cleaner_bytes_cleaned_total');
    assert.equal(cleaned, pass.stats.bytesRead);
    assert.ok(cleaned > 3 * 4096, `bytes cleaned ${cleaned}`);
    assert.equal(await metricValue(registry, 'logmesh_log_cleaner_passes_total'), 1);
    assert.equal(await metricValue(registry, 'logmesh_log_cleaner_errors_total'), 0);
    assert.ok(await metricValue(registry, 'logmesh_log_cleaner_records_removed_total') > 0);
    const dirtyAfter = await metricValue(registry, 'logmesh_log_dirty_ratio', labels);
    assert.ok(dirtyAfter < dirtyBefore, `dirty ratio ${dirtyBefore} -> ${dirtyAfter}`);
    assert.equal(dirtyAfter, pass.stats.dirtyRatioAfter);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});

test('CreateTopics takes the compaction settings, refuses bad ones naming the key, and a keyless record gets INVALID_RECORD', { timeout: 60_000 }, async () => {
  const node = await startSingleNode();
  try {
    const client = await node.connect();
    const create = (name: string, configs: Array<{ name: string; value: string }>, validateOnly = false) =>
      client.request(ApiKeys.CreateTopics, 5, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }], timeoutMs: 10_000, validateOnly,
      }).then((answer) => answer.topics[0]!);
    const accepted = await create('events', [
      { name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' },
      { name: 'min.compaction.lag.ms', value: '0' }, { name: 'max.compaction.lag.ms', value: '600000' },
      { name: 'delete.retention.ms', value: '1000' },
    ]);
    assert.equal(accepted.errorCode, ErrorCode.NONE, accepted.errorMessage ?? '');
    const refusals: Array<[string, string, string]> = [
      ['min.cleanable.dirty.ratio', '1.5', ''],
      ['max.compaction.lag.ms', '0', ''],
      ['delete.retention.ms', '-2', ''],
      ['max.compaction.lag.ms', '100', 'min.compaction.lag.ms'],
    ];
    for (const [key, value, alsoSet] of refusals) {
      const configs = [{ name: 'cleanup.policy', value: 'compact' }, { name: key, value }];
      if (alsoSet !== '') configs.push({ name: alsoSet, value: '1000' });
      for (const validateOnly of [true, false]) {
        const refused = await create(`bad-${key}`, configs, validateOnly);
        assert.equal(refused.errorCode, ErrorCode.INVALID_CONFIG, `${key}=${value} (validateOnly ${validateOnly})`);
        assert.match(refused.errorMessage ?? '', new RegExp(key.replace(/\./g, '\\.')), `the message names ${key}`);
      }
    }
    const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [{ name: 'bad-max.compaction.lag.ms' }] });
    assert.notEqual(metadata.topics[0]?.errorCode, ErrorCode.NONE, 'a refused topic is not created');

    const produce = (records: Uint8Array) => waitUntil('an answer from the leader', 10_000, async () => {
      const answer = await client.request(ApiKeys.Produce, 8, { acks: -1, timeoutMs: 2000, topicData: [{ name: 'events', partitionData: [{ index: 0, records }] }] });
      const response = answer.responses[0]?.partitionResponses[0];
      return response !== undefined && response.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && response.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE ? response : undefined;
    });
    const keyless = await produce(encodeRecordBatch([{ key: null, value: utf8.encode('no key') }]));
    assert.equal(keyless.errorCode, ErrorCode.INVALID_RECORD);
    assert.match(keyless.errorMessage ?? '', /without a key/);
    const keyed = await produce(encodeRecordBatch([{ key: utf8.encode('k'), value: utf8.encode('v') }]));
    assert.equal(keyed.errorCode, ErrorCode.NONE);
    assert.equal(Number(keyed.baseOffset), 0, 'the refused batch took no offset');
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
