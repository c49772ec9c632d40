// The real cluster the nemesis (runtime/ops/chaos.ts) works on: nats-server and three
// `logmesh node` processes on loopback, each node reaching nats-server through a TCP proxy of
// this process (so that one node's mesh connection can be cut while the others keep theirs),
// each node's data on a tmpfs of its own when this process may mount one (so that its disk can
// be filled without filling anyone else's). Every child is tracked by PID (bench-processes.ts).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchChild, assertPortFree, startBenchChild, stopBenchChildren, tcpAccepts, waitFor } from './bench-processes.js';
import { nodeV8Flags } from './node-flags.js';

const cliPath = resolve(dirname(fileURLToPath(import.meta.url)), 'cli.js');

export const chaosNodeIds = [1, 2, 3] as const;
/** Each node's tmpfs: room for the campaign's logs, small enough to fill in a moment. */
const tmpfsBytes = 96 * 1024 * 1024;
const fillChunkBytes = 1024 * 1024;
const startTimeoutMs = 15_000;

/**
 * Short timeouts, as the real-process tests use: a paused node loses its controller and broker
 * sessions (3 s) within the pauses the nemesis injects.
 */
export const brokerSessionTimeoutMs = 3000;

export interface ChaosPorts {
  nats: number;
  proxy(node: number): number;
  kafka(node: number): number;
}

/** Every port the cluster uses, from `base`: nats-server, then three proxies, then three listeners. */
export function chaosPorts(base: number): ChaosPorts {
  return { nats: base, proxy: (node) => base + node, kafka: (node) => base + 10 + node };
}

/** A TCP proxy to nats-server for one node: `sever` cuts every connection and refuses new ones until `heal`. */
export class MeshProxy {
  private readonly sockets = new Set<Socket>();
  private severed = false;

  private constructor(private readonly server: Server) {}

  static listen(port: number, upstreamPort: number): Promise<MeshProxy> {
    return new Promise((resolveListen, reject) => {
      let proxy: MeshProxy;
      const server = createServer((downstream) => proxy.accept(downstream, upstreamPort));
      proxy = new MeshProxy(server);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolveListen(proxy));
    });
  }

  sever(): void {
    this.severed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.severed = false;
  }

  close(): Promise<void> {
    this.sever();
    return new Promise((resolveClose) => this.server.close(() => resolveClose()));
  }

  private accept(downstream: Socket, upstreamPort: number): void {
    if (this.severed) {
      downstream.destroy();
      return;
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: upstreamPort });
    for (const socket of [downstream, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => {
        this.sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }
}

/** Whether this process can mount a tmpfs (root, and a kernel that lets it): otherwise disks cannot be filled safely. */
function mountTmpfs(dir: string, bytes: number): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // not mounted (any more)
  }
}

const mounted = new Set<string>();
process.once('exit', () => {
  for (const dir of mounted) unmount(dir);
});

export interface ChaosClusterOptions {
  natsServer: string;
  dataDir: string;
  portBase: number;
  clusterId: string;
}

export class ChaosCluster {
  readonly ports: ChaosPorts;
  readonly nodes = new Map<number, BenchChild>();
  readonly proxies = new Map<number, MeshProxy>();
  /** Nodes whose data directory is a tmpfs of their own (disk-full faults need one). */
  readonly ownDisk = new Set<number>();
  nats: BenchChild | null = null;
  private readonly children: BenchChild[] = [];
  private readonly starts = new Map<number, number>();

  constructor(readonly options: ChaosClusterOptions) {
    this.ports = chaosPorts(options.portBase);
  }

  get bootstrap(): string[] {
    return chaosNodeIds.map((id) => `127.0.0.1:${this.ports.kafka(id)}`);
  }

  nodeDir(id: number): string {
    return join(this.options.dataDir, `node-${id}`);
  }

  /** Ports free, nats-server up, proxies listening, data directories (tmpfs if possible) and configs written, nodes started. */
  async start(): Promise<void> {
    const ports = [this.ports.nats, ...chaosNodeIds.flatMap((id) => [this.ports.proxy(id), this.ports.kafka(id)])];
    for (const port of ports) await assertPortFree(port);
    await this.startNats();
    for (const id of chaosNodeIds) {
      this.proxies.set(id, await MeshProxy.listen(this.ports.proxy(id), this.ports.nats));
      const dir = this.nodeDir(id);
      mkdirSync(dir, { recursive: true });
      if (mountTmpfs(dir, tmpfsBytes)) {
        mounted.add(dir);
        this.ownDisk.add(id);
      }
      writeFileSync(this.configFile(id), this.properties(id));
    }
    for (const id of chaosNodeIds) this.startNode(id);
  }

  async startNats(): Promise<void> {
    const name = this.nats === null ? 'nats-server' : 'nats-server (restarted)';
    this.nats = this.track(startBenchChild(name, this.options.natsServer, ['-a', '127.0.0.1', '-p', String(this.ports.nats)]));
    await waitFor(`${name} on 127.0.0.1:${this.ports.nats}`, startTimeoutMs, [this.nats], async () => ((await tcpAccepts(this.ports.nats)) ? true : undefined));
  }

  startNode(id: number): BenchChild {
    const restarts = this.starts.get(id) ?? 0;
    this.starts.set(id, restarts + 1);
    const child = this.track(startBenchChild(restarts === 0 ? `node-${id}` : `node-${id} (start ${restarts + 1})`, process.execPath,
      [...nodeV8Flags, cliPath, 'node', '--config', this.configFile(id)]));
    this.nodes.set(id, child);
    return child;
  }

  nodeRunning(id: number): boolean {
    return this.nodes.get(id)?.running === true;
  }

  /**
   * Fills node `id`'s tmpfs with a file until the disk says ENOSPC; returns the bytes written.
   * Throws when the node has no disk of its own.
   */
  fillDisk(id: number): number {
    if (!this.ownDisk.has(id)) throw new Error(`node ${id} has no tmpfs of its own to fill`);
    const fd = openSync(this.fillerFile(id), 'w');
    const chunk = Buffer.alloc(fillChunkBytes, 0x66);
    let written = 0;
    try {
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
    return written;
  }

  freeDisk(id: number): void {
    rmSync(this.fillerFile(id), { force: true });
  }

  /** Stops every node, the proxies and nats-server, unmounts the tmpfs disks, removes the data. */
  async stop(): Promise<void> {
    for (const child of this.nodes.values()) child.signal('SIGCONT');
    await stopBenchChildren(this.children);
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
    this.proxies.clear();
    for (const id of this.ownDisk) {
      unmount(this.nodeDir(id));
      mounted.delete(this.nodeDir(id));
    }
    this.ownDisk.clear();
    rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  /** Every child's last lines, for a failure report. */
  describeChildren(): string {
    return this.children.map((child) => child.describe()).join('\n');
  }

  private fillerFile(id: number): string {
    return join(this.nodeDir(id), 'chaos-filler');
  }

  private configFile(id: number): string {
    return join(this.options.dataDir, `server-${id}.properties`);
  }

  private properties(id: number): string {
    return [
      `node.id=${id}`,
      `controller.quorum.voters=${chaosNodeIds.join(',')}`,
      `cluster.id=${this.options.clusterId}`,
      `log.dirs=${this.nodeDir(id)}`,
      `nats.servers=nats://127.0.0.1:${this.ports.proxy(id)}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.ports.kafka(id)}`,
      'controller.quorum.election.timeout.ms=500',
      'controller.quorum.heartbeat.interval.ms=100',
      'broker.heartbeat.interval.ms=300',
      `broker.session.timeout.ms=${brokerSessionTimeoutMs}`,
      'replica.lag.time.max.ms=5000',
      'replica.fetch.backoff.ms=200',
      'default.replication.factor=3',
      'min.insync.replicas=2',
      'offsets.topic.replication.factor=3',
      'offsets.topic.num.partitions=3',
      'group.min.session.timeout.ms=1000',
      'log.segment.bytes=4194304',
      '',
    ].join('\n');
  }

  private track(child: BenchChild): BenchChild {
    this.children.push(child);
    return child;
  }
}
