// The raw Kafka client: answers are not kept once delivered, and requests still waiting when
// the connection closes are refused. Against a scripted server on 127.0.0.1 (an ephemeral port).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys, decodeRequestFrame, encodeResponseFrame } from '../../../runtime/kafka/protocol/index.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** A server that answers every Fetch v4 with `recordBytes` bytes of records, or holds requests when `answer` is false. */
async function scriptedServer(recordBytes: number, answer: boolean): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const request = decodeRequestFrame(buffered.subarray(4, 4 + size));
        buffered = buffered.subarray(4 + size);
        if (!answer) continue;
        socket.write(encodeResponseFrame(ApiKeys.Fetch, 4, request.header.correlationId, {
          throttleTimeMs: 0,
          responses: [{ topic: 't', partitions: [{
            partitionIndex: 0, errorCode: 0, highWatermark: 1, lastStableOffset: 1, abortedTransactions: null,
            records: new Uint8Array(recordBytes).fill(7),
          }] }],
        }));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

const fetchBody = {
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
  topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
};

async function closeServer(server: Server, sockets: Socket[]): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test('an answered request keeps nothing of its answer while the connection stays open', async () => {
  const { server, port, sockets } = await scriptedServer(256 * 1024, true);
  const client = await KafkaClient.connect(port, '127.0.0.1');
  try {
    const answers: WeakRef<ArrayBufferLike>[] = [];
    for (let i = 0; i < 8; i++) {
      const body = await client.request(ApiKeys.Fetch, 4, fetchBody);
      const records = body.responses[0]?.partitions[0]?.records;
      assert.ok(records instanceof Uint8Array && records.length === 256 * 1024, 'the scripted answer came back whole');
      answers.push(new WeakRef(records.buffer));
    }
    // Collection runs after this turn: let the request promises settle and go first.
    let kept = answers.length;
    for (let round = 0; round < 20 && kept > 1; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      kept = answers.filter((ref) => ref.deref() !== undefined).length;
    }
    // The last answer's buffer may still be the client's read buffer; the others must be gone.
    assert.ok(kept <= 1, `${kept} of 8 answers are still held by the client`);
  } finally {
    client.close();
    await closeServer(server, sockets);
  }
});

test('requests waiting when the connection closes fail with "connection closed"', async () => {
  const { server, port, sockets } = await scriptedServer(0, false);
  const client = await KafkaClient.connect(port, '127.0.0.1');
  try {
    const waiting = [client.request(ApiKeys.Fetch, 4, fetchBody, 30_000), client.request(ApiKeys.Fetch, 4, fetchBody, 30_000)];
    // Close from the server's side once both requests have reached it.
    const deadline = Date.now() + 5000;
    while (sockets.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.length, 1, 'the client connected');
    sockets[0]!.destroy();
    for (const request of waiting) await assert.rejects(request, /connection closed/);
    await assert.rejects(client.request(ApiKeys.Fetch, 4, fetchBody), /connection closed/);
  } finally {
    client.close();
    await closeServer(server, sockets);
  }
});
