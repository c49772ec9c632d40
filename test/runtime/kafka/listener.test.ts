// The listener's contract with clients: responses in request order on a pipelined
// connection, oversized or unparseable requests close only their own connection, unknown
// ApiVersions versions get the v0 fallback, NOT_LEADER for partitions a node does not lead;
// CreatePartitions grows a topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ApiKeys, decodeResponseFrame, encodeRequestFrame } from '../../../runtime/kafka/protocol/index.js';
import { startSingleNode, waitUntil } from './single-node.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

/** Sends raw bytes on a new connection; resolves with the response frames received (sizes stripped) and whether it was closed. */
function exchange(port: number, bytes: Uint8Array, expectFrames: number, timeoutMs: number): Promise<{ frames: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const frames: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    let closed = false;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        frames.push(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
      }
      if (frames.length >= expectFrames) finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => {});
  });
}

test('the Kafka listener keeps its promises to clients', { timeout: 120_000 }, async () => {
  // Reads from the files: the tail cache may end an answer early, at the end of one of its
  // slabs (tail-cache.test.ts), and the large-records case below wants all three batches in one.
  const node = await startSingleNode(['socket.request.max.bytes=65536', 'log.tail.cache.bytes=0']);
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, 0);
    await waitUntil('the new partition to serve consumers', 10_000, async () => {
      const answer = await client.request(ApiKeys.Fetch, 4, {
        replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1024, isolationLevel: 0,
        topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
      });
      return answer.responses[0]?.partitions[0]?.errorCode === 0 ? true : undefined;
    });

    // Pipelining: a fetch that waits 300 ms, then an ApiVersions that could be answered at once.
    const fetch = encodeRequestFrame({ apiKey: ApiKeys.Fetch, apiVersion: 4, correlationId: 1, clientId: 't' }, {
      replicaId: -1, maxWaitMs: 300, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const versions = encodeRequestFrame({ apiKey: ApiKeys.ApiVersions, apiVersion: 0, correlationId: 2, clientId: 't' }, {});
    const started = Date.now();
    const pipelined = await exchange(node.port, Buffer.concat([fetch, versions]), 2, 10_000);
    assert.deepEqual(pipelined.frames.map((f) => f.readInt32BE(0)), [1, 2], 'answers in request order');
    assert.ok(Date.now() - started >= 250, 'the fetch waited');
    assert.equal(decodeResponseFrame(ApiKeys.Fetch, 4, pipelined.frames[0]!).body.responses[0]?.partitions[0]?.errorCode, 0);

    // Records large enough to leave as chunks of their own: pipelined fetches of them come
    // back whole, in order, around an answer without records.
    const batches = [1, 2, 3].map((n) => encodeRecordBatch([{ key: null, value: Buffer.alloc(20_000 * n, 0x60 + n) }]));
    for (const records of batches) {
      const answer = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records }] }] });
      assert.equal(answer.responses[0]?.partitionResponses[0]?.errorCode, 0);
    }
    const fetchAt = (correlationId: number, fetchOffset: number, partitionMaxBytes: number) => encodeRequestFrame({ apiKey: ApiKeys.Fetch, apiVersion: 4, correlationId, clientId: 't' }, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset, partitionMaxBytes }] }],
    });
    const apiVersions = encodeRequestFrame({ apiKey: ApiKeys.ApiVersions, apiVersion: 0, correlationId: 11, clientId: 't' }, {});
    const large = await exchange(node.port, Buffer.concat([fetchAt(10, 0, 1 << 20), apiVersions, fetchAt(12, 1, 1)]), 3, 10_000);
    assert.deepEqual(large.frames.map((f) => f.readInt32BE(0)), [10, 11, 12], 'answers in request order');
    const recordsOf = (frame: Buffer) => decodeResponseFrame(ApiKeys.Fetch, 4, frame).body.responses[0]!.partitions[0]!.records!;
    // The broker sets each batch's base offset and leader epoch; from the CRC on (byte 17) the bytes are the producer's.
    const fromCrc = (batch: Uint8Array) => Buffer.from(batch).subarray(17).toString('hex');
    let at = 0;
    const fetched = Buffer.from(recordsOf(large.frames[0]!));
    for (const batch of batches) {
      assert.equal(fromCrc(fetched.subarray(at, at + batch.length)), fromCrc(batch));
      at += batch.length;
    }
    assert.equal(at, fetched.length);
    const atLeastOne = recordsOf(large.frames[2]!);
    assert.equal(atLeastOne.length, batches[1]!.length, 'one whole batch although it exceeds the partition\'s max bytes (KIP-74)');
    assert.equal(fromCrc(atLeastOne), fromCrc(batches[1]!));

    // An ApiVersions version the broker does not know: UNSUPPORTED_VERSION, v0 body listing what it knows.
    const future = encodeRequestFrame({ apiKey: ApiKeys.ApiVersions, apiVersion: 3, correlationId: 9, clientId: 't' }, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    new DataView(future.buffer, future.byteOffset).setInt16(6, 42);
    const fallback = await exchange(node.port, future, 1, 5000);
    const body = decodeResponseFrame(ApiKeys.ApiVersions, 0, fallback.frames[0]!).body;
    assert.equal(body.errorCode, 35);
    assert.ok(body.apiKeys.some((k) => k.apiKey === ApiKeys.Produce));

    // Oversized, unknown api and garbage: that connection closes, nothing answered.
    const oversized = Buffer.alloc(8);
    oversized.writeInt32BE(1 << 20, 0);
    const unknownApi = encodeRequestFrame({ apiKey: ApiKeys.Metadata, apiVersion: 1, correlationId: 3, clientId: 't' }, { topics: [] });
    new DataView(unknownApi.buffer, unknownApi.byteOffset).setInt16(4, 999);
    for (const bad of [oversized, unknownApi, Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5])]) {
      const result = await exchange(node.port, bad, 1, 5000);
      assert.equal(result.closed, true);
      assert.equal(result.frames.length, 0);
    }

    // The first connection is unaffected, and a partition that does not exist is named as such.
    const metadata = await client.request(ApiKeys.Metadata, 9, { topics: [{ name: 'orders' }, { name: 'nope' }], allowAutoTopicCreation: false });
    assert.deepEqual(metadata.topics.map((t) => [t.name, t.errorCode]), [['orders', 0], ['nope', 3]]);
    const produced = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'orders', partitionData: [{ index: 7, records: new Uint8Array(0) }] }] });
    assert.equal(produced.responses[0]?.partitionResponses[0]?.errorCode, 3);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});

test('CreatePartitions grows a topic through the controller; the new partitions take writes', { timeout: 60_000 }, async () => {
  const node = await startSingleNode();
  try {
    const client = await node.connect();
    const created = await client.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'growing', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, 0);
    const tooFew = await client.request(ApiKeys.CreatePartitions, 1, { topics: [{ name: 'growing', count: 1, assignments: null }], timeoutMs: 5000, validateOnly: false });
    assert.equal(tooFew.results[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);
    const unknown = await client.request(ApiKeys.CreatePartitions, 1, { topics: [{ name: 'nope', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: true });
    assert.equal(unknown.results[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const grown = await client.request(ApiKeys.CreatePartitions, 1, { topics: [{ name: 'growing', count: 3, assignments: null }], timeoutMs: 10_000, validateOnly: false });
    assert.equal(grown.results[0]?.errorCode, ErrorCode.NONE);
    const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [{ name: 'growing' }] });
    assert.deepEqual(metadata.topics[0]?.partitions.map((p) => p.partitionIndex).sort(), [0, 1, 2], 'answered once this node\'s metadata has them');
    const records = encodeRecordBatch([{ key: null, value: new TextEncoder().encode('into the new partition') }]);
    const produced = await waitUntil('partition 2 to take a write', 10_000, async () => {
      const answer = await client.request(ApiKeys.Produce, 3, { acks: -1, timeoutMs: 2000, topicData: [{ name: 'growing', partitionData: [{ index: 2, records }] }] });
      const response = answer.responses[0]?.partitionResponses[0];
      return response?.errorCode === ErrorCode.NONE ? response : undefined;
    });
    assert.equal(Number(produced.baseOffset), 0);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
