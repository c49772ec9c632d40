// The partition replica actor, hosted by the real kernel on a simulated disk: a test plays
// the other replicas and the clients by sending envelopes and reading what comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../../actors/protocol/codec.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import type { LogResult } from '../../../actors/protocol/effects.js';
import {
  type PartitionStateChange, type WireKind, type WireMessages, acksAll, consumerReplicaId,
} from '../../../actors/protocol/messages.js';
import { readBatchHeader } from '../../../actors/protocol/record-batch.js';
import {
  type PartitionBugs, type PartitionContext, defaultPartitionTimings, endOffsetForEpoch, partitionMachine,
} from '../../../actors/partition/partition-machine.js';
import { bugSwitches } from '../../../runtime/ops/bugs.js';
import { NodeKernel } from '../../../runtime/kernel/node-kernel.js';
import type { Transport } from '../../../runtime/kernel/ports.js';
import { decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { unpackAborted } from '../../../actors/partition/txn-index.js';
import { SimDisk } from '../../../sim/disk.js';
import { Prng } from '../../../sim/prng.js';
import { Scheduler } from '../../../sim/scheduler.js';

const actorId = 'orders-0';
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

interface Sent { to: number; kind: string; body: unknown }

function stateOf(overrides: Partial<PartitionStateChange> = {}): PartitionStateChange {
  return {
    topic: 'orders', topicId: 'T1', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0,
    configs: [{ name: 'min.insync.replicas', value: '2' }], removed: false, ...overrides,
  };
}

/** Node 1 hosting one replica on a simulated disk; `sent` collects what it sends to other nodes. */
function hostReplica(state: PartitionStateChange, prepare?: (disk: SimDisk) => void, bugs?: PartitionBugs) {
  const scheduler = new Scheduler();
  const disk = new SimDisk(scheduler, Prng.forPurpose(7, 'disk'));
  prepare?.(disk);
  scheduler.runUntil(scheduler.now + 100);
  const sent: Sent[] = [];
  const lines: string[] = [];
  const transport: Transport = {
    send: (_to, bytes) => {
      const envelope = decodeEnvelope(bytes);
      sent.push({ to: envelope.to.node, kind: envelope.kind, body: decodePayload(envelope.kind as WireKind, envelope.payload) });
    },
    onReceive: () => {},
    close: async () => {},
  };
  const kernel = new NodeKernel({
    nodeId: 1, clusterId: 'c1', clock: scheduler.clock(), random: () => 0.5, transport, storage: disk,
    logger: pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } })),
    metrics: null, tracer: null,
  });
  kernel.spawn(actorId, partitionMachine, {
    config: { ...defaultPartitionTimings, nodeId: 1, brokerActor: 'broker', defaultMinInsyncReplicas: 1, bugs },
    state,
  });
  let seq = 0;
  const deliver = <K extends WireKind>(fromNode: number, kind: K, body: WireMessages[K]): void => {
    seq += 1;
    kernel.receive(encodeEnvelope({
      clusterId: 'c1', from: { node: fromNode, actor: fromNode === 1000 ? 'client' : actorId }, to: { node: 1, actor: actorId },
      kind, payload: encodePayload(kind, body), msgId: `t:${seq}`, parentId: '',
    }));
  };
  // The broker beside the replica: what the replica asks of it (KIP-890 checks) is kept here.
  const toBroker: Array<{ kind: string; body: unknown }> = [];
  kernel.attachEndpoint('broker', (message) => toBroker.push({ kind: message.kind, body: message.body }));
  const run = (ms = 50): void => scheduler.runUntil(scheduler.now + ms);
  const context = (): PartitionContext => kernel.snapshotOf(actorId)!.context as PartitionContext;
  const take = <K extends WireKind>(kind: K): Array<WireMessages[K]> => {
    const found = sent.filter((s) => s.kind === kind).map((s) => s.body as WireMessages[K]);
    for (let i = sent.length - 1; i >= 0; i--) if (sent[i]!.kind === kind) sent.splice(i, 1);
    return found;
  };
  /** Answers the replica's pending transaction checks as a coordinator would; returns how many there were. */
  const answerVerifications = (errorCode: number = ErrorCode.NONE): number => {
    const asked = toBroker.splice(0).filter((m) => m.kind === 'VerifyTxnPartitionRequest').map((m) => m.body as WireMessages['VerifyTxnPartitionRequest']);
    for (const request of asked) deliver(2, 'VerifyTxnPartitionResponse', { requestId: request.requestId, errorCode, topic: request.topic, partition: request.partition });
    run();
    return asked.length;
  };
  return { kernel, disk, deliver, run, context, take, lines, answerVerifications, state: () => String(kernel.snapshotOf(actorId)!.value) };
}

function batchOf(values: string[]): Uint8Array {
  return encodeRecordBatch(values.map((v) => ({ key: null, value: utf8.encode(v) })));
}

function produce(requestId: string, values: string[], overrides: Partial<WireMessages['ProduceRequest']> = {}): WireMessages['ProduceRequest'] {
  return { requestId, topic: 'orders', partition: 0, acks: acksAll, timeoutMs: 5000, records: batchOf(values), leaderEpoch: 0, transactionalId: '', ...overrides };
}

function followerFetch(replicaId: number, fetchOffset: number, overrides: Partial<WireMessages['FetchRequest']> = {}): WireMessages['FetchRequest'] {
  return {
    requestId: `f-${replicaId}-${fetchOffset}`, topic: 'orders', partition: 0, replicaId, fetchOffset, lastFetchedEpoch: 0,
    currentLeaderEpoch: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 1, isolationLevel: 0,
    durableOffset: replicaId === consumerReplicaId ? 0 : fetchOffset, ...overrides,
  };
}

function valuesIn(records: Uint8Array): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let at = 0; at < records.length;) {
    const header = readBatchHeader(records, at);
    for (const r of decodeRecords(records, header)) out.push([r.offset, fromUtf8.decode(r.value!)]);
    at += header.sizeBytes;
  }
  return out;
}

test('endOffsetForEpoch answers as KIP-101/279 define it', () => {
  const epochs = [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 5 }, { epoch: 4, startOffset: 9 }];
  assert.deepEqual(endOffsetForEpoch(epochs, 12, 0), { epoch: 0, endOffset: 5 });
  assert.deepEqual(endOffsetForEpoch(epochs, 12, 1), { epoch: 0, endOffset: 5 }, 'an unknown epoch answers with the largest one below it');
  assert.deepEqual(endOffsetForEpoch(epochs, 12, 3), { epoch: 2, endOffset: 9 });
  assert.deepEqual(endOffsetForEpoch(epochs, 12, 4), { epoch: 4, endOffset: 12 }, 'the latest epoch ends at the log end');
  assert.deepEqual(endOffsetForEpoch(epochs, 12, 9), { epoch: 4, endOffset: 12 });
  assert.deepEqual(endOffsetForEpoch([{ epoch: 3, startOffset: 7 }], 10, 1), { epoch: -1, endOffset: 7 });
});

test('an acks=all write is acknowledged once every ISR member holds it durably, not before', () => {
  const replica = hostReplica(stateOf());
  replica.run();
  assert.equal(replica.state(), 'leader');
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a', 'b']));
  replica.run();
  assert.deepEqual(replica.take('ProduceResponse'), [], 'no answer while followers have not fetched');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2));
  replica.run();
  assert.deepEqual(replica.take('ProduceResponse'), [], 'replica 3 is in the ISR and has not fetched');
  assert.equal(replica.context().highWatermark, 0);
  replica.deliver(3, 'FetchRequest', followerFetch(3, 2));
  replica.run();
  const [answer] = replica.take('ProduceResponse');
  assert.equal(answer?.errorCode, ErrorCode.NONE);
  assert.equal(answer?.baseOffset, 0);
  assert.equal(replica.context().highWatermark, 2);
});

test('a follower\'s fetch that reaches the leader while its log is still opening waits for it, instead of a refusal and a second\'s backoff', () => {
  const replica = hostReplica(stateOf());
  assert.equal(replica.state(), 'opening');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 0, { requestId: 'early-2' }));
  replica.deliver(1000, 'FetchRequest', consumerFetch('early-consumer', 0, 0));
  replica.deliver(3, 'FetchRequest', followerFetch(3, 0, { requestId: 'stale-epoch', currentLeaderEpoch: 7 }));
  // A consumer, and a follower that does not agree on the epoch, are answered at once, as before.
  const refused = replica.take('FetchResponse');
  assert.deepEqual(refused.map((r) => [r.requestId, r.errorCode]).sort(), [['early-consumer', ErrorCode.NOT_LEADER_OR_FOLLOWER], ['stale-epoch', ErrorCode.NOT_LEADER_OR_FOLLOWER]]);
  replica.run();
  assert.equal(replica.state(), 'leader');
  const served = replica.take('FetchResponse');
  assert.deepEqual(served.map((r) => [r.requestId, r.errorCode]), [['early-2', ErrorCode.NONE]]);
  assert.equal(replica.context().followers.get(2)?.fetchOffset, 0, 'the held fetch counts as the follower\'s fetch');
});

test('fetches held for a replica that then does not lead are refused when it turns follower', () => {
  const replica = hostReplica(stateOf());
  replica.deliver(2, 'FetchRequest', followerFetch(2, 0, { requestId: 'held-2', maxWaitMs: 500 }));
  replica.deliver(2, 'FetchRequest', followerFetch(2, 0, { requestId: 'newer-2', maxWaitMs: 500 }));
  assert.deepEqual(replica.take('FetchResponse'), []);
  replica.deliver(1000, 'PartitionStateChange', stateOf({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 }));
  replica.run();
  assert.equal(replica.state(), 'follower');
  // One per follower: the newer replaced the older, and it is refused now that node 2 leads.
  const answers = replica.take('FetchResponse');
  assert.deepEqual(answers.map((r) => [r.requestId, r.errorCode]), [['newer-2', ErrorCode.NOT_LEADER_OR_FOLLOWER]]);
  assert.deepEqual(replica.context().earlyFetches, []);
});

test('a consumer reads only below the high watermark', () => {
  const replica = hostReplica(stateOf({ isr: [1, 2], replicas: [1, 2] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a']));
  replica.run();
  replica.deliver(2, 'FetchRequest', followerFetch(2, 1));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p2', ['b', 'c']));
  replica.run();
  assert.equal(replica.context().logEndOffset, 3);
  assert.equal(replica.context().highWatermark, 1);
  replica.deliver(1000, 'FetchRequest', followerFetch(consumerReplicaId, 0, { requestId: 'c1', currentLeaderEpoch: -1 }));
  replica.run();
  const fetched = replica.take('FetchResponse').find((f) => f.requestId === 'c1');
  assert.equal(fetched?.errorCode, ErrorCode.NONE);
  assert.deepEqual(valuesIn(fetched!.records), [[0, 'a']]);
  assert.equal(fetched?.highWatermark, 1);
});

test('requests with a stale or future leader epoch, too few in-sync replicas or a corrupt batch are refused', () => {
  const replica = hostReplica(stateOf({ leaderEpoch: 3, isr: [1] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('stale', ['x'], { leaderEpoch: 2 }));
  replica.deliver(1000, 'ProduceRequest', produce('future', ['x'], { leaderEpoch: 4 }));
  replica.deliver(1000, 'ProduceRequest', produce('few', ['x'], { leaderEpoch: 3 }));
  const corrupt = batchOf(['y']);
  corrupt[corrupt.length - 1]! ^= 0xff;
  replica.deliver(1000, 'ProduceRequest', produce('corrupt', ['y'], { leaderEpoch: 3, acks: 1, records: corrupt }));
  replica.deliver(2, 'FetchRequest', followerFetch(2, 0, { currentLeaderEpoch: 1 }));
  replica.deliver(3, 'FetchRequest', followerFetch(3, 5, { currentLeaderEpoch: 3 }));
  replica.run();
  const answers = new Map(replica.take('ProduceResponse').map((r) => [r.requestId, r.errorCode]));
  assert.equal(answers.get('stale'), ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(answers.get('future'), ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.equal(answers.get('few'), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(answers.get('corrupt'), ErrorCode.CORRUPT_MESSAGE);
  const fetches = replica.take('FetchResponse');
  assert.deepEqual(fetches.map((f) => f.errorCode), [ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.OFFSET_OUT_OF_RANGE]);
  assert.equal(replica.context().logEndOffset, 0, 'nothing refused reached the log');
  assert.ok(replica.lines.some((line) => line.includes('failed (invalid)')), 'the corrupt batch is logged');
  assert.ok(replica.lines.some((line) => line.includes('refused fetch from replica 2') && line.includes('FENCED_LEADER_EPOCH')), 'the stale fetch is logged');
  assert.ok(replica.lines.some((line) => line.includes('refused fetch from replica 3') && line.includes('OFFSET_OUT_OF_RANGE')), 'the fetch beyond the log end is logged');
});

test('a produce request whose batch is too short, has a bad magic byte or an unknown codec gets CORRUPT_MESSAGE, and the replica goes on', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [] }));
  replica.run();
  const badMagic = batchOf(['m']);
  badMagic[16] = 1;
  const idempotentBadMagic = encodeRecordBatch([{ key: null, value: utf8.encode('i') }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
  idempotentBadMagic[16] = 0;
  const badCodec = batchOf(['c']);
  badCodec[22] = 0x07; // attributes' low byte: codec 7 does not exist
  replica.deliver(1000, 'ProduceRequest', produce('empty', ['-'], { records: new Uint8Array(0) }));
  replica.deliver(1000, 'ProduceRequest', produce('short', ['-'], { records: batchOf(['s']).subarray(0, 20) }));
  replica.deliver(1000, 'ProduceRequest', produce('header-only', ['-'], { records: batchOf(['h']).subarray(0, 61) }));
  replica.deliver(1000, 'ProduceRequest', produce('bad-magic', ['-'], { records: badMagic }));
  replica.deliver(1000, 'ProduceRequest', produce('idempotent-bad-magic', ['-'], { records: idempotentBadMagic }));
  replica.deliver(1000, 'ProduceRequest', produce('bad-codec', ['-'], { records: badCodec }));
  replica.deliver(1000, 'ProduceRequest', produce('good', ['g']));
  replica.run();
  const answers = new Map(replica.take('ProduceResponse').map((r) => [r.requestId, r.errorCode]));
  for (const requestId of ['empty', 'short', 'header-only', 'bad-magic', 'idempotent-bad-magic', 'bad-codec']) {
    assert.equal(answers.get(requestId), ErrorCode.CORRUPT_MESSAGE, requestId);
  }
  assert.equal(answers.get('good'), ErrorCode.NONE, 'the replica still serves');
  assert.equal(replica.context().logEndOffset, 1, 'only the good batch reached the log');
});

test('a follower asks where its last epoch ends, cuts its divergent suffix, then fetches from there', () => {
  // Our log: offsets 0-2 in epoch 0, 3-5 in epoch 1. The new leader (epoch 2) never had epoch 1.
  const replica = hostReplica(stateOf({ leader: 2, leaderEpoch: 2 }), (disk) => {
    const done = (_: LogResult): void => {};
    disk.submitLog(actorId, { kind: 'logAppend', bytes: batchOf(['a', 'b', 'c']), leaderEpoch: 0 }, done);
    disk.submitLog(actorId, { kind: 'logAppend', bytes: batchOf(['d', 'e', 'f']), leaderEpoch: 1 }, done);
    disk.flushLog(actorId, 6, done);
  });
  replica.run();
  assert.equal(replica.state(), 'follower');
  const [ask] = replica.take('OffsetForLeaderEpochRequest');
  assert.equal(ask?.leaderEpoch, 1);
  assert.equal(ask?.currentLeaderEpoch, 2);
  replica.deliver(2, 'OffsetForLeaderEpochResponse', {
    requestId: ask!.requestId, errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 3, leaderHint: 2, topic: 'orders', partition: 0,
  });
  replica.run();
  assert.equal(replica.context().logEndOffset, 3);
  assert.deepEqual(replica.context().epochs, [{ epoch: 0, startOffset: 0 }]);
  const [fetch] = replica.take('FetchRequest');
  assert.equal(fetch?.fetchOffset, 3);
  assert.equal(fetch?.currentLeaderEpoch, 2);
});

test('a follower refuses records that do not continue its log or fail their CRC; they never reach the log', () => {
  const replica = hostReplica(stateOf({ leader: 2 }));
  replica.run();
  let [fetch] = replica.take('FetchRequest');
  assert.equal(fetch?.fetchOffset, 0);
  // A batch of offsets 0-1, then one that starts back at offset 1.
  const overlapping = batchOf(['z']);
  new DataView(overlapping.buffer, overlapping.byteOffset).setBigInt64(0, 1n);
  const wrongOffset = new Uint8Array([...batchOf(['x', 'y']), ...overlapping]);
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 2, records: wrongOffset,
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run(1000);
  [fetch] = replica.take('FetchRequest');
  const badCrc = batchOf(['z']);
  badCrc[badCrc.length - 1]! ^= 0x01;
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 1, records: badCrc,
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run(1000);
  assert.equal(replica.context().logEndOffset, 0);
  assert.ok(replica.lines.some((line) => line.includes('refused records from node 2')), 'the wrong offset is logged');
  assert.ok(replica.lines.some((line) => line.includes('followerAppend failed')), 'the bad CRC is logged');
  [fetch] = replica.take('FetchRequest');
  assert.equal(fetch?.fetchOffset, 0, 'it keeps fetching from where its log ends');
});

// A compacted leader's log has gaps where its cleaner removed batches; offsets never move.
test('a follower takes batches after a gap the leader\'s cleaner left, at their own offsets', () => {
  const replica = hostReplica(stateOf({ leader: 2 }));
  replica.run();
  const [fetch] = replica.take('FetchRequest');
  const afterGap = batchOf(['z']);
  new DataView(afterGap.buffer, afterGap.byteOffset).setBigInt64(0, 7n);
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 8, records: afterGap,
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run(1000);
  assert.equal(replica.context().logEndOffset, 8);
  const [next] = replica.take('FetchRequest');
  assert.equal(next?.fetchOffset, 8, 'it fetches on from after the batch');
});

/** Spies on the high watermarks (and, into `horizons`, the tombstone horizons) the kernel hands the log. */
function noteHighWatermarks(disk: SimDisk, horizons: number[] = []): number[] {
  const noted: number[] = [];
  const note = disk.noteHighWatermark.bind(disk);
  disk.noteHighWatermark = (store, offset, tombstoneHorizon) => {
    assert.equal(store, actorId);
    noted.push(offset);
    horizons.push(tombstoneHorizon);
    note(store, offset, tombstoneHorizon);
  };
  return noted;
}

test('a leader\'s tombstone horizon waits for every assigned replica, out of the ISR too, and reaches its followers', () => {
  const horizons: number[] = [];
  const replica = hostReplica(stateOf({ isr: [1, 2], replicas: [1, 2, 3] }), (disk) => { noteHighWatermarks(disk, horizons); });
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a', 'b', 'c']));
  replica.run();
  replica.deliver(2, 'FetchRequest', followerFetch(2, 3));
  replica.run();
  assert.equal(replica.context().highWatermark, 3);
  assert.equal(replica.context().tombstoneHorizon, 0, 'replica 3 has not fetched');
  assert.deepEqual(horizons, [0]);
  // Replica 3 holds all three, but only offset 0 on its disk: a tombstone in its page cache may yet be lost.
  replica.deliver(3, 'FetchRequest', followerFetch(3, 3, { durableOffset: 1 }));
  replica.run();
  assert.equal(replica.context().tombstoneHorizon, 1, 'the least durable end of the assigned followers');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 3, { requestId: 'again' }));
  replica.run();
  const answers = replica.take('FetchResponse');
  assert.equal(answers.at(-1)?.tombstoneHorizon, 1, 'followers hear it');
  replica.deliver(3, 'FetchRequest', followerFetch(3, 3, { requestId: 'caught-up' }));
  replica.run();
  assert.equal(replica.context().tombstoneHorizon, 3);
  assert.deepEqual(horizons, [0, 1, 3]);
});

test('a follower takes its leader\'s tombstone horizon, capped at its high watermark, and keeps it when it becomes leader until every follower fetched', () => {
  const horizons: number[] = [];
  const replica = hostReplica(stateOf({ leader: 2 }), (disk) => { noteHighWatermarks(disk, horizons); });
  replica.run();
  let [fetch] = replica.take('FetchRequest');
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 3, records: batchOf(['a', 'b', 'c']),
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run();
  [fetch] = replica.take('FetchRequest');
  assert.equal(fetch?.fetchOffset, 3);
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 2, logStartOffset: 0, logEndOffset: 3, records: new Uint8Array(0),
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 5,
  });
  replica.run();
  assert.equal(replica.context().tombstoneHorizon, 2, 'never above its own high watermark');
  assert.deepEqual(horizons, [2]);
  replica.deliver(1000, 'PartitionStateChange', stateOf({ leader: 1, leaderEpoch: 1, partitionEpoch: 1 }));
  replica.run(500);
  assert.equal(replica.state(), 'leader');
  assert.equal(replica.context().tombstoneHorizon, 2, 'followers that have not fetched yet count at the horizon heard before');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 3, { currentLeaderEpoch: 1 }));
  replica.deliver(3, 'FetchRequest', followerFetch(3, 3, { currentLeaderEpoch: 1, requestId: 'from-3' }));
  replica.run();
  assert.equal(replica.context().highWatermark, 3);
  assert.equal(replica.context().tombstoneHorizon, 3);
});

test('a leader tells its log the high watermark each time it advances, and only then', () => {
  let noted: number[] = [];
  const replica = hostReplica(stateOf({ isr: [1, 2], replicas: [1, 2] }), (disk) => { noted = noteHighWatermarks(disk); });
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a', 'b']));
  replica.run();
  assert.deepEqual(noted, [], 'nothing to tell while the follower has not fetched');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2));
  replica.run();
  assert.equal(replica.context().highWatermark, 2);
  assert.deepEqual(noted, [2]);
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2, { requestId: 'again' }));
  replica.run();
  assert.deepEqual(noted, [2], 'a fetch that moves nothing tells nothing');
  replica.deliver(1000, 'ProduceRequest', produce('p2', ['c']));
  replica.run();
  replica.deliver(2, 'FetchRequest', followerFetch(2, 3));
  replica.run();
  assert.deepEqual(noted, [2, 3]);
  assert.equal(replica.disk.logs.highWatermarkOf(actorId), 3);
});

test('a follower tells its log the leader\'s high watermark, capped at what it holds durably', () => {
  let noted: number[] = [];
  const replica = hostReplica(stateOf({ leader: 2 }), (disk) => { noted = noteHighWatermarks(disk); });
  replica.run();
  let [fetch] = replica.take('FetchRequest');
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 2, logStartOffset: 0, logEndOffset: 2, records: batchOf(['a', 'b']),
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run();
  assert.deepEqual(noted, [], 'the leader\'s high watermark is above what this log held when it heard it');
  assert.equal(replica.context().logEndOffset, 2);
  fetch = replica.take('FetchRequest').at(-1)!;
  assert.equal(fetch?.fetchOffset, 2);
  replica.deliver(2, 'FetchResponse', {
    requestId: fetch!.requestId, errorCode: 0, highWatermark: 5, logStartOffset: 0, logEndOffset: 5, records: new Uint8Array(0),
    leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  replica.run();
  assert.equal(replica.context().highWatermark, 2);
  assert.deepEqual(noted, [2]);
});

test('a leader of a compacted topic answers a record without a key with INVALID_RECORD, as Kafka does', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [{ name: 'cleanup.policy', value: 'compact' }] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('keyless', ['a']));
  replica.run();
  const [refused] = replica.take('ProduceResponse');
  assert.equal(refused?.errorCode, ErrorCode.INVALID_RECORD);
  assert.match(refused?.errorMessage ?? '', /without a key/);
  replica.deliver(1000, 'ProduceRequest', produce('keyed', ['v'], { records: encodeRecordBatch([{ key: utf8.encode('k'), value: utf8.encode('v') }]) }));
  replica.run();
  const [accepted] = replica.take('ProduceResponse');
  assert.equal(accepted?.errorCode, ErrorCode.NONE);
  assert.equal(accepted?.baseOffset, 0, 'the refused batch took no offset');
});

function txnBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Uint8Array {
  return encodeRecordBatch(values.map((v) => ({ key: null, value: utf8.encode(v) })), { producerId, producerEpoch, baseSequence, transactional: true });
}

function markerRequest(requestId: string, producerId: number, producerEpoch: number, commit: boolean): WireMessages['WriteTxnMarkerRequest'] {
  return {
    requestId, replyTo: { node: 2, actor: 'txn-coordinator-0' }, topic: 'orders', partition: 0, producerId, producerEpoch, commit, coordinatorEpoch: 0,
  };
}

function consumerFetch(requestId: string, fetchOffset: number, isolationLevel: number): WireMessages['FetchRequest'] {
  return followerFetch(consumerReplicaId, fetchOffset, { requestId, currentLeaderEpoch: -1, isolationLevel });
}

test('transactions: read_committed reads stop at the open transaction; markers are answered once committed; aborted ones are listed', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('plain', ['a']));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('t1', ['-'], { records: txnBatch(7, 0, 0, ['x1', 'x2']), transactionalId: 'tx-7' }));
  replica.deliver(1000, 'ProduceRequest', produce('t2', ['-'], { records: txnBatch(8, 0, 0, ['y1']), transactionalId: 'tx-8' }));
  replica.run();
  assert.equal(replica.context().logEndOffset, 1, 'a producer\'s first transactional write waits for its coordinator');
  assert.equal(replica.answerVerifications(), 2);
  replica.deliver(1000, 'ProduceRequest', produce('plain2', ['b']));
  replica.run();
  assert.deepEqual(replica.take('ProduceResponse').map((r) => [r.requestId, r.errorCode]), [['plain', 0], ['t1', 0], ['t2', 0], ['plain2', 0]]);
  assert.equal(replica.context().highWatermark, 5);

  replica.deliver(1000, 'FetchRequest', consumerFetch('uncommitted', 0, 0));
  replica.deliver(1000, 'FetchRequest', consumerFetch('committed', 0, 1));
  replica.deliver(1000, 'ListOffsetsRequest', { requestId: 'lso', topic: 'orders', partition: 0, timestamp: -1, currentLeaderEpoch: -1, isolationLevel: 1 });
  replica.run();
  const reads = replica.take('FetchResponse');
  const uncommitted = reads.find((f) => f.requestId === 'uncommitted')!;
  const committed = reads.find((f) => f.requestId === 'committed')!;
  assert.equal(uncommitted.records.length > 0 && valuesIn(uncommitted.records).length, 5);
  assert.deepEqual(valuesIn(committed.records), [[0, 'a']], 'read_committed stops at the first open transaction');
  assert.equal(committed.lastStableOffset, 1);
  assert.equal(replica.take('ListOffsetsResponse')[0]?.offset, 1, 'latest for read_committed is the last stable offset');

  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('m7', 7, 0, false));
  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('m8', 8, 0, true));
  replica.run();
  const markers = replica.take('WriteTxnMarkerResponse');
  assert.deepEqual(markers.map((m) => [m.requestId, m.errorCode]), [['m7', 0], ['m8', 0]]);
  assert.equal(replica.context().logEndOffset, 7);
  replica.deliver(1000, 'FetchRequest', consumerFetch('after', 0, 1));
  replica.run();
  const after = replica.take('FetchResponse').find((f) => f.requestId === 'after')!;
  assert.equal(after.lastStableOffset, 7);
  const controlOffsets: number[] = [];
  for (let at = 0; at < after.records.length;) {
    const header = readBatchHeader(after.records, at);
    if (header.isControl) controlOffsets.push(header.baseOffset);
    at += header.sizeBytes;
  }
  assert.deepEqual(valuesIn(after.records).map(([o]) => o), [0, 1, 2, 3, 4, 5, 6], 'the data and both markers');
  assert.deepEqual(controlOffsets, [5, 6], 'the markers are control batches');
  assert.deepEqual(unpackAborted(after.abortedTransactions), [{ producerId: 7, firstOffset: 1 }]);

  // From the abort marker on, the answer holds none of producer 7's aborted data: the
  // transaction is not listed (were the data gone, the cleaner could have removed the marker too).
  replica.deliver(1000, 'FetchRequest', consumerFetch('markers', 5, 1));
  replica.deliver(1000, 'FetchRequest', consumerFetch('data', 2, 1));
  replica.run();
  const later = replica.take('FetchResponse');
  const markersOnly = later.find((f) => f.requestId === 'markers')!;
  assert.deepEqual(valuesIn(markersOnly.records).map(([o]) => o), [5, 6]);
  assert.deepEqual(unpackAborted(markersOnly.abortedTransactions), [], 'no data of the aborted transaction in the answer: not listed');
  assert.deepEqual(unpackAborted(later.find((f) => f.requestId === 'data')!.abortedTransactions), [{ producerId: 7, firstOffset: 1 }], 'its data is');
});

test('transactions: clients cannot write markers; a fenced epoch and a write outside an open transaction are refused', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [] }));
  replica.run();
  const control = encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, 1]), value: new Uint8Array(6) }], {
    producerId: 7, producerEpoch: 0, baseSequence: -1, transactional: true, control: true,
  });
  replica.deliver(1000, 'ProduceRequest', produce('forged', ['-'], { records: control }));
  replica.deliver(1000, 'ProduceRequest', produce('no-id', ['-'], { records: txnBatch(7, 0, 0, ['x']) }));
  replica.deliver(1000, 'ProduceRequest', produce('unknown', ['-'], { records: txnBatch(9, 0, 0, ['h']), transactionalId: 'tx-9' }));
  replica.run();
  assert.equal(replica.answerVerifications(ErrorCode.INVALID_TXN_STATE), 1, 'a write its coordinator does not know of would hang the partition');
  replica.deliver(1000, 'ProduceRequest', produce('t', ['-'], { records: txnBatch(7, 0, 0, ['x']), transactionalId: 'tx-7' }));
  replica.deliver(1000, 'ProduceRequest', produce('t-next', ['-'], { records: txnBatch(7, 0, 1, ['x2']), transactionalId: 'tx-7' }));
  replica.run();
  assert.equal(replica.answerVerifications(), 1, 'the second write queues behind the first one\'s check');
  replica.deliver(1000, 'ProduceRequest', produce('outside', ['-'], { records: encodeRecordBatch([{ key: null, value: utf8.encode('z') }], { producerId: 7, producerEpoch: 0, baseSequence: 2 }) }));
  // The coordinator fenced the producer: its abort marker carries the next epoch.
  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('fence', 7, 1, false));
  // The zombie's write arrives while the marker is still being appended: the new epoch already holds.
  replica.deliver(1000, 'ProduceRequest', produce('zombie', ['-'], { records: txnBatch(7, 0, 2, ['late']), transactionalId: 'tx-7' }));
  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('stale', 7, 0, true));
  replica.run();
  const answers = new Map(replica.take('ProduceResponse').map((r) => [r.requestId, r.errorCode]));
  assert.equal(answers.get('forged'), ErrorCode.INVALID_RECORD);
  assert.equal(answers.get('no-id'), ErrorCode.INVALID_RECORD);
  assert.equal(answers.get('unknown'), ErrorCode.INVALID_TXN_STATE);
  assert.equal(answers.get('t'), ErrorCode.NONE);
  assert.equal(answers.get('t-next'), ErrorCode.NONE);
  assert.equal(answers.get('outside'), ErrorCode.INVALID_TXN_STATE);
  assert.equal(answers.get('zombie'), ErrorCode.INVALID_PRODUCER_EPOCH);
  const markers = new Map(replica.take('WriteTxnMarkerResponse').map((m) => [m.requestId, m.errorCode]));
  assert.equal(markers.get('fence'), ErrorCode.NONE);
  assert.equal(markers.get('stale'), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(replica.context().logEndOffset, 3, 'only the transaction\'s records and its marker were written');
  assert.equal(replica.context().txns.unstable.length, 0);
});

test('transactions: a replica reopened from its log knows the open and the aborted transactions', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('t7', ['-'], { records: txnBatch(7, 0, 0, ['x']), transactionalId: 'tx-7' }));
  replica.run();
  replica.answerVerifications();
  replica.deliver(1000, 'ProduceRequest', produce('t8', ['-'], { records: txnBatch(8, 0, 0, ['y']), transactionalId: 'tx-8' }));
  replica.run();
  replica.answerVerifications();
  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('m7', 7, 0, false));
  replica.run();
  // A new leader epoch: the replica reopens its log and reads the state back from it.
  replica.deliver(1000, 'PartitionStateChange', stateOf({ isr: [1], replicas: [1], configs: [], leaderEpoch: 1, partitionEpoch: 1 }));
  replica.run();
  assert.equal(replica.state(), 'leader');
  assert.deepEqual(replica.context().txns.aborted, [{ producerId: 7, firstOffset: 0, lastOffset: 2 }]);
  assert.deepEqual(replica.context().txns.unstable.map((t) => [t.producerId, t.firstOffset, t.markerOffset]), [[8, 1, -1]]);
});

test('transactions: ListOffsets by timestamp and max timestamp for read_committed stop at the last stable offset, as Kafka\'s "last fetchable offset"', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1], configs: [] }));
  replica.run();
  const at = (timestamp: number, values: string[]) => values.map((v) => ({ key: null, value: utf8.encode(v), timestamp }));
  replica.deliver(1000, 'ProduceRequest', produce('plain', ['-'], { records: encodeRecordBatch(at(100, ['a'])) }));
  replica.run();
  const open = encodeRecordBatch(at(200, ['x1', 'x2']), { producerId: 7, producerEpoch: 0, baseSequence: 0, transactional: true });
  replica.deliver(1000, 'ProduceRequest', produce('t7', ['-'], { records: open, transactionalId: 'tx-7' }));
  replica.run();
  assert.equal(replica.answerVerifications(), 1);
  assert.deepEqual(replica.take('ProduceResponse').map((r) => [r.requestId, r.errorCode]), [['plain', 0], ['t7', 0]]);
  assert.equal(replica.context().highWatermark, 3);

  const lookup = (timestamp: number, isolationLevel: number): WireMessages['ListOffsetsResponse'] => {
    const requestId = `ts-${timestamp}-${isolationLevel}`;
    replica.deliver(1000, 'ListOffsetsRequest', { requestId, topic: 'orders', partition: 0, timestamp, currentLeaderEpoch: -1, isolationLevel });
    replica.run();
    return replica.take('ListOffsetsResponse').find((r) => r.requestId === requestId)!;
  };
  const answer = (r: WireMessages['ListOffsetsResponse']) => [r.errorCode, r.offset, r.timestamp];
  // The transaction (offsets 1-2) is open: the last stable offset is 1, the high watermark 3.
  assert.deepEqual(answer(lookup(150, 1)), [0, -1, -1], 'read_committed: the first record at 150 is in the open transaction');
  assert.deepEqual(answer(lookup(150, 0)), [0, 1, 200], 'read_uncommitted: it is below the high watermark');
  assert.deepEqual(answer(lookup(50, 1)), [0, 0, 100], 'a record below the last stable offset is found');
  assert.deepEqual(answer(lookup(-1, 1)), [0, 1, -1], 'latest for read_committed is the last stable offset');
  assert.deepEqual(answer(lookup(-1, 0)), [0, 3, -1], 'latest for read_uncommitted is the high watermark');
  assert.deepEqual(answer(lookup(-2, 1)), [0, 0, -1], 'earliest is the log start for both');
  assert.deepEqual(answer(lookup(-3, 1)), [0, -1, -1], 'read_committed: the largest timestamp (200) is in the open transaction');
  assert.deepEqual(answer(lookup(-3, 0)), [0, 1, 200], 'max timestamp: its first record');

  replica.deliver(2, 'WriteTxnMarkerRequest', markerRequest('m7', 7, 0, true));
  replica.run();
  assert.deepEqual(replica.take('WriteTxnMarkerResponse').map((m) => [m.requestId, m.errorCode]), [['m7', 0]]);
  assert.deepEqual(answer(lookup(150, 1)), [0, 1, 200], 'after the commit marker read_committed finds it too');
  assert.deepEqual(answer(lookup(150, 0)), [0, 1, 200]);
  // The marker, stamped with the leader's clock, now holds the largest timestamp: control
  // batches count, as in Kafka.
  const [errorCode, offset, timestamp] = answer(lookup(-3, 1));
  assert.deepEqual([errorCode, offset], [0, 3]);
  assert.ok(timestamp! > 200, `the marker's timestamp ${timestamp}`);
});

test('ListOffsets while a new leader\'s watermark lags its epoch (KIP-207): latest and a lookup that finds nothing are not available, earliest is', () => {
  const replica = hostReplica(stateOf({ isr: [1, 2], replicas: [1, 2], configs: [] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('one', ['-'], { acks: 1, records: encodeRecordBatch([{ key: null, value: utf8.encode('a'), timestamp: 100 }]) }));
  replica.run();
  assert.equal(replica.take('ProduceResponse')[0]?.errorCode, ErrorCode.NONE);
  // Re-elected in a new epoch before the follower fetched: the epoch starts at 1, the watermark is 0.
  replica.deliver(1000, 'PartitionStateChange', stateOf({ isr: [1, 2], replicas: [1, 2], configs: [], leaderEpoch: 1, partitionEpoch: 1 }));
  replica.run();
  assert.equal(replica.state(), 'leader');
  assert.deepEqual([replica.context().highWatermark, replica.context().epochStartOffset], [0, 1]);
  const lookup = (timestamp: number): number[] => {
    const requestId = `ts-${timestamp}`;
    replica.deliver(1000, 'ListOffsetsRequest', { requestId, topic: 'orders', partition: 0, timestamp, currentLeaderEpoch: -1, isolationLevel: 0 });
    replica.run();
    const r = replica.take('ListOffsetsResponse').find((a) => a.requestId === requestId)!;
    return [r.errorCode, r.offset];
  };
  assert.deepEqual(lookup(-1), [ErrorCode.OFFSET_NOT_AVAILABLE, -1]);
  assert.deepEqual(lookup(-2), [ErrorCode.NONE, 0], 'the log start cannot go back');
  assert.deepEqual(lookup(50), [ErrorCode.OFFSET_NOT_AVAILABLE, -1], 'the record at offset 0 is above the watermark');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 1, { lastFetchedEpoch: 0, currentLeaderEpoch: 1 }));
  replica.run();
  assert.equal(replica.context().highWatermark, 1);
  assert.deepEqual(lookup(50), [ErrorCode.NONE, 0]);
  assert.deepEqual(lookup(150), [ErrorCode.NONE, -1], 'nothing after 150, and nothing hidden');
  assert.deepEqual(lookup(-1), [ErrorCode.NONE, 1]);
});

test('a follower behind the leader fetches on while its fsync runs; at the leader\'s end it fetches once its log is durable', () => {
  const replica = hostReplica(stateOf({ leader: 2 }));
  replica.run();
  const [first] = replica.take('FetchRequest');
  assert.deepEqual([first?.fetchOffset, first?.durableOffset], [0, 0]);
  const answer = (requestId: string, records: Uint8Array, logEndOffset: number): void => replica.deliver(2, 'FetchResponse', {
    requestId, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset, records, leaderHint: 2, leaderEpoch: 0, topic: 'orders', partition: 0, errorMessage: '',
    lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: 0,
  });
  // The leader has 3 records, sends 2: the next fetch goes as soon as they are appended.
  answer(first!.requestId, batchOf(['a', 'b']), 3);
  let flushed = false;
  const flushLog = replica.disk.flushLog.bind(replica.disk);
  replica.disk.flushLog = (store, offset, done) => flushLog(store, offset, (result) => { flushed = true; done(result); });
  replica.run(0.1);
  for (let i = 0; i < 100 && replica.context().logEndOffset < 2; i++) replica.run(0.1);
  assert.equal(replica.context().logEndOffset, 2);
  const pipelined = replica.take('FetchRequest');
  assert.equal(flushed, false, 'the flush is still running');
  assert.deepEqual(pipelined.map((f) => [f.fetchOffset, f.durableOffset]), [[2, 0]], 'the next fetch goes before the fsync is done');
  replica.run();
  assert.deepEqual(replica.take('FetchRequest'), [], 'one fetch out at a time');
  // Now at the leader's end: the next fetch waits for the flush and says the log is durable.
  answer(pipelined[0]!.requestId, encodeRecordBatch([{ key: null, value: utf8.encode('c') }], { baseOffset: 2 }), 3);
  replica.run();
  assert.deepEqual(replica.take('FetchRequest').map((f) => [f.fetchOffset, f.durableOffset]), [[3, 3]]);
});

/**
 * A follower that holds offsets 0-1, neither on its disk yet, then says both are on
 * its disk; the leader's high watermark must wait for the second fetch. Throws if it does not.
 */
function leaderWaitsForDurableEnd(bugs?: PartitionBugs): void {
  const replica = hostReplica(stateOf({ isr: [1, 2], replicas: [1, 2] }), undefined, bugs);
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a', 'b']));
  replica.run();
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2, { requestId: 'held', durableOffset: 0, maxWaitMs: 500 }));
  replica.run();
  assert.equal(replica.context().highWatermark, 0, 'the follower holds offsets 0-1 but has not said they are on its disk');
  assert.deepEqual(replica.take('ProduceResponse'), []);
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2, { requestId: 'report', durableOffset: 2, maxWaitMs: 500 }));
  replica.run();
  assert.equal(replica.context().highWatermark, 2);
  assert.equal(replica.take('ProduceResponse')[0]?.errorCode, ErrorCode.NONE);
  replica.run(1000);
  assert.deepEqual(replica.take('FetchResponse').map((f) => f.requestId), ['report'], 'the replaced fetch gets no answer');
}

test('a leader counts a follower\'s durable end toward the high watermark, and a new fetch from it replaces the one it holds', () => {
  leaderWaitsForDurableEnd();
});

// The simulator needs a power loss aimed while a follower fetches on behind the leader to
// catch this bug (seed 95 of 1..300 with --faults power-loss,slow-disk): too rare for npm test.
test('the "hw-counts-unsynced-follower-end" bug, counting a follower\'s log end, fails the test above', () => {
  assert.throws(() => leaderWaitsForDurableEnd(bugSwitches['hw-counts-unsynced-follower-end']!.broker.partition),
    /has not said they are on its disk/);
});

test('a follower out of the ISR returns to it once its durable end, not only its log end, reaches the high watermark', () => {
  const replica = hostReplica(stateOf({ isr: [1], replicas: [1, 2] }));
  replica.run();
  replica.deliver(1000, 'ProduceRequest', produce('p1', ['a', 'b'], { acks: 1 }));
  replica.run();
  assert.equal(replica.context().highWatermark, 2);
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2, { requestId: 'appended', durableOffset: 1 }));
  replica.run();
  assert.equal(replica.context().pendingIsr, null, 'offset 1 is only in its page cache');
  replica.deliver(2, 'FetchRequest', followerFetch(2, 2, { requestId: 'synced', durableOffset: 2 }));
  replica.run();
  assert.deepEqual(replica.context().pendingIsr, [1, 2]);
});
