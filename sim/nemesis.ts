// The fault injector: on a schedule drawn from the seed, it partitions the network, crashes
// and restarts nodes, makes links drop, delay, duplicate and reorder messages, slows disks,
// flips bits in followers' stored batches and pauses nodes (SIGSTOP, a long GC pause). It records
// every fault it injects as a schedule (sim/schedule.ts), and can inject a given schedule
// instead of drawing one: that is how a shrunk run is replayed.
import { batchFieldOffsets } from '../actors/protocol/record-batch.js';
import type { Tracer } from '../runtime/kernel/ports.js';
import type { ReplicaView, SimCluster } from './cluster.js';
import { type LinkFaults, type SimNetwork, healthyLinks } from './network.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';
import { type FaultSchedule, type PartitionFault, type ScheduledFault, partitionShapes } from './schedule.js';

export { partitionShapes } from './schedule.js';

export const faultKinds = ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder', 'slow-disk', 'bit-flip', 'clock-pause', 'power-loss'] as const;
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

/** A clock pause: from a short stall to longer than a broker session (6 s in the simulator), after which the node wakes up fenced. */
export const clockPauseMinMs = 200;
export const clockPauseMaxMs = 9000;

/** No bit flip is drawn in the last this-many ms of the fault phase: scrubbing finds each flip before the final checks. */
export const bitFlipQuietEndMs = 15_000;
/** The longest a bit flip holds other faults back (flipPending). */
export const bitFlipHoldMaxMs = 30_000;
/** Between two bit flips. */
export const bitFlipGapMinMs = 5000;
export const bitFlipGapMaxMs = 15_000;

/**
 * How long a power loss waits for its moment (see aimPowerLoss), and how long that moment must
 * have lasted (the acknowledgement on its way to the client) before the power fails.
 */
export const powerLossAimMaxMs = 3000;
const powerLossExposedMs = 4;

/** How often followers scrub their logs in runs with bit flips (PartitionTimings.logScrubIntervalMs). */
export const simLogScrubIntervalMs = 500;

/** A drawn fault with nothing to inject (a partition while one is in place, a crash with every node down). */
interface SkippedFault {
  kind: 'skipped';
  lastsMs: number;
}

/** A scheduled fault before it has a time. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type FaultChoice = DistributiveOmit<ScheduledFault, 'atMs'> | SkippedFault;

export class Nemesis {
  readonly injected: Record<string, number> = {};
  /** Every fault injected so far, in order: replaying it injects the same faults. */
  readonly schedule: FaultSchedule = [];
  private readonly crashed = new Set<number>();
  /** Paused nodes and the id of each one's pause. */
  private readonly paused = new Map<number, number>();
  /** The last bit flip injected: while its batch is on disk and corrupt, no new flip, crash or pause is drawn. */
  private lastFlip: { node: number; actorId: string; firstOffset: number; atMs: number } | null = null;
  private faultsUntilMs = 0;
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
    /** Inject exactly these faults instead of drawing them (the kinds then play no part). */
    private readonly replay: FaultSchedule | null = null,
  ) {
    // Bit flips land in followers' logs, where nothing reads them: followers scrub their logs to find them.
    if (kinds.includes('bit-flip') || (replay ?? []).some((f) => f.kind === 'bit-flip')) cluster.logScrubIntervalMs = simLogScrubIntervalMs;
    if (replay !== null) {
      for (const fault of replay) {
        for (const node of faultNodes(fault)) {
          if (!cluster.nodeIds.includes(node)) throw new Error(`fault schedule names node ${node}, not one of nodes ${cluster.nodeIds.join(',')}`);
        }
      }
    }
  }

  /** Starts one schedule per fault kind; none injects after `untilMs`. */
  start(untilMs: number): void {
    this.faultsUntilMs = untilMs;
    if (this.replay !== null) {
      this.startReplay(untilMs);
      return;
    }
    for (const kind of this.kinds) {
      const loop = (): void => {
        if (this.scheduler.now >= untilMs) return;
        const injectedBefore = this.schedule.length;
        const lastsMs = this.inject(kind);
        // A bit flip holds the other faults back until it is repaired (flipPending): after one,
        // a longer gap; when the cluster was not whole enough for one, a short retry.
        const flipped = this.schedule.length > injectedBefore;
        const gapMs = kind !== 'bit-flip' ? this.prng.int(1000, 6000) : flipped ? this.prng.int(bitFlipGapMinMs, bitFlipGapMaxMs) : this.prng.int(200, 1000);
        this.scheduler.after(lastsMs + gapMs, loop);
      };
      this.scheduler.after(this.prng.int(500, 5000), loop);
    }
  }

  /**
   * One chain per kind, as when drawing: each fault is scheduled when the one before it of its
   * kind is injected, so that a full recorded schedule replays event for event.
   */
  private startReplay(untilMs: number): void {
    const byKind = new Map<string, ScheduledFault[]>();
    for (const kind of this.kinds) byKind.set(kind, []);
    for (const fault of this.replay!) {
      if (fault.atMs >= untilMs) continue;
      const list = byKind.get(fault.kind) ?? [];
      list.push(fault);
      byKind.set(fault.kind, list);
    }
    for (const faults of byKind.values()) {
      faults.sort((a, b) => a.atMs - b.atMs);
      const next = (i: number): void => {
        if (i >= faults.length) return;
        this.scheduler.after(Math.max(0, faults[i]!.atMs - this.scheduler.now), () => {
          this.apply(faults[i]!);
          next(i + 1);
        });
      };
      next(0);
    }
  }

  /** Heals every fault: links back to healthy, partitions gone, paused nodes resumed, crashed nodes restarted. */
  healAll(): void {
    this.network.faults = { ...healthyLinks };
    this.network.healPartitions();
    this.partitioned = false;
    for (const id of this.cluster.nodeIds) this.cluster.setDiskSlowdown(id, 1);
    for (const [id, pauseId] of [...this.paused]) this.resume(id, pauseId);
    for (const id of [...this.crashed]) this.restart(id);
    this.note(0, 'heal-all', 'every fault healed');
  }

  /** Draws one fault of this kind and injects it; returns how long it lasts. */
  private inject(kind: FaultKind): number {
    const choice = this.draw(kind);
    if (choice.kind === 'skipped') return choice.lastsMs;
    if (choice.kind === 'power-loss') {
      this.aimPowerLoss(choice.lastsMs);
      return choice.lastsMs + powerLossAimMaxMs;
    }
    this.apply({ atMs: this.scheduler.now, ...choice } as ScheduledFault);
    return choice.lastsMs;
  }

  /**
   * A power loss waits, up to powerLossAimMaxMs, for the moment it hurts most: a follower holds
   * offsets below its leader's high watermark in its page cache only, and has for a few ms (the
   * acknowledgement reached the client meanwhile). A leader that counts only what its followers
   * have on disk never makes that moment, and the power fails at the end of the wait.
   */
  private aimPowerLoss(lastsMs: number): void {
    const deadline = Math.min(this.scheduler.now + powerLossAimMaxMs, this.faultsUntilMs);
    let exposedSince: number | null = null;
    const poll = (): void => {
      if (this.flipPending() || this.cluster.upNodes().length === 0 || this.scheduler.now >= this.faultsUntilMs) return;
      exposedSince = this.unsyncedBelowHighWatermark() ? (exposedSince ?? this.scheduler.now) : null;
      if (this.scheduler.now >= deadline || (exposedSince !== null && this.scheduler.now - exposedSince >= powerLossExposedMs)) {
        this.apply({ kind: 'power-loss', atMs: this.scheduler.now, lastsMs });
        return;
      }
      this.scheduler.after(1, poll);
    };
    poll();
  }

  /** Whether a follower holds offsets below its leader's high watermark that are not on its disk. */
  private unsyncedBelowHighWatermark(): boolean {
    const replicas = this.cluster.replicas();
    return replicas.some((f) => f.context.role === 'follower' && f.context.logEndOffset > f.context.durableEnd
      && replicas.some((l) => l.actorId === f.actorId && l.node === f.context.leader && l.context.role === 'leader'
        && l.context.leaderEpoch === f.context.leaderEpoch && l.context.highWatermark > f.context.durableEnd));
  }

  private draw(kind: FaultKind): FaultChoice {
    switch (kind) {
      case 'partition':
        return this.drawPartition();
      case 'crash':
        return this.drawCrash();
      case 'drop': {
        const probability = this.prng.int(5, 30) / 100;
        return { kind, probability, lastsMs: this.drawLinkFaultMs() };
      }
      case 'delay': {
        const probability = this.prng.int(10, 50) / 100;
        const maxMs = this.prng.int(20, 400);
        return { kind, probability, maxMs, lastsMs: this.drawLinkFaultMs() };
      }
      case 'duplicate': {
        const probability = this.prng.int(5, 30) / 100;
        return { kind, probability, lastsMs: this.drawLinkFaultMs() };
      }
      case 'reorder': {
        const probability = this.prng.int(20, 80) / 100;
        const maxMs = this.prng.int(2, 20);
        return { kind, probability, maxMs, lastsMs: this.drawLinkFaultMs() };
      }
      case 'slow-disk': {
        // One node's disk gets many times slower for a while: its replicas fall behind (a slow follower).
        const lastsMs = this.prng.int(2000, 10_000);
        const node = this.prng.pick(this.cluster.nodeIds);
        const factor = this.prng.int(10, 200);
        return { kind, node, factor, lastsMs };
      }
      case 'bit-flip':
        return this.drawBitFlip();
      case 'clock-pause':
        return this.drawClockPause();
      case 'power-loss':
        return this.drawPowerLoss();
    }
  }

  /**
   * Every node loses power at once and comes back after a while: each loses what it had not
   * synced. An acknowledged write survives only if min.insync.replicas copies of it were on
   * disk (acks=all with fsync before ack), not merely in the page caches of the replicas.
   */
  private drawPowerLoss(): FaultChoice {
    const lastsMs = this.prng.int(300, 6000);
    if (this.flipPending() || this.cluster.upNodes().length === 0) return { kind: 'skipped', lastsMs };
    return { kind: 'power-loss', lastsMs };
  }

  /**
   * A bit in one batch of one follower's log, inside the range the batch's CRC covers. Only
   * followers: the leader holds every record a follower does, so one bad copy on a follower
   * loses nothing acknowledged (Kafka tolerates no more than that either).
   */
  private drawBitFlip(): FaultChoice {
    // One corrupt copy at a time, and none so late that scrubbing may miss it before the final checks.
    if (this.flipPending() || this.scheduler.now > this.faultsUntilMs - bitFlipQuietEndMs) return { kind: 'skipped', lastsMs: 0 };
    // Only into a whole cluster (every node up and running, no partition), on a follower that its
    // ready leader counts in an ISR of two or more: a good copy stays in the ISR while the flip plays out.
    const nodes = this.cluster.nodeIds;
    if (this.partitioned || nodes.some((id) => !this.cluster.isUp(id) || this.cluster.isPaused(id))) return { kind: 'skipped', lastsMs: 0 };
    const replicas = this.cluster.replicas();
    // The leader's own view may be stale (a leader the controller has replaced): the active
    // controller's metadata, committed and pending, must say the same.
    const controller = this.cluster.controllers().find((c) => c.state === 'leader');
    if (controller === undefined) return { kind: 'skipped', lastsMs: 0 };
    const images = [controller.context.image, controller.context.pendingImage].filter((i) => i !== null && i !== undefined);
    const agreed = (l: ReplicaView, r: ReplicaView): boolean => images.every((image) => {
      const record = image.topicsByName.get(l.context.topic)?.partitions[l.context.partition];
      return record !== undefined && record.topicId === l.context.topicId && record.leader === l.node && record.leaderEpoch === l.context.leaderEpoch
        && record.isr.length >= 2 && record.isr.includes(r.node);
    });
    const inLeadersIsr = (r: ReplicaView): boolean => replicas.some((l) => l.actorId === r.actorId && l.context.role === 'leader' && l.context.ready
      && l.node === r.context.leader && l.context.isr.length >= 2 && l.context.isr.includes(r.node) && agreed(l, r));
    // Not on the active controller's node: its halt would fail the controller over, and a new
    // controller may fence brokers whose heartbeats it has not seen yet, shrinking ISRs to one.
    const targets = replicas.filter((r) => r.context.role === 'follower' && r.node !== controller.node && inLeadersIsr(r)
      && this.cluster.storedBatches(r.node, r.actorId).length > 0);
    if (targets.length === 0) return { kind: 'skipped', lastsMs: 0 };
    const target = this.prng.pick(targets);
    const batch = this.prng.pick(this.cluster.storedBatches(target.node, target.actorId));
    const byte = this.prng.int(batchFieldOffsets.attributes, batch.bytes.length - 1);
    const bit = this.prng.int(0, 7);
    return { kind: 'bit-flip', lastsMs: 0, node: target.node, actorId: target.actorId, firstOffset: batch.firstOffset, byte, bit };
  }

  /** One node stops for a while; a third of pauses hit the active controller, a third a partition leader. */
  private drawClockPause(): FaultChoice {
    const lastsMs = this.prng.int(clockPauseMinMs, clockPauseMaxMs);
    const running = this.cluster.upNodes().filter((id) => !this.cluster.isPaused(id));
    if (running.length === 0 || this.flipPending()) return { kind: 'skipped', lastsMs };
    const choice = this.prng.int(0, 2);
    const leader = choice === 0 ? this.controllerLeader() : choice === 1 ? this.partitionLeader() : undefined;
    return { kind: 'clock-pause', lastsMs, node: leader !== undefined && running.includes(leader) ? leader : this.prng.pick(running) };
  }

  /**
   * Whether the last bit flip is still in play: its batch still on disk, or its replica (which
   * halted and lost the batch and everything after it in recovery) not yet back in the ISR
   * with its log past that batch. Meanwhile the nemesis partitions, crashes and pauses no node:
   * a fault that left that replica the last in the ISR (the others fenced) would make its bad
   * or short copy the only one, and Kafka tolerates a bad copy only where another in-sync
   * replica holds a good one (without KIP-966's eligible leader replicas, it loses the records).
   */
  private flipPending(): boolean {
    const flip = this.lastFlip;
    if (flip === null) return false;
    // Down: it halted on the batch and restarts soon.
    if (!this.cluster.isUp(flip.node) || this.cluster.holdsCorruptBatch(flip.node, flip.actorId, flip.firstOffset)) return true;
    const replica = this.cluster.replica(flip.node, flip.actorId);
    const leader = this.cluster.replicas().find((r) => r.actorId === flip.actorId && r.context.role === 'leader' && r.context.ready);
    const repaired = replica !== undefined && leader !== undefined && leader.context.isr.includes(flip.node) && replica.context.logEndOffset > flip.firstOffset;
    // A topic deleted meanwhile never repairs: the hold ends after a bound.
    if (!repaired && this.scheduler.now < flip.atMs + bitFlipHoldMaxMs) return true;
    this.lastFlip = null;
    return false;
  }

  private drawLinkFaultMs(): number {
    return this.prng.int(1000, 6000);
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

  private controllerLeader(): number | undefined {
    return this.cluster.controllers().find((c) => c.state === 'leader')?.node;
  }

  private drawPartition(): FaultChoice {
    const lastsMs = this.prng.int(1000, 8000);
    if (this.partitioned || this.flipPending()) return { kind: 'skipped', lastsMs };
    const nodes = this.cluster.nodeIds;
    const shape = this.prng.pick(partitionShapes);
    let fault: PartitionFault;
    if (shape === 'isolate-one' || shape === 'isolate-leader') {
      const leader = this.controllerLeader();
      fault = { shape, node: shape === 'isolate-leader' && leader !== undefined ? leader : this.prng.pick(nodes) };
    } else if (shape === 'halves') {
      const shuffled = this.shuffle(nodes);
      const cut = this.prng.int(1, nodes.length - 1);
      fault = { shape, groups: [shuffled.slice(0, cut), shuffled.slice(cut)] };
    } else if (shape === 'leader-cut-from-controller') {
      // A partition leader that clients and followers still reach, but the active controller
      // does not (and it does not reach the controller): a stale leader in the making.
      const controller = this.controllerLeader() ?? this.prng.pick(nodes);
      fault = { shape, node: this.partitionLeader() ?? this.prng.pick(nodes), controller };
    } else if (shape === 'asymmetric') {
      fault = { shape, node: this.prng.pick(nodes) };
    } else {
      // Bridge: two sides that cannot talk to each other, both reaching one bridge node.
      const shuffled = this.shuffle(nodes);
      const rest = shuffled.slice(1);
      const cut = Math.max(1, Math.floor(rest.length / 2));
      fault = { shape, node: shuffled[0]!, groups: [rest.slice(0, cut), rest.slice(cut)] };
    }
    return { kind: 'partition', lastsMs, ...fault };
  }

  private drawCrash(): FaultChoice {
    const up = this.cluster.upNodes();
    const lastsMs = this.prng.int(300, 6000);
    if (up.length === 0 || this.flipPending()) return { kind: 'skipped', lastsMs };
    // A third of crashes hit the active controller, a third a partition leader.
    const choice = this.prng.int(0, 2);
    const leader = choice === 0 ? this.controllerLeader() : choice === 1 ? this.partitionLeader() : undefined;
    return { kind: 'crash', lastsMs, node: leader !== undefined && up.includes(leader) ? leader : this.prng.pick(up) };
  }

  /** Injects one resolved fault and arranges its end. */
  private apply(fault: ScheduledFault): void {
    switch (fault.kind) {
      case 'partition':
        this.applyPartition(fault);
        break;
      case 'crash': {
        const victim = fault.node;
        // A replayed schedule may name a node that is down; a drawn one never does.
        if (!this.cluster.upNodes().includes(victim)) return;
        this.cluster.crash(victim);
        this.crashed.add(victim);
        this.note(victim, 'crash', `node ${victim} down for ${fault.lastsMs} ms`);
        this.scheduler.after(fault.lastsMs, () => this.restart(victim));
        break;
      }
      case 'power-loss': {
        const victims = this.cluster.upNodes();
        for (const victim of victims) {
          this.cluster.crash(victim);
          this.crashed.add(victim);
        }
        this.note(0, 'power-loss', `nodes ${victims.join(',')} down for ${fault.lastsMs} ms`);
        this.scheduler.after(fault.lastsMs, () => {
          for (const victim of victims) this.restart(victim);
        });
        break;
      }
      case 'drop':
        this.degradeLinks(fault.kind, fault.lastsMs, { dropProbability: fault.probability });
        break;
      case 'delay':
        this.degradeLinks(fault.kind, fault.lastsMs, { delayProbability: fault.probability, delayMaxMs: fault.maxMs });
        break;
      case 'duplicate':
        this.degradeLinks(fault.kind, fault.lastsMs, { duplicateProbability: fault.probability });
        break;
      case 'reorder':
        this.degradeLinks(fault.kind, fault.lastsMs, { reorderProbability: fault.probability, reorderMaxMs: fault.maxMs });
        break;
      case 'slow-disk': {
        const { node, factor } = fault;
        this.cluster.setDiskSlowdown(node, factor);
        this.note(node, 'slow-disk', `node ${node} disk ${factor}x slower for ${fault.lastsMs} ms`);
        this.scheduler.after(fault.lastsMs, () => this.cluster.setDiskSlowdown(node, 1));
        break;
      }
      case 'bit-flip': {
        const { node, actorId, firstOffset, byte, bit } = fault;
        // A replayed schedule may name a batch that is gone (truncated, lost in a crash).
        if (!this.cluster.isUp(node) || !this.cluster.flipBit(node, actorId, firstOffset, byte, bit)) return;
        this.lastFlip = { node, actorId, firstOffset, atMs: this.scheduler.now };
        this.note(node, 'bit-flip', `node ${node} ${actorId}: bit ${bit} of byte ${byte} of the batch at offset ${firstOffset}`);
        break;
      }
      case 'clock-pause': {
        const { node } = fault;
        const pauseId = this.cluster.pause(node);
        if (pauseId === undefined) return;
        this.paused.set(node, pauseId);
        this.note(node, 'clock-pause', `node ${node} paused for ${fault.lastsMs} ms`);
        this.scheduler.after(fault.lastsMs, () => this.resume(node, pauseId));
        break;
      }
    }
    this.schedule.push({ ...fault, atMs: this.scheduler.now });
  }

  private degradeLinks(kind: FaultKind, lastsMs: number, change: Partial<LinkFaults>): void {
    this.network.faults = { ...this.network.faults, ...change };
    this.note(0, kind, JSON.stringify(change));
    this.scheduler.after(lastsMs, () => {
      const healed: Partial<LinkFaults> = {};
      for (const key of Object.keys(change) as (keyof LinkFaults)[]) healed[key] = 0;
      this.network.faults = { ...this.network.faults, ...healed };
    });
  }

  private applyPartition(fault: PartitionFault & { lastsMs: number }): void {
    const nodes = this.cluster.nodeIds;
    const isolate = (victim: number): void => this.network.partition([[victim], nodes.filter((n) => n !== victim)]);
    let description: string;
    switch (fault.shape) {
      case 'isolate-one':
      case 'isolate-leader':
        isolate(fault.node);
        description = `${fault.shape} ${fault.node}`;
        break;
      case 'halves':
        this.network.partition(fault.groups);
        description = `halves ${JSON.stringify(fault.groups)}`;
        break;
      case 'leader-cut-from-controller':
        if (fault.node === fault.controller) {
          isolate(fault.node);
        } else {
          this.network.block(fault.node, fault.controller);
          this.network.block(fault.controller, fault.node);
        }
        description = `${fault.shape}: node ${fault.node} and controller ${fault.controller}`;
        break;
      case 'asymmetric':
        for (const to of nodes) if (to !== fault.node) this.network.block(fault.node, to);
        description = `asymmetric: ${fault.node} cannot send`;
        break;
      case 'bridge':
        this.network.partition(fault.groups);
        description = `bridge ${fault.node} between ${fault.groups.map((g) => JSON.stringify(g)).join(' and ')}`;
        break;
    }
    this.partitioned = true;
    this.note(0, 'partition', description);
    this.scheduler.after(fault.lastsMs, () => {
      this.network.healPartitions();
      this.partitioned = false;
      this.note(0, 'partition-healed', '');
    });
  }

  private resume(id: number, pauseId: number): void {
    if (this.paused.get(id) !== pauseId) return;
    this.paused.delete(id);
    // A node that crashed while paused is no longer paused; this ends nothing then.
    if (!this.cluster.isPaused(id)) return;
    this.note(id, 'clock-resume', `node ${id} resumed`);
    this.cluster.resume(id, pauseId);
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
    if (kind !== 'heal-all' && kind !== 'partition-healed' && kind !== 'restart' && kind !== 'clock-resume') {
      this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    }
    this.seq += 1;
    this.tracer.record({ t: this.scheduler.now, node, actor: 'nemesis', kind: `@fault:${kind}`, id: `nemesis:${this.seq}`, parent: '', state: description });
  }
}

/** The nodes a fault names. */
function faultNodes(fault: ScheduledFault): number[] {
  switch (fault.kind) {
    case 'crash':
    case 'slow-disk':
    case 'bit-flip':
    case 'clock-pause':
      return [fault.node];
    case 'partition':
      switch (fault.shape) {
        case 'halves':
          return fault.groups.flat();
        case 'bridge':
          return [fault.node, ...fault.groups.flat()];
        case 'leader-cut-from-controller':
          return [fault.node, fault.controller];
        default:
          return [fault.node];
      }
    default:
      return [];
  }
}
