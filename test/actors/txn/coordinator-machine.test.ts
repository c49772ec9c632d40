// The transaction coordinator actor beside a real __transaction_state replica (replication
// factor 1), hosted by the real kernel on a simulated disk. The test plays the clients and the
// node's broker (producer ids, and the partition leaders' answers to markers); a "failover" is
// a crash and restart of the node with a new leader epoch, after which the coordinator must
// load the partition and finish what was prepared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../../actors/protocol/codec.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import type { PartitionStateChange, WireKind, WireMessages } from '../../../actors/protocol/messages.js';
import { defaultPartitionTimings, partitionActorId, partitionMachine, partitionMachineName } from '../../../actors/partition/partition-machine.js';
import {
  type TxnCoordinatorContext, type TxnCoordinatorSettings, defaultTxnCoordinatorSettings, transactionStateTopic, txnCoordinatorActorId,
  txnCoordinatorMachine, txnCoordinatorMachineName, txnPartitionFor,
} from '../../../actors/txn/coordinator-machine.js';
import { NodeKernel } from '../../../runtime/kernel/node-kernel.js';
import type { Transport } from '../../../runtime/kernel/ports.js';
import { SimDisk } from '../../../sim/disk.js';
import { Prng } from '../../../sim/prng.js';
import { Scheduler } from '../../../sim/scheduler.js';

const coordinatorId = txnCoordinatorActorId(0);
const replicaId = partitionActorId(transactionStateTopic, 0);
const clientNode = 1000;
const settings: TxnCoordinatorSettings = {
  ...defaultTxnCoordinatorSettings, transactionStatePartitions: 1, abortTimedOutTransactionsIntervalMs: 500,
};

function txnState(leaderEpoch: number): PartitionStateChange {
  return {
    topic: transactionStateTopic, topicId: 'T1', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch, partitionEpoch: leaderEpoch,
    configs: [{ name: 'cleanup.policy', value: 'compact' }], removed: false,
  };
}

type Marker = WireMessages['WriteTxnMarkerRequest'];

/** Node 1 with the __transaction_state replica and its coordinator; the test is its broker. */
async function hostCoordinator(partitions = 1) {
  const scheduler = new Scheduler();
  const disk = new SimDisk(scheduler, Prng.forPurpose(13, 'disk'));
  const answers: Array<{ kind: string; body: unknown }> = [];
  const markers: Marker[] = [];
  let nextProducerId = 5000;
  const transport: Transport = {
    send: (_to, bytes) => {
      const envelope = decodeEnvelope(bytes);
      answers.push({ kind: envelope.kind, body: decodePayload(envelope.kind as WireKind, envelope.payload) });
    },
    onReceive: () => {},
    close: async () => {},
  };
  let kernel: NodeKernel | null = null;
  let seq = 0;
  const deliverTo = <K extends WireKind>(actor: string, kind: K, body: WireMessages[K]): void => {
    seq += 1;
    kernel!.receive(encodeEnvelope({
      clusterId: 'c1', from: { node: clientNode, actor: 'client' }, to: { node: 1, actor }, kind, payload: encodePayload(kind, body), msgId: `t:${seq}`, parentId: '',
    }));
  };
  const boot = (leaderEpoch: number): void => {
    kernel = new NodeKernel({
      nodeId: 1, clusterId: 'c1', clock: scheduler.clock(), random: () => 0.5, transport, storage: disk,
      logger: pino({ level: 'silent' }), metrics: null, tracer: null,
      machines: { [partitionMachineName]: partitionMachine, [txnCoordinatorMachineName]: txnCoordinatorMachine },
    });
    // The test is the broker: producer ids at once; markers are kept for the test to answer.
    kernel.attachEndpoint('broker', ({ kind, body }) => {
      if (kind === 'ProducerIdRequest') {
        const { requestId } = body as WireMessages['ProducerIdRequest'];
        queueMicrotask(() => deliverTo(coordinatorId, 'ProducerIdResponse', { requestId, errorCode: ErrorCode.NONE, producerId: nextProducerId++ }));
      } else if (kind === 'WriteTxnMarkerRequest') {
        markers.push(body as Marker);
      }
    });
    const state = txnState(leaderEpoch);
    kernel.spawn(replicaId, partitionMachine, {
      config: { ...defaultPartitionTimings, nodeId: 1, brokerActor: 'broker', defaultMinInsyncReplicas: 1 }, state,
    });
    kernel.spawn(coordinatorId, txnCoordinatorMachine, {
      config: { ...settings, transactionStatePartitions: partitions, nodeId: 1, brokerActor: 'broker' }, partition: 0,
    });
    deliverTo(coordinatorId, 'PartitionStateChange', state);
  };
  const run = (ms = 200): void => scheduler.runUntil(scheduler.now + ms);
  const settle = async (ms = 200): Promise<void> => {
    for (let i = 0; i < ms / 10; i++) {
      await Promise.resolve();
      run(10);
    }
  };
  /** Sends a request and runs until its answer arrives (bounded by `ms` of virtual time). */
  const ask = async <K extends WireKind, R extends WireKind>(kind: K, body: Omit<WireMessages[K], 'requestId'>, answer: R, ms = 3000): Promise<WireMessages[R]> => {
    const requestId = `r${seq + 1}`;
    deliverTo(coordinatorId, kind, { ...body, requestId } as unknown as WireMessages[K]);
    for (let waited = 0; waited < ms; waited += 10) {
      const at = answers.findIndex((a) => a.kind === answer && (a.body as { requestId: string }).requestId === requestId);
      if (at >= 0) return answers.splice(at, 1)[0]!.body as WireMessages[R];
      await Promise.resolve();
      run(10);
    }
    throw new Error(`no ${answer} to ${kind} within ${ms} ms`);
  };
  /** Answers every marker sent so far (the partition leaders wrote them, or failed with `errorCode`). */
  const answerMarkers = async (errorCode: number = ErrorCode.NONE): Promise<Marker[]> => {
    const sent = markers.splice(0);
    for (const m of sent) deliverTo(coordinatorId, 'WriteTxnMarkerResponse', { requestId: m.requestId, errorCode, topic: m.topic, partition: m.partition });
    await settle();
    return sent;
  };
  const failover = (leaderEpoch: number): void => {
    kernel!.stop();
    disk.crash();
    markers.splice(0);
    boot(leaderEpoch);
  };
  const context = (): TxnCoordinatorContext => kernel!.snapshotOf(coordinatorId)!.context as TxnCoordinatorContext;
  boot(0);
  await settle(300); // the coordinator loads its (empty) partition
  return { ask, run, settle, answerMarkers, failover, context, markers };
}

type Host = Awaited<ReturnType<typeof hostCoordinator>>;
const txn = 'payments-1';

async function init(host: Host, timeoutMs = 60_000): Promise<{ producerId: number; producerEpoch: number; errorCode: number }> {
  return host.ask('InitTxnProducerRequest', { transactionalId: txn, transactionTimeoutMs: timeoutMs, producerId: -1, producerEpoch: -1 }, 'InitTxnProducerResponse');
}

async function add(host: Host, producer: { producerId: number; producerEpoch: number }, partitions: Array<[string, number]>): Promise<number> {
  const answer = await host.ask('AddPartitionsToTxnRequest', {
    transactionalId: txn, ...producer, partitions: partitions.map(([topic, partition]) => ({ topic, partition })),
  }, 'AddPartitionsToTxnResponse');
  return answer.errorCode;
}

async function end(host: Host, producer: { producerId: number; producerEpoch: number }, commit: boolean): Promise<number> {
  return (await host.ask('EndTxnRequest', { transactionalId: txn, ...producer, commit }, 'EndTxnResponse')).errorCode;
}

const markerSummary = (ms: Marker[]) => ms.map((m) => `${m.topic}-${m.partition}:${m.commit ? 'commit' : 'abort'}:${m.producerId}/${m.producerEpoch}@${m.coordinatorEpoch}`).sort();

test('a transaction commits: markers to every partition, then CompleteCommit', async () => {
  const host = await hostCoordinator();
  const producer = await init(host);
  assert.deepEqual([producer.errorCode, producer.producerId, producer.producerEpoch], [ErrorCode.NONE, 5000, 0]);
  assert.equal(await add(host, producer, [['orders', 1], ['audit', 0]]), ErrorCode.NONE);
  assert.equal(await add(host, producer, [['orders', 1]]), ErrorCode.NONE);
  assert.equal(await end(host, producer, true), ErrorCode.NONE);
  assert.equal(host.context().txns.get(txn)!.state, 'PrepareCommit');
  assert.equal(await end(host, producer, true), ErrorCode.CONCURRENT_TRANSACTIONS, 'a retry while markers are out');
  assert.deepEqual(markerSummary(await host.answerMarkers()), ['audit-0:commit:5000/0@0', 'orders-1:commit:5000/0@0']);
  assert.equal(host.context().txns.get(txn)!.state, 'CompleteCommit');
  assert.equal(await end(host, producer, true), ErrorCode.NONE, 'a retry after completion');
  assert.equal(await end(host, producer, false), ErrorCode.INVALID_TXN_STATE);
});

test('a coordinator that takes over mid-commit loads PrepareCommit and sends the markers again under its epoch', async () => {
  const host = await hostCoordinator();
  const producer = await init(host);
  assert.equal(await add(host, producer, [['orders', 0], ['orders', 2]]), ErrorCode.NONE);
  assert.equal(await end(host, producer, true), ErrorCode.NONE);
  assert.equal(host.markers.length, 2);
  host.failover(1);
  await host.settle(500);
  assert.deepEqual(markerSummary(host.markers), ['orders-0:commit:5000/0@1', 'orders-2:commit:5000/0@1']);
  assert.equal((await init(host)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'InitProducerId waits for the commit to complete');
  await host.answerMarkers();
  assert.equal(host.context().txns.get(txn)!.state, 'CompleteCommit');
  assert.deepEqual(await init(host).then((a) => [a.errorCode, a.producerId, a.producerEpoch]), [ErrorCode.NONE, 5000, 1]);
});

test('a second producer with the same transactional id fences the first and aborts its open transaction', async () => {
  const host = await hostCoordinator();
  const zombie = await init(host);
  assert.equal(await add(host, zombie, [['orders', 3]]), ErrorCode.NONE);
  assert.equal((await init(host)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.deepEqual(markerSummary(await host.answerMarkers()), ['orders-3:abort:5000/1@0'], 'the abort carries the bumped epoch');
  assert.equal(host.context().txns.get(txn)!.state, 'CompleteAbort');
  const successor = await init(host);
  assert.deepEqual([successor.errorCode, successor.producerId, successor.producerEpoch], [ErrorCode.NONE, 5000, 2]);
  assert.equal(await end(host, zombie, true), ErrorCode.PRODUCER_FENCED);
  assert.equal(await add(host, zombie, [['orders', 4]]), ErrorCode.PRODUCER_FENCED);
  assert.equal(await add(host, successor, [['orders', 4]]), ErrorCode.NONE);
});

test('an abandoned transaction is aborted after its timeout, and its producer is fenced', async () => {
  const host = await hostCoordinator();
  const producer = await init(host, 1000);
  assert.equal(await add(host, producer, [['orders', 0]]), ErrorCode.NONE);
  await host.settle(2000);
  assert.deepEqual(markerSummary(await host.answerMarkers()), ['orders-0:abort:5000/1@0']);
  assert.equal(host.context().txns.get(txn)!.state, 'CompleteAbort');
  assert.equal(await end(host, producer, true), ErrorCode.PRODUCER_FENCED);
});

test('markers that fail are sent again until written; a deleted topic needs none', async () => {
  const host = await hostCoordinator();
  const producer = await init(host);
  assert.equal(await add(host, producer, [['orders', 0], ['gone', 0]]), ErrorCode.NONE);
  assert.equal(await end(host, producer, false), ErrorCode.NONE);
  assert.equal((await host.answerMarkers(ErrorCode.NOT_LEADER_OR_FOLLOWER)).length, 2);
  await host.settle(300);
  const again = host.markers.splice(0);
  assert.deepEqual(markerSummary(again), ['gone-0:abort:5000/0@0', 'orders-0:abort:5000/0@0']);
  assert.equal(host.context().txns.get(txn)!.state, 'PrepareAbort');
  for (const m of again) {
    host.markers.push(m);
    await host.answerMarkers(m.topic === 'gone' ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NONE);
  }
  assert.equal(host.context().txns.get(txn)!.state, 'CompleteAbort');
});

test('bad requests get Kafka\'s codes', async () => {
  const host = await hostCoordinator(2);
  const elsewhere = ['a', 'b', 'c', 'd'].find((id) => txnPartitionFor(id, 2) === 1)!;
  const notMine = await host.ask('InitTxnProducerRequest', { transactionalId: elsewhere, transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, 'InitTxnProducerResponse');
  assert.equal(notMine.errorCode, ErrorCode.NOT_COORDINATOR);
  const mine = ['a', 'b', 'c', 'd'].find((id) => txnPartitionFor(id, 2) === 0)!;
  const tooLong = await host.ask('InitTxnProducerRequest', { transactionalId: mine, transactionTimeoutMs: 900_001, producerId: -1, producerEpoch: -1 }, 'InitTxnProducerResponse');
  assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const empty = await host.ask('EndTxnRequest', { transactionalId: '', producerId: 1, producerEpoch: 0, commit: true }, 'EndTxnResponse');
  assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
  const unknown = await host.ask('EndTxnRequest', { transactionalId: mine, producerId: 1, producerEpoch: 0, commit: true }, 'EndTxnResponse');
  assert.equal(unknown.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('KIP-890: a partition leader hears yes only for a partition of the producer\'s open transaction, under its epoch', async () => {
  const host = await hostCoordinator();
  const producer = await init(host);
  const verify = async (topic: string, partition: number, who = producer): Promise<number> => (await host.ask('VerifyTxnPartitionRequest', {
    replyTo: { node: clientNode, actor: 'client' }, transactionalId: txn, producerId: who.producerId, producerEpoch: who.producerEpoch, topic, partition,
  }, 'VerifyTxnPartitionResponse')).errorCode;
  assert.equal(await verify('orders', 1), ErrorCode.INVALID_TXN_STATE, 'no transaction open yet');
  assert.equal(await add(host, producer, [['orders', 1]]), ErrorCode.NONE);
  assert.equal(await verify('orders', 1), ErrorCode.NONE);
  assert.equal(await verify('orders', 2), ErrorCode.INVALID_TXN_STATE, 'a partition not added');
  assert.equal(await verify('orders', 1, { ...producer, producerId: producer.producerId + 1 }), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await end(host, producer, false), ErrorCode.NONE);
  await host.answerMarkers();
  assert.equal(await verify('orders', 1), ErrorCode.INVALID_TXN_STATE, 'a write after the end');
  const fencer = await init(host);
  assert.equal(await verify('orders', 1), ErrorCode.PRODUCER_FENCED, 'the old epoch after a new InitProducerId');
  assert.equal(fencer.errorCode, ErrorCode.NONE);
});
