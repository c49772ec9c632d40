// Transactional producers of real Kafka clients against the embedded cluster (`logmesh
// embedded`, a child process on loopback, Kafka ports 22210-22212): kafkajs and
// confluent-kafka (librdkafka) find their transaction coordinator (creating
// __transaction_state), commit a transaction and abort one; read_committed consumers of both
// see the committed records only, a read_uncommitted one the aborted ones too. A second
// producer with the same transactional id fences the first: the first one's next call fails
// with a fenced error. The Python clients run without blocking this process (runClient): the
// cluster's log pipe must keep draining, or its logger blocks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { type Child, cliPath, dumpOutputs, exitedWithin, runClient, signal, startChild, waitFor } from '../real-cluster-harness.js';

const python = '/usr/bin/python3';
const kafkaPortBase = 22210;
const bootstrap = `127.0.0.1:${kafkaPortBase}`;
const ci = process.env.CI === 'true';
const confluentFound = existsSync(python) && spawnSync(python, ['-c', 'import confluent_kafka']).status === 0;

/** What a fenced producer hears: PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for clients before KIP-588 (kafkajs 2.2). */
const fencedError = /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|_FENCED|fenced/i;

const confluentFencing = `
import json, sys
from confluent_kafka import Producer, KafkaException
bootstrap, topic, transactional_id = sys.argv[1:4]
config = {'bootstrap.servers': bootstrap, 'transactional.id': transactional_id, 'transaction.timeout.ms': 60000}
first = Producer(config)
first.init_transactions(60)
second = Producer(config)
second.init_transactions(60)
first.begin_transaction()
first.produce(topic, key=b'k', value=b'zombie')
try:
    first.commit_transaction(30)
    print(json.dumps({'zombie': 'committed'}))
except KafkaException as e:
    error = e.args[0]
    print(json.dumps({'zombie': {'name': error.name(), 'fatal': error.fatal(), 'text': error.str()}}))
`;

const confluentCommitAbort = `
import json, sys
from confluent_kafka import Producer
bootstrap, topic, transactional_id = sys.argv[1:4]
producer = Producer({'bootstrap.servers': bootstrap, 'transactional.id': transactional_id, 'transaction.timeout.ms': 60000})
producer.init_transactions(60)
producer.begin_transaction()
for i in range(3):
    producer.produce(topic, key=b'confluent', value=('confluent-committed-%d' % i).encode())
producer.commit_transaction(60)
producer.begin_transaction()
for i in range(3):
    producer.produce(topic, key=b'confluent', value=('confluent-aborted-%d' % i).encode())
producer.abort_transaction(60)
print(json.dumps({'done': True}))
`;

/** Reads every partition of the topic to its end (the last stable offset for read_committed) and prints the values. */
const confluentRead = `
import json, sys, time
from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
bootstrap, topic, partitions, isolation = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'txn-e2e-reader', 'enable.auto.commit': False,
                     'isolation.level': isolation, 'enable.partition.eof': True})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
values, ends = [], set()
deadline = time.time() + 60
while len(ends) < partitions and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            ends.add(m.partition())
            continue
        raise SystemExit(str(m.error()))
    values.append(m.value().decode())
consumer.close()
if len(ends) < partitions:
    raise SystemExit('did not reach the end of every partition')
print(json.dumps(values))
`;

/** Every error kafkajs puts on the chain (a retrier wraps the broker's error). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { name?: string; type?: string; message?: string; cause?: unknown; originalError?: unknown } | undefined; e !== undefined && e !== null;
    e = (e.cause ?? e.originalError) as typeof e) {
    parts.push(`${e.name ?? ''} ${e.type ?? ''} ${e.message ?? ''}`);
    if (parts.length > 5) break;
  }
  return parts.join(' <- ');
}

test('transactional producers of kafkajs and confluent-kafka against the embedded cluster', { timeout: 600_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-txn-e2e-'));
  let cluster: Child | null = null;
  let probe: KafkaClient | null = null;
  let passed = false;
  try {
    cluster = startChild('embedded', process.execPath, [cliPath, 'embedded', '--data', dataDir, '--kafka-port', String(kafkaPortBase), '--metrics-port', '0']);
    const kafka = new Kafka({ clientId: 'txn-e2e', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await waitFor('three brokers in the metadata', 30_000, async () => {
      try {
        await admin.connect();
        const described = await admin.describeCluster();
        return described.brokers.length === 3 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const topic = 'txn-e2e';
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true }), true);
    // The first transactional FindCoordinator creates __transaction_state (50 partitions, 3
    // replicas); wait for a coordinator here so that the clients' own retries are not spent on it.
    probe = await KafkaClient.connect(kafkaPortBase, '127.0.0.1', 'txn-e2e-probe');
    const client = probe;
    await waitFor('a transaction coordinator', 60_000, async () => {
      const found = await client.request(ApiKeys.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['kafkajs-fenced', 'confluent-fenced'] });
      return found.coordinators.every((c) => c.errorCode === ErrorCode.NONE) ? true : undefined;
    });

    const expected = { committed: [] as string[], aborted: [] as string[] };
    await t.test('kafkajs: a transactional producer commits, then aborts', async () => {
      const producer = kafka.producer({ transactionalId: 'kafkajs-txn', idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        const committed = await producer.transaction();
        const committedValues = [0, 1, 2].map((i) => `kafkajs-committed-${i}`);
        await committed.send({ topic, messages: committedValues.map((value) => ({ key: 'kafkajs', value })) });
        await committed.commit();
        expected.committed.push(...committedValues);
        const aborted = await producer.transaction();
        const abortedValues = [0, 1, 2].map((i) => `kafkajs-aborted-${i}`);
        await aborted.send({ topic, messages: abortedValues.map((value) => ({ key: 'kafkajs', value })) });
        await aborted.abort();
        expected.aborted.push(...abortedValues);
      } finally {
        await producer.disconnect();
      }
    });

    await t.test('confluent-kafka: a transactional producer commits, then aborts', { skip: !confluentFound && !ci ? 'python3 confluent_kafka not installed' : false }, async () => {
      const result = await runClient(python, ['-c', confluentCommitAbort, bootstrap, topic, 'confluent-txn'], { timeoutMs: 150_000 });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').pop()!), { done: true });
      expected.committed.push(...[0, 1, 2].map((i) => `confluent-committed-${i}`));
      expected.aborted.push(...[0, 1, 2].map((i) => `confluent-aborted-${i}`));
    });

    await t.test('confluent-kafka: read_committed consumers see the committed records only; read_uncommitted ones the aborted ones too', { skip: !confluentFound && !ci ? 'python3 confluent_kafka not installed' : false }, async () => {
      const read = async (isolation: string): Promise<string[]> => {
        const result = await runClient(python, ['-c', confluentRead, bootstrap, topic, '2', isolation], { timeoutMs: 90_000 });
        assert.equal(result.status, 0, result.stderr);
        return (JSON.parse(result.stdout.trim().split('\n').pop()!) as string[]).sort();
      };
      assert.deepEqual(await read('read_committed'), [...expected.committed].sort());
      // librdkafka drops the records of an aborted transaction it has not sent yet: some of
      // confluent-kafka's may never have been written; kafkajs's were (each send is answered).
      const uncommitted = await read('read_uncommitted');
      const kafkajsAborted = expected.aborted.filter((v) => v.startsWith('kafkajs-'));
      assert.deepEqual(uncommitted.filter((v) => !v.startsWith('confluent-aborted-')), [...expected.committed, ...kafkajsAborted].sort());
      assert.ok(uncommitted.filter((v) => v.startsWith('confluent-aborted-')).every((v) => expected.aborted.includes(v)));
    });

    await t.test('a kafkajs consumer (read_committed, its default) sees the committed records only', async () => {
      // A plain record at the end of each partition: once the consumer has both, it has read
      // (or skipped) everything the transactions wrote before them.
      const plain = kafka.producer();
      await plain.connect();
      await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'end-0' }, { partition: 1, value: 'end-1' }] });
      await plain.disconnect();
      const consumer = kafka.consumer({ groupId: 'kafkajs-txn-reader', readUncommitted: false });
      const values: string[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); } });
        await waitFor('both end records', 60_000, async () => (values.includes('end-0') && values.includes('end-1') ? true : undefined));
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(values.filter((v) => !v.startsWith('end-')).sort(), [...expected.committed].sort());
    });

    await t.test('kafkajs: a second producer with the same transactional id fences the first', async () => {
      const options = { transactionalId: 'kafkajs-fenced', idempotent: true, maxInFlightRequests: 1 };
      const first = kafka.producer(options);
      const second = kafka.producer(options);
      try {
        await first.connect();
        await second.connect();
        // kafkajs asks for its transactional producer id at the first transaction().
        const zombie = await first.transaction();
        await second.transaction();
        const failure = await zombie.send({ topic, messages: [{ key: 'k', value: 'zombie' }] }).then(() => null, (error: unknown) => error);
        assert.ok(failure !== null, 'the fenced producer\'s send was accepted');
        assert.match(errorText(failure), fencedError);
      } finally {
        await first.disconnect().catch(() => {});
        await second.disconnect().catch(() => {});
      }
    });

    await t.test('confluent-kafka: a second producer with the same transactional id fences the first', { skip: !confluentFound && !ci ? 'python3 confluent_kafka not installed' : false }, async () => {
      const result = await runClient(python, ['-c', confluentFencing, bootstrap, topic, 'confluent-fenced'], { timeoutMs: 120_000 });
      assert.equal(result.status, 0, result.stderr);
      const outcome = JSON.parse(result.stdout.trim().split('\n').pop()!) as { zombie: 'committed' | { name: string; fatal: boolean; text: string } };
      assert.notEqual(outcome.zombie, 'committed', 'the fenced producer committed');
      const error = outcome.zombie as { name: string; fatal: boolean; text: string };
      assert.ok(error.fatal, `a fenced producer's error is fatal: ${JSON.stringify(error)}`);
      assert.match(`${error.name} ${error.text}`, fencedError);
    });
    await admin.disconnect();
    passed = true;
  } finally {
    probe?.close();
    if (cluster !== null) {
      signal(cluster, 'SIGINT');
      if (!(await exitedWithin(cluster, 10_000))) signal(cluster, 'SIGKILL');
    }
    if (!passed && cluster !== null) dumpOutputs([cluster]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
