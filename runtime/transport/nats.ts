// The real mesh: one NATS subject per node, `<prefix>.node.<nodeId>`. Envelopes are
// published fire-and-forget; a message lost while the connection is down is recovered by
// the protocols' own timeouts and retries, never by this layer.
import { type Authenticator, type ConnectionOptions, type NatsConnection, type Subscription, connect, nkeyAuthenticator } from 'nats';
import type { Logger } from 'pino';
import type { Transport } from '../kernel/ports.js';

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

  private constructor(private readonly connection: NatsConnection, private readonly options: NatsTransportOptions) {}

  /**
   * Connects, waiting (unbounded) for a nats-server that is not up yet; a server that is up
   * but refuses (credentials, TLS) fails at once, since waiting would not change its answer.
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
    return transport;
  }

  send(toNode: number, bytes: Uint8Array): void {
    if (this.closed || this.connection.isClosed()) return;
    try {
      this.connection.publish(nodeSubject(this.options.prefix, toNode), bytes);
    } catch (error) {
      // Publishing while reconnecting can throw; the message is simply lost.
      this.options.logger.debug({ err: error, toNode }, 'publish failed');
    }
  }

  onReceive(handler: (bytes: Uint8Array) => void): void {
    this.receiver = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
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
        this.receiver(message.data);
      },
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        this.options.logger.info({ nats: status.type, server: String(status.data) }, `mesh ${status.type}`);
      }
    }
  }
}
