// /metrics of a three-node cluster in this process (the embedded cluster's layout, on ports of
// its own): after producing and consuming through the Kafka listeners, the request, topic
// traffic and transport counters have moved and the controller gauges make sense; after node 3
// stops, the leaders left behind report under-replicated partitions and count ISR shrinks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { type EmbeddedPorts, embeddedNodeConfig } from '../../../runtime/ops/embedded.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { recordCount } from '../../../runtime/ops/node-metrics.js';
import { type NodeHost, startNodeHost } from '../../../runtime/ops/node-host.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

// Below the ephemeral port range (32768-60999): no outgoing connection can hold them.
const ports: EmbeddedPorts = { kafkaPortBase: 27092, metricsPortBase: 27401 };
const topic = 'metrics-demo';
const partitions = 3;
const recordsPerPartition = 10;
const utf8 = new TextEncoder();
const dashboardPath = join(dirname(fileURLToPath(import.meta.url)), '../../../../docs/grafana/logmesh.json');

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Prometheus text exposition, samples only. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(nodeId: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${ports.metricsPortBase + nodeId - 1}/metrics`);
  assert.equal(response.status, 200);
  return parseMetrics(await response.text());
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

test('recordCount reads record counts from batch headers', () => {
  const one = encodeRecordBatch(Array.from({ length: 3 }, (_, i) => ({ key: null, value: utf8.encode(`v${i}`) })));
  const two = encodeRecordBatch([{ key: null, value: utf8.encode('w') }]);
  const both = new Uint8Array(one.length + two.length);
  both.set(one);
  both.set(two, one.length);
  assert.equal(recordCount(both), 4);
  assert.equal(recordCount(both.subarray(0, both.length - 5)), 3, 'a torn last batch (fetch answers may end in one) is not counted');
  assert.equal(recordCount(new Uint8Array(0)), 0);
});

test('/metrics: counters move after produce and fetch; under-replicated partitions rise when a node stops', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-metrics-'));
  const hub = new InProcessHub();
  const hosts: NodeHost[] = [];
  const clients: KafkaClient[] = [];
  const failures: Error[] = [];
  const stopped = new Set<NodeHost>();
  try {
    for (const nodeId of [1, 2, 3]) {
      hosts.push(await startNodeHost({
        // A follower that stops fetching leaves the ISR after 2 s, its broker is fenced after 3 s.
        config: {
          ...embeddedNodeConfig(nodeId, dataDir, ports),
          replicaLagTimeMaxMs: 2000, brokerHeartbeatIntervalMs: 500, brokerSessionTimeoutMs: 3000,
        },
        transport: hub.transportFor(nodeId), logger: silentLogger, registry: new Registry(), onFatal: (error) => failures.push(error),
      }));
    }
    const connect = async (nodeId: number) => {
      const client = await KafkaClient.connect(ports.kafkaPortBase + nodeId - 1);
      clients.push(client);
      return client;
    };
    const bootstrap = await connect(1);
    await waitUntil('three live brokers', 20_000, async () => {
      const metadata = await bootstrap.request(ApiKeys.Metadata, 1, { topics: [] });
      return metadata.brokers.length === 3 ? true : undefined;
    });
    const created = await bootstrap.request(ApiKeys.CreateTopics, 5, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
    const leaders = await waitUntil('a leader for every partition', 20_000, async () => {
      const metadata = await bootstrap.request(ApiKeys.Metadata, 1, { topics: [{ name: topic }] });
      const found = metadata.topics[0]?.partitions ?? [];
      return found.length === partitions && found.every((p) => p.leaderId > 0) ? new Map(found.map((p) => [p.partitionIndex, p.leaderId])) : undefined;
    });

    // Produce to every partition through its leader's listener (acks=all), then consume one.
    const byNode = new Map<number, KafkaClient>();
    for (const [partition, leader] of leaders) {
      const client = byNode.get(leader) ?? await connect(leader);
      byNode.set(leader, client);
      const records = encodeRecordBatch(Array.from({ length: recordsPerPartition }, (_, i) => ({ key: null, value: utf8.encode(`p${partition}-r${i}`) })));
      const answer = await waitUntil(`a produce to partition ${partition}`, 10_000, async () => {
        const produced = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
        return produced.responses[0]?.partitionResponses[0]?.errorCode === ErrorCode.NONE ? produced : undefined;
      });
      assert.equal(answer.responses[0]?.partitionResponses[0]?.baseOffset, 0);
    }
    const leaderOf0 = leaders.get(0)!;
    const fetched = await byNode.get(leaderOf0)!.request(ApiKeys.Fetch, 4, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const fetchedBytes = fetched.responses[0]?.partitions[0]?.records?.length ?? 0;
    assert.ok(fetchedBytes > 0);

    const scraped = new Map<number, Sample[]>();
    for (const nodeId of [1, 2, 3]) scraped.set(nodeId, await scrape(nodeId));
    const all = [...scraped.values()].flat();
    // Every series names its node.
    for (const [nodeId, samples] of scraped) {
      for (const s of samples.filter((x) => x.name.startsWith('logmesh_') && !x.name.startsWith('logmesh_consumer_group_'))) {
        assert.equal(s.labels.node, String(nodeId), `${s.name} on node ${nodeId}`);
      }
    }
    assert.equal(total(all, 'logmesh_topic_messages_in_total', { topic }), partitions * recordsPerPartition);
    assert.ok(total(all, 'logmesh_topic_bytes_in_total', { topic }) > partitions * recordsPerPartition * 5);
    for (const [partition, leader] of leaders) {
      assert.ok(total(scraped.get(leader)!, 'logmesh_topic_messages_in_total', { topic }) >= recordsPerPartition, `leader ${leader} of partition ${partition} counted its records`);
    }
    assert.equal(total(scraped.get(leaderOf0)!, 'logmesh_topic_messages_out_total', { topic }), recordsPerPartition);
    assert.equal(total(scraped.get(leaderOf0)!, 'logmesh_topic_bytes_out_total', { topic }), fetchedBytes);
    assert.ok(total(all, 'logmesh_kafka_requests_total', { api: 'Produce' }) >= partitions);
    assert.ok(total(all, 'logmesh_kafka_requests_total', { api: 'Metadata' }) >= 2);
    assert.equal(total(scraped.get(1)!, 'logmesh_kafka_requests_total', { api: 'CreateTopics' }), 1);
    assert.equal(total(all, 'logmesh_kafka_request_duration_seconds_count', { api: 'Produce' }), total(all, 'logmesh_kafka_requests_total', { api: 'Produce' }));
    assert.ok(total(all, 'logmesh_kafka_request_duration_seconds_bucket', { api: 'Fetch', le: '+Inf' }) >= 1);
    assert.equal(total(all, 'logmesh_kafka_request_errors_total'), 0);
    assert.ok(total(all, 'logmesh_kafka_connections') >= 1);
    for (const nodeId of [1, 2, 3]) {
      const samples = scraped.get(nodeId)!;
      assert.ok(total(samples, 'logmesh_transport_bytes_sent_total') > 0, `node ${nodeId} sent bytes to the others`);
      assert.ok(total(samples, 'logmesh_transport_bytes_received_total') > 0, `node ${nodeId} received bytes`);
      assert.ok(total(samples, 'logmesh_transport_envelopes_sent_total') > 0);
      assert.ok(total(samples, 'logmesh_raft_term') >= 1);
      assert.ok(total(samples, 'logmesh_broker_metadata_offset') > 0);
      assert.ok(total(samples, 'logmesh_raft_commit_lag') >= 0);
      assert.equal(total(samples, 'logmesh_hosted_partitions'), partitions, `node ${nodeId} hosts a replica of every partition`);
    }
    assert.equal(total(all, 'logmesh_active_controller'), 1);
    assert.equal(total(all, 'logmesh_active_brokers'), 3);
    assert.equal(total(all, 'logmesh_offline_partitions'), 0);
    assert.equal(total(all, 'logmesh_leader_partitions'), partitions);
    assert.equal(total(all, 'logmesh_under_replicated_partitions'), 0);
    assert.equal(total(all, 'logmesh_partition_isr_size', { topic }), partitions * 3);

    // The Grafana dashboard asks only for metrics a node exports.
    const exported = new Set([...(await (await fetch(`http://127.0.0.1:${ports.metricsPortBase}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const asked = new Set(dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/logmesh_\w+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''))));
    assert.ok(asked.size > 20);
    for (const name of asked) assert.ok(exported.has(name), `the dashboard asks for ${name}, which no node exports`);

    // Node 3 stops: a partition led by node 1 or 2 loses a follower from its ISR.
    const [watched, watchedLeader] = [...leaders].find(([, leader]) => leader !== 3)!;
    await hosts[2]!.stop();
    stopped.add(hosts[2]!);
    const started = Date.now();
    const after = await waitUntil(`under-replicated partitions on node ${watchedLeader}`, 30_000, async () => {
      const samples = await scrape(watchedLeader);
      return total(samples, 'logmesh_under_replicated_partitions') > 0 ? samples : undefined;
    });
    console.log(`under-replicated on node ${watchedLeader} ${Date.now() - started} ms after node 3 stopped`);
    assert.equal(total(after, 'logmesh_partition_isr_size', { topic, partition: String(watched) }), 2);
    assert.equal(total(after, 'logmesh_partition_replicas', { topic, partition: String(watched) }), 3);
    assert.ok(total(after, 'logmesh_isr_shrinks_total', { topic }) >= 1, 'the leader counted the shrink');
    assert.equal(total(after, 'logmesh_isr_expands_total', { topic }), 0);
    assert.deepEqual(failures, []);
  } finally {
    for (const client of clients) client.close();
    for (const host of hosts) if (!stopped.has(host)) await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
