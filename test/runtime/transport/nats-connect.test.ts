// NatsTransport.connect returns only once nats-server has the node's subscription: a message
// another connection publishes right after connect returns is delivered, not dropped by a
// server that has not yet seen the SUB (a new node's first answers raced it).
//
// Needs nats-server (skipped without it outside CI). Loopback only, port 24260; stopped by PID
// in `after`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type NatsConnection, connect } from 'nats';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { NatsTransport, nodeSubject } from '../../../runtime/transport/nats.js';
import { type Child, natsServer, natsSkip, startNatsServer, stopChild, waitFor } from '../real-cluster-harness.js';

const natsPort = 24260;
const servers = [`nats://127.0.0.1:${natsPort}`];
const prefix = 'connect';
let nats: Child | null = null;
const transports: NatsTransport[] = [];
let publisher: NatsConnection | null = null;

before(async () => {
  if (natsSkip !== false) return;
  nats = await startNatsServer(natsServer!, natsPort);
});

after(async () => {
  await Promise.all(transports.map((t) => t.close().catch(() => {})));
  await publisher?.close().catch(() => {});
  if (nats !== null) await stopChild(nats);
});

test('a message published right after connect returns reaches the new node', { skip: natsSkip }, async () => {
  publisher = await connect({ servers });
  const rounds = 20;
  const received = new Set<number>();
  for (let nodeId = 1; nodeId <= rounds; nodeId++) {
    const transport = await NatsTransport.connect({ servers, prefix, nodeId, logger: silentLogger });
    transports.push(transport);
    transport.onReceive(() => received.add(nodeId));
    // No wait of any kind between connect returning and the other connection's publish.
    publisher.publish(nodeSubject(prefix, nodeId), new TextEncoder().encode(`first message to ${nodeId}`));
  }
  await publisher.flush();
  // Every message is either delivered promptly or was dropped by the server for want of a
  // subscriber; 5 s is ample for 20 loopback deliveries.
  await waitFor(`${rounds} first messages`, 5000, async () => (received.size === rounds ? true : undefined), () => {
    const lost = Array.from({ length: rounds }, (_, i) => i + 1).filter((id) => !received.has(id));
    return `lost for nodes ${lost.join(', ')}`;
  });
  assert.equal(received.size, rounds);
});
