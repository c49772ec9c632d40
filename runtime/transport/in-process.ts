// The embedded transport: nodes of one process hand envelopes to each other through a hub.
// Delivery is asynchronous (a macrotask later), as on a real network.
import type { Transport } from '../kernel/ports.js';

export class InProcessHub {
  private readonly receivers = new Map<number, (bytes: Uint8Array) => void>();

  transportFor(nodeId: number): Transport {
    return {
      send: (toNode, bytes) => {
        setImmediate(() => this.receivers.get(toNode)?.(bytes));
      },
      onReceive: (handler) => {
        this.receivers.set(nodeId, handler);
      },
      close: async () => {
        this.receivers.delete(nodeId);
      },
    };
  }
}
