// Shared machinery for the real-process tests: a nats-server and `logmesh node` processes on
// loopback, a MeshClient of the test's own, and the requests those tests make to the
// controllers (DescribeQuorum, CreateTopics, MetadataFetch). Not a test file itself.
//
// Children are tracked by PID and stopped with a bounded SIGTERM -> SIGKILL; if the test
// process exits without running its `after` hook, every child still running gets SIGKILL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import { type MetadataImage, applyEntry, emptyImage, imageFromMessage } from '../../actors/controller/metadata-image.js';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import type { ConfigEntry, DescribeQuorumResponse, LogEntry } from '../../actors/protocol/messages.js';
import { findNatsServer } from '../../runtime/ops/dev.js';
import { silentLogger } from '../../runtime/ops/logger.js';
import { MeshClient } from '../../runtime/ops/mesh-client.js';
import { NatsTransport } from '../../runtime/transport/nats.js';

// dist/test/runtime/<this>.js -> the repository root is three levels up.
const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..', '..');
export const cliPath = resolve(here, '..', '..', 'runtime', 'ops', 'cli.js');

const outputLimit = 256 * 1024;

export const natsServer = findNatsServer();

/** The `skip` option for a real-nats test: skipped only without nats-server outside CI; under CI the test runs and fails. */
export const natsSkip: string | false = natsServer === null && process.env.CI !== 'true' ? 'nats-server not found' : false;

/** The checks every real-nats test starts with (the CLI is built, nats-server is there). */
export function assertPrerequisites(): string {
  assert.ok(existsSync(cliPath), `${cliPath} is missing: build with tsc first`);
  assert.ok(natsServer !== null, 'nats-server is not installed (.ci/run installs it with apt-get)');
  return natsServer;
}

// ---- child processes -------------------------------------------------------------------

export interface Child {
  name: string;
  proc: ChildProcess;
  output: string[];
  outputBytes: number;
  exited: Promise<void>;
  exitInfo: string | null;
  /** Called with every complete stdout line, whether or not `output` still keeps it. */
  lineListeners: Array<(line: string) => void>;
}

const allChildren: Child[] = [];

// If this process dies without running the `after` hook, take the children with it.
process.once('exit', () => {
  for (const child of allChildren) signal(child, 'SIGKILL');
});

export function startChild(name: string, command: string, args: string[]): Child {
  const proc = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGMESH_LOG_LEVEL: 'info' } });
  const child: Child = { name, proc, output: [], outputBytes: 0, exited: Promise.resolve(), exitInfo: null, lineListeners: [] };
  const capture = (stream: string) => (chunk: Buffer) => {
    if (child.outputBytes > outputLimit) return;
    child.outputBytes += chunk.length;
    child.output.push(stream === 'stderr' ? `[stderr] ${chunk.toString('utf8')}` : chunk.toString('utf8'));
  };
  let partial = '';
  proc.stdout!.on('data', capture('stdout'));
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    if (partial.length > 64 * 1024) partial = ''; // no newline in sight: not a log line
    for (const line of lines) for (const listener of child.lineListeners) listener(line);
  });
  proc.stderr!.on('data', capture('stderr'));
  child.exited = new Promise((resolveExit) => {
    proc.once('exit', (code, sig) => {
      child.exitInfo = sig !== null ? `signal ${sig}` : `code ${code}`;
      resolveExit();
    });
    proc.once('error', (error) => {
      child.exitInfo = `spawn error: ${error.message}`;
      resolveExit();
    });
  });
  allChildren.push(child);
  return child;
}

export function isRunning(child: Child): boolean {
  return child.exitInfo === null && child.proc.exitCode === null && child.proc.signalCode === null;
}

export async function exitedWithin(child: Child, ms: number): Promise<boolean> {
  if (!isRunning(child)) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((res) => { timer = setTimeout(() => res(false), ms); });
  const result = await Promise.race([child.exited.then(() => true as const), timedOut]);
  clearTimeout(timer);
  return result;
}

/** Signals the child by its PID; a no-op when it has already exited. */
export function signal(child: Child, sig: NodeJS.Signals): void {
  if (!isRunning(child) || child.proc.pid === undefined) return;
  try {
    process.kill(child.proc.pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after a bounded wait. */
export async function stopChild(child: Child): Promise<void> {
  signal(child, 'SIGTERM');
  if (await exitedWithin(child, 5000)) return;
  signal(child, 'SIGKILL');
  await exitedWithin(child, 5000);
}

export function dumpOutputs(children: readonly Child[] = allChildren): void {
  for (const child of children) {
    process.stderr.write(`\n===== ${child.name} (pid ${child.proc.pid}, ${child.exitInfo ?? 'running'}) =====\n`);
    process.stderr.write(child.output.join(''));
    if (child.outputBytes > outputLimit) process.stderr.write('\n[output truncated]\n');
  }
}

/** What a finished client process printed, and how it ended (`status` is null when a signal or the timeout ended it). */
export interface ClientRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a client program (kcat, a Python client, the CLI) to its end without blocking this
 * process's event loop, unlike spawnSync: the children started above write their logs into
 * pipes that this process drains, and a node whose stdout pipe fills blocks in its logger
 * (pino writes synchronously), so it stops answering its Kafka clients. Killed by PID with
 * SIGKILL after `timeoutMs`.
 */
export function runClient(command: string, args: readonly string[], options: { input?: string; timeoutMs: number }): Promise<ClientRun> {
  return new Promise((resolveRun) => {
    const proc = spawn(command, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    proc.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    proc.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      if (proc.pid !== undefined && proc.exitCode === null) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, options.timeoutMs);
    let spawnError = '';
    proc.once('error', (error) => {
      spawnError = `spawn error: ${error.message}\n`;
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ status: code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: spawnError + Buffer.concat(stderr).toString('utf8') });
    });
    proc.stdin!.on('error', () => { /* the client exited before reading its input; its status says why */ });
    proc.stdin!.end(options.input ?? '');
  });
}

// ---- small helpers ---------------------------------------------------------------------

export function freePort(): Promise<number> {
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

export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); res(true); });
    socket.once('timeout', () => { socket.destroy(); res(false); });
    socket.once('error', () => { socket.destroy(); res(false); });
  });
}

export const pause = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, lastSeen?: () => string): Promise<T> {
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

// ---- nats-server and node configuration -------------------------------------------------

/** Starts nats-server on 127.0.0.1:`port` and waits (bounded) until it accepts connections. */
export async function startNatsServer(binary: string, port: number, name = 'nats-server', spawnChild = startChild, extraArgs: readonly string[] = []): Promise<Child> {
  const nats = spawnChild(name, binary, ['-a', '127.0.0.1', '-p', String(port), ...extraArgs]);
  await waitFor(`${name} to accept connections on 127.0.0.1:${port}`, 10_000, async () => {
    if (!isRunning(nats)) throw new Error(`${name} exited early (${nats.exitInfo})`);
    return (await tcpAccepts(port)) ? true : undefined;
  });
  return nats;
}

export interface NodeConfig {
  nodeId: number;
  voters: readonly number[];
  clusterId: string;
  logDir: string;
  natsUrl: string;
  listenerPort: number;
  /** More `key=value` lines (mesh security, metrics.port, ...). */
  extraLines?: readonly string[];
}

/** Writes a server.properties with the short timeouts the real-process tests use. */
export function writeServerProperties(file: string, config: NodeConfig): void {
  writeFileSync(file, [
    `node.id=${config.nodeId}`,
    `controller.quorum.voters=${config.voters.join(',')}`,
    `cluster.id=${config.clusterId}`,
    `log.dirs=${config.logDir}`,
    `nats.servers=${config.natsUrl}`,
    `listeners=PLAINTEXT://127.0.0.1:${config.listenerPort}`,
    'controller.quorum.election.timeout.ms=500',
    'controller.quorum.heartbeat.interval.ms=100',
    'broker.heartbeat.interval.ms=300',
    'broker.session.timeout.ms=3000',
    ...(config.extraLines ?? []),
    '',
  ].join('\n'));
}

// ---- a cluster: temp dir, nats-server, node processes ------------------------------------

export class RealCluster {
  readonly children: Child[] = [];
  readonly nodes = new Map<number, Child>();
  readonly clusterId = `rq-${process.pid}-${Date.now().toString(36)}`;
  tmp: string | null = null;
  natsPort = 0;
  natsUrl = '';
  nats: Child | null = null;
  client: QuorumClient | null = null;
  /** Start every node with --record-inputs inputsDir() (set before startNode). */
  recordInputs = false;
  /** Set by tearDown: a test body still running after a timeout must not start new children. */
  private tornDown = false;

  constructor(readonly voters: readonly number[], private readonly tmpPrefix: string) {}

  /** Temp dir, nats-server on a free loopback port, one server.properties per voter. */
  async setUp(natsBinary: string): Promise<void> {
    this.assertNotTornDown();
    const tmp = mkdtempSync(join(tmpdir(), this.tmpPrefix));
    this.tmp = tmp;
    this.natsPort = await freePort();
    this.nats = await startNatsServer(natsBinary, this.natsPort, 'nats-server', this.spawn);
    this.natsUrl = `nats://127.0.0.1:${this.natsPort}`;
    for (const id of this.voters) {
      this.assertNotTornDown();
      const logDir = join(tmp, `node-${id}`);
      mkdirSync(logDir, { recursive: true });
      writeServerProperties(this.configFile(id), {
        nodeId: id, voters: this.voters, clusterId: this.clusterId, logDir, natsUrl: this.natsUrl, listenerPort: await freePort(),
      });
    }
  }

  /** Starts (or restarts) nats-server on the same port as before. */
  async restartNats(natsBinary: string): Promise<Child> {
    this.nats = await startNatsServer(natsBinary, this.natsPort, 'nats-server (restarted)', this.spawn);
    return this.nats;
  }

  /** Where nodes write their input logs when recordInputs is set (one file per node start). */
  inputsDir(): string {
    return join(this.tmp!, 'inputs');
  }

  configFile(id: number): string {
    return join(this.tmp!, `server-${id}.properties`);
  }

  startNode(id: number): Child {
    const child = this.spawn(`node-${id}${this.nodes.has(id) ? ' (restarted)' : ''}`, process.execPath,
      [cliPath, 'node', '--config', this.configFile(id), ...(this.recordInputs ? ['--record-inputs', this.inputsDir()] : [])]);
    this.nodes.set(id, child);
    return child;
  }

  startNodes(): void {
    for (const id of this.voters) this.startNode(id);
  }

  assertNodesAlive(ids: readonly number[]): void {
    for (const id of ids) {
      const child = this.nodes.get(id);
      if (child === undefined || !isRunning(child)) throw new Error(`node ${id} exited (${child?.exitInfo ?? 'never started'})`);
    }
  }

  /** The test's own MeshClient on this cluster's nats-server. */
  async connectClient(): Promise<QuorumClient> {
    this.assertNotTornDown();
    const client = await QuorumClient.connect(this, this.natsUrl);
    if (this.tornDown) {
      await client.close().catch(() => {});
      this.assertNotTornDown();
    }
    this.client = client;
    return client;
  }

  /** For `after`: dump outputs unless passed, close the client, stop nodes then nats-servers, remove the temp dir. */
  async tearDown(passed: boolean): Promise<void> {
    this.tornDown = true;
    if (!passed && this.children.length > 0) dumpOutputs(this.children);
    await this.client?.close().catch(() => {});
    this.client = null;
    // Nodes first, then the server(s) they talk through.
    await Promise.all(this.children.filter((c) => !c.name.startsWith('nats-server')).map(stopChild));
    await Promise.all(this.children.filter((c) => c.name.startsWith('nats-server')).map(stopChild));
    if (this.tmp !== null) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = null;
  }

  /** Starts a child and tracks it at once, so tearDown stops it even if the test fails before using it. */
  private readonly spawn = (name: string, command: string, args: string[]): Child => {
    this.assertNotTornDown();
    const child = startChild(name, command, args);
    this.children.push(child);
    return child;
  };

  private assertNotTornDown(): void {
    if (this.tornDown) throw new Error('the cluster was already torn down (the test timed out or failed)');
  }
}

// ---- the test's mesh client and the controller requests ---------------------------------

export interface CommittedMetadata {
  image: MetadataImage;
  entries: LogEntry[];
  sawSnapshot: boolean;
}

export class QuorumClient {
  /** The last DescribeQuorum answers seen by `stableLeader`, for timeout messages. */
  lastQuorum = '';
  lastFetch = '';
  /** Where `createTopic` sends next; follows NOT_CONTROLLER hints and timeouts. */
  leaderGuess: number;

  private constructor(readonly mesh: MeshClient, readonly clientNode: number, private readonly cluster: RealCluster) {
    this.leaderGuess = cluster.voters[0]!;
  }

  static async connect(cluster: RealCluster, natsUrl: string): Promise<QuorumClient> {
    const clientNode = 900_000 + Math.floor(Math.random() * 90_000);
    const transport = await NatsTransport.connect({ servers: [natsUrl], prefix: cluster.clusterId, nodeId: clientNode, logger: silentLogger });
    return new QuorumClient(new MeshClient(clientNode, cluster.clusterId, transport), clientNode, cluster);
  }

  close(): Promise<void> {
    return this.mesh.close();
  }

  describe(id: number, timeoutMs = 500): Promise<DescribeQuorumResponse | null> {
    const requestId = this.mesh.nextRequestId();
    return this.mesh.request({ node: id, actor: controllerActorId }, 'DescribeQuorumRequest', { requestId }, 'DescribeQuorumResponse', timeoutMs,
      (r) => r.requestId === requestId);
  }

  /** One leader among `ids` (all answering), the others following it in its term; undefined otherwise. */
  async stableLeader(ids: readonly number[], accept: (leader: DescribeQuorumResponse) => boolean = () => true): Promise<DescribeQuorumResponse | undefined> {
    this.cluster.assertNodesAlive(ids);
    const answers = await Promise.all(ids.map((id) => this.describe(id)));
    this.lastQuorum = JSON.stringify(answers.map((a, i) => a ?? { nodeId: ids[i], role: 'unreachable' }));
    if (answers.some((a) => a === null)) return undefined;
    const leaders = answers.filter((a) => a!.role === 'leader');
    if (leaders.length !== 1) return undefined;
    const leader = leaders[0]!;
    if (leader.leaderId !== leader.nodeId || !accept(leader)) return undefined;
    const agree = answers.every((a) => a!.term === leader.term && a!.leaderId === leader.nodeId && (a === leader || a!.role === 'follower'));
    return agree ? leader : undefined;
  }

  /** Polls `stableLeader` until it holds or `timeoutMs` passes. */
  waitForLeader(what: string, ids: readonly number[], timeoutMs: number,
    accept: (leader: DescribeQuorumResponse) => boolean = () => true): Promise<DescribeQuorumResponse> {
    return waitFor(what, timeoutMs, () => this.stableLeader(ids, accept), () => this.lastQuorum);
  }

  /** The committed metadata log as `leader` serves it (MetadataFetch from offset 0 until an empty answer). */
  async fetchCommitted(leader: number, timeoutMs = 15_000): Promise<CommittedMetadata> {
    let image = emptyImage();
    const entries: LogEntry[] = [];
    let sawSnapshot = false;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`fetching the committed metadata from node ${leader} took too long; last answer ${this.lastFetch}`);
      const answer = await this.mesh.request({ node: leader, actor: controllerActorId }, 'MetadataFetchRequest',
        { brokerId: this.clientNode, fromOffset: image.offset, maxWaitMs: 50 }, 'MetadataFetchResponse', 3000);
      this.lastFetch = JSON.stringify(answer)?.slice(0, 500) ?? 'null';
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
  }

  /** Waits until `count` unfenced brokers are in the committed metadata served by `leader`. */
  async waitForLiveBrokers(leader: number, count: number, timeoutMs: number): Promise<number[]> {
    let lastBrokers = '';
    return waitFor(`${count} live brokers in the committed metadata`, timeoutMs, async () => {
      this.cluster.assertNodesAlive(this.cluster.voters);
      const { image } = await this.fetchCommitted(leader);
      lastBrokers = JSON.stringify([...image.brokers.values()]);
      const live = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId).sort();
      return live.length === count ? live : undefined;
    }, () => lastBrokers);
  }

  /**
   * Creates a topic through the controller leader, following NOT_CONTROLLER hints, moving on
   * after a timeout and retrying while brokers are still too few for the replication factor.
   * Returns the acknowledged topic id.
   */
  async createTopic(name: string, numPartitions: number, replicationFactor: number, timeoutMs: number, configs: ConfigEntry[] = []): Promise<string> {
    const voters = this.cluster.voters;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    // One id for every attempt: a retry of a create that was written succeeds.
    const creationId = randomUUID();
    while (Date.now() < deadline) {
      const requestId = this.mesh.nextRequestId();
      const answer = await this.mesh.request({ node: this.leaderGuess, actor: controllerActorId }, 'CreateTopicsRequest',
        { requestId, topics: [{ name, numPartitions, replicationFactor, configs, creationId }] }, 'CreateTopicsResponse', 5000, (r) => r.requestId === requestId);
      if (answer === null) {
        last = `timeout from node ${this.leaderGuess}`;
        this.leaderGuess = voters[(voters.indexOf(this.leaderGuess) + 1) % voters.length]!;
        continue;
      }
      if (answer.errorCode === ErrorCode.NOT_CONTROLLER) {
        last = `NOT_CONTROLLER from node ${this.leaderGuess} (hint ${answer.leaderHint})`;
        this.leaderGuess = answer.leaderHint > 0 ? answer.leaderHint : voters[(voters.indexOf(this.leaderGuess) + 1) % voters.length]!;
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
  }
}

// ---- node logs ---------------------------------------------------------------------------

/** Pino JSON lines from `child`'s stdout whose `msg` satisfies `match`, from now on. */
export function watchLogMessages(child: Child, match: (msg: string) => boolean): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  child.lineListeners.push((line) => {
    if (!line.startsWith('{')) return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof record === 'object' && record !== null && typeof (record as { msg?: unknown }).msg === 'string'
      && match((record as { msg: string }).msg)) {
      seen.push(record as Record<string, unknown>);
    }
  });
  return seen;
}
