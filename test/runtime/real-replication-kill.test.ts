// Three real node processes on a real nats-server host one partition with replication factor 3
// and min.insync.replicas=2. A producer writes one record at a time with acks=all, retrying a
// value until it is acknowledged, while the partition leader is killed with `kill -9` and
// restarted, five times. Afterwards the partition, read from offset 0 to the high watermark,
// holds every acknowledged record at exactly the offset it was acknowledged with, in order.
//
// Needs `nats-server` (see real-nats-quorum.test.ts); skipped without it except under CI.
// Every node records its actors' inputs; each recording, killed nodes' included, replays to the
// same states. Loopback only; every process is stopped by PID in the `after` hook.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionActorId } from '../../actors/partition/partition-machine.js';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import { type FetchResponse, acksAll, consumerReplicaId } from '../../actors/protocol/messages.js';
import { readBatchHeader } from '../../actors/protocol/record-batch.js';
import { decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';
import { formatNodeReplay, inputLogFiles, replayInputLog } from '../../sim/node-replay.js';
import {
  type QuorumClient, RealCluster, assertPrerequisites, exitedWithin, isRunning, natsSkip, pause, signal, waitFor,
} from './real-cluster-harness.js';

const voters = [1, 2, 3];
const topic = 'replicated';
const actor = partitionActorId(topic, 0);
const kills = 5;
const produceTimeoutMs = 5000;
/** How long the client waits for a ProduceResponse: the broker's own timeout plus a margin. */
const produceWaitMs = produceTimeoutMs + 1000;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

const cluster = new RealCluster(voters, 'logmesh-real-replication-');
let passed = false;
let producer: Producer | null = null;

// Failed, threw or timed out: stop producing, show what the processes said, stop every child by PID.
after(async () => {
  producer?.stop();
  await producer?.finished;
  await cluster.tearDown(passed);
});

/** Produce errors after which the batch was certainly not appended (checked before the append). */
const notAppended: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS,
]);

interface Ack {
  value: number;
  baseOffset: number;
  node: number;
  at: number;
}

interface ValueState {
  attempts: number;
  /** Attempts that may have put the value in the log: timeouts, the ack, errors that can follow an append. */
  possibleAppends: number;
  acked: boolean;
}

/** Writes v-1, v-2, ... one record per batch with acks=all, each value until acknowledged. */
class Producer {
  readonly acks: Ack[] = [];
  readonly values = new Map<number, ValueState>();
  lastAttempted = 0;
  leaderGuess: number;
  /** Nodes the producer must not send to (killed); skipped when choosing the next node. */
  readonly avoid = new Set<number>();
  readonly outcomes = new Map<string, number>();
  lastOutcome = '';
  finished: Promise<void> = Promise.resolve();
  private stopping = false;
  /** The node the request in flight went to, and how to give up waiting for it. */
  private inFlight: { node: number; abandon: () => void } | null = null;

  constructor(private readonly client: QuorumClient) {
    this.leaderGuess = voters[0]!;
  }

  start(): void {
    this.finished = this.run().catch((error: unknown) => {
      this.lastOutcome = `producer loop failed: ${String(error)}`;
    });
  }

  stop(): void {
    this.stopping = true;
  }

  /** `node` was killed: stop sending to it, and stop waiting for an answer it will never send. */
  killed(node: number): void {
    this.avoid.add(node);
    if (this.inFlight?.node === node) this.inFlight.abandon();
  }

  get running(): boolean {
    return !this.stopping;
  }

  acksSince(at: number, excluding: number): number {
    return this.acks.filter((a) => a.at > at && a.node !== excluding).length;
  }

  private nextNode(after: number): number {
    for (let i = 1; i <= voters.length; i++) {
      const candidate = voters[(voters.indexOf(after) + i) % voters.length]!;
      if (!this.avoid.has(candidate)) return candidate;
    }
    return after;
  }

  private count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  private async run(): Promise<void> {
    let value = 1;
    while (!this.stopping) {
      let state = this.values.get(value);
      if (state === undefined) {
        state = { attempts: 0, possibleAppends: 0, acked: false };
        this.values.set(value, state);
      }
      if (this.avoid.has(this.leaderGuess)) this.leaderGuess = this.nextNode(this.leaderGuess);
      const node = this.leaderGuess;
      const requestId = this.client.mesh.nextRequestId();
      state.attempts += 1;
      this.lastAttempted = value;
      const abandoned = new Promise<null>((resolve) => { this.inFlight = { node, abandon: () => resolve(null) }; });
      const answer = await Promise.race([abandoned, this.client.mesh.request({ node, actor }, 'ProduceRequest', {
        requestId, topic, partition: 0, acks: acksAll, timeoutMs: produceTimeoutMs,
        records: encodeRecordBatch([{ key: null, value: utf8.encode(`v-${value}`) }]), leaderEpoch: -1, transactionalId: '',
      }, 'ProduceResponse', produceWaitMs, (r) => r.requestId === requestId)]);
      this.inFlight = null;
      if (answer === null) {
        state.possibleAppends += 1;
        this.count('timeout');
        this.lastOutcome = `v-${value}: no answer from node ${node}`;
        this.leaderGuess = this.nextNode(node);
        continue;
      }
      if (answer.errorCode === ErrorCode.NONE) {
        state.possibleAppends += 1;
        state.acked = true;
        this.count('ack');
        this.acks.push({ value, baseOffset: answer.baseOffset, node, at: Date.now() });
        this.lastOutcome = `v-${value}: acked by node ${node} at offset ${answer.baseOffset}`;
        value += 1;
        continue;
      }
      if (!notAppended.has(answer.errorCode)) state.possibleAppends += 1;
      this.count(errorName(answer.errorCode));
      this.lastOutcome = `v-${value}: ${errorName(answer.errorCode)} from node ${node} (leaderHint ${answer.leaderHint}, `
        + `epoch ${answer.leaderEpoch}${answer.errorMessage === '' ? '' : `, ${answer.errorMessage}`})`;
      this.leaderGuess = answer.leaderHint >= 0 && answer.leaderHint !== node && !this.avoid.has(answer.leaderHint)
        ? answer.leaderHint : this.nextNode(node);
      await pause(100);
    }
  }
}

function consumerFetch(client: QuorumClient, node: number, fetchOffset: number, maxWaitMs: number): Promise<FetchResponse | null> {
  const requestId = client.mesh.nextRequestId();
  return client.mesh.request({ node, actor }, 'FetchRequest', {
    requestId, topic, partition: 0, replicaId: consumerReplicaId, fetchOffset, lastFetchedEpoch: -1, currentLeaderEpoch: -1,
    maxBytes: 1024 * 1024, maxWaitMs, minBytes: 1, isolationLevel: 0,
  }, 'FetchResponse', maxWaitMs + 2000, (r) => r.requestId === requestId);
}

/** The one node among `ids` that serves consumer fetches of the partition, or undefined. */
async function probeLeader(client: QuorumClient, ids: readonly number[], seen: { last: string }): Promise<number | undefined> {
  const answers = await Promise.all(ids.map((id) => consumerFetch(client, id, 0, 0)));
  seen.last = JSON.stringify(answers.map((a, i) => (a === null ? { node: ids[i], answer: 'none' }
    : { node: ids[i], error: errorName(a.errorCode), leaderHint: a.leaderHint, epoch: a.leaderEpoch, hw: a.highWatermark })));
  const leaders = ids.filter((_, i) => answers[i]?.errorCode === ErrorCode.NONE);
  return leaders.length === 1 ? leaders[0] : undefined;
}

/** The committed metadata entries after `fromOffset`, as the controller leader among `ids` serves them (for failure messages). */
async function metadataTrail(client: QuorumClient, ids: readonly number[], fromOffset: number): Promise<string> {
  try {
    const quorum = await waitFor('a controller leader', 5000, () => client.stableLeader(ids), () => client.lastQuorum);
    const { entries, image } = await client.fetchCommitted(quorum.nodeId, 5000);
    return `${JSON.stringify(entries.filter((e) => e.index > fromOffset))}; brokers ${JSON.stringify([...image.brokers.values()])}; `
      + `partition ${JSON.stringify(image.topicsByName.get(topic)?.partitions[0])} (controller leader ${quorum.nodeId})`;
  } catch (error) {
    return `unavailable: ${String(error)}`;
  }
}

interface LogRecord {
  offset: number;
  value: string;
}

/** Consumer fetches from `leader`, from offset 0 until the high watermark. */
async function readAll(client: QuorumClient, leader: number, timeoutMs: number): Promise<{ records: LogRecord[]; highWatermark: number }> {
  const records: LogRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  let last = '';
  for (;;) {
    if (Date.now() > deadline) throw new Error(`reading the partition from node ${leader} took too long; next offset ${next}, last answer ${last}`);
    const answer = await consumerFetch(client, leader, next, 500);
    last = answer === null ? 'none' : `${errorName(answer.errorCode)} hw ${answer.highWatermark} leo ${answer.logEndOffset} ${answer.records.length} bytes`;
    if (answer === null) continue;
    assert.equal(answer.errorCode, ErrorCode.NONE, `fetch at ${next} from node ${leader}: ${errorName(answer.errorCode)} (leaderHint ${answer.leaderHint})`);
    const bytes = answer.records;
    let position = 0;
    while (position < bytes.length) {
      const header = readBatchHeader(bytes, position);
      if (position + header.sizeBytes > bytes.length) break; // a partial batch at the end: fetched again next time
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < next) continue;
        records.push({ offset: record.offset, value: record.value === null ? '<null>' : fromUtf8.decode(record.value) });
        next = record.offset + 1;
      }
      position += header.sizeBytes;
    }
    if (next >= answer.highWatermark && bytes.length === 0) return { records, highWatermark: answer.highWatermark };
  }
}

test('acknowledged acks=all writes survive kill -9 of the partition leader, five times', {
  timeout: 180_000, skip: natsSkip,
}, async (t) => {
  const natsServer = assertPrerequisites();
  const started = Date.now();

  // -- nats-server, three node processes (all voters and brokers, recording their actors'
  // inputs), the test's own mesh client
  cluster.recordInputs = true;
  await cluster.setUp(natsServer);
  cluster.startNodes();
  const client = await cluster.connectClient();
  const controller = await client.waitForLeader('a stable controller leader among nodes 1, 2, 3', voters, 20_000);
  await client.waitForLiveBrokers(controller.nodeId, 3, 15_000);

  // -- the topic: one partition, three replicas, min.insync.replicas=2
  client.leaderGuess = controller.nodeId;
  const topicId = await client.createTopic(topic, 1, 3, 15_000, [{ name: 'min.insync.replicas', value: '2' }]);

  // -- the producer runs in the background for the whole kill phase
  const p = new Producer(client);
  producer = p;
  p.start();
  await waitFor('the first 10 acknowledged writes', 20_000, async () => {
    cluster.assertNodesAlive(voters);
    return p.acks.length >= 10 ? true : undefined;
  }, () => p.lastOutcome);

  const probe = { last: '' };
  let lastIsr = '';
  const history: string[] = [];
  let killsDone = 0;
  for (let round = 1; round <= kills; round++) {
    // All three replicas in sync, and the one leader serving fetches is the one the controller names.
    const { leader, controllerLeader, metadataOffset } = await waitFor(`round ${round}: one partition leader with all three replicas in the ISR`,
      30_000, async () => {
        cluster.assertNodesAlive(voters);
        const found = await probeLeader(client, voters, probe);
        if (found === undefined) return undefined;
        const quorum = await client.stableLeader(voters);
        if (quorum === undefined) return undefined;
        const { image } = await client.fetchCommitted(quorum.nodeId);
        const partition = image.topicsByName.get(topic)?.partitions[0];
        lastIsr = JSON.stringify(partition);
        assert.equal(image.topicsByName.get(topic)?.topicId, topicId, 'the topic id changed');
        return partition !== undefined && partition.leader === found && partition.isr.length === 3
          ? { leader: found, controllerLeader: quorum.nodeId, metadataOffset: image.offset } : undefined;
      }, () => `${probe.last}; committed partition ${lastIsr}; producer: ${p.lastOutcome}`);

    // kill -9 the leader
    const victim = cluster.nodes.get(leader)!;
    signal(victim, 'SIGKILL');
    assert.ok(await exitedWithin(victim, 5000), `node ${leader} did not die on SIGKILL`);
    const killedAt = Date.now();
    p.killed(leader); // a late answer the dead node sent before dying is ignored (matched by request id)
    killsDone += 1;
    const survivors = voters.filter((id) => id !== leader);

    // the survivors take acknowledged writes
    const what = `round ${round}: 5 writes acknowledged by nodes ${survivors.join(', ')} after node ${leader} `
      + `(partition leader${controllerLeader === leader ? ' and controller leader' : `; controller leader ${controllerLeader}`}) was killed`;
    try {
      await waitFor(what, 30_000, async () => {
        cluster.assertNodesAlive(survivors);
        return p.acksSince(killedAt, leader) >= 5 ? true : undefined;
      }, () => `${p.lastOutcome}; outcomes ${JSON.stringify(Object.fromEntries(p.outcomes))}`);
    } catch (error) {
      // Show what the controllers decided since the kill (fences, unfences, partition changes).
      throw new Error(`${(error as Error).message}\ncommitted metadata since the kill: ${await metadataTrail(client, survivors, metadataOffset)}`);
    }
    const failoverMs = p.acks.find((a) => a.at > killedAt && a.node !== leader)!.at - killedAt;

    // the killed node comes back; writes go on
    p.avoid.delete(leader);
    cluster.startNode(leader);
    const restartedAt = Date.now();
    await waitFor(`round ${round}: 5 more acknowledged writes after node ${leader} restarted`, 30_000, async () => {
      cluster.assertNodesAlive(voters);
      return p.acksSince(restartedAt, -1) >= 5 ? true : undefined;
    }, () => p.lastOutcome);
    history.push(`kill ${round}: leader ${leader}${controllerLeader === leader ? ' (also controller leader)' : ''}, first ack ${failoverMs} ms after kill -9`);
  }

  // -- stop producing, then read the partition back through its leader
  p.stop();
  await p.finished;
  const leader = await waitFor('a partition leader to read from', 30_000, async () => {
    cluster.assertNodesAlive(voters);
    return probeLeader(client, voters, probe);
  }, () => probe.last);
  const { records, highWatermark } = await readAll(client, leader, 30_000);

  assert.equal(killsDone, kills, `${kills} kills`);
  assert.ok(p.acks.length >= 50, `only ${p.acks.length} acknowledged writes`);
  assert.equal(records.length, highWatermark, `read ${records.length} records up to high watermark ${highWatermark}`);

  // Offsets dense and increasing from 0.
  records.forEach((r, i) => assert.equal(r.offset, i, `record ${i} has offset ${r.offset}`));

  // Every value in the log is one the producer sent.
  const positions = new Map<number, number[]>();
  for (const r of records) {
    const match = /^v-(\d+)$/.exec(r.value);
    assert.ok(match !== null, `unexpected value ${r.value} at offset ${r.offset}`);
    const value = Number(match[1]);
    assert.ok(value >= 1 && value <= p.lastAttempted, `value ${r.value} at offset ${r.offset} was never sent`);
    positions.set(value, [...(positions.get(value) ?? []), r.offset]);
  }

  // Every acknowledged write is at exactly its acknowledged offset.
  for (const ack of p.acks) {
    assert.ok(ack.baseOffset < highWatermark, `v-${ack.value} acked at ${ack.baseOffset} by node ${ack.node} is beyond the high watermark ${highWatermark}`);
    assert.equal(records[ack.baseOffset]!.value, `v-${ack.value}`,
      `offset ${ack.baseOffset} acknowledged for v-${ack.value} by node ${ack.node} now holds ${records[ack.baseOffset]!.value}`);
  }

  // Duplicates only from retries: a value appears at most once per attempt that may have appended it.
  let duplicated = 0;
  for (const [value, offsets] of positions) {
    const state = p.values.get(value)!;
    if (offsets.length > 1) duplicated += 1;
    assert.ok(offsets.length <= state.possibleAppends,
      `v-${value} appears ${offsets.length} times (offsets ${offsets.join(', ')}) but was sent ${state.attempts} times, `
      + `${state.possibleAppends} possibly appended`);
    if (state.attempts === 1 && state.acked) assert.equal(offsets.length, 1, `v-${value}, acknowledged on its first attempt, appears ${offsets.length} times`);
  }

  // Acknowledged values first appear in the order they were acknowledged.
  let previousFirst = -1;
  for (const ack of p.acks) {
    const first = positions.get(ack.value)![0]!;
    assert.ok(first > previousFirst, `v-${ack.value} first appears at ${first}, not after the value acknowledged before it (${previousFirst})`);
    previousFirst = first;
  }

  const retried = [...p.values.values()].filter((s) => s.attempts > 1).length;
  // Every node start's recorded inputs, killed ones included (cut mid-line by kill -9, or still
  // being written), replay to the same actor states: an incident becomes a repeatable case.
  const inputLogs = inputLogFiles(cluster.inputsDir());
  assert.equal(inputLogs.length, voters.length + kills, `one input log per node start: ${inputLogs.join(', ')}`);
  let replayedEvents = 0;
  for (const file of inputLogs) {
    const outcome = replayInputLog(file);
    assert.equal(outcome.kind, 'same', formatNodeReplay([outcome]).text);
    if (outcome.kind === 'same') replayedEvents += outcome.events;
  }
  t.diagnostic(`${inputLogs.length} input logs replayed to the same states (${replayedEvents} events)`);
  t.diagnostic(`${history.join('; ')}`);
  t.diagnostic(`${p.acks.length} acknowledged writes, ${retried} values retried, ${duplicated} duplicated in the log, `
    + `${records.length} records up to high watermark ${highWatermark}; outcomes ${JSON.stringify(Object.fromEntries(p.outcomes))}; `
    + `total ${Date.now() - started} ms`);
  assert.ok(isRunning(cluster.nodes.get(leader)!));
  passed = true;
});
