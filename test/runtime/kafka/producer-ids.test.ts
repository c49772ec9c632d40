// Producer ids for idempotent producers come from blocks the controller commits to the
// metadata log (KIP-730): many InitProducerId calls, spanning several blocks and concurrent
// askers, never get the same id; after the node restarts on the same data, no id handed out
// before is handed out again; and the blocks are in the metadata log for every node to see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { parseConfig } from '../../../runtime/ops/config.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { startNodeHost } from '../../../runtime/ops/node-host.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { brokerActorId, type BrokerContext } from '../../../actors/broker/broker-machine.js';
import { producerIdBlockSize } from '../../../actors/controller/controller-machine.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { freePort } from '../real-cluster-harness.js';
import { waitUntil } from './single-node.js';

async function startNode(dir: string, port: number) {
  const host = await startNodeHost({
    config: parseConfig([
      'node.id=1', 'controller.quorum.voters=1', 'cluster.id=pids', `log.dirs=${dir}`, `listeners=PLAINTEXT://127.0.0.1:${port}`,
      'broker.heartbeat.interval.ms=200', 'broker.session.timeout.ms=3000',
    ].join('\n'), 'test'),
    transport: new InProcessHub().transportFor(1), logger: silentLogger, registry: null, onFatal: (error) => { throw error; },
  });
  const client = await KafkaClient.connect(host.kafkaPort!);
  await waitUntil('a live broker', 20_000, async () => ((await client.request(ApiKeys.Metadata, 1, { topics: [] })).brokers.length === 1 ? true : undefined));
  return { host, client };
}

async function producerIds(client: KafkaClient, count: number, concurrency: number): Promise<number[]> {
  const ids: number[] = [];
  const worker = async (): Promise<void> => {
    while (ids.length < count) {
      const answer = await client.request(ApiKeys.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
      assert.equal(answer.errorCode, ErrorCode.NONE);
      assert.equal(answer.producerEpoch, 0);
      ids.push(Number(answer.producerId));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

test('idempotent producer ids are unique across blocks, concurrent askers and a restart', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-pids-'));
  const port = await freePort();
  try {
    let node = await startNode(dir, port);
    const first = await producerIds(node.client, producerIdBlockSize * 2 + 37, 8);
    assert.equal(new Set(first).size, first.length, 'a producer id was handed out twice');
    const broker = node.host.kernel.snapshotOf(brokerActorId)?.context as BrokerContext;
    assert.ok(broker.image.nextProducerId >= producerIdBlockSize * 3, `metadata says next id ${broker.image.nextProducerId}`);
    node.client.close();
    await node.host.stop();

    node = await startNode(dir, port);
    const second = await producerIds(node.client, 50, 4);
    const before = new Set(first);
    assert.deepEqual(second.filter((id) => before.has(id)), [], 'an id from before the restart was handed out again');
    assert.ok(Math.min(...second) >= producerIdBlockSize * 3, `after the restart ids start at ${Math.min(...second)}`);
    node.client.close();
    await node.host.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
