import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { setup, enqueueActions } from 'xstate';
import { decodePayload, encodeEnvelope, encodePayload } from '../../../actors/protocol/codec.js';
import type { EffectBatch } from '../../../actors/protocol/effects.js';
import { emptyDurableState } from '../../../actors/protocol/effects.js';
import { NodeKernel } from '../../../runtime/kernel/node-kernel.js';
import { createKernelMetrics } from '../../../runtime/kernel/metrics.js';
import type { StoragePort, Transport } from '../../../runtime/kernel/ports.js';
import { Scheduler } from '../../../sim/scheduler.js';

type EchoEvent = { type: string; atMs: number; from?: { node: number; actor: string }; body?: { requestId: string } };

/** Answers every DescribeQuorumRequest and counts what it handled. */
const echoMachine = setup({
  types: { context: {} as { handled: number }, events: {} as EchoEvent, emitted: {} as EffectBatch },
  actions: {
    answer: enqueueActions<{ handled: number }, EchoEvent, undefined, EchoEvent, never, never, never, never, EffectBatch>(({ context, event, enqueue }) => {
      context.handled += 1;
      enqueue.emit({ type: 'effects', effects: [{ type: 'send', message: { to: event.from!, kind: 'DescribeQuorumResponse', body: { requestId: event.body!.requestId, nodeId: 1, role: 'echo', term: 0, leaderId: -1, commitIndex: 0, lastIndex: 0 } } }] });
    }),
  },
}).createMachine({ context: () => ({ handled: 0 }), on: { DescribeQuorumRequest: { actions: 'answer' } } });

function harness() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  const registry = new Registry();
  const sent: Array<{ to: number; bytes: Uint8Array }> = [];
  let receive: (bytes: Uint8Array) => void = () => {};
  const transport: Transport = { send: (to, bytes) => sent.push({ to, bytes }), onReceive: (h) => { receive = h; }, close: async () => {} };
  const storage: StoragePort = {
    load: () => emptyDurableState(), submit: (_s, _op, done) => done(),
    submitLog: (_s, _op, done) => done({ kind: 'failed', code: 'invalid', message: 'no logs here' }),
    flushLog: (_s, _offset, done) => done({ kind: 'failed', code: 'invalid', message: 'no logs here' }), close: async () => {},
  };
  const scheduler = new Scheduler();
  const kernel = new NodeKernel({
    nodeId: 1, clusterId: 'c1', clock: scheduler.clock(), random: () => 0.5, transport, storage, logger,
    metrics: createKernelMetrics(registry), tracer: null, mailboxCapacity: 4,
  });
  kernel.spawn('echo', echoMachine, {});
  return { kernel, lines, registry, sent, receive: (bytes: Uint8Array) => receive(bytes) };
}

function request(overrides: Partial<Parameters<typeof encodeEnvelope>[0]> = {}): Uint8Array {
  return encodeEnvelope({
    clusterId: 'c1', from: { node: 2, actor: 'client' }, to: { node: 1, actor: 'echo' }, kind: 'DescribeQuorumRequest',
    payload: encodePayload('DescribeQuorumRequest', { requestId: 'r1' }), msgId: '2:1', parentId: '', ...overrides,
  });
}

async function droppedCount(registry: Registry, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('logmesh_mesh_envelopes_dropped_total')!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

test('a well-formed envelope reaches the actor, and its reply goes back through the transport', () => {
  const h = harness();
  h.receive(request());
  assert.equal((h.kernel.snapshotOf('echo')!.context as { handled: number }).handled, 1);
  assert.equal(h.sent.length, 1);
  assert.equal(h.sent[0]!.to, 2);
});

test('malformed envelopes are dropped with a log line and a counter, never a crash', async () => {
  const h = harness();
  h.receive(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
  h.receive(request({ kind: 'NoSuchKind' }));
  h.receive(request({ payload: new Uint8Array([0x0a, 0xff]) }));
  h.receive(request({ clusterId: 'someone-else' }));
  h.receive(request({ to: { node: 1, actor: 'nobody' } }));
  h.receive(request({ to: { node: 7, actor: 'echo' } }));
  assert.equal(await droppedCount(h.registry, 'malformed'), 3);
  assert.equal(await droppedCount(h.registry, 'wrong_cluster'), 1);
  assert.equal(await droppedCount(h.registry, 'unknown_actor'), 1);
  assert.equal(await droppedCount(h.registry, 'wrong_node'), 1);
  assert.equal(h.lines.filter((l) => l.includes('dropped envelope')).length, 6);
  // The node still works.
  h.receive(request());
  assert.equal((h.kernel.snapshotOf('echo')!.context as { handled: number }).handled, 1);
});

test('random bytes never throw out of the kernel', () => {
  const h = harness();
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    const bytes = new Uint8Array(1 + (i % 64));
    for (let j = 0; j < bytes.length; j++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      bytes[j] = seed >>> 24;
    }
    h.receive(bytes);
  }
  assert.ok(h.kernel.snapshotOf('echo') !== undefined);
});

/** On one DescribeQuorumRequest, sends ten requests to the echo actor on the same node. */
const floodMachine = setup({
  types: { context: {} as { handled: number }, events: {} as EchoEvent, emitted: {} as EffectBatch },
  actions: {
    flood: enqueueActions<{ handled: number }, EchoEvent, undefined, EchoEvent, never, never, never, never, EffectBatch>(({ enqueue }) => {
      enqueue.emit({
        type: 'effects',
        effects: Array.from({ length: 10 }, (_, i) => ({
          type: 'send' as const, message: { to: { node: 1, actor: 'echo' }, kind: 'DescribeQuorumRequest' as const, body: { requestId: `flood-${i}` } },
        })),
      });
    }),
  },
}).createMachine({ context: () => ({ handled: 0 }), on: { DescribeQuorumRequest: { actions: 'flood' } } });

test('a full mailbox drops what does not fit, counts it, and delivers the rest', async () => {
  const h = harness();
  h.kernel.spawn('flood', floodMachine, {});
  h.receive(request({ to: { node: 1, actor: 'flood' } }));
  // Local messages wait in the run queue until the flood actor's step is over: four fit.
  assert.equal((h.kernel.snapshotOf('echo')!.context as { handled: number }).handled, 4);
  assert.equal(await droppedCount(h.registry, 'mailbox_full'), 6);
});

test('a message to this node skips the codec but arrives as the codec would deliver it, sharing no bytes with the sender', async () => {
  const h = harness();
  const arrived: Array<{ kind: string; from: { node: number; actor: string }; body: unknown }> = [];
  h.kernel.attachEndpoint('listener', (message) => arrived.push(message));
  const records = Uint8Array.from([1, 2, 3, 4]);
  const body = { requestId: 'r1', errorCode: 0, highWatermark: 7, records, topic: 'events', partition: 0, leaderHint: 1, leaderEpoch: 2, logStartOffset: 0, logEndOffset: 7, errorMessage: '', lastStableOffset: 7, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 7 };
  const from = { node: 1, actor: 'partition/events/0' };
  h.kernel.sendFrom(from, { to: { node: 1, actor: 'listener' }, kind: 'FetchResponse', body });
  records[0] = 99; // the sender writes on after sending
  from.actor = 'changed';
  assert.equal(arrived.length, 1);
  assert.equal(h.sent.length, 0, 'nothing went through the transport');
  const got = arrived[0]!;
  const expected = decodePayload('FetchResponse', encodePayload('FetchResponse', { ...body, records: Uint8Array.from([1, 2, 3, 4]) }));
  assert.equal(Object.getPrototypeOf(got.body), Object.getPrototypeOf(expected));
  assert.deepEqual(Object.keys(got.body as object), Object.keys(expected));
  assert.deepEqual([...(got.body as { records: Uint8Array }).records], [1, 2, 3, 4]);
  assert.deepEqual(got.from, { node: 1, actor: 'partition/events/0' });
  const metric = await h.registry.getSingleMetric('logmesh_mesh_envelopes_received_total')!.get();
  assert.equal(metric.values[0]?.value, 1, 'counted as a received envelope');

  // The checks a decoded envelope gets: no destination actor, no such actor.
  h.kernel.sendFrom(from, { to: { node: 1, actor: '' }, kind: 'FetchResponse', body });
  assert.equal(await droppedCount(h.registry, 'malformed'), 1);
  h.kernel.sendFrom(from, { to: { node: 1, actor: 'nobody' }, kind: 'FetchResponse', body });
  assert.equal(await droppedCount(h.registry, 'unknown_actor'), 1);
});
