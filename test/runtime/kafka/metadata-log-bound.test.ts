// __cluster_metadata stays bounded, as KRaft's does: on a one-node cluster whose controller
// snapshots every 20 entries (metadata.snapshot.entries), 40 topics are created and deleted
// through the Kafka listener, more than three times the threshold in metadata log entries.
// The controller's Raft store then holds a snapshot near the last index and, on disk, only the
// entries after it: the prefix a snapshot covers is dropped from the log file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerActorId } from '../../../actors/controller/controller-machine.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { parseConfig } from '../../../runtime/ops/config.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { metadataDirName, startNodeHost } from '../../../runtime/ops/node-host.js';
import { FileStoragePort } from '../../../runtime/storage/raft-store.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { waitUntil } from './single-node.js';

const port = 21097;
const snapshotEntries = 20;
const topicCycles = 40;

test('the metadata log is cut at each snapshot: after 3x metadata.snapshot.entries of topic changes only the entries after the snapshot stay on disk', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-metadata-bound-'));
  const failures: Error[] = [];
  const host = await startNodeHost({
    config: parseConfig([
      'node.id=1', 'controller.quorum.voters=1', 'cluster.id=bound', `log.dirs=${dir}`, `listeners=PLAINTEXT://127.0.0.1:${port}`,
      `metadata.snapshot.entries=${snapshotEntries}`,
    ].join('\n'), 'test'),
    transport: new InProcessHub().transportFor(1), logger: silentLogger, registry: null, onFatal: (error) => failures.push(error),
  });
  let client: KafkaClient | null = null;
  let stopped = false;
  try {
    client = await KafkaClient.connect(port);
    const bootstrap = client;
    await waitUntil('a live broker', 20_000, async () => {
      const metadata = await bootstrap.request(ApiKeys.Metadata, 1, { topics: [] });
      return metadata.brokers.length === 1 ? true : undefined;
    });
    for (let i = 0; i < topicCycles; i++) {
      const name = `churn-${i}`;
      const created = await bootstrap.request(ApiKeys.CreateTopics, 5, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000,
      });
      assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE, created.topics[0]?.errorMessage ?? '');
      const deleted = await bootstrap.request(ApiKeys.DeleteTopics, 4, { topicNames: [name], timeoutMs: 10_000 });
      assert.equal(deleted.responses[0]?.errorCode, ErrorCode.NONE);
    }
    const logFile = join(dir, metadataDirName, controllerActorId, 'log');
    const liveLogBytes = statSync(logFile).size;
    client.close();
    client = null;
    await host.stop();
    stopped = true;

    // What a restarted controller would load.
    const durable = new FileStoragePort(join(dir, metadataDirName), silentLogger, (error) => failures.push(error)).load(controllerActorId);
    const snapshotIndex = durable.snapshot?.lastIndex ?? 0;
    const lastIndex = durable.entries.at(-1)?.index ?? snapshotIndex;
    console.log(`metadata log: last index ${lastIndex}, snapshot at ${snapshotIndex}, ${durable.entries.length} entries on disk `
      + `(${statSync(logFile).size} bytes; ${liveLogBytes} while running)`);
    assert.ok(lastIndex > 3 * snapshotEntries, `${lastIndex} metadata entries were written`);
    assert.ok(snapshotIndex > lastIndex - snapshotEntries, `the snapshot (at ${snapshotIndex}) is within ${snapshotEntries} entries of the end (${lastIndex})`);
    assert.ok(durable.entries.length < snapshotEntries, `${durable.entries.length} entries stay in the log file`);
    assert.equal(durable.entries[0]?.index ?? snapshotIndex + 1, snapshotIndex + 1, 'the log starts right after the snapshot');
    assert.deepEqual(failures, []);
  } finally {
    client?.close();
    if (!stopped) await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
