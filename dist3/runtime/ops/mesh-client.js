// A client on the mesh: sends requests to actors and waits for their answers. The CLI and
// the real-process tests use it to talk to controllers without going through a node.
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../actors/protocol/codec.js';
export class MeshClient {
    clientNode;
    clusterId;
    transport;
    waiters = new Set();
    seq = 0;
    constructor(clientNode, clusterId, transport) {
        this.clientNode = clientNode;
        this.clusterId = clusterId;
        this.transport = transport;
        transport.onReceive((bytes) => this.receive(bytes));
    }
    nextRequestId() {
        this.seq += 1;
        return `client-${this.clientNode}-${this.seq}`;
    }
    /** Sends `body` and resolves with the first `responseKind` from that node that matches, or null on timeout. */
    request(to, kind, body, responseKind, timeoutMs, match = () => true) {
        return new Promise((resolve) => {
            const waiter = {
                kind: responseKind,
                fromNode: to.node,
                match: match,
                resolve: resolve,
                timer: setTimeout(() => {
                    this.waiters.delete(waiter);
                    resolve(null);
                }, timeoutMs),
            };
            this.waiters.add(waiter);
            this.seq += 1;
            this.transport.send(to.node, encodeEnvelope({
                clusterId: this.clusterId,
                from: { node: this.clientNode, actor: 'mesh-client' },
                to,
                kind,
                payload: encodePayload(kind, body),
                msgId: `${this.clientNode}:${this.seq}`,
                parentId: '',
            }));
        });
    }
    async close() {
        for (const waiter of this.waiters) {
            clearTimeout(waiter.timer);
            waiter.resolve(null);
        }
        this.waiters.clear();
        await this.transport.close();
    }
    receive(bytes) {
        let envelope;
        let body;
        try {
            envelope = decodeEnvelope(bytes);
            body = decodePayload(envelope.kind, envelope.payload);
        }
        catch {
            return; // not for us to judge; nodes count malformed envelopes
        }
        for (const waiter of this.waiters) {
            if (waiter.kind === envelope.kind && waiter.fromNode === envelope.from.node && waiter.match(body)) {
                this.waiters.delete(waiter);
                clearTimeout(waiter.timer);
                waiter.resolve(body);
                return;
            }
        }
    }
}
//# sourceMappingURL=mesh-client.js.map