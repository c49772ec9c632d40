// Simulated nodes: each hosts the same actors as a real node (a controller on every voter,
// a broker on every node) in the real kernel, over the simulated network and disk.
import pino from 'pino';
import { brokerActorId, brokerMachine, type BrokerBugs, type BrokerContext, type BrokerConfig } from '../actors/broker/broker-machine.js';
import {
  controllerActorId, controllerMachine, type ControllerBugs, type ControllerConfig, type ControllerContext,
} from '../actors/controller/controller-machine.js';
import {
  type PartitionContext, type PartitionTimings, partitionMachine, partitionMachineName,
} from '../actors/partition/partition-machine.js';
import {
  type CoordinatorContext, type GroupCoordinatorSettings, defaultGroupCoordinatorSettings, groupCoordinatorMachine, groupCoordinatorMachineName,
} from '../actors/group/coordinator-machine.js';
import {
  type TxnCoordinatorBugs, type TxnCoordinatorSettings, defaultTxnCoordinatorSettings, isTxnCoordinatorActorId, txnCoordinatorMachine, txnCoordinatorMachineName,
} from '../actors/txn/coordinator-machine.js';
import { defaultGroupConfig } from '../actors/group/group-state.js';
import { isGroupCoordinatorActorId } from '../actors/group/offsets-topic.js';
import { type InputObserver, NodeKernel } from '../runtime/kernel/node-kernel.js';
import { PlacementTable } from '../runtime/kernel/placement.js';
import type { StoragePort, Tracer, Transport } from '../runtime/kernel/ports.js';
import { SimDisk } from './disk.js';
import type { CleanerBugs, SimCleanerSettings } from './log-cleaner.js';
import type { CleanerStats } from './partition-disk.js';
import type { CleanerCheckpoint } from '../runtime/storage/cleaner.js';
import type { SimNetwork } from './network.js';
import { Prng } from './prng.js';
import { PauseGate, type Scheduler } from './scheduler.js';
import type { ControllerView } from './checkers/types.js';
import type { BrokerView } from './checkers/metadata-convergence.js';

const silentLogger = pino({ level: 'silent' });

export interface SimTimings {
  controller: Omit<ControllerConfig, 'clusterId' | 'nodeId' | 'voters' | 'bugs'>;
  broker: Pick<BrokerConfig, 'heartbeatIntervalMs' | 'requestTimeoutMs' | 'metadataFetchWaitMaxMs' | 'retryBackoffMs' | 'defaultMinInsyncReplicas'>;
  /** Default: simGroupCoordinator. */
  groupCoordinator?: GroupCoordinatorSettings;
  /** Default: simTxnCoordinator. */
  txnCoordinator?: TxnCoordinatorSettings;
  partition: PartitionTimings;
}

/** How long a node that halted on a failed log directory stays down before it restarts. */
export const haltRestartMs = 1000;

/** __consumer_offsets partitions in simulated clusters: few, so that runs stay cheap and groups share coordinators. */
export const simOffsetsPartitions = 4;

/** Group coordinators in simulated clusters: short session bounds, quick retention checks. */
export const simGroupCoordinator: GroupCoordinatorSettings = {
  ...defaultGroupCoordinatorSettings,
  offsetsTopicPartitions: simOffsetsPartitions,
  group: { ...defaultGroupConfig, minSessionTimeoutMs: 1000 },
  offsetsRetentionCheckIntervalMs: 5000,
  offsetsCommitTimeoutMs: 3000,
};

/** __transaction_state partitions in simulated clusters: few, as for __consumer_offsets. */
export const simTxnStatePartitions = 4;

/**
 * Transaction coordinators in simulated clusters: timed-out transactions are looked for every
 * second, so that an abandoned one is aborted within a short run.
 */
export const simTxnCoordinator: TxnCoordinatorSettings = {
  ...defaultTxnCoordinatorSettings,
  transactionStatePartitions: simTxnStatePartitions,
  abortTimedOutTransactionsIntervalMs: 1000,
};

/** A partition replica as a checker sees it. */
export interface ReplicaView {
  node: number;
  actorId: string;
  state: string;
  context: PartitionContext;
}

const systemActors = new Set([controllerActorId, brokerActorId]);

/** Partition replicas are the actors other than the controller, the broker and the group and transaction coordinators. */
function isReplicaActor(actorId: string): boolean {
  return !systemActors.has(actorId) && !isGroupCoordinatorActorId(actorId) && !isTxnCoordinatorActorId(actorId);
}

/** A group coordinator as a checker sees it. */
export interface CoordinatorView {
  node: number;
  actorId: string;
  state: string;
  context: CoordinatorContext;
}

/** Any actor, as replay shows it. */
export interface ActorView {
  node: number;
  actorId: string;
  /** The xstate state value: a string, or an object for nested states. */
  value: unknown;
  context: unknown;
}

export interface SimBugs {
  controller: ControllerBugs;
  broker: BrokerBugs;
  /** The simulated disks' log cleaner (absent: none). */
  cleaner?: CleanerBugs;
  /** The transaction coordinators (absent: none). */
  txn?: TxnCoordinatorBugs;
}

interface SimNode {
  id: number;
  kernel: NodeKernel | null;
  disk: SimDisk;
  incarnation: number;
  /** Holds back messages, timers and disk completions while the node is paused. */
  gate: PauseGate;
}

export class SimCluster {
  readonly clusterId: string;
  readonly nodeIds: number[];
  /** Which live node hosts which actor; crashed nodes drop out of it. */
  readonly placement = new PlacementTable();
  private readonly nodes = new Map<number, SimNode>();
  private readonly prng: Prng;
  /** Followers scrub their logs this often (0: never); set before the nodes boot. */
  logScrubIntervalMs = 0;
  /**
   * The disks clean compacted logs with these settings (null: they never do); set before the
   * nodes boot. Off unless a workload asks, so that runs of other workloads (groups, whose
   * __consumer_offsets is compacted) keep their traces.
   */
  logCleaner: SimCleanerSettings | null = null;
  /** Observes each node's actors from each boot on (the trace viewer collects payloads and states this way). */
  inputObserver: ((node: number) => InputObserver) | null = null;

  constructor(
    private readonly seed: number,
    nodeCount: number,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly tracer: Tracer,
    private readonly timings: SimTimings,
    private readonly bugs: SimBugs,
    private readonly onActorFailure: (node: number, actor: string, error: Error) => void,
  ) {
    this.clusterId = `sim-${seed}`;
    this.nodeIds = Array.from({ length: nodeCount }, (_, i) => i + 1);
    this.prng = Prng.forPurpose(seed, 'cluster');
    for (const id of this.nodeIds) {
      this.nodes.set(id, { id, kernel: null, disk: new SimDisk(scheduler, Prng.forPurpose(seed, `disk-${id}`)), incarnation: 0, gate: new PauseGate() });
    }
  }

  startAll(): void {
    for (const id of this.nodeIds) this.boot(id);
  }

  isUp(id: number): boolean {
    return this.nodes.get(id)!.kernel !== null;
  }

  upNodes(): number[] {
    return this.nodeIds.filter((id) => this.isUp(id));
  }

  crash(id: number): void {
    const node = this.nodes.get(id)!;
    if (node.kernel === null) return;
    node.kernel.stop();
    node.kernel = null;
    node.gate.clear();
    node.disk.crash();
    this.network.setDown(id, true);
  }

  restart(id: number): void {
    if (this.isUp(id)) return;
    this.network.setDown(id, false);
    this.boot(id);
  }

  /**
   * Stops a node as SIGSTOP or a long GC pause would: it handles nothing until `resume`, and
   * whatever reaches it meanwhile (messages, its own timers, disk completions) waits and is
   * handled then, in order. Returns the pause's id, or undefined if the node is down or already paused.
   */
  pause(id: number): number | undefined {
    const node = this.nodes.get(id)!;
    if (node.kernel === null || node.gate.isPaused) return undefined;
    return node.gate.pause();
  }

  /** Ends pause `pauseId` of a node (any pause, without one). */
  resume(id: number, pauseId?: number): void {
    this.nodes.get(id)!.gate.resume(pauseId);
  }

  isPaused(id: number): boolean {
    return this.nodes.get(id)!.gate.isPaused;
  }

  /**
   * Flips bit `bit` of byte `byte` of the stored batch of a replica's log that starts at
   * `firstOffset`, on a node's disk. False if there is no such batch or byte.
   */
  flipBit(id: number, actorId: string, firstOffset: number, byte: number, bit: number): boolean {
    return this.nodes.get(id)!.disk.logs.flipBit(actorId, firstOffset, byte, bit);
  }

  /** Whether a flipped batch is still on a node's disk, found by no read yet (or found and not yet cut). */
  holdsCorruptBatch(id: number, actorId: string, firstOffset: number): boolean {
    return this.nodes.get(id)!.disk.logs.holdsCorruptBatch(actorId, firstOffset);
  }

  controllers(): ControllerView[] {
    return this.views<ControllerContext>(controllerActorId);
  }

  controller(id: number): ControllerView | undefined {
    return this.view<ControllerContext>(id, controllerActorId);
  }

  brokers(): BrokerView[] {
    return this.views<BrokerContext>(brokerActorId);
  }

  /** What a checker sees of one actor: its state and context, while its node is up. */
  private view<C>(id: number, actor: string): { node: number; state: string; context: C } | undefined {
    const snapshot = this.nodes.get(id)?.kernel?.snapshotOf(actor);
    return snapshot === undefined ? undefined : { node: id, state: String(snapshot.value), context: snapshot.context as C };
  }

  private views<C>(actor: string): Array<{ node: number; state: string; context: C }> {
    return this.nodeIds.flatMap((id) => this.view<C>(id, actor) ?? []);
  }

  /** Makes a node's disk `factor` times slower (1: normal speed). */
  setDiskSlowdown(id: number, factor: number): void {
    this.nodes.get(id)!.disk.setSlowdown(factor);
  }

  /** Each actor on each node that is up whose id `accepts`, with its raw state value and context. */
  private liveActors(accepts: (actorId: string) => boolean): ActorView[] {
    const views: ActorView[] = [];
    for (const id of this.nodeIds) {
      const kernel = this.nodes.get(id)!.kernel;
      if (kernel === null) continue;
      for (const actorId of kernel.actorIds()) {
        if (!accepts(actorId)) continue;
        const snapshot = kernel.snapshotOf(actorId);
        if (snapshot !== undefined) views.push({ node: id, actorId, value: snapshot.value, context: snapshot.context });
      }
    }
    return views;
  }

  /** Every live partition replica, on every node that is up. */
  replicas(): ReplicaView[] {
    return this.liveActors(isReplicaActor).map(({ node, actorId, value, context }) => ({ node, actorId, state: String(value), context: context as PartitionContext }));
  }

  replica(node: number, actorId: string): ReplicaView | undefined {
    if (!isReplicaActor(actorId)) return undefined;
    const view = this.view<PartitionContext>(node, actorId);
    return view === undefined ? undefined : { ...view, actorId };
  }

  /** Every group coordinator on a live node. */
  coordinators(): CoordinatorView[] {
    return this.liveActors(isGroupCoordinatorActorId)
      .map(({ node, actorId, value, context }) => ({ node, actorId, state: String(value), context: context as CoordinatorContext }));
  }

  /** Every actor on every live node, with its raw xstate state value and context (replay prints these). */
  actors(): ActorView[] {
    return this.liveActors(() => true);
  }

  /** Asks every node's cleaner for one more pass over each compacted log (see SimLogDisk.requestFinalClean). */
  requestFinalClean(): void {
    for (const node of this.nodes.values()) node.disk.logs.requestFinalClean();
  }

  /** Every final pass asked for has been done, on nodes that are up. */
  finalCleanDone(): boolean {
    return this.nodeIds.every((id) => !this.isUp(id) || this.nodes.get(id)!.disk.logs.finalCleanDone);
  }

  /** Where a replica's cleaner stands on its node's disk: offsets below firstDirtyOffset have been compacted. */
  cleanerCheckpoint(node: number, actorId: string): CleanerCheckpoint {
    return this.nodes.get(node)!.disk.logs.cleanerCheckpointOf(actorId);
  }

  /** The cleaners' counters over every node. */
  cleanerStats(): CleanerStats {
    const total: CleanerStats = {
      passes: 0, passesAbandoned: 0, batchesCleaned: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0, abortedBatchesRemoved: 0,
      markersRemoved: 0, crashesDuringCleaning: 0,
    };
    for (const node of this.nodes.values()) {
      for (const key of Object.keys(total) as Array<keyof CleanerStats>) total[key] += node.disk.logs.cleanerStats[key];
    }
    return total;
  }

  /** The batches a replica's log holds on its node's disk, for checkers. */
  storedBatches(node: number, actorId: string): ReadonlyArray<{ bytes: Uint8Array; firstOffset: number; lastOffset: number }> {
    return this.nodes.get(node)!.disk.logs.storedBatches(actorId);
  }

  /** Disk counters over every node, with the partition logs' bit flips and what caught them (reads, recovery). */
  diskStats(): { opsCompleted: number; opsLostInCrash: number; opsSurvivedCrashUnacked: number; bitFlips: number; corruptReads: number; batchesCutInRecovery: number } {
    const total = { opsCompleted: 0, opsLostInCrash: 0, opsSurvivedCrashUnacked: 0, bitFlips: 0, corruptReads: 0, batchesCutInRecovery: 0 };
    for (const node of this.nodes.values()) {
      total.opsCompleted += node.disk.stats.opsCompleted;
      total.opsLostInCrash += node.disk.stats.opsLostInCrash;
      total.opsSurvivedCrashUnacked += node.disk.stats.opsSurvivedCrashUnacked;
      total.bitFlips += node.disk.logs.stats.bitFlips;
      total.corruptReads += node.disk.logs.stats.corruptReads;
      total.batchesCutInRecovery += node.disk.logs.stats.batchesCutInRecovery;
    }
    return total;
  }

  /**
   * A read found a corrupt batch: the node's only log directory has failed, and the node
   * halts, as a Kafka broker does when its last log directory goes offline. It restarts after
   * haltRestartMs; recovery cuts the log at the corrupt batch, and the new incarnation's
   * registration takes it out of the ISR before it fetches the rest again.
   */
  private halt(id: number): void {
    if (!this.isUp(id)) return;
    this.tracer.record({ t: this.scheduler.now, node: id, actor: 'host', kind: '@halt', id: `host:halt:${id}:${this.nodes.get(id)!.incarnation}`, parent: '', state: 'log directory failed: corrupt record batch' });
    this.crash(id);
    this.scheduler.after(haltRestartMs, () => this.restart(id));
  }

  private boot(id: number): void {
    const node = this.nodes.get(id)!;
    node.incarnation += 1;
    const jitter = Prng.forPurpose(this.seed, `jitter-${id}-${node.incarnation}`);
    const kernel = new NodeKernel({
      nodeId: id,
      clusterId: this.clusterId,
      clock: this.scheduler.gatedClock(node.gate),
      random: () => jitter.float(),
      transport: gatedTransport(this.network.transportFor(id), node.gate),
      storage: gatedStorage(node.disk, node.gate, () => this.halt(id)),
      logger: silentLogger,
      metrics: null,
      tracer: this.tracer,
      placement: this.placement,
      onActorFailure: (actor, error) => this.onActorFailure(id, actor, error),
      machines: { [partitionMachineName]: partitionMachine, [groupCoordinatorMachineName]: groupCoordinatorMachine, [txnCoordinatorMachineName]: txnCoordinatorMachine },
      fallbackActor: brokerActorId,
      ...(this.inputObserver === null ? {} : { inputs: this.inputObserver(id) }),
    });
    node.kernel = kernel;
    if (this.logCleaner !== null) {
      node.disk.logs.startCleaner(this.logCleaner, Prng.forPurpose(this.seed, `cleaner-${id}-${node.incarnation}`), this.bugs.cleaner ?? {}, (run) => node.gate.run(run));
    }
    kernel.spawn(controllerActorId, controllerMachine, {
      config: { ...this.timings.controller, clusterId: this.clusterId, nodeId: id, voters: this.nodeIds, bugs: this.bugs.controller },
      durable: node.disk.load(controllerActorId),
    });
    kernel.spawn(brokerActorId, brokerMachine, {
      config: {
        ...this.timings.broker,
        clusterId: this.clusterId,
        brokerId: id,
        voters: this.nodeIds,
        listener: `127.0.0.1:${9091 + id}`,
        incarnationId: this.prng.hex(16),
        partition: this.logScrubIntervalMs > 0 ? { ...this.timings.partition, logScrubIntervalMs: this.logScrubIntervalMs } : this.timings.partition,
        groupCoordinator: this.timings.groupCoordinator ?? simGroupCoordinator,
        txnCoordinator: { ...(this.timings.txnCoordinator ?? simTxnCoordinator), ...(this.bugs.txn === undefined ? {} : { bugs: this.bugs.txn }) },
        bugs: this.bugs.broker,
      },
    });
  }
}

/** A transport whose deliveries wait while the node is paused. */
function gatedTransport(transport: Transport, gate: PauseGate): Transport {
  return {
    send: (toNode, bytes) => transport.send(toNode, bytes),
    onReceive: (handler) => transport.onReceive((bytes) => gate.run(() => handler(bytes))),
    close: () => transport.close(),
  };
}

/**
 * A disk whose completions wait while the node is paused (the I/O finishes; the process sees
 * it at resume). A read that finds a corrupt batch reaches no actor: the node halts instead.
 */
function gatedStorage(disk: SimDisk, gate: PauseGate, halt: () => void): StoragePort {
  return {
    load: (store) => disk.load(store),
    submit: (store, op, done) => disk.submit(store, op, () => gate.run(done)),
    submitLog: (store, op, done) => disk.submitLog(store, op, (result) => gate.run(() => {
      if (result.kind === 'failed' && result.code === 'corrupt') halt();
      else done(result);
    })),
    flushLog: (store, offset, done) => disk.flushLog(store, offset, (result) => gate.run(() => done(result))),
    noteHighWatermark: (store, offset, tombstoneHorizon) => disk.noteHighWatermark(store, offset, tombstoneHorizon),
    close: () => disk.close(),
  };
}
