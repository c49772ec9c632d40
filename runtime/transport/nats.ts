// The real mesh: one NATS subject per node, `<prefix>.node.<nodeId>`. Envelopes are
// published fire-and-forget; a message lost while the connection is down is recovered by
// the protocols' own timeouts and retries, never by this layer.
import { connect, type NatsConnection, type Subscription } from 'nats';
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
}

export function nodeSubject(prefix: string, nodeId: number): string {
  return `${prefix}.node.${nodeId}`;
}

export class NatsTransport implements Transport {
  private receiver: (bytes: Uint8Array) => void = () => {};
  private subscription: Subscription | null = null;
  private closed = false;

  private constructor(private readonly connection: NatsConnection, private readonly options: NatsTransportOptions) {}

  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const connection = await connect({
      servers: options.servers,
      name: `logmesh-node-${options.nodeId}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      user: options.user,
      pass: options.pass,
    });
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
