// Compaction end to end with kcat (librdkafka): on a three-node cluster in this process (the
// embedded cluster's layout, on ports 21092-21094, with a quick cleaner), kcat writes 100,000
// updates to 1,000 keys into a compacted topic with three replicas and small segments. The
// active segment is never cleaned (as in Kafka), and the last updates, in it, would leave the
// older values of their keys in place below it: once segment.ms has passed, kcat writes one
// marker record under a key of its own, which rolls the segment. Once every replica holds
// every record and has cleaned all it may (everything below its active segment), each
// replica's segment files hold at most 3x the bytes of the 1,000 latest records written as
// one record batch, and kcat reading from the beginning gets exactly those 1,000 records,
// one per key, each with its latest value (and the marker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { type EmbeddedPorts, embeddedNodeConfig } from '../../../runtime/ops/embedded.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { type NodeHost, startNodeHost } from '../../../runtime/ops/node-host.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { waitUntil } from './single-node.js';

const ports: EmbeddedPorts = { kafkaPortBase: 21092, metricsPortBase: 0 };
const topic = 'latest-values';
const keyCount = 1000;
const updateCount = 100_000;
const segmentBytes = 32 * 1024;
const segmentMs = 5000;
const marker = { key: 'marker', value: 'rolls-the-segment' };
const utf8 = new TextEncoder();
const kcatFound = spawnSync('kcat', ['-V']).status === 0;
const skip = kcatFound || process.env.CI === 'true' ? false : 'kcat not installed';

const keyOf = (update: number): string => `key-${String(update % keyCount).padStart(4, '0')}`;
const valueOf = (update: number): string => `value-of-update-${update}`;

/** Runs kcat without blocking this process's event loop (the cluster lives here); kills it by pid after `timeoutMs`. */
function kcat(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Bytes of the segment files (.log) of one replica's partition directory. */
function segmentBytesOnDisk(dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith('.log')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

test('kcat: 100,000 updates to 1,000 keys on a compacted topic clean down to the 1,000 latest values', { skip, timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-compaction-kcat-'));
  const hub = new InProcessHub();
  const hosts: NodeHost[] = [];
  const failures: Error[] = [];
  let client: KafkaClient | null = null;
  try {
    for (const nodeId of [1, 2, 3]) {
      hosts.push(await startNodeHost({
        config: { ...embeddedNodeConfig(nodeId, dataDir, ports), logCleanerBackoffMs: 200, logCleanerDedupeBufferBytes: 1024 * 1024 },
        transport: hub.transportFor(nodeId), logger: silentLogger, registry: new Registry(), onFatal: (error) => failures.push(error),
      }));
    }
    client = await KafkaClient.connect(ports.kafkaPortBase);
    const bootstrap = client;
    await waitUntil('three live brokers', 20_000, async () => {
      const metadata = await bootstrap.request(ApiKeys.Metadata, 1, { topics: [] });
      return metadata.brokers.length === 3 ? true : undefined;
    });
    const created = await client.request(ApiKeys.CreateTopics, 5, {
      topics: [{
        name: topic, numPartitions: 1, replicationFactor: 3, assignments: [],
        configs: [
          { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(segmentBytes) },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' }, { name: 'segment.ms', value: String(segmentMs) },
        ],
      }],
      timeoutMs: 10_000,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE, created.topics[0]?.errorMessage ?? '');
    await waitUntil('a leader for the topic', 20_000, async () => {
      const metadata = await bootstrap.request(ApiKeys.Metadata, 1, { topics: [{ name: topic }] });
      return (metadata.topics[0]?.partitions[0]?.leaderId ?? -1) > 0 ? true : undefined;
    });

    // Update u sets key u mod 1000: the latest value of key k is update 99,000 + k.
    const input = join(dataDir, 'updates.txt');
    writeFileSync(input, Array.from({ length: updateCount }, (_, u) => `${keyOf(u)}:${valueOf(u)}\n`).join(''));
    const bootstrapServers = `127.0.0.1:${ports.kafkaPortBase}`;
    const produceStarted = Date.now();
    // Batches of at most 500 records (about 20 KB) fit the 32 KiB segments.
    const produced = await kcat(['-P', '-b', bootstrapServers, '-t', topic, '-K', ':', '-X', 'topic.request.required.acks=-1', '-X', 'batch.num.messages=500', '-l', input], 120_000);
    assert.equal(produced.status, 0, produced.stderr);
    const produceMs = Date.now() - produceStarted;
    // segment.ms counts from the active segment's first record; the marker comes after it.
    await new Promise((resolve) => setTimeout(resolve, segmentMs + 500));
    const markerFile = join(dataDir, 'marker.txt');
    writeFileSync(markerFile, `${marker.key}:${marker.value}\n`);
    const rolled = await kcat(['-P', '-b', bootstrapServers, '-t', topic, '-K', ':', '-X', 'topic.request.required.acks=-1', '-l', markerFile], 30_000);
    assert.equal(rolled.status, 0, rolled.stderr);
    const latest = Array.from({ length: keyCount }, (_, k) => ({ key: keyOf(updateCount - keyCount + k), value: valueOf(updateCount - keyCount + k) }));
    // The yardstick: the 1,000 latest records as one uncompressed v2 record batch.
    const latestBatchBytes = encodeRecordBatch(latest.map((r) => ({ key: utf8.encode(r.key), value: utf8.encode(r.value) }))).length;
    const writtenBytes = Math.max(...hosts.map((host) => host.storage.logStatuses().find((s) => s.store === `${topic}-0`)?.sizeBytes ?? 0));

    // Done: every replica has every update and its cleaner has caught up with its active segment.
    const cleaningStarted = Date.now();
    await waitUntil('every replica to hold every update and clean up to its active segment', 120_000, async () => {
      const statuses = hosts.map((host) => host.storage.logStatuses().find((s) => s.store === `${topic}-0`));
      const done = statuses.every((s) => s !== undefined && s.logEndOffset === updateCount + 1 && s.cleaner.dirtyBytes === 0
        && s.cleaner.firstDirtyOffset === s.activeSegmentBaseOffset && s.cleaner.firstUncleanableOffset === s.activeSegmentBaseOffset);
      return done ? true : undefined;
    });
    const cleaningMs = Date.now() - cleaningStarted;
    const sizes = hosts.map((host) => segmentBytesOnDisk(join(host.config.logDirs[0]!, `${topic}-0`)));
    console.log(`kcat wrote ${updateCount} updates to ${keyCount} keys in ${produceMs} ms (the largest replica held ${writtenBytes} bytes of segments then, some already cleaned); `
      + `cleaned in ${cleaningMs} ms to ${sizes.join(', ')} bytes per replica; the ${keyCount} latest records take ${latestBatchBytes} bytes as one batch `
      + `(bound ${3 * latestBatchBytes})`);
    for (const [i, size] of sizes.entries()) {
      assert.ok(size <= 3 * latestBatchBytes, `node ${i + 1}: ${size} bytes of segments, more than 3 x ${latestBatchBytes}`);
    }

    const consumed = await kcat(['-C', '-b', bootstrapServers, '-t', topic, '-o', 'beginning', '-e', '-f', '%k %s\\n'], 60_000);
    assert.equal(consumed.status, 0, consumed.stderr);
    const lines = consumed.stdout.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, keyCount + 1, 'one record per key');
    const read = new Map(lines.map((line) => line.split(' ') as [string, string]));
    assert.equal(read.size, keyCount + 1, 'no key twice');
    assert.equal(read.get(marker.key), marker.value);
    for (const { key, value } of latest) assert.equal(read.get(key), value, `the latest value of ${key}`);
    assert.deepEqual(failures, []);
  } finally {
    client?.close();
    for (const host of hosts) await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
