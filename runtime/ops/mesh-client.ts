// A client on the mesh: sends requests to actors and waits for their answers. The CLI and
// the real-process tests use it to talk to controllers without going through a node.
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../actors/protocol/codec.js';
import type { Address, WireKind, WireMessages } from '../../actors/protocol/messages.js';
import type { Transport } from '../kernel/ports.js';

interface Waiter {
  kind: WireKind;
  fromNode: number;
  match: (body: unknown) => boolean;
  resolve: (body: unknown) => void;
  timer: NodeJS.Timeout;
}

export class MeshClient {
  private readonly waiters = new Set<Waiter>();
  private seq = 0;

  constructor(readonly clientNode: number, private readonly clusterId: string, private readonly transport: Transport) {
    transport.onReceive((bytes) => this.receive(bytes));
  }

  nextRequestId(): string {
    this.seq += 1;
    return `client-${this.clientNode}-${this.seq}`;
  }

  /** Sends `body` and resolves with the first `responseKind` from that node that matches, or null on timeout. */
  request<K extends WireKind, R extends WireKind>(
    to: Address, kind: K, body: WireMessages[K], responseKind: R, timeoutMs: number,
    match: (response: WireMessages[R]) => boolean = () => true,
  ): Promise<WireMessages[R] | null> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        kind: responseKind,
        fromNode: to.node,
        match: match as (body: unknown) => boolean,
        resolve: resolve as (body: unknown) => void,
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

  async close(): Promise<void> {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(null);
    }
    this.waiters.clear();
    await this.transport.close();
  }

  private receive(bytes: Uint8Array): void {
    let envelope;
    let body: unknown;
    try {
      envelope = decodeEnvelope(bytes);
      body = decodePayload(envelope.kind as WireKind, envelope.payload);
    } catch {
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
