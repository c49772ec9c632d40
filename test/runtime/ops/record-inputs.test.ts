// Real-node input recording: the embedded cluster's nodes record every actor input while
// real clients create a topic, produce, consume in a group and commit; the recorded inputs
// then replay, actor by actor, to the same states and the same effects. An edited or cut
// log is caught and named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { fromTagged, toTagged } from '../../../runtime/kernel/input-log.js';
import { startEmbeddedCluster } from '../../../runtime/ops/embedded.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { waitUntil } from '../kafka/single-node.js';
import { InputLogError, formatNodeReplay, inputLogFiles, replayInputLog } from '../../../sim/node-replay.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../../runtime/ops/cli.js');

test('tagged JSON gives back bytes, bigints, Maps, Sets, non-finite numbers, -0 and $-keys as they were', () => {
  const leaf = fc.oneof(
    fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.bigInt(),
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
    array: fc.array(tie('node'), { maxLength: 4 }),
    object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('$b', '$o', '$m')), tie('node'), { maxKeys: 4, noNullPrototype: true }),
    map: fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer()), tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
    set: fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }).map((items) => new Set(items)),
  })).node;
  const roundTrip = (v: unknown): unknown => fromTagged(JSON.parse(JSON.stringify(toTagged(v))));
  // fast-check draws -0 only now and then (it once failed CI at seed -918503170): always asked.
  assert.ok(Object.is(roundTrip(-0), -0), '-0 comes back as -0');
  assert.deepStrictEqual(roundTrip([-0, { x: -0 }, new Map([[1, -0]])]), [-0, { x: -0 }, new Map([[1, -0]])]);
  fc.assert(fc.property(value, (v) => {
    assert.deepStrictEqual(roundTrip(v), v);
  }), { numRuns: 300 });
});

test('a recorded embedded cluster replays to the same states; edits and cut logs are named', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-record-'));
  const inputsDir = join(dataDir, 'inputs');
  const fatal: Error[] = [];
  const cluster = await startEmbeddedCluster(join(dataDir, 'data'), silentLogger, (error) => fatal.push(error),
    { kafkaPortBase: 28092, metricsPortBase: 0 }, inputsDir);
  const kafka = new Kafka({ clientId: 'record-test', brokers: ['127.0.0.1:28092'], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: 'record-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
  try {
    await admin.connect();
    await waitUntil('three registered brokers', 30_000, async () => ((await admin.describeCluster()).brokers.length === 3 ? true : undefined));
    await admin.createTopics({ topics: [{ topic: 'recorded', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
    await producer.connect();
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'recorded', acks: -1, messages: [{ key: `k${i}`, value: `v${i}`, partition: i % 2 }] });
    }
    await consumer.connect();
    await consumer.subscribe({ topic: 'recorded', fromBeginning: true });
    const seen = new Set<string>();
    const allSeen = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(String(message.value));
          if (seen.size === 20) resolve();
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of 20 within 60 s`)), 60_000); });
    await Promise.race([allSeen, deadline]).finally(() => clearTimeout(timer));
    await consumer.commitOffsets([{ topic: 'recorded', partition: 0, offset: '10' }, { topic: 'recorded', partition: 1, offset: '10' }]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await cluster.stop();
  }
  try {
    assert.deepEqual(fatal, []);
    const files = inputLogFiles(inputsDir);
    assert.deepEqual(files.map((f) => f.slice(inputsDir.length + 1)), ['node-1-1.inputs.jsonl', 'node-2-1.inputs.jsonl', 'node-3-1.inputs.jsonl']);
    const outcomes = files.map((file) => replayInputLog(file));
    for (const outcome of outcomes) assert.equal(outcome.kind, 'same', formatNodeReplay([outcome]).text);
    const same = outcomes.filter((o) => o.kind === 'same');
    // Every node ran a controller, a broker and both replicas of the topic; the group's coordinator ran somewhere.
    for (const outcome of same) {
      const actors = outcome.actors.map((a) => a.actor);
      for (const actor of ['controller', 'broker', 'recorded-0', 'recorded-1']) assert.ok(actors.includes(actor), `${outcome.path} replays ${actor}`);
      assert.ok(outcome.events > 100, `${outcome.path}: ${outcome.events} events`);
    }
    assert.ok(same.some((o) => o.actors.some((a) => a.actor.startsWith('group-coordinator-') && a.state === 'active')), 'an active group coordinator replays');

    // The command line says the same.
    const run = spawnSync(process.execPath, [cli, 'replay', '--node-inputs', inputsDir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.equal((run.stdout.match(/same states/g) ?? []).length, 3, run.stdout);

    // An edited state is found at its line.
    const file = files[0]!;
    const lines = readFileSync(file, 'utf8').split('\n');
    const index = lines.findIndex((line, i) => i > 0 && line.includes('"kind":"event"') && line.includes('"actor":"broker"'));
    assert.ok(index > 0);
    const edited = join(dataDir, 'edited.inputs.jsonl');
    const event = JSON.parse(lines[index]!) as { after: string };
    lines[index] = JSON.stringify({ ...event, after: `${event.after}-not` });
    writeFileSync(edited, lines.join('\n'));
    const outcome = replayInputLog(edited);
    assert.equal(outcome.kind, 'diverged');
    assert.equal(outcome.kind === 'diverged' ? outcome.line : 0, index + 1);

    // A log cut in the middle of a line (kill -9) replays up to the cut.
    const text = readFileSync(file, 'utf8');
    const cut = join(dataDir, 'cut.inputs.jsonl');
    writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
    const cutOutcome = replayInputLog(cut);
    assert.equal(cutOutcome.kind, 'same');
    assert.equal(cutOutcome.kind === 'same' && cutOutcome.tornTail, true);

    // A line edited into something that is not JSON is named by file and line.
    const broken = join(dataDir, 'broken.inputs.jsonl');
    const brokenLines = text.split('\n');
    brokenLines[3] = brokenLines[3]!.slice(0, 20);
    writeFileSync(broken, brokenLines.join('\n'));
    assert.throws(() => replayInputLog(broken), (error: Error) => error instanceof InputLogError && error.message.startsWith(`${broken}:4: not JSON`));
    assert.ok(readdirSync(inputsDir).length === 3);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
