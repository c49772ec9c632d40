// How the Kafka listener talks to actors: it sends envelopes from a host endpoint on its own
// node and matches the answers by request id, with a timeout.
import type { Address, WireKind, WireMessages } from '../../actors/protocol/messages.js';
import type { NodeKernel } from '../kernel/node-kernel.js';

export const listenerEndpoint = 'kafka-listener';

type Answer = { requestId: string };

interface Waiting {
  kind: WireKind;
  resolve: (body: unknown) => void;
  timer: NodeJS.Timeout;
}

export class MeshPort {
  private readonly waiting = new Map<string, Waiting>();
  private seq = 0;

  constructor(private readonly kernel: NodeKernel, private readonly endpoint = listenerEndpoint) {
    kernel.attachEndpoint(endpoint, ({ kind, body }) => {
      const requestId = (body as Answer).requestId;
      const waiter = this.waiting.get(requestId);
      if (waiter === undefined || waiter.kind !== kind) return; // a late answer
      this.waiting.delete(requestId);
      clearTimeout(waiter.timer);
      waiter.resolve(body);
    });
  }

  get nodeId(): number {
    return this.kernel.nodeId;
  }

  nextRequestId(): string {
    this.seq += 1;
    return `kafka-${this.kernel.nodeId}-${this.seq}`;
  }

  /** Sends and resolves with the answer of kind `answerKind`, or null after `timeoutMs`. */
  request<K extends WireKind, R extends WireKind>(
    to: Address, kind: K, body: WireMessages[K] & Answer, answerKind: R, timeoutMs: number,
  ): Promise<WireMessages[R] | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(body.requestId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(body.requestId, { kind: answerKind, resolve: resolve as (body: unknown) => void, timer });
      this.kernel.sendFrom({ node: this.kernel.nodeId, actor: this.endpoint }, { to, kind, body } as never);
    });
  }

  /** Sends without waiting (a produce with acks=0). */
  send<K extends WireKind>(to: Address, kind: K, body: WireMessages[K]): void {
    this.kernel.sendFrom({ node: this.kernel.nodeId, actor: this.endpoint }, { to, kind, body } as never);
  }

  close(): void {
    for (const waiter of this.waiting.values()) {
      clearTimeout(waiter.timer);
      waiter.resolve(null);
    }
    this.waiting.clear();
    this.kernel.detachEndpoint(this.endpoint);
  }
}
