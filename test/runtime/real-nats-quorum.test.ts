// Three real node processes on a real nats-server: they elect a controller leader; after
// `kill -9` of the leader the survivors elect a new one in a higher term, and every metadata
// record committed before the kill is still in the new leader's committed log.
//
// Needs `nats-server` on the PATH (or at /usr/sbin/nats-server, or in $NATS_SERVER); the test
// is skipped when none is found, except under CI (CI=true), where .ci/run installs it and a
// missing server is a failure. Loopback only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import { type MetadataImage, applyEntry, emptyImage, imageFromMessage } from '../../actors/controller/metadata-image.js';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import type { DescribeQuorumResponse, LogEntry } from '../../actors/protocol/messages.js';
import { silentLogger } from '../../runtime/ops/logger.js';
import { MeshClient } from '../../runtime/ops/mesh-client.js';
import { NatsTransport } from '../../runtime/transport/nats.js';

// dist/test/runtime/<this>.js -> the repository root is three levels up.
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const cliPath = resolve(here, '..', '..', 'runtime', 'ops', 'cli.js');

const voters = [1, 2, 3];
const clusterId = `rq-${process.pid}-${Date.now().toString(36)}`;
const outputLimit = 256 * 1024;

function findNatsServer(): string | null {
  const candidates = [
    process.env.NATS_SERVER,
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const candidate of candidates) if (candidate !== undefined && existsSync(candidate)) return candidate;
  return null;
}

// ---- child processes -------------------------------------------------------------------

interface Child {
  name: string;
  proc: ChildProcess;
  output: string[];
  outputBytes: number;
  exited: Promise<void>;
  exitInfo: string | null;
}

const children: Child[] = [];

function startChild(name: string, command: string, args: string[]): Child {
  const proc = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGMESH_LOG_LEVEL: 'info' } });
  const child: Child = { name, proc, output: [], outputBytes: 0, exited: Promise.resolve(), exitInfo: null };
  const capture = (stream: string) => (chunk: Buffer) => {
    if (child.outputBytes > outputLimit) return;
    child.outputBytes += chunk.length;
    child.output.push(stream === 'stderr' ? `[stderr] ${chunk.toString('utf8')}` : chunk.toString('utf8'));
  };
  proc.stdout!.on('data', capture('stdout'));
  proc.stderr!.on('data', capture('stderr'));
  child.exited = new Promise((resolveExit) => {
    proc.once('exit', (code, signal) => {
      child.exitInfo = signal !== null ? `signal ${signal}` : `code ${code}`;
      resolveExit();
    });
    proc.once('error', (error) => {
      child.exitInfo = `spawn error: ${error.message}`;
      resolveExit();
    });
  });
  children.push(child);
  return child;
}

function isRunning(child: Child): boolean {
  return child.exitInfo === null && child.proc.exitCode === null && child.proc.signalCode === null;
}

async function exitedWithin(child: Child, ms: number): Promise<boolean> {
  if (!isRunning(child)) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((res) => { timer = setTimeout(() => res(false), ms); });
  const result = await Promise.race([child.exited.then(() => true as const), timedOut]);
  clearTimeout(timer);
  return result;
}

function signal(child: Child, sig: NodeJS.Signals): void {
  if (!isRunning(child) || child.proc.pid === undefined) return;
  try {
    process.kill(child.proc.pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after a bounded wait. */
async function stopChild(child: Child): Promise<void> {
  signal(child, 'SIGTERM');
  if (await exitedWithin(child, 5000)) return;
  signal(child, 'SIGKILL');
  await exitedWithin(child, 5000);
}

// If this process dies without running the `after` hook, take the children with it.
process.once('exit', () => {
  for (const child of children) signal(child, 'SIGKILL');
});

function dumpOutputs(): void {
  for (const child of children) {
    process.stderr.write(`\n===== ${child.name} (pid ${child.proc.pid}, ${child.exitInfo ?? 'running'}) =====\n`);
    process.stderr.write(child.output.join(''));
    if (child.outputBytes > outputLimit) process.stderr.write('\n[output truncated]\n');
  }
}

// ---- small helpers ---------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); res(true); });
    socket.once('timeout', () => { socket.destroy(); res(false); });
    socket.once('error', () => { socket.destroy(); res(false); });
  });
}

const pause = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, lastSeen?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastSeen === undefined ? '' : `; last seen: ${lastSeen()}`}`);
    }
    await pause(100);
  }
}

// ---- the test --------------------------------------------------------------------------

let client: MeshClient | null = null;
let tmp: string | null = null;
let passed = false;

after(async () => {
  // Failed, threw or timed out: show what the processes said.
  if (!passed && children.length > 0) dumpOutputs();
  await client?.close().catch(() => {});
  client = null;
  // Nodes first, then the server they talk through.
  await Promise.all(children.filter((c) => c.name !== 'nats-server').map(stopChild));
  await Promise.all(children.filter((c) => c.name === 'nats-server').map(stopChild));
  if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
});

const natsServer = findNatsServer();

test('three node processes on a real nats-server survive kill -9 of the controller leader', {
  timeout: 120_000, skip: natsServer === null && process.env.CI !== 'true' ? 'nats-server not found' : false,
}, async (t) => {
  assert.ok(existsSync(cliPath), `${cliPath} is missing: build with tsc first`);
  assert.ok(natsServer !== null, 'nats-server is not installed (.ci/run installs it with apt-get)');
  const started = Date.now();
  tmp = mkdtempSync(join(tmpdir(), 'logmesh-real-quorum-'));

  // -- nats-server on a free loopback port
  const natsPort = await freePort();
  const nats = startChild('nats-server', natsServer!, ['-a', '127.0.0.1', '-p', String(natsPort)]);
  await waitFor(`nats-server to accept connections on 127.0.0.1:${natsPort}`, 10_000, async () => {
    if (!isRunning(nats)) throw new Error(`nats-server exited early (${nats.exitInfo})`);
    return (await tcpAccepts(natsPort)) ? true : undefined;
  });
  const natsUrl = `nats://127.0.0.1:${natsPort}`;

  // -- three node processes
  const configFile = (id: number) => join(tmp!, `server-${id}.properties`);
  for (const id of voters) {
    const listenerPort = await freePort();
    mkdirSync(join(tmp, `node-${id}`), { recursive: true });
    writeFileSync(configFile(id), [
      `node.id=${id}`,
      `controller.quorum.voters=${voters.join(',')}`,
      `cluster.id=${clusterId}`,
      `log.dirs=${join(tmp, `node-${id}`)}`,
      `nats.servers=${natsUrl}`,
      `listeners=PLAINTEXT://127.0.0.1:${listenerPort}`,
      'controller.quorum.election.timeout.ms=500',
      'controller.quorum.heartbeat.interval.ms=100',
      'broker.heartbeat.interval.ms=300',
      'broker.session.timeout.ms=3000',
      '',
    ].join('\n'));
  }
  const nodes = new Map<number, Child>();
  const startNode = (id: number) => {
    const child = startChild(`node-${id}${nodes.has(id) ? ' (restarted)' : ''}`, process.execPath, [cliPath, 'node', '--config', configFile(id)]);
    nodes.set(id, child);
    return child;
  };
  for (const id of voters) startNode(id);
  const assertNodesAlive = (ids: number[]) => {
    for (const id of ids) {
      const child = nodes.get(id)!;
      if (!isRunning(child)) throw new Error(`node ${id} exited (${child.exitInfo})`);
    }
  };

  // -- the test's own mesh client
  const clientNode = 900_000 + Math.floor(Math.random() * 90_000);
  const transport = await NatsTransport.connect({ servers: [natsUrl], prefix: clusterId, nodeId: clientNode, logger: silentLogger });
  const mesh = new MeshClient(clientNode, clusterId, transport);
  client = mesh;

  const describe = async (id: number, timeoutMs = 500): Promise<DescribeQuorumResponse | null> => {
    const requestId = mesh.nextRequestId();
    return mesh.request({ node: id, actor: controllerActorId }, 'DescribeQuorumRequest', { requestId }, 'DescribeQuorumResponse', timeoutMs,
      (r) => r.requestId === requestId);
  };
  let lastQuorum = '';
  /** One leader among `ids` (all answering), the others following it in its term. */
  const stableLeader = async (ids: number[], accept: (leader: DescribeQuorumResponse) => boolean) => {
    assertNodesAlive(ids);
    const answers = await Promise.all(ids.map((id) => describe(id)));
    lastQuorum = JSON.stringify(answers.map((a, i) => a ?? { nodeId: ids[i], role: 'unreachable' }));
    if (answers.some((a) => a === null)) return undefined;
    const leaders = answers.filter((a) => a!.role === 'leader');
    if (leaders.length !== 1) return undefined;
    const leader = leaders[0]!;
    if (leader.leaderId !== leader.nodeId || !accept(leader)) return undefined;
    const agree = answers.every((a) => a!.term === leader.term && a!.leaderId === leader.nodeId && (a === leader || a!.role === 'follower'));
    return agree ? leader : undefined;
  };

  // -- 1. a leader is elected
  const first = await waitFor('a stable controller leader among nodes 1, 2, 3', 20_000, () => stableLeader(voters, () => true), () => lastQuorum);
  const oldLeader = first.nodeId;
  const oldTerm = first.term;

  // -- committed metadata, fetched from a leader
  let lastFetch = '';
  const fetchCommitted = async (leader: number): Promise<{ image: MetadataImage; entries: LogEntry[]; sawSnapshot: boolean }> => {
    let image = emptyImage();
    const entries: LogEntry[] = [];
    let sawSnapshot = false;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`fetching the committed metadata from node ${leader} took too long; last answer ${lastFetch}`);
      const answer = await mesh.request({ node: leader, actor: controllerActorId }, 'MetadataFetchRequest',
        { brokerId: clientNode, fromOffset: image.offset, maxWaitMs: 50 }, 'MetadataFetchResponse', 3000);
      lastFetch = JSON.stringify(answer)?.slice(0, 500) ?? 'null';
      if (answer === null) continue;
      assert.equal(answer.errorCode, ErrorCode.NONE, `MetadataFetch from node ${leader}: ${errorName(answer.errorCode)} (leaderHint ${answer.leaderHint})`);
      if (answer.hasSnapshot) {
        assert.ok(answer.snapshot !== null, 'a snapshot answer carries the image');
        assert.ok(answer.snapshot.offset >= image.offset, `snapshot at ${answer.snapshot.offset} goes back from ${image.offset}`);
        image = imageFromMessage(answer.snapshot);
        entries.length = 0;
        sawSnapshot = true;
        continue;
      }
      if (answer.entries.length === 0) return { image, entries, sawSnapshot };
      for (const entry of answer.entries) {
        applyEntry(image, entry);
        entries.push(entry);
      }
    }
  };

  // -- 2. all three brokers registered and unfenced (placement needs them for replication factor 3)
  let lastBrokers = '';
  await waitFor('three live brokers in the committed metadata', 15_000, async () => {
    assertNodesAlive(voters);
    const { image } = await fetchCommitted(oldLeader);
    lastBrokers = JSON.stringify([...image.brokers.values()]);
    const live = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId).sort();
    return live.length === 3 ? live : undefined;
  }, () => lastBrokers);

  // -- 3. topics created through the leader
  let leaderGuess = oldLeader;
  const createTopic = async (name: string, numPartitions: number, replicationFactor: number, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const requestId = mesh.nextRequestId();
      const answer = await mesh.request({ node: leaderGuess, actor: controllerActorId }, 'CreateTopicsRequest',
        { requestId, topics: [{ name, numPartitions, replicationFactor }] }, 'CreateTopicsResponse', 5000, (r) => r.requestId === requestId);
      if (answer === null) {
        last = `timeout from node ${leaderGuess}`;
        leaderGuess = voters[(voters.indexOf(leaderGuess) + 1) % voters.length]!;
        continue;
      }
      if (answer.errorCode === ErrorCode.NOT_CONTROLLER) {
        last = `NOT_CONTROLLER from node ${leaderGuess} (hint ${answer.leaderHint})`;
        leaderGuess = answer.leaderHint > 0 ? answer.leaderHint : voters[(voters.indexOf(leaderGuess) + 1) % voters.length]!;
        await pause(100);
        continue;
      }
      assert.equal(answer.errorCode, ErrorCode.NONE, `CreateTopics ${name}: ${errorName(answer.errorCode)}`);
      const result = answer.results.find((r) => r.name === name);
      assert.ok(result !== undefined, `CreateTopics ${name}: no result for the topic in ${JSON.stringify(answer)}`);
      if (result.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR) {
        last = `INVALID_REPLICATION_FACTOR (rf ${replicationFactor})`; // brokers still registering
        await pause(200);
        continue;
      }
      assert.equal(result.errorCode, ErrorCode.NONE, `CreateTopics ${name}: ${errorName(result.errorCode)}`);
      assert.ok(result.topicId !== '', `CreateTopics ${name}: acked without a topic id`);
      return result.topicId;
    }
    throw new Error(`topic ${name} was not acknowledged within ${timeoutMs} ms (last: ${last})`);
  };

  const acked = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    const name = `before-kill-${i}`;
    acked.set(name, await createTopic(name, 1 + (i % 3), 1 + (i % 3), 15_000));
  }
  assert.equal(acked.size, 5, 'all five topics acknowledged before the kill');

  // The committed log as the old leader serves it, to compare entry by entry afterwards.
  const before = await fetchCommitted(oldLeader);
  for (const [name, topicId] of acked) {
    assert.equal(before.image.topicsByName.get(name)?.topicId, topicId, `topic ${name} committed on the old leader`);
  }

  // -- 4. kill -9 the leader
  const victim = nodes.get(oldLeader)!;
  signal(victim, 'SIGKILL');
  assert.ok(await exitedWithin(victim, 5000), `node ${oldLeader} did not die on SIGKILL`);
  const killedAt = Date.now();
  const survivors = voters.filter((id) => id !== oldLeader);

  const second = await waitFor(`a new leader among nodes ${survivors.join(', ')} in a term above ${oldTerm}`, 20_000,
    () => stableLeader(survivors, (leader) => leader.term > oldTerm), () => lastQuorum);
  const newLeader = second.nodeId;
  const failoverMs = Date.now() - killedAt;
  assert.notEqual(newLeader, oldLeader);
  assert.ok(second.term > oldTerm);

  // -- 5. nothing committed was lost
  const afterKill = await fetchCommitted(newLeader);
  for (const [name, topicId] of acked) {
    const topic = afterKill.image.topicsByName.get(name);
    assert.ok(topic !== undefined, `acknowledged topic ${name} is missing on the new leader ${newLeader}`);
    assert.equal(topic.topicId, topicId, `topic ${name} changed its id on the new leader`);
    assert.deepEqual(topic, before.image.topicsByName.get(name), `topic ${name} as the new leader has it`);
  }
  assert.ok(afterKill.image.offset >= before.image.offset, `new leader's commit ${afterKill.image.offset} is behind ${before.image.offset}`);
  if (!before.sawSnapshot && !afterKill.sawSnapshot) {
    // Log matching: every entry committed before the kill is in the new leader's log, unchanged.
    for (const entry of before.entries) {
      assert.deepEqual(afterKill.entries[entry.index - 1], entry, `committed entry ${entry.index} differs on the new leader`);
    }
  }

  // -- 6. the new leader takes writes
  leaderGuess = newLeader;
  const extraId = await createTopic('after-kill', 2, 2, 15_000);
  acked.set('after-kill', extraId);

  // -- 7. the killed node comes back as a follower of the new leader and catches up
  const target = (await fetchCommitted(newLeader)).image.offset;
  startNode(oldLeader);
  let lastRejoin = '';
  const rejoined = await waitFor(`node ${oldLeader} to rejoin as a follower of node ${newLeader}`, 20_000, async () => {
    const leader = await stableLeader(voters, (l) => l.nodeId === newLeader);
    if (leader === undefined) return undefined;
    const restarted = await describe(oldLeader);
    lastRejoin = JSON.stringify(restarted);
    return restarted !== null && restarted.commitIndex >= target ? { leader, restarted } : undefined;
  }, () => `${lastQuorum} ${lastRejoin}`);
  assert.equal(rejoined.leader.term, second.term, 'the restarted node disturbed the leader (term changed)');
  assert.equal(rejoined.restarted.role, 'follower');

  const final = await fetchCommitted(newLeader);
  for (const [name, topicId] of acked) {
    assert.equal(final.image.topicsByName.get(name)?.topicId, topicId, `topic ${name} after the restart`);
  }
  t.diagnostic(`leader ${oldLeader} (term ${oldTerm}) -> ${newLeader} (term ${second.term}) in ${failoverMs} ms after kill -9; `
    + `${acked.size} topics kept; total ${Date.now() - started} ms`);
  passed = true;
});
