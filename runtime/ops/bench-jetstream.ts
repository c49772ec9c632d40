// NATS JetStream under `npm run bench -- kafka`, the system logmesh is compared with: Debian's
// nats-server (found like `logmesh dev` finds it), one server with a replicas=1 file stream
// or a 3-server cluster (routes on loopback) with a replicas=3 file stream, driven by the
// `nats` client: async publishes with a window of outstanding acknowledgements (published with
// a reply subject, as the Go client's PublishAsync does), and an ordered consumer reading from
// the beginning.
//
// Its sync setting: nats-server 2.9 writes every message to its file store at once (to the
// page cache) but fsyncs only on the store's sync timer (every 2 minutes by default; 2.9 has
// no `sync_interval` option to change it), so an acknowledged message is not yet on the disk.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JetStreamManager, type Msg, type NatsConnection, StorageType, connect, createInbox } from 'nats';
import type { LatencyHistogram } from './bench-latency.js';
import type { ConsumeResult, Sender, SystemUnderTest } from './bench-load.js';
import { type BenchChild, assertPortFree, startBenchChild, stopBenchChildren, tcpAccepts, waitFor } from './bench-processes.js';
import { recordsPerBatch } from './bench-logmesh.js';
import { findNatsServer } from './dev.js';

export const jetStreamSyncSetting = 'no fsync per message: file store synced every 2 min (nats-server 2.9 default, not configurable before 2.10)';

/** How long a publish waits for its acknowledgement (as long as a logmesh Produce may wait). */
const publishTimeoutMs = 30_000;
/** Messages an ordered consumer asks for at a time. */
const consumeBufferMessages = 10_000;
const startupTimeoutMs = 60_000;

export interface JetStreamOptions {
  servers: 1 | 3;
  dataDir: string;
  /** Client port of server 1 (the others take the next ports); cluster routes take routePortBase + i. */
  clientPortBase: number;
  routePortBase: number;
}

/** nats-server's configuration file for server `index` (1-based). */
export function jetStreamServerConfig(index: number, options: JetStreamOptions): string {
  const lines = [
    `server_name: js-${index}`,
    `listen: 127.0.0.1:${options.clientPortBase + index - 1}`,
    `jetstream { store_dir: ${JSON.stringify(join(options.dataDir, `js-${index}`))} }`,
  ];
  if (options.servers > 1) {
    const routes = Array.from({ length: options.servers }, (_, i) => `nats-route://127.0.0.1:${options.routePortBase + i}`);
    lines.push(`cluster { name: logmesh-bench, listen: 127.0.0.1:${options.routePortBase + index - 1}, routes: [${routes.join(', ')}] }`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Async publishes as the Go client's PublishAsync does them: each message is published with
 * its own reply subject under one inbox, one subscription takes every acknowledgement, and a
 * map of waiting sends matches them. (js.publish of the `nats` client makes a request, with a
 * timer and a captured error, per message, and costs this 2-core machine more CPU than the
 * server it measures.)
 */
class JetStreamAsyncPublisher implements Sender {
  readonly messagesPerSendMax = 1;
  private readonly payload: Uint8Array;
  private readonly inbox = createInbox();
  private readonly waiting = new Map<string, { sentMs: number; resolve: () => void; reject: (error: Error) => void }>();
  private nextToken = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly nc: NatsConnection, private readonly subject: string, private readonly recordBytes: number,
    readonly inFlightMax: number, private readonly stampTimes: boolean) {
    this.payload = new Uint8Array(recordBytes).fill(0x61);
    nc.subscribe(`${this.inbox}.*`, { callback: (error, message) => this.acknowledged(error, message) });
    this.sweeper = setInterval(() => this.expire(), 1000);
  }

  send(intendedMs: readonly number[]): Promise<void> {
    let payload = this.payload;
    if (this.stampTimes) {
      payload = new Uint8Array(this.recordBytes).fill(0x61);
      new DataView(payload.buffer).setFloat64(0, intendedMs[0]!, true);
    }
    const token = String(this.nextToken++);
    return new Promise((resolve, reject) => {
      this.waiting.set(token, { sentMs: performance.now(), resolve, reject });
      this.nc.publish(this.subject, payload, { reply: `${this.inbox}.${token}` });
    });
  }

  private failure(detail: string): Error {
    return new Error(`JetStream publish of ${this.recordBytes} bytes to ${this.subject}: ${detail}`);
  }

  private acknowledged(error: Error | null, message: Msg): void {
    const token = message.subject.slice(this.inbox.length + 1);
    const waiter = this.waiting.get(token);
    if (waiter === undefined) return;
    this.waiting.delete(token);
    if (error !== null) waiter.reject(this.failure(error.message));
    else if (message.headers?.hasError === true) waiter.reject(this.failure(`${message.headers.code} ${message.headers.description}`));
    // An acknowledgement is {"stream":...,"seq":...}; a refusal {"error":{...}}.
    else if (message.data[2] === 0x65) waiter.reject(this.failure(new TextDecoder().decode(message.data)));
    else waiter.resolve();
  }

  /** Fails the sends whose acknowledgement is overdue (the map is in sending order). */
  private expire(): void {
    const now = performance.now();
    for (const [token, waiter] of this.waiting) {
      if (now - waiter.sentMs < publishTimeoutMs) break;
      this.waiting.delete(token);
      waiter.reject(this.failure(`no acknowledgement within ${publishTimeoutMs} ms`));
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

export class JetStreamSystem implements SystemUnderTest {
  private readonly connections: NatsConnection[] = [];
  private readonly publishers: JetStreamAsyncPublisher[] = [];

  private constructor(readonly options: JetStreamOptions, private readonly children: BenchChild[], nc: NatsConnection, private readonly jsm: JetStreamManager) {
    this.connections.push(nc);
  }

  get description(): string {
    return this.options.servers === 1
      ? `JetStream, 1 nats-server, file stream replicas=1 (${jetStreamSyncSetting})`
      : `JetStream, 3 nats-servers (routes on loopback), file stream replicas=3 (${jetStreamSyncSetting})`;
  }

  static async start(options: JetStreamOptions): Promise<JetStreamSystem> {
    const binary = findNatsServer();
    if (binary === null) throw new Error('nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER');
    for (let i = 0; i < options.servers; i++) {
      await assertPortFree(options.clientPortBase + i);
      if (options.servers > 1) await assertPortFree(options.routePortBase + i);
    }
    const children: BenchChild[] = [];
    try {
      for (let index = 1; index <= options.servers; index++) {
        mkdirSync(join(options.dataDir, `js-${index}`), { recursive: true });
        const file = join(options.dataDir, `js-${index}.conf`);
        writeFileSync(file, jetStreamServerConfig(index, options));
        children.push(startBenchChild(`nats JetStream ${index}/${options.servers}`, binary, ['-c', file]));
      }
      for (let i = 0; i < options.servers; i++) {
        const port = options.clientPortBase + i;
        await waitFor(`nats-server on 127.0.0.1:${port}`, 10_000, children, async () => ((await tcpAccepts(port)) ? true : undefined));
      }
      const nc = await connect({ servers: `127.0.0.1:${options.clientPortBase}`, name: 'logmesh-bench', noAsyncTraces: true });
      // A cluster's JetStream API answers only once its meta group has a leader.
      const jsm = await waitFor(`the JetStream API of ${options.servers} server(s)`, startupTimeoutMs, children, () => nc.jetstreamManager());
      return new JetStreamSystem(options, children, nc, jsm);
    } catch (error) {
      await stopBenchChildren(children);
      throw error;
    }
  }

  async createLog(name: string): Promise<void> {
    // Right after start-up a cluster may still refuse (no meta leader yet): retry until then.
    await waitFor(`JetStream stream ${name} (replicas ${this.options.servers})`, startupTimeoutMs, this.children, async () => {
      await this.jsm.streams.add({ name, subjects: [name], storage: StorageType.File, num_replicas: this.options.servers });
      return true;
    });
  }

  private async connection(): Promise<NatsConnection> {
    const nc = await connect({ servers: `127.0.0.1:${this.options.clientPortBase}`, name: 'logmesh-bench', noAsyncTraces: true });
    this.connections.push(nc);
    return nc;
  }

  async sender(log: string, recordBytes: number, inFlightBatches: number, stampTimes: boolean): Promise<Sender> {
    const window = inFlightBatches * recordsPerBatch(recordBytes);
    const publisher = new JetStreamAsyncPublisher(await this.connection(), log, recordBytes, window, stampTimes);
    this.publishers.push(publisher);
    return publisher;
  }

  async consumeAll(log: string, timeMs: number): Promise<ConsumeResult> {
    const target = (await this.jsm.streams.info(log)).state.messages;
    const nc = await this.connection();
    const startMs = performance.now();
    let messages = 0;
    try {
      const consumer = await nc.jetstream().consumers.get(log);
      const iterator = await consumer.consume({ max_messages: consumeBufferMessages });
      const timer = setTimeout(() => iterator.stop(), timeMs);
      for await (const _message of iterator) {
        messages += 1;
        if (messages >= target) break;
      }
      clearTimeout(timer);
      iterator.stop();
    } catch (error) {
      return { messages, ms: performance.now() - startMs, failure: `JetStream ordered consumer of ${log}: ${(error as Error).message}` };
    } finally {
      await nc.close();
    }
    return { messages, ms: performance.now() - startMs, failure: null };
  }

  async tail(log: string, latency: LatencyHistogram, expected: number): Promise<(graceMs: number) => Promise<string | null>> {
    const nc = await this.connection();
    const consumer = await nc.jetstream().consumers.get(log);
    const iterator = await consumer.consume({ max_messages: consumeBufferMessages });
    const run = async (): Promise<string | null> => {
      let seen = 0;
      try {
        for await (const message of iterator) {
          const data = message.data;
          latency.recordSince(new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0, true), performance.now());
          seen += 1;
          if (seen >= expected) break;
        }
        return seen < expected ? `the consumer saw ${seen} of ${expected} messages` : null;
      } catch (error) {
        return `JetStream ordered consumer of ${log}: ${(error as Error).message}`;
      } finally {
        iterator.stop();
        await nc.close();
      }
    };
    const running = run();
    return async (graceMs) => {
      const timer = setTimeout(() => iterator.stop(), graceMs);
      const failure = await running;
      clearTimeout(timer);
      return failure;
    };
  }

  async stop(): Promise<void> {
    for (const publisher of this.publishers) publisher.close();
    for (const nc of this.connections) await nc.close().catch(() => {});
    await stopBenchChildren(this.children);
  }
}
