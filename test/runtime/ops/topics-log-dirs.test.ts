// `logmesh topics --describe` on a compacted topic, against a three-node cluster in this
// process (ports 21100-21102): the CLI asks every broker for its log directory
// (DescribeLogDirs) and shows the cleanup policy and the leader's dirty ratio and cleaner lag.
// Segments of 4 KiB hold one batch of 10 updates to the same 10 keys each, and the cleaner
// takes a log at a dirty ratio of 0.8: after a cleaning, each closed segment adds to the dirty
// part. Once it rests between 0 and the bar the CLI must show the leader's ratio; more closed
// segments push it over, the cleaner runs and the CLI shows 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { type EmbeddedPorts, embeddedNodeConfig } from '../../../runtime/ops/embedded.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { type NodeHost, startNodeHost } from '../../../runtime/ops/node-host.js';
import type { DescribedTopic } from '../../../runtime/ops/tools/topics.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { waitUntil } from '../kafka/single-node.js';
import { cliPath } from '../real-cluster-harness.js';

const ports: EmbeddedPorts = { kafkaPortBase: 21100, metricsPortBase: 0 };
const bootstrap = `127.0.0.1:${ports.kafkaPortBase}`;
const compacted = 'account-balances';
const plain = 'audit-trail';
const keys = 10;
const segmentBytes = 4096;
const toolTimeoutMs = 60_000;
const utf8 = new TextEncoder();

/** `logmesh topics --bootstrap-server <cluster> <args>`, killed by pid after toolTimeoutMs; must succeed. */
function topicsTool(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGMESH_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, toolTimeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(stdout);
      else reject(new Error(`logmesh topics ${args.join(' ')} exited ${status}: ${stderr}`));
    });
  });
}

/** One batch setting every key, about 4.3 KB: a segment of its own. Timestamped as producers do: the cleaner lag counts from them. */
function updateBatch(round: number): Uint8Array {
  return encodeRecordBatch(Array.from({ length: keys }, (_, k) => ({
    key: utf8.encode(`account-${k}`), value: utf8.encode(`round ${round} of account ${k} `.padEnd(400, '.')), timestamp: Date.now(),
  })));
}

test('topics --describe shows the cleanup policy and the leader\'s dirty ratio from every broker\'s log dirs, before and after cleaning', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-topics-log-dirs-'));
  const hub = new InProcessHub();
  const hosts: NodeHost[] = [];
  const failures: Error[] = [];
  const clients: KafkaClient[] = [];
  try {
    for (const nodeId of [1, 2, 3]) {
      hosts.push(await startNodeHost({
        config: { ...embeddedNodeConfig(nodeId, dataDir, ports), logCleanerBackoffMs: 200 },
        transport: hub.transportFor(nodeId), logger: silentLogger, registry: new Registry(), onFatal: (error) => failures.push(error),
      }));
    }
    const client = await KafkaClient.connect(ports.kafkaPortBase);
    clients.push(client);
    await waitUntil('three live brokers', 30_000, async () => ((await client.request(ApiKeys.Metadata, 1, { topics: [] })).brokers.length === 3 ? true : undefined));
    const created = await client.request(ApiKeys.CreateTopics, 5, {
      topics: [
        {
          name: compacted, numPartitions: 1, replicationFactor: 3, assignments: [],
          configs: [
            { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(segmentBytes) },
            { name: 'min.cleanable.dirty.ratio', value: '0.8' },
          ],
        },
        { name: plain, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
    });
    for (const t of created.topics) assert.equal(t.errorCode, ErrorCode.NONE, t.errorMessage ?? '');
    const leader = await waitUntil('a leader for the compacted topic', 30_000, async () => {
      const id = (await client.request(ApiKeys.Metadata, 1, { topics: [{ name: compacted }] })).topics[0]?.partitions[0]?.leaderId ?? -1;
      return id > 0 ? id : undefined;
    });
    const toLeader = await KafkaClient.connect(ports.kafkaPortBase + leader - 1);
    clients.push(toLeader);
    let rounds = 0;
    const produce = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const records = updateBatch(rounds);
        await waitUntil(`round ${rounds} to be written`, 20_000, async () => {
          const answer = await toLeader.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 5000, topicData: [{ name: compacted, partitionData: [{ index: 0, records }] }] });
          return answer.responses[0]?.partitionResponses[0]?.errorCode === ErrorCode.NONE ? true : undefined;
        });
        rounds += 1;
      }
    };
    // The leader's log once every closed segment is committed and no pass is due: it stays so until the next write.
    const leaderAtRest = () => waitUntil('the leader\'s log to settle', 30_000, async () => {
      const status = hosts[leader - 1]!.storage.logStatuses().find((s) => s.store === `${compacted}-0`);
      const settled = status !== undefined && status.logEndOffset === rounds * keys
        && status.cleaner.firstUncleanableOffset === status.activeSegmentBaseOffset && !status.cleaner.needsCleaning;
      return settled ? status : undefined;
    });
    // Each write closes a segment: the ratio climbs by a segment's worth until it reaches the
    // bar and the cleaner takes the log back to 0. Write until it rests above 0.
    let before = await leaderAtRest();
    while (before.cleaner.dirtyRatio === 0 && rounds < 20) {
      await produce(1);
      before = await leaderAtRest();
    }
    assert.ok(before.cleaner.dirtyRatio > 0 && before.cleaner.dirtyRatio < 0.8, `the leader's dirty ratio ${before.cleaner.dirtyRatio}`);

    const [dirtyJson, dirtyText] = [await topicsTool(['--describe', '--json']), await topicsTool(['--describe', '--topic', compacted])];
    const described = JSON.parse(dirtyJson) as DescribedTopic[];
    const compactedTopic = described.find((t) => t.name === compacted)!;
    const plainTopic = described.find((t) => t.name === plain)!;
    assert.equal(compactedTopic.cleanupPolicy, 'compact');
    assert.equal(plainTopic.cleanupPolicy, 'delete');
    const partition = compactedTopic.partitions[0]!;
    assert.deepEqual(partition.logs.map((log) => log.broker), [1, 2, 3], 'every broker answered for its replica');
    const leaderLog = partition.logs.find((log) => log.broker === partition.leader)!;
    assert.equal(leaderLog.dirtyRatio, before.cleaner.dirtyRatio, 'the leader\'s dirty ratio, as its log has it');
    assert.ok(leaderLog.cleanerLagMs !== null && leaderLog.cleanerLagMs > 0, `leader's cleaner lag ${leaderLog.cleanerLagMs}`);
    assert.ok(leaderLog.sizeBytes > 2 * 4000, `leader's log size ${leaderLog.sizeBytes}`);
    assert.equal(leaderLog.offsetLag, 0);
    for (const log of plainTopic.partitions[0]!.logs) assert.deepEqual([log.dirtyRatio, log.cleanerLagMs], [null, null], 'no cleaner fields for a log that is not compacted');
    assert.match(dirtyText, new RegExp(`^Topic: ${compacted}\\tPartitionCount: 1\\tReplicationFactor: 3\\tCleanupPolicy: compact\\tConfigs: .*cleanup.policy=compact`, 'm'));
    const dirtyLine = new RegExp(`^\\tTopic: ${compacted}\\tPartition: 0\\tLeader: ${partition.leader}\\tReplicas: [1-3],[1-3],[1-3]\\tIsr: [1-3,]+\\tDirtyRatio: (0\\.\\d{3})\\tCleanerLagMs: (\\d+)$`, 'm');
    const shownDirty = dirtyLine.exec(dirtyText);
    assert.ok(shownDirty !== null, dirtyText);
    assert.equal(shownDirty[1], before.cleaner.dirtyRatio.toFixed(3));

    // More writes, until the ratio reaches the bar and the cleaner takes it back to 0.
    let after = before;
    do {
      await produce(1);
      after = await leaderAtRest();
    } while (after.cleaner.dirtyRatio > 0 && rounds < 40);
    assert.equal(after.cleaner.dirtyRatio, 0, 'the cleaner ran');
    const cleanText = await topicsTool(['--describe', '--topic', compacted]);
    const shownClean = dirtyLine.exec(cleanText);
    assert.ok(shownClean !== null, cleanText);
    assert.equal(shownClean[1], '0.000');
    assert.equal(shownClean[2], '0');
    const plainText = await topicsTool(['--describe', '--topic', plain]);
    assert.match(plainText, new RegExp(`^Topic: ${plain}\\tPartitionCount: 1\\tReplicationFactor: 3\\tCleanupPolicy: delete\\tConfigs:$`, 'm'));
    assert.doesNotMatch(plainText, /DirtyRatio/);
    assert.deepEqual(failures, []);
  } finally {
    for (const client of clients) client.close();
    for (const host of hosts) await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
