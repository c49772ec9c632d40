// The simulated network: every envelope between nodes becomes a scheduled delivery, and on
// the way it can be dropped, delayed, duplicated or reordered, or blocked by a partition.
import type { Transport } from '../runtime/kernel/ports.js';
import type { Scheduler } from './scheduler.js';
import type { Prng } from './prng.js';

export interface LinkFaults {
  dropProbability: number;
  duplicateProbability: number;
  /** Probability that a message takes an extra delay (which also reorders it). */
  delayProbability: number;
  delayMaxMs: number;
  /** Probability of a small extra delay, enough to swap neighbouring messages. */
  reorderProbability: number;
  reorderMaxMs: number;
}

export const healthyLinks: LinkFaults = {
  dropProbability: 0, duplicateProbability: 0, delayProbability: 0, delayMaxMs: 0, reorderProbability: 0, reorderMaxMs: 0,
};

export const latencyMinMs = 1;
export const latencyMaxMs = 3;

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  blocked: number;
}

export class SimNetwork {
  faults: LinkFaults = { ...healthyLinks };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, delayed: 0, reordered: 0, blocked: 0 };
  private readonly receivers = new Map<number, (bytes: Uint8Array) => void>();
  private readonly down = new Set<number>();
  /** Blocked directed links, "from->to". */
  private readonly blockedLinks = new Set<string>();

  constructor(private readonly scheduler: Scheduler, private readonly prng: Prng) {}

  transportFor(nodeId: number): Transport {
    return {
      send: (toNode, bytes) => this.send(nodeId, toNode, bytes),
      onReceive: (handler) => {
        this.receivers.set(nodeId, handler);
      },
      close: async () => {
        this.receivers.delete(nodeId);
      },
    };
  }

  setDown(nodeId: number, isDown: boolean): void {
    if (isDown) this.down.add(nodeId);
    else this.down.delete(nodeId);
  }

  isBlocked(from: number, to: number): boolean {
    return this.blockedLinks.has(`${from}->${to}`);
  }

  block(from: number, to: number): void {
    this.blockedLinks.add(`${from}->${to}`);
  }

  /** Nodes in different groups cannot reach each other, in either direction. */
  partition(groups: number[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.block(from, to);
      }
    }
  }

  healPartitions(): void {
    this.blockedLinks.clear();
  }

  private send(from: number, to: number, bytes: Uint8Array): void {
    this.stats.sent += 1;
    if (this.isBlocked(from, to)) {
      this.stats.blocked += 1;
      return;
    }
    if (this.prng.chance(this.faults.dropProbability)) {
      this.stats.dropped += 1;
      return;
    }
    this.schedule(from, to, bytes);
    if (this.prng.chance(this.faults.duplicateProbability)) {
      this.stats.duplicated += 1;
      this.schedule(from, to, bytes);
    }
  }

  private schedule(from: number, to: number, bytes: Uint8Array): void {
    let delayMs = this.prng.int(latencyMinMs * 1000, latencyMaxMs * 1000) / 1000;
    if (this.prng.chance(this.faults.delayProbability)) {
      this.stats.delayed += 1;
      delayMs += this.prng.int(0, this.faults.delayMaxMs);
    }
    if (this.prng.chance(this.faults.reorderProbability)) {
      this.stats.reordered += 1;
      delayMs += this.prng.int(0, this.faults.reorderMaxMs * 1000) / 1000;
    }
    this.scheduler.after(delayMs, () => {
      // A partition that forms while a message is in flight stops it too.
      if (this.down.has(to) || this.isBlocked(from, to)) {
        this.stats.blocked += 1;
        return;
      }
      const receiver = this.receivers.get(to);
      if (receiver === undefined) return;
      this.stats.delivered += 1;
      receiver(bytes);
    });
  }
}
