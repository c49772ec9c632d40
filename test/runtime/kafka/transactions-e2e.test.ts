// Transactional producers of real Kafka clients against the embedded cluster (`logmesh
// embedded`, a child process on loopback, Kafka ports 22210-22212): kafkajs and
// confluent-kafka (librdkafka) find their transaction coordinator (creating
// __transaction_state), commit a transaction and abort one; read_committed consumers of both
// see the committed records only, a read_uncommitted one the aborted ones too. A second
// producer with the same transactional id fences the first: the first one's next call fails
// with a fenced error. Each client also runs a read-process-write pipeline (a consumer in a
// group, the output and the group's offsets in one transaction: kafkajs sendOffsets,
// confluent-kafka send_offsets_to_transaction): a commit moves the group's committed offsets
// to the positions sent, an abort leaves them and its output unread. The Python clients run
// without blocking this process (runClient): the cluster's log pipe must keep draining, or
// its logger blocks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { runClient, waitFor } from '../real-cluster-harness.js';
import { ci, hasPythonModule, lastJsonLine, python, startEmbeddedCluster } from './real-clients.js';

const kafkaPortBase = 22210;
const bootstrap = `127.0.0.1:${kafkaPortBase}`;
const confluentFound = hasPythonModule('confluent_kafka');

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

// Read-process-write (consume-transform-produce, KIP-98/447): a consumer in a group reads the
// input, a transactional producer writes the output and the group's offsets in one transaction
// (AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator). Input and output topics
// have rpwPartitions partitions; partition p of the input holds `<value>-p` for each value.
const rpwPartitions = 2;
const rpwReadTimeoutMs = 60_000;

const confluentReadProcessWriteScript = `
import json, sys, time
from confluent_kafka import Consumer, Producer
bootstrap, input_topic, output_topic, group_id, transactional_id, expect, outcome = sys.argv[1:8]
expect = int(expect)
started = time.time()
consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group_id, 'enable.auto.commit': False,
                     'auto.offset.reset': 'earliest', 'session.timeout.ms': 10000})
consumer.subscribe([input_topic])
producer = Producer({'bootstrap.servers': bootstrap, 'transactional.id': transactional_id, 'transaction.timeout.ms': 60000})
producer.init_transactions(60)
read = []
deadline = time.time() + ${rpwReadTimeoutMs / 1000}
while len(read) < expect and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error():
        print('%.1f s: consumer error %s' % (time.time() - started, m.error()), file=sys.stderr)
        continue
    read.append(m)
if len(read) < expect:
    raise SystemExit('read %d of %d input records in ${rpwReadTimeoutMs / 1000} s' % (len(read), expect))
print('%.1f s: read %d input records' % (time.time() - started, len(read)), file=sys.stderr)
producer.begin_transaction()
for m in read:
    producer.produce(output_topic, partition=m.partition(), value=b'out-' + m.value())
positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60)
if outcome == 'commit':
    producer.commit_transaction(60)
else:
    producer.abort_transaction(60)
consumer.close()
print('%.1f s: %s' % (time.time() - started, outcome), file=sys.stderr)
print(json.dumps({'read': sorted(m.value().decode() for m in read), 'positions': sorted([tp.partition, tp.offset] for tp in positions)}))
`;

/** Writes `<value>-<partition>` to every input partition, for each value (plain, acks=-1). */
async function produceInput(kafka: Kafka, topic: string, values: string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const messages = values.flatMap((value) => Array.from({ length: rpwPartitions }, (_, partition) => ({ partition, value: `${value}-${partition}` })));
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset of each partition of the topic, by OffsetFetch (-1: none). */
async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return [...fetched!.partitions].sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

let readers = 0;

/**
 * What a kafkajs read_committed consumer (a group of its own) reads of the topic: a plain
 * record is appended to each partition first, and once the consumer has all of them it has
 * read (or skipped) everything before them. The appended records are left out of the answer.
 */
async function readCommitted(kafka: Kafka, topic: string): Promise<string[]> {
  readers += 1;
  const end = `end-${readers}`;
  const plain = kafka.producer();
  await plain.connect();
  try {
    await plain.send({ topic, acks: -1, messages: Array.from({ length: rpwPartitions }, (_, partition) => ({ partition, value: `${end}-${partition}` })) });
  } finally {
    await plain.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${readers}`, readUncommitted: false });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); } });
    await waitFor(`${topic}: the appended end records`, rpwReadTimeoutMs, async () => (
      Array.from({ length: rpwPartitions }, (_, p) => `${end}-${p}`).every((v) => values.includes(v)) ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  return values.filter((v) => !v.startsWith('end-')).sort();
}

interface RpwCase { input: string; output: string; groupId: string; transactionalId: string }

/**
 * kafkajs read-process-write: a consumer of the group (no auto-commit) reads `expect` input
 * records from the group's committed offsets; one transaction writes `out-<value>` for each to
 * the same output partition and sends the consumer's positions as the group's offsets; then it
 * commits or aborts. Answers what was read and the positions sent.
 */
async function kafkajsReadProcessWrite(kafka: Kafka, c: RpwCase, expect: number, commit: boolean): Promise<{ read: string[]; positions: number[] }> {
  const producer = kafka.producer({ transactionalId: c.transactionalId, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: c.groupId, readUncommitted: false, sessionTimeout: 10_000 });
  const read: Array<{ partition: number; offset: number; value: string }> = [];
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: c.input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => { read.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' }); },
    });
    await waitFor(`${expect} input records`, rpwReadTimeoutMs, async () => (read.length >= expect ? true : undefined));
    const positions = Array.from({ length: rpwPartitions }, (_, p) => Math.max(-1, ...read.filter((r) => r.partition === p).map((r) => r.offset)) + 1);
    const transaction = await producer.transaction();
    await transaction.send({ topic: c.output, messages: read.map((r) => ({ partition: r.partition, value: `out-${r.value}` })) });
    await transaction.sendOffsets({
      consumerGroupId: c.groupId, topics: [{ topic: c.input, partitions: positions.map((offset, partition) => ({ partition, offset: String(offset) })) }],
    });
    if (commit) await transaction.commit();
    else await transaction.abort();
    return { read: read.map((r) => r.value).sort(), positions };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

/** The confluent-kafka script's run of the same: positions as [partition, offset] pairs. */
async function confluentReadProcessWrite(c: RpwCase, expect: number, commit: boolean): Promise<{ read: string[]; positions: number[] }> {
  const args = ['-c', confluentReadProcessWriteScript, bootstrap, c.input, c.output, c.groupId, c.transactionalId, String(expect), commit ? 'commit' : 'abort'];
  const result = await runClient(python, args, { timeoutMs: 150_000 });
  assert.equal(result.status, 0, `confluent-kafka read-process-write (${commit ? 'commit' : 'abort'}): ${result.stderr}`);
  const outcome = lastJsonLine<{ read: string[]; positions: Array<[number, number]> }>(result.stdout);
  const positions = Array.from({ length: rpwPartitions }, (_, p) => outcome.positions.find(([partition]) => partition === p)?.[1] ?? -1);
  return { read: outcome.read, positions };
}

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
  const cluster = await startEmbeddedCluster({ clientId: 'txn-e2e', kafkaPortBase, extraArgs: ['--metrics-port', '0'] });
  const { kafka, admin } = cluster;
  let probe: KafkaClient | null = null;
  let passed = false;
  try {
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
    // Read-process-write with each client: the group's offsets move with the output when the
    // transaction commits, and stay where they were when it aborts.
    const readProcessWrite = async (c: RpwCase, run: (c: RpwCase, expect: number, commit: boolean) => Promise<{ read: string[]; positions: number[] }>) => {
      for (const name of [c.input, c.output]) {
        assert.equal(await admin.createTopics({ topics: [{ topic: name, numPartitions: rpwPartitions, replicationFactor: 3 }], waitForLeaders: true }), true);
      }
      await produceInput(kafka, c.input, ['a', 'b']);
      const committed = await run(c, 2 * rpwPartitions, true);
      assert.deepEqual(committed.read, ['a-0', 'a-1', 'b-0', 'b-1']);
      assert.deepEqual(committed.positions, [2, 2]);
      assert.deepEqual(await committedOffsets(kafka, c.groupId, c.input), committed.positions, 'the committed offsets are the positions sent');
      assert.deepEqual(await readCommitted(kafka, c.output), ['out-a-0', 'out-a-1', 'out-b-0', 'out-b-1']);
      // The next consumer of the group starts at those offsets: it reads only the new input.
      await produceInput(kafka, c.input, ['c']);
      const aborted = await run(c, rpwPartitions, false);
      assert.deepEqual(aborted.read, ['c-0', 'c-1']);
      assert.deepEqual(aborted.positions, [3, 3]);
      assert.deepEqual(await committedOffsets(kafka, c.groupId, c.input), committed.positions, 'an aborted transaction leaves the offsets');
      assert.deepEqual(await readCommitted(kafka, c.output), ['out-a-0', 'out-a-1', 'out-b-0', 'out-b-1'], 'and its output is not read');
    };

    await t.test('kafkajs: read-process-write with transaction.sendOffsets, committed and aborted', async () => {
      await readProcessWrite({ input: 'rpw-kafkajs-in', output: 'rpw-kafkajs-out', groupId: 'rpw-kafkajs', transactionalId: 'kafkajs-rpw' },
        (c, expect, commit) => kafkajsReadProcessWrite(kafka, c, expect, commit));
    });

    await t.test('confluent-kafka: read-process-write with send_offsets_to_transaction, committed and aborted', { skip: !confluentFound && !ci ? 'python3 confluent_kafka not installed' : false }, async () => {
      await readProcessWrite({ input: 'rpw-confluent-in', output: 'rpw-confluent-out', groupId: 'rpw-confluent', transactionalId: 'confluent-rpw' }, confluentReadProcessWrite);
    });
    passed = true;
  } finally {
    probe?.close();
    await cluster.stop(passed);
  }
});
