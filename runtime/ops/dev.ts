// `logmesh dev --nats`: a development cluster of real processes on loopback: nats-server and
// three node processes (each a broker and a controller voter), with every line they print
// prefixed by its name. Ctrl-C stops the nodes, then nats-server.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeV8Flags } from './node-flags.js';

export interface DevOptions {
  dataDir: string;
  natsPort: number;
  kafkaPortBase: number;
  metricsPortBase: number;
  nodes: number;
  /** Where prefixed lines go (stdout of `logmesh dev`). */
  write: (line: string) => void;
}

export class DevError extends Error {}

const cliPath = resolve(fileURLToPath(new URL('.', import.meta.url)), 'cli.js');

/** The nats-server binary: $NATS_SERVER, else on PATH, else where Debian's package or a manual install puts it; null if none. */
export function findNatsServer(): string | null {
  const candidates = [
    process.env.NATS_SERVER,
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const candidate of candidates) if (candidate !== undefined && existsSync(candidate)) return candidate;
  return null;
}

/** server.properties of node `id` in the dev cluster. */
export function devNodeProperties(id: number, options: DevOptions): string {
  const voters = Array.from({ length: options.nodes }, (_, i) => i + 1).join(',');
  return [
    `node.id=${id}`,
    'process.roles=broker,controller',
    `controller.quorum.voters=${voters}`,
    'cluster.id=logmesh-dev',
    `log.dirs=${join(options.dataDir, `node-${id}`)}`,
    `nats.servers=nats://127.0.0.1:${options.natsPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${options.kafkaPortBase + id - 1}`,
    `metrics.port=${options.metricsPortBase === 0 ? 0 : options.metricsPortBase + id - 1}`,
    `default.replication.factor=${Math.min(3, options.nodes)}`,
    `offsets.topic.replication.factor=${Math.min(3, options.nodes)}`,
    '',
  ].join('\n');
}

function prefixLines(child: ChildProcess, name: string, write: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => write(`[${name}] ${line}`));
  }
}

export interface DevCluster {
  /** Resolves once every process has exited. */
  exited: Promise<void>;
  stop(): void;
}

/** Starts nats-server and the node processes; throws DevError when nats-server is missing. */
export function startDevCluster(options: DevOptions): DevCluster {
  const nats = findNatsServer();
  if (nats === null) throw new DevError('nats-server not found: install it (apt-get install nats-server) or use `npm start` for the in-process cluster');
  mkdirSync(options.dataDir, { recursive: true });
  const children: Array<{ name: string; child: ChildProcess }> = [];
  const start = (name: string, command: string, args: string[]): ChildProcess => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    prefixLines(child, name, options.write);
    child.on('exit', (code, signal) => options.write(`[${name}] exited (${signal ?? `code ${code}`})`));
    children.push({ name, child });
    return child;
  };
  start('nats', nats, ['-a', '127.0.0.1', '-p', String(options.natsPort)]);
  for (let id = 1; id <= options.nodes; id++) {
    const file = join(options.dataDir, `node-${id}.properties`);
    writeFileSync(file, devNodeProperties(id, options));
    start(`node-${id}`, process.execPath, [...nodeV8Flags, cliPath, 'node', '--config', file]);
  }
  const exited = Promise.all(children.map(({ child }) => new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  }))).then(() => undefined);
  let stopping = false;
  return {
    exited,
    stop: () => {
      if (stopping) return;
      stopping = true;
      // The nodes stop at once (SIGINT): all of them are going, there is nowhere to move
      // leadership to. nats-server goes once they have.
      const nodes = children.filter(({ name }) => name !== 'nats');
      for (const { child } of nodes) child.kill('SIGINT');
      void Promise.all(nodes.map(({ child }) => new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) done();
        else child.once('exit', () => done());
      }))).then(() => {
        for (const { name, child } of children) if (name === 'nats') child.kill('SIGTERM');
      });
    },
  };
}
