// The fault injector: on a schedule drawn from the seed, it partitions the network, crashes
// and restarts nodes, and makes links drop, delay, duplicate and reorder messages.
import type { Tracer } from '../runtime/kernel/ports.js';
import type { SimCluster } from './cluster.js';
import { type LinkFaults, type SimNetwork, healthyLinks } from './network.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';

export const faultKinds = ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder', 'slow-disk'] as const;
export type FaultKind = (typeof faultKinds)[number];

export function parseFaults(text: string): FaultKind[] {
  if (text.trim() === '' || text === 'none') return [];
  const kinds = text.split(',').map((k) => k.trim());
  for (const kind of kinds) {
    if (!(faultKinds as readonly string[]).includes(kind)) {
      throw new Error(`unknown fault "${kind}" (known: ${faultKinds.join(', ')})`);
    }
  }
  return kinds as FaultKind[];
}

export const partitionShapes = ['isolate-one', 'isolate-leader', 'halves', 'asymmetric', 'bridge', 'leader-cut-from-controller'] as const;

export class Nemesis {
  readonly injected: Record<string, number> = {};
  private readonly crashed = new Set<number>();
  private partitioned = false;
  private seq = 0;

  constructor(
    private readonly kinds: FaultKind[],
    private readonly cluster: SimCluster,
    private readonly network: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly tracer: Tracer,
    /**
     * Partition replicas (actor ids) whose leaders the workload cares most about, such as the
     * __consumer_offsets partition of a consumer group: when a fault aims at a partition
     * leader, it picks the leader of one of these half of the time.
     */
    private readonly focusPartitions: readonly string[] = [],
  ) {}

  /** Starts one schedule per fault kind; none injects after `untilMs`. */
  start(untilMs: number): void {
    for (const kind of this.kinds) {
      const loop = (): void => {
        if (this.scheduler.now >= untilMs) return;
        const lastsMs = this.inject(kind);
        this.scheduler.after(lastsMs + this.prng.int(1000, 6000), loop);
      };
      this.scheduler.after(this.prng.int(500, 5000), loop);
    }
  }

  /** Heals every fault: links back to healthy, partitions gone, crashed nodes restarted. */
  healAll(): void {
    this.network.faults = { ...healthyLinks };
    this.network.healPartitions();
    this.partitioned = false;
    for (const id of this.cluster.nodeIds) this.cluster.setDiskSlowdown(id, 1);
    for (const id of [...this.crashed]) this.restart(id);
    this.note(0, 'heal-all', 'every fault healed');
  }

  /** Injects one fault of this kind; returns how long it lasts. */
  private inject(kind: FaultKind): number {
    switch (kind) {
      case 'partition':
        return this.partition();
      case 'crash':
        return this.crash();
      case 'drop':
        return this.degradeLinks(kind, { dropProbability: this.prng.int(5, 30) / 100 });
      case 'delay':
        return this.degradeLinks(kind, { delayProbability: this.prng.int(10, 50) / 100, delayMaxMs: this.prng.int(20, 400) });
      case 'duplicate':
        return this.degradeLinks(kind, { duplicateProbability: this.prng.int(5, 30) / 100 });
      case 'reorder':
        return this.degradeLinks(kind, { reorderProbability: this.prng.int(20, 80) / 100, reorderMaxMs: this.prng.int(2, 20) });
      case 'slow-disk':
        return this.slowDisk();
    }
  }

  /** One node's disk gets many times slower for a while: its replicas fall behind (a slow follower). */
  private slowDisk(): number {
    const lastsMs = this.prng.int(2000, 10_000);
    const victim = this.prng.pick(this.cluster.nodeIds);
    const factor = this.prng.int(10, 200);
    this.cluster.setDiskSlowdown(victim, factor);
    this.note(victim, 'slow-disk', `node ${victim} disk ${factor}x slower for ${lastsMs} ms`);
    this.scheduler.after(lastsMs, () => this.cluster.setDiskSlowdown(victim, 1));
    return lastsMs;
  }

  /** The leader of some partition, if any node leads one. */
  private partitionLeader(): number | undefined {
    const leaderViews = this.cluster.replicas().filter((r) => r.context.role === 'leader');
    if (this.focusPartitions.length > 0 && this.prng.int(0, 1) === 0) {
      const focused = leaderViews.filter((r) => this.focusPartitions.includes(r.actorId)).map((r) => r.node);
      if (focused.length > 0) return this.prng.pick(focused);
    }
    const leaders = leaderViews.map((r) => r.node);
    return leaders.length === 0 ? undefined : this.prng.pick(leaders);
  }

  private degradeLinks(kind: FaultKind, change: Partial<LinkFaults>): number {
    const lastsMs = this.prng.int(1000, 6000);
    this.network.faults = { ...this.network.faults, ...change };
    this.note(0, kind, JSON.stringify(change));
    this.scheduler.after(lastsMs, () => {
      const healed: Partial<LinkFaults> = {};
      for (const key of Object.keys(change) as (keyof LinkFaults)[]) healed[key] = 0;
      this.network.faults = { ...this.network.faults, ...healed };
    });
    return lastsMs;
  }

  private partition(): number {
    const lastsMs = this.prng.int(1000, 8000);
    if (this.partitioned) return lastsMs;
    const nodes = this.cluster.nodeIds;
    const shape = this.prng.pick(partitionShapes);
    let description: string;
    if (shape === 'isolate-one' || shape === 'isolate-leader') {
      const leader = this.cluster.controllers().find((c) => c.state === 'leader')?.node;
      const victim = shape === 'isolate-leader' && leader !== undefined ? leader : this.prng.pick(nodes);
      this.network.partition([[victim], nodes.filter((n) => n !== victim)]);
      description = `${shape} ${victim}`;
    } else if (shape === 'halves') {
      const shuffled = this.shuffle(nodes);
      const cut = this.prng.int(1, nodes.length - 1);
      const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
      this.network.partition(groups);
      description = `halves ${JSON.stringify(groups)}`;
    } else if (shape === 'leader-cut-from-controller') {
      // A partition leader that clients and followers still reach, but the active controller
      // does not (and it does not reach the controller): a stale leader in the making.
      const controller = this.cluster.controllers().find((c) => c.state === 'leader')?.node ?? this.prng.pick(nodes);
      const victim = this.partitionLeader() ?? this.prng.pick(nodes);
      if (victim === controller) {
        this.network.partition([[victim], nodes.filter((n) => n !== victim)]);
      } else {
        this.network.block(victim, controller);
        this.network.block(controller, victim);
      }
      description = `${shape}: node ${victim} and controller ${controller}`;
    } else if (shape === 'asymmetric') {
      const from = this.prng.pick(nodes);
      for (const to of nodes) if (to !== from) this.network.block(from, to);
      description = `asymmetric: ${from} cannot send`;
    } else {
      // Bridge: two sides that cannot talk to each other, both reaching one bridge node.
      const shuffled = this.shuffle(nodes);
      const bridge = shuffled[0]!;
      const rest = shuffled.slice(1);
      const cut = Math.max(1, Math.floor(rest.length / 2));
      this.network.partition([rest.slice(0, cut), rest.slice(cut)]);
      description = `bridge ${bridge} between ${JSON.stringify(rest.slice(0, cut))} and ${JSON.stringify(rest.slice(cut))}`;
    }
    this.partitioned = true;
    this.note(0, 'partition', description);
    this.scheduler.after(lastsMs, () => {
      this.network.healPartitions();
      this.partitioned = false;
      this.note(0, 'partition-healed', '');
    });
    return lastsMs;
  }

  private crash(): number {
    const up = this.cluster.upNodes();
    const downMs = this.prng.int(300, 6000);
    if (up.length === 0) return downMs;
    // A third of crashes hit the active controller, a third a partition leader.
    const choice = this.prng.int(0, 2);
    const leader = choice === 0 ? this.cluster.controllers().find((c) => c.state === 'leader')?.node : choice === 1 ? this.partitionLeader() : undefined;
    const victim = leader !== undefined && up.includes(leader) ? leader : this.prng.pick(up);
    this.cluster.crash(victim);
    this.crashed.add(victim);
    this.note(victim, 'crash', `node ${victim} down for ${downMs} ms`);
    this.scheduler.after(downMs, () => this.restart(victim));
    return downMs;
  }

  private restart(id: number): void {
    if (!this.crashed.delete(id)) return;
    this.note(id, 'restart', `node ${id} restarted`);
    this.cluster.restart(id);
  }

  private shuffle(items: readonly number[]): number[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.prng.int(0, i);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  private note(node: number, kind: string, description: string): void {
    if (kind !== 'heal-all' && kind !== 'partition-healed' && kind !== 'restart') {
      this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    }
    this.seq += 1;
    this.tracer.record({ t: this.scheduler.now, node, actor: 'nemesis', kind: `@fault:${kind}`, id: `nemesis:${this.seq}`, parent: '', state: description });
  }
}
