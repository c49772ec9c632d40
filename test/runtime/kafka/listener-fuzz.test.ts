// Protocol fuzzing against a live node: random frames, mutated valid requests, truncated
// frames, wrong lengths, unknown API keys and versions. The node must never crash, never
// lose or corrupt what it stored, and keep serving other connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readBatchHeader } from '../../../actors/protocol/record-batch.js';
import { KafkaApi } from '../../../runtime/kafka/kafka-api.js';
import { ApiKeys, encodeRequestFrame } from '../../../runtime/kafka/protocol/index.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { type SingleNode, startSingleNode, waitUntil } from './single-node.js';

export const fuzzCases = Number(process.env.LOGMESH_FUZZ_CASES ?? 50_000);
const socketCases = Math.max(200, Math.floor(fuzzCases / 100));
const topic = 'fuzzdata';
const utf8 = new TextEncoder();

/** Valid request frames of many APIs (without their size prefix): the seeds of the mutations. */
function corpus(records: Uint8Array): Uint8Array[] {
  const frame = (apiKey: number, apiVersion: number, body: unknown): Uint8Array =>
    encodeRequestFrame({ apiKey: apiKey as never, apiVersion, correlationId: 7, clientId: 'fuzz' }, body as never).subarray(4);
  const fetchBody = { replicaId: -1, maxWaitMs: 5, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] };
  return [
    frame(ApiKeys.ApiVersions, 0, {}),
    frame(ApiKeys.ApiVersions, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }),
    frame(ApiKeys.Metadata, 1, { topics: [{ name: topic }] }),
    frame(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false }),
    frame(ApiKeys.Metadata, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false }),
    frame(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 50, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }),
    frame(ApiKeys.Produce, 9, { acks: 1, timeoutMs: 50, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }),
    frame(ApiKeys.Fetch, 4, fetchBody),
    frame(ApiKeys.Fetch, 11, fetchBody),
    frame(ApiKeys.Fetch, 12, fetchBody),
    frame(ApiKeys.ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2 }] }] }),
    frame(ApiKeys.ListOffsets, 7, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }),
    frame(ApiKeys.OffsetForLeaderEpoch, 3, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }),
    frame(ApiKeys.DescribeCluster, 0, {}),
    frame(ApiKeys.DescribeConfigs, 1, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }] }),
    frame(ApiKeys.InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 1000 }),
    frame(ApiKeys.FindCoordinator, 3, { key: 'g', keyType: 0 }),
    frame(ApiKeys.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] }),
  ];
}

const mutation = (seeds: Uint8Array[]) => fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 200 }),
  fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }))
    .map(([seed, flips]) => {
      const copy = Uint8Array.from(seed);
      for (const [at, value] of flips) copy[at % copy.length] = value;
      return copy;
    }),
  fc.tuple(fc.constantFrom(...seeds), fc.nat()).map(([seed, cut]) => seed.slice(0, cut % (seed.length + 1))),
  fc.tuple(fc.constantFrom(...seeds), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([seed, tail]) => Uint8Array.from([...seed, ...tail])),
  fc.tuple(fc.constantFrom(...seeds), fc.integer({ min: -2, max: 80 }), fc.integer({ min: -1, max: 40 })).map(([seed, apiKey, version]) => {
    const copy = Uint8Array.from(seed);
    new DataView(copy.buffer).setInt16(0, apiKey);
    new DataView(copy.buffer).setInt16(2, version);
    return copy;
  }),
);

test(`${fuzzCases} fuzzed requests never crash a node nor touch its data; it keeps serving`, { timeout: 900_000 }, async () => {
  let node: SingleNode | null = null;
  try {
    node = await startSingleNode(['auto.create.topics.enable=false']);
    const { port, host } = node;
    const fatal = node.fatal;
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, 0);
    const values = Array.from({ length: 20 }, (_, i) => `stored-${i}`);
    for (const value of values) {
      const records = encodeRecordBatch([{ key: null, value: utf8.encode(value) }]);
      const produced = await waitUntil('an acknowledged write', 10_000, async () => {
        const answer = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
        return answer.responses[0]?.partitionResponses[0]?.errorCode === 0 ? answer : undefined;
      });
      assert.ok(produced.responses[0]!.partitionResponses[0]!.baseOffset >= 0);
    }

    // Straight into the node's Kafka API (the listener's path without the socket): many cases fast.
    const api = new KafkaApi({
      kernel: host.kernel, clusterId: 'fuzz', logger: silentLogger, autoCreateTopics: false, numPartitions: 1, defaultReplicationFactor: 1,
      meshTimeoutMarginMs: 1000, endpoint: 'kafka-fuzz',
    });
    const seeds = corpus(encodeRecordBatch([{ key: null, value: utf8.encode('fuzz') }]));
    let answered = 0;
    let refused = 0;
    await fc.assert(fc.asyncProperty(mutation(seeds), async (frame) => {
      // Each case gets 20 ms; slower ones (a fetch that waits) finish in the background.
      const outcome = api.handle(frame).then(() => { answered += 1; }, (error: unknown) => {
        assert.ok(error instanceof Error, 'a refusal is an Error');
        refused += 1;
      });
      await Promise.race([outcome, new Promise((resolve) => setTimeout(resolve, 20))]);
      assert.equal(fatal(), null);
    }), { numRuns: fuzzCases, seed: 20261127 });
    assert.ok(answered > 0 && refused > 0, `answered ${answered}, refused ${refused}`);

    // Over sockets: wrong lengths, oversized and partial frames, garbage; each connection alone.
    await fc.assert(fc.asyncProperty(fc.oneof(
      mutation(seeds).map((frame) => { const sized = new Uint8Array(frame.length + 4); new DataView(sized.buffer).setInt32(0, frame.length); sized.set(frame, 4); return sized; }),
      fc.tuple(mutation(seeds), fc.integer({ min: -5, max: 200 * 1024 * 1024 })).map(([frame, size]) => { const sized = new Uint8Array(frame.length + 4); new DataView(sized.buffer).setInt32(0, size); sized.set(frame, 4); return sized; }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
    ), async (bytes) => {
      const victim = await KafkaClient.connect(port);
      victim.write(bytes);
      await Promise.race([victim.closed, new Promise((resolve) => setTimeout(resolve, 5))]);
      victim.close();
      assert.equal(fatal(), null);
    }), { numRuns: socketCases, seed: 42 });

    // Still serving, on the connection opened before the fuzzing and on a new one, with the data intact.
    const fresh = await node.connect();
    for (const c of [client, fresh]) {
      const versions = await c.request(ApiKeys.ApiVersions, 3, { clientSoftwareName: 'check', clientSoftwareVersion: '1' });
      assert.equal(versions.errorCode, 0);
    }
    const fetched = await fresh.request(ApiKeys.Fetch, 4, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const partition = fetched.responses[0]!.partitions[0]!;
    assert.equal(partition.errorCode, 0);
    const seen: string[] = [];
    const bytes = partition.records!;
    for (let at = 0; at < bytes.length;) {
      const header = readBatchHeader(bytes, at);
      for (const record of decodeRecords(bytes.subarray(at, at + header.sizeBytes), readBatchHeader(bytes.subarray(at), 0))) {
        seen.push(new TextDecoder().decode(record.value!));
      }
      at += header.sizeBytes;
    }
    assert.deepEqual(seen.slice(0, values.length), values, 'the records stored before the fuzzing are intact, in order');
    assert.equal(fatal(), null);
    api.close();
  } finally {
    await node?.stop();
  }
});
