// A one-node cluster in this process (controller and broker, in-process transport, data in a
// temporary directory, Kafka listener on a free loopback port) for listener tests. Not a test
// file itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { parseConfig } from '../../../runtime/ops/config.js';
import { silentLogger } from '../../../runtime/ops/logger.js';
import { type NodeHost, startNodeHost } from '../../../runtime/ops/node-host.js';
import { InProcessHub } from '../../../runtime/transport/in-process.js';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import type { Registry } from 'prom-client';
import { freePort } from '../real-cluster-harness.js';

export interface SingleNode {
  host: NodeHost;
  port: number;
  /** The first failure the node reported, if any (a node must never fail on client input). */
  fatal(): Error | null;
  connect(): Promise<KafkaClient>;
  stop(): Promise<void>;
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts the node and waits until its broker is live in its own metadata. */
export async function startSingleNode(extraConfig: string[] = [], registry: Registry | null = null): Promise<SingleNode> {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-kafka-'));
  // A free port chosen up front, so that the listener advertises the port clients reach it on.
  const port = await freePort();
  const hub = new InProcessHub();
  let fatal: Error | null = null;
  const clients: KafkaClient[] = [];
  const host = await startNodeHost({
    config: parseConfig([
      'node.id=1', 'controller.quorum.voters=1', 'cluster.id=single', `log.dirs=${dir}`, `listeners=PLAINTEXT://127.0.0.1:${port}`,
      'broker.heartbeat.interval.ms=200', 'broker.session.timeout.ms=3000', ...extraConfig,
    ].join('\n'), 'test'),
    transport: hub.transportFor(1), logger: silentLogger, registry, onFatal: (error) => { fatal = error; },
  });
  const node: SingleNode = {
    host,
    port: host.kafkaPort!,
    fatal: () => fatal,
    connect: async () => {
      const client = await KafkaClient.connect(host.kafkaPort!);
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.close();
      await host.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const probe = await node.connect();
    await waitUntil('a live broker', 20_000, async () => {
      const metadata = await probe.request(ApiKeys.Metadata, 1, { topics: [] });
      return metadata.brokers.length === 1 ? true : undefined;
    });
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}
