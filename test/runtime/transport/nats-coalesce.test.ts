// NatsTransport on a real nats-server: envelopes to one node sent in one turn arrive in send
// order as fewer NATS messages (the transport's counter and nats-server's /varz agree); a batch
// never passes the server's max_payload; close flushes what is pending; a broken batch
// delivers its whole envelopes and is counted as malformed; sealed frames (mesh.secret) batch
// too.
//
// Needs nats-server (skipped without it outside CI). Loopback only, ports 24250-24251
// (nats-server with max_payload 64 KiB, and its monitoring port); stopped by PID in `after`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'nats';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Transport } from '../../../runtime/kernel/ports.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { MeshAuthenticator, authenticatedTransport } from '../../../runtime/transport/mesh-auth.js';
import { batchMarker, joinEnvelopes } from '../../../runtime/transport/nats-batch.js';
import { NatsTransport, nodeSubject } from '../../../runtime/transport/nats.js';
import { type Child, natsServer, natsSkip, startChild, startNatsServer, stopChild, waitFor } from '../real-cluster-harness.js';

const natsPort = 24250;
const monitorPort = 24251;
const maxPayloadBytes = 64 * 1024;
const prefix = 'coalesce';
const tmp = mkdtempSync(join(tmpdir(), 'logmesh-nats-coalesce-'));
let nats: Child | null = null;
const transports: Transport[] = [];

before(async () => {
  if (natsSkip !== false) return;
  const config = join(tmp, 'nats.conf');
  writeFileSync(config, `max_payload: ${maxPayloadBytes}\n`);
  nats = await startNatsServer(natsServer!, natsPort, 'nats-server', startChild, ['-m', String(monitorPort), '-c', config]);
});

after(async () => {
  await Promise.all(transports.map((t) => t.close().catch(() => {})));
  if (nats !== null) await stopChild(nats);
  rmSync(tmp, { recursive: true, force: true });
});

async function transport(nodeId: number, options: { registry?: Registry; logger?: pino.Logger } = {}): Promise<NatsTransport> {
  const t = await NatsTransport.connect({ servers: [`nats://127.0.0.1:${natsPort}`], prefix, nodeId, logger: options.logger ?? silentLogger, registry: options.registry ?? null });
  transports.push(t);
  return t;
}

/** Collects what a transport receives, copied (a view may not outlive the callback). */
function collect(t: Transport): Uint8Array[] {
  const received: Uint8Array[] = [];
  t.onReceive((bytes) => received.push(Uint8Array.from(bytes)));
  return received;
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const values = (await metric.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

async function serverInMsgs(): Promise<number> {
  const varz = await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json() as { in_msgs: number };
  return varz.in_msgs;
}

async function settled(received: Uint8Array[], expected: number): Promise<void> {
  await waitFor(`${expected} envelopes`, 10_000, async () => (received.length >= expected ? true : undefined), () => `${received.length}`);
}

const envelope = (i: number, size = 40) => {
  const bytes = new Uint8Array(size).fill(0x61);
  bytes.set(new TextEncoder().encode(`envelope ${i};`));
  return bytes;
};
const texts = (list: readonly Uint8Array[]) => list.map((b) => new TextDecoder().decode(b.subarray(0, b.indexOf(0x3b))));

test('envelopes sent in one turn arrive in order as one NATS message', { skip: natsSkip }, async () => {
  const registry = new Registry();
  const sender = await transport(1, { registry });
  const receiverRegistry = new Registry();
  const receiver = await transport(2, { registry: receiverRegistry });
  const received = collect(receiver);
  const count = 200;
  const before = await serverInMsgs();
  for (let i = 0; i < count; i++) sender.send(2, envelope(i));
  await settled(received, count);
  assert.deepEqual(texts(received), Array.from({ length: count }, (_, i) => `envelope ${i}`));
  assert.equal(await counter(registry, 'logmesh_nats_messages_published_total', { node: '1' }), 1);
  assert.equal(await counter(receiverRegistry, 'logmesh_nats_messages_received_total', { node: '2' }), 1);
  assert.equal(await serverInMsgs() - before, 1, 'nats-server routed one message');

  // Two turns: two messages, the order kept across them; one envelope alone travels as itself.
  received.length = 0;
  sender.send(2, envelope(0));
  sender.send(2, envelope(1));
  await Promise.resolve();
  await new Promise((res) => setImmediate(res));
  sender.send(2, envelope(2));
  await settled(received, 3);
  assert.deepEqual(texts(received), ['envelope 0', 'envelope 1', 'envelope 2']);
  assert.equal(await counter(registry, 'logmesh_nats_messages_published_total', { node: '1' }), 3);
});

test('envelopes to several nodes in one turn: one message per node, each in its order', { skip: natsSkip }, async () => {
  const registry = new Registry();
  const sender = await transport(11, { registry });
  const [a, b] = [await transport(12), await transport(13)];
  const [toA, toB] = [collect(a), collect(b)];
  for (let i = 0; i < 30; i++) sender.send(i % 3 === 0 ? 13 : 12, envelope(i));
  await settled(toA, 20);
  await settled(toB, 10);
  assert.deepEqual(texts(toA), Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => `envelope ${i}`));
  assert.deepEqual(texts(toB), Array.from({ length: 10 }, (_, i) => `envelope ${i * 3}`));
  assert.equal(await counter(registry, 'logmesh_nats_messages_published_total', { node: '11' }), 2);
});

test('a batch stays within the server\'s max_payload; an envelope larger than it is lost alone', { skip: natsSkip }, async () => {
  const registry = new Registry();
  const sender = await transport(21, { registry });
  const receiver = await transport(22);
  const received = collect(receiver);
  assert.equal(receiver['connection'].info?.max_payload, maxPayloadBytes, 'the server announces the configured max_payload');
  const size = 20 * 1024;
  for (let i = 0; i < 10; i++) sender.send(22, envelope(i, size));
  await settled(received, 10);
  assert.deepEqual(texts(received), Array.from({ length: 10 }, (_, i) => `envelope ${i}`));
  // Three 20 KiB envelopes fit 64 KiB, a fourth would not: 3 + 3 + 3 + 1.
  assert.equal(await counter(registry, 'logmesh_nats_messages_published_total', { node: '21' }), 4);

  // Too large for any message: lost, as before batching; what follows in the same turn still goes.
  received.length = 0;
  sender.send(22, envelope(100));
  sender.send(22, envelope(101, maxPayloadBytes + 1));
  sender.send(22, envelope(102));
  await settled(received, 2);
  assert.deepEqual(texts(received), ['envelope 100', 'envelope 102']);
});

test('close publishes what is pending; sends after close are ignored', { skip: natsSkip }, async () => {
  const sender = await transport(31);
  const receiver = await transport(32);
  const received = collect(receiver);
  for (let i = 0; i < 5; i++) sender.send(32, envelope(i));
  const closing = sender.close();
  sender.send(32, envelope(99));
  await closing;
  sender.send(32, envelope(100));
  await settled(received, 5);
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(texts(received), ['envelope 0', 'envelope 1', 'envelope 2', 'envelope 3', 'envelope 4']);
});

test('a broken batch delivers its whole envelopes, then counts and logs one malformed drop', { skip: natsSkip }, async () => {
  const registry = new Registry();
  const lines: Array<{ msg: string; reason?: string }> = [];
  const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
  const receiver = await transport(42, { registry, logger });
  const received = collect(receiver);
  const raw = await connect({ servers: [`nats://127.0.0.1:${natsPort}`] });
  try {
    const batch = joinEnvelopes([envelope(0), envelope(1), envelope(2)]);
    raw.publish(nodeSubject(prefix, 42), batch.subarray(0, batch.byteLength - 5));
    raw.publish(nodeSubject(prefix, 42), new Uint8Array([batchMarker, 0xff]));
    raw.publish(nodeSubject(prefix, 42), envelope(3));
    await raw.flush();
    await settled(received, 3);
    await waitFor('two warnings', 5000, async () => (lines.length >= 2 ? true : undefined));
  } finally {
    await raw.close();
  }
  assert.deepEqual(texts(received), ['envelope 0', 'envelope 1', 'envelope 3']);
  assert.equal(await counter(registry, 'logmesh_mesh_envelopes_dropped_total', { node: '42', reason: 'malformed' }), 2);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.reason, 'malformed');
  assert.match(lines[0]!.msg, /^dropped envelope: batch of \d+ bytes broken at byte \d+ after 2 envelope\(s\)/);
});

test('sealed frames (mesh.secret) batch and open like bare envelopes', { skip: natsSkip }, async () => {
  const registry = new Registry();
  const authenticator = new MeshAuthenticator('a-cluster-secret-of-some-length', prefix);
  const seal = (t: Transport) => authenticatedTransport(t, { authenticator, logger: silentLogger, onRefused: () => assert.fail('refused a sealed frame') });
  const sender = seal(await transport(51, { registry }));
  const receiver = seal(await transport(52));
  const received = collect(receiver);
  for (let i = 0; i < 20; i++) sender.send(52, envelope(i));
  sender.send(52, envelope(20));
  await settled(received, 21);
  assert.deepEqual(texts(received), Array.from({ length: 21 }, (_, i) => `envelope ${i}`));
  assert.equal(await counter(registry, 'logmesh_nats_messages_published_total', { node: '51' }), 1);
});
