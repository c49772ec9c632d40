// The real mesh: one NATS subject per node, `<prefix>.node.<nodeId>`. Envelopes are
// published fire-and-forget; a message lost while the connection is down is recovered by
// the protocols' own timeouts and retries, never by this layer.
//
// Envelopes to one node sent in one turn of the event loop leave as one NATS message
// (nats-batch.ts has the format): the first send of a turn queues a microtask that publishes
// what has gathered, so nothing waits for a timer. With a thousand partitions, followers'
// fetches and their answers are many small envelopes, and each NATS message costs a parse and
// a route in nats-server and in both clients.
import { type Authenticator, type ConnectionOptions, type NatsConnection, type Subscription, connect, nkeyAuthenticator } from 'nats';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type KernelMetrics, type NatsMetrics, createKernelMetrics, createNatsMetrics } from '../kernel/metrics.js';
import type { Transport } from '../kernel/ports.js';
import { joinEnvelopes, lengthPrefixBytes, splitEnvelopes } from './nats-batch.js';

/**
 * The largest NATS message a batch grows to: nats-server's default max_payload (1 MiB; the
 * client refuses to publish more than the server's INFO says, so a smaller server limit wins).
 */
export const batchBytesMax = 1024 * 1024;

export interface NatsTransportOptions {
  servers: string[];
  /** Subject prefix, normally the cluster id. */
  prefix: string;
  nodeId: number;
  logger: Logger;
  user?: string;
  pass?: string;
  /** A user nkey's seed (the `SU...` text): the server challenges, the client signs. */
  nkeySeed?: Uint8Array;
  /** TLS to nats-server: the CA that signed its certificate, and this client's certificate and key (mutual TLS). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Counts NATS messages, and malformed batches as dropped envelopes; null or absent for tools. */
  registry?: Registry | null;
}

/** Envelopes waiting for this turn's flush, to one node, and the size of the batch they make. */
interface PendingBatch {
  envelopes: Uint8Array[];
  batchBytes: number;
}

export function nodeSubject(prefix: string, nodeId: number): string {
  return `${prefix}.node.${nodeId}`;
}

function credentials(options: NatsTransportOptions): Partial<ConnectionOptions> {
  const authenticator: Authenticator | undefined = options.nkeySeed === undefined ? undefined : nkeyAuthenticator(options.nkeySeed);
  return {
    ...(options.user === undefined ? {} : { user: options.user, pass: options.pass }),
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(options.tls === undefined ? {} : { tls: { ...options.tls } }),
  };
}

export class NatsTransport implements Transport {
  private receiver: (bytes: Uint8Array) => void = () => {};
  private subscription: Subscription | null = null;
  private closed = false;
  /** By destination node, in the order of their first envelope this turn. */
  private readonly pending = new Map<number, PendingBatch>();
  private flushQueued = false;
  private readonly natsMetrics: NatsMetrics | null;
  private readonly kernelMetrics: KernelMetrics | null;

  private constructor(private readonly connection: NatsConnection, private readonly options: NatsTransportOptions) {
    const registry = options.registry ?? null;
    this.natsMetrics = registry === null ? null : createNatsMetrics(registry);
    this.kernelMetrics = registry === null ? null : createKernelMetrics(registry);
  }

  /**
   * Connects, waiting (unbounded) for a nats-server that is not up yet; a server that is up
   * but refuses (credentials, TLS) fails at once, since waiting would not change its answer.
   * Returns once the server has the node's subscription, so what is sent to this node from then
   * on is delivered.
   */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const connectionOptions: ConnectionOptions = {
      servers: options.servers,
      name: `logmesh-node-${options.nodeId}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...credentials(options),
    };
    let connection: NatsConnection;
    try {
      connection = await connect(connectionOptions);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'CONNECTION_REFUSED' && code !== 'CONNECTION_TIMEOUT') throw error;
      connection = await connect({ ...connectionOptions, waitOnFirstConnect: true });
    }
    const transport = new NatsTransport(connection, options);
    transport.subscribe();
    void transport.watchStatus();
    await transport.subscriptionInPlace();
    return transport;
  }

  send(toNode: number, bytes: Uint8Array): void {
    if (this.closed || this.connection.isClosed()) return;
    let batch = this.pending.get(toNode);
    if (batch === undefined) {
      batch = { envelopes: [], batchBytes: 1 };
      this.pending.set(toNode, batch);
    }
    const framedBytes = lengthPrefixBytes(bytes.byteLength) + bytes.byteLength;
    if (batch.envelopes.length > 0 && batch.batchBytes + framedBytes > this.payloadBytesMax()) {
      // What has gathered goes first, so the node still gets its envelopes in send order.
      this.publish(toNode, batch.envelopes);
      batch.envelopes = [];
      batch.batchBytes = 1;
    }
    batch.envelopes.push(bytes);
    batch.batchBytes += framedBytes;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  onReceive(handler: (bytes: Uint8Array) => void): void {
    this.receiver = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.subscription?.unsubscribe();
    await this.connection.drain().catch(() => this.connection.close());
  }

  private subscribe(): void {
    const subject = nodeSubject(this.options.prefix, this.options.nodeId);
    this.subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error !== null) {
          this.options.logger.warn({ err: error }, `subscription ${subject} failed`);
          return;
        }
        this.natsMetrics?.messageReceived(this.options.nodeId);
        const { envelopes, malformed } = splitEnvelopes(message.data);
        for (const envelope of envelopes) this.receiver(envelope);
        if (malformed !== null) {
          // Counted and logged as the kernel does an envelope it cannot decode.
          this.kernelMetrics?.envelopeDropped(this.options.nodeId, 'malformed');
          this.options.logger.warn({ reason: 'malformed' }, `dropped envelope: ${malformed}`);
        }
      },
    });
  }

  /**
   * Waits for a PING/PONG round trip on the connection: the server handles one connection's
   * commands in order, so at the PONG it has the SUB. Without it the SUB travels on its own,
   * and another node's publish that reaches the server first (a new node's first answers) is
   * dropped for want of a subscriber. A connection lost meanwhile rejects the round trip;
   * the client sends its subscriptions again when it reconnects, and what was published to
   * this node in between is lost as during any disconnect, so that is logged, not thrown.
   */
  private async subscriptionInPlace(): Promise<void> {
    try {
      await this.connection.flush();
    } catch (error) {
      this.options.logger.warn({ err: error }, `mesh subscription ${nodeSubject(this.options.prefix, this.options.nodeId)} not confirmed by nats-server (connection lost); it is sent again on reconnect`);
    }
  }

  /** Publishes every batch gathered this turn. */
  private flush(): void {
    this.flushQueued = false;
    if (this.pending.size === 0) return;
    const batches = [...this.pending];
    this.pending.clear();
    if (this.connection.isClosed()) return;
    for (const [toNode, batch] of batches) {
      if (batch.envelopes.length > 0) this.publish(toNode, batch.envelopes);
    }
  }

  private publish(toNode: number, envelopes: readonly Uint8Array[]): void {
    try {
      this.connection.publish(nodeSubject(this.options.prefix, toNode), joinEnvelopes(envelopes));
      this.natsMetrics?.messagePublished(this.options.nodeId);
    } catch (error) {
      // Publishing while reconnecting can throw, and so does one envelope larger than the
      // server's max_payload; the envelopes are simply lost.
      this.options.logger.debug({ err: error, toNode, envelopes: envelopes.length }, 'publish failed');
    }
  }

  /** The server's max_payload as its INFO announced it (it can change on reconnect), at most batchBytesMax. */
  private payloadBytesMax(): number {
    return Math.min(batchBytesMax, this.connection.info?.max_payload ?? batchBytesMax);
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        this.options.logger.info({ nats: status.type, server: String(status.data) }, `mesh ${status.type}`);
      }
    }
  }
}
