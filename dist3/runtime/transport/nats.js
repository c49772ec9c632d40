// The real mesh: one NATS subject per node, `<prefix>.node.<nodeId>`. Envelopes are
// published fire-and-forget; a message lost while the connection is down is recovered by
// the protocols' own timeouts and retries, never by this layer.
import { connect } from 'nats';
export function nodeSubject(prefix, nodeId) {
    return `${prefix}.node.${nodeId}`;
}
export class NatsTransport {
    connection;
    options;
    receiver = () => { };
    subscription = null;
    closed = false;
    constructor(connection, options) {
        this.connection = connection;
        this.options = options;
    }
    static async connect(options) {
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
    send(toNode, bytes) {
        if (this.closed || this.connection.isClosed())
            return;
        try {
            this.connection.publish(nodeSubject(this.options.prefix, toNode), bytes);
        }
        catch (error) {
            // Publishing while reconnecting can throw; the message is simply lost.
            this.options.logger.debug({ err: error, toNode }, 'publish failed');
        }
    }
    onReceive(handler) {
        this.receiver = handler;
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        this.subscription?.unsubscribe();
        await this.connection.drain().catch(() => this.connection.close());
    }
    subscribe() {
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
    async watchStatus() {
        for await (const status of this.connection.status()) {
            if (status.type === 'disconnect' || status.type === 'reconnect') {
                this.options.logger.info({ nats: status.type, server: String(status.data) }, `mesh ${status.type}`);
            }
        }
    }
}
//# sourceMappingURL=nats.js.map