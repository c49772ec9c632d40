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
import { type ClientSecurity, KafkaClient } from '../../../runtime/kafka/client.js';
import type { Registry } from 'prom-client';
import { freePort } from '../real-cluster-harness.js';

export interface SingleNode {
  host: NodeHost;
  port: number;
  /** The first failure the node reported, if any (a node must never fail on client input). */
  fatal(): Error | null;
  /** A client of the listener; `security` overrides the node's own (another user, a wrong password, none). */
  connect(security?: ClientSecurity): Promise<KafkaClient>;
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

export interface SingleNodeOptions {
  /** The listener's port (default: a free one) and security protocol. */
  port?: number;
  protocol?: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  /** How the test's clients connect (TLS trust, SASL user) unless a test says otherwise. */
  clientSecurity?: ClientSecurity;
}

/** Starts the node and waits until its broker is live in its own metadata. */
export async function startSingleNode(extraConfig: string[] = [], registry: Registry | null = null, options: SingleNodeOptions = {}): Promise<SingleNode> {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-kafka-'));
  // A free port chosen up front, so that the listener advertises the port clients reach it on.
  const port = options.port ?? await freePort();
  const protocol = options.protocol ?? 'PLAINTEXT';
  const hub = new InProcessHub();
  let fatal: Error | null = null;
  const clients: KafkaClient[] = [];
  const host = await startNodeHost({
    config: parseConfig([
      'node.id=1', 'controller.quorum.voters=1', 'cluster.id=single', `log.dirs=${dir}`, `listeners=${protocol}://127.0.0.1:${port}`,
      'broker.heartbeat.interval.ms=200', 'broker.session.timeout.ms=3000', ...extraConfig,
    ].join('\n'), 'test'),
    transport: hub.transportFor(1), logger: silentLogger, registry, onFatal: (error) => { fatal = error; },
  });
  const node: SingleNode = {
    host,
    port: host.kafkaPort!,
    fatal: () => fatal,
    connect: async (security = options.clientSecurity) => {
      const client = await KafkaClient.connect(host.kafkaPort!, '127.0.0.1', 'logmesh-test', security);
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
