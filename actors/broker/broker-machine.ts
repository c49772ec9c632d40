// The broker actor of one node: registers with the active controller, keeps its session
// alive with heartbeats, and follows the committed metadata log (long-polling fetches),
// applying it in order to its own copy of the cluster metadata. It hosts this node's
// partition replicas: it spawns them, tells them what the metadata says about their
// partition, carries their ISR changes to the controller, and answers requests for
// replicas this node does not have with where the leader is.
import { and, setup } from 'xstate';
import type { Address, Delivered, Outgoing, WireEvent, WireKind, WireMessages } from '../protocol/messages.js';
import { groupRequestKinds, txnRequestKinds } from '../protocol/messages.js';
import { type Effect, type EffectBatch, type TimerFired, effectfulStep } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';
import { controllerActorId, producerIdBlockSize } from '../controller/controller-machine.js';
import { type MetadataImage, applyEntry, emptyImage, imageFromMessage } from '../controller/metadata-image.js';
import {
  type GroupCoordinatorBugs, type GroupCoordinatorInput, type GroupCoordinatorSettings, groupCoordinatorMachineName, groupRequestRefusal,
} from '../group/coordinator-machine.js';
import { consumerOffsetsTopic, groupCoordinatorActorId } from '../group/offsets-topic.js';
import {
  type TxnCoordinatorInput, type TxnCoordinatorSettings, defaultTxnCoordinatorSettings, transactionStateTopic, txnCoordinatorActorId, txnPartitionFor,
  txnCoordinatorMachineName, txnRequestRefusal,
} from '../txn/coordinator-machine.js';
import {
  type PartitionBugs, type PartitionConfig, type PartitionInput, type PartitionTimings, partitionActorId, partitionMachineName,
} from '../partition/partition-machine.js';

export const brokerActorId = 'broker';

export interface BrokerConfig {
  clusterId: string;
  brokerId: number;
  /** Controller node ids (controller.quorum.voters). */
  voters: number[];
  /** The Kafka listener this broker advertises, host:port. */
  listener: string;
  /** Unique per process start; a restarted broker registers as a new incarnation. */
  incarnationId: string;
  heartbeatIntervalMs: number;
  requestTimeoutMs: number;
  metadataFetchWaitMaxMs: number;
  /** How long to wait before asking the next voter when no controller knows the leader. */
  retryBackoffMs: number;
  /** How this node's partition replicas fetch, wait and time out. */
  partition: PartitionTimings;
  /** min.insync.replicas, the broker default. */
  defaultMinInsyncReplicas: number;
  /** The group coordinators this node runs beside its __consumer_offsets replicas. */
  groupCoordinator: GroupCoordinatorSettings;
  /** The transaction coordinators this node runs beside its __transaction_state replicas (Kafka's defaults when absent). */
  txnCoordinator?: TxnCoordinatorSettings;
  bugs: BrokerBugs;
}

export interface BrokerBugs {
  /** Drop the last entry of every fetched batch while still advancing (breaks convergence). */
  skipLastFetchedEntry?: boolean;
  group?: GroupCoordinatorBugs;
  /** Handed to every partition replica the broker spawns. */
  partition?: PartitionBugs;
}

export const defaultBrokerTimings = {
  heartbeatIntervalMs: 2000,
  requestTimeoutMs: 3000,
  metadataFetchWaitMaxMs: 1000,
  retryBackoffMs: 250,
} as const;

export interface BrokerInput {
  config: BrokerConfig;
}

export interface BrokerContext {
  config: BrokerConfig;
  /** The controller node we currently talk to. */
  controllerNode: number;
  brokerEpoch: number;
  fenced: boolean;
  image: MetadataImage;
  /** When the controller last answered a heartbeat. */
  lastHeartbeatAnswerMs: number;
  /** A controlled shutdown in progress: who asked, to be answered once the controller lets us go. */
  shutdown: { from: Address; requestId: string } | null;
  /** Producer ids handed out on this node, from blocks the controller allocated. */
  producerIds: ProducerIdBlocks;
  /** What each hosted replica was last told (by actor id). */
  replicaStates: Map<string, { topicId: string; leaderEpoch: number; partitionEpoch: number }>;
  nowMs: number;
}

type BrokerEvent =
  | WireEvent
  | TimerFired<'RegistrationRetryFired'>
  | TimerFired<'HeartbeatTimerFired'>
  | TimerFired<'FetchTimeoutFired'>
  | TimerFired<'ProducerIdRetryFired'>;

type Handler = (ctx: BrokerContext, event: BrokerEvent) => Effect[];

function effectful(handler: Handler) {
  return effectfulStep<BrokerContext, BrokerEvent>(handler);
}

function toController(ctx: BrokerContext): Address {
  return { node: ctx.controllerNode, actor: controllerActorId };
}

function send<K extends WireKind>(to: Address, kind: K, body: WireMessages[K]): Effect {
  return { type: 'send', message: { to, kind, body } as Outgoing };
}

/** Follows a leader hint when there is one, else tries the next voter. */
function retarget(ctx: BrokerContext, leaderHint: number): void {
  if (leaderHint >= 0 && ctx.config.voters.includes(leaderHint)) {
    ctx.controllerNode = leaderHint;
    return;
  }
  const at = ctx.config.voters.indexOf(ctx.controllerNode);
  ctx.controllerNode = ctx.config.voters[(at + 1) % ctx.config.voters.length]!;
}

const sendRegistration: Handler = (ctx) => [
  send(toController(ctx), 'BrokerRegistrationRequest', {
    brokerId: ctx.config.brokerId, incarnationId: ctx.config.incarnationId, listener: ctx.config.listener,
  }),
  { type: 'timer.set', event: 'RegistrationRetryFired', delayMs: ctx.config.requestTimeoutMs, jitterMs: 0 },
];

const registrationAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'BrokerRegistrationResponse'>;
  if (body.errorCode === ErrorCode.NONE) {
    ctx.brokerEpoch = body.brokerEpoch;
    ctx.fenced = true;
    return [{ type: 'timer.cancel', event: 'RegistrationRetryFired' }];
  }
  // Follow a hint at once; without one (an election is on), try the next voter after a backoff.
  if (body.leaderHint < 0 || body.leaderHint === ctx.controllerNode) {
    return [{ type: 'timer.set', event: 'RegistrationRetryFired', delayMs: ctx.config.retryBackoffMs, jitterMs: 0 }];
  }
  retarget(ctx, body.leaderHint);
  return sendRegistration(ctx, event);
};

const retryRegistration: Handler = (ctx, event) => {
  retarget(ctx, -1);
  return sendRegistration(ctx, event);
};

function heartbeatRequest(ctx: BrokerContext): Effect {
  return send(toController(ctx), 'BrokerHeartbeatRequest', {
    brokerId: ctx.config.brokerId, brokerEpoch: ctx.brokerEpoch, metadataOffset: ctx.image.offset, wantShutDown: ctx.shutdown !== null,
  });
}

/** While shutting down, heartbeats go out often: each one asks whether the controller is done. */
function heartbeatIntervalMs(ctx: BrokerContext): number {
  return ctx.shutdown === null ? ctx.config.heartbeatIntervalMs : ctx.config.retryBackoffMs;
}

function fetchRequest(ctx: BrokerContext): Effect[] {
  return [
    send(toController(ctx), 'MetadataFetchRequest', {
      brokerId: ctx.config.brokerId, fromOffset: ctx.image.offset, maxWaitMs: ctx.config.metadataFetchWaitMaxMs,
    }),
    { type: 'timer.set', event: 'FetchTimeoutFired', delayMs: ctx.config.metadataFetchWaitMaxMs + ctx.config.requestTimeoutMs, jitterMs: 0 },
  ];
}

const startSession: Handler = (ctx) => {
  ctx.lastHeartbeatAnswerMs = ctx.nowMs;
  return [
  heartbeatRequest(ctx),
  { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: heartbeatIntervalMs(ctx), jitterMs: 0 },
  ...fetchRequest(ctx),
  ];
};

const endSession: Handler = () => [
  { type: 'timer.cancel', event: 'HeartbeatTimerFired' },
  { type: 'timer.cancel', event: 'FetchTimeoutFired' },
];

/**
 * Heartbeats double as the broker's check that its controller is alive: two intervals
 * without an answer (a dead or cut-off controller answers nothing) and the broker moves to
 * the next voter, metadata fetch included, well within its session timeout, so that a new
 * controller hears from it before fencing it.
 */
const sendHeartbeat: Handler = (ctx) => {
  const effects: Effect[] = [];
  if (ctx.nowMs - ctx.lastHeartbeatAnswerMs > 2 * ctx.config.heartbeatIntervalMs) {
    retarget(ctx, -1);
    ctx.lastHeartbeatAnswerMs = ctx.nowMs;
    effects.push(...fetchRequest(ctx));
  }
  effects.push(heartbeatRequest(ctx), { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: heartbeatIntervalMs(ctx), jitterMs: 0 });
  return effects;
};

const heartbeatAnswered: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'BrokerHeartbeatResponse'>;
  if (from.node === ctx.controllerNode) ctx.lastHeartbeatAnswerMs = ctx.nowMs;
  if (body.errorCode === ErrorCode.NOT_CONTROLLER) retarget(ctx, body.leaderHint);
  if (body.errorCode === ErrorCode.NONE) ctx.fenced = body.fenced;
  if (body.shouldShutDown && ctx.shutdown !== null) return answerShutdown(ctx, ErrorCode.NONE);
  return [];
};

/**
 * The host asks for a controlled shutdown (SIGTERM): heartbeats now say so, the controller
 * moves this broker's leadership away and takes it out of the ISRs, and the host hears back
 * once that is committed. A broker not registered leads nothing: it may go at once.
 */
const shutdownRequested: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'ControlledShutdownRequest'>;
  ctx.shutdown = { from, requestId: body.requestId };
  if (ctx.brokerEpoch < 0) return answerShutdown(ctx, ErrorCode.NONE);
  return [heartbeatRequest(ctx), { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: heartbeatIntervalMs(ctx), jitterMs: 0 }];
};

function answerShutdown(ctx: BrokerContext, errorCode: number): Effect[] {
  const asked = ctx.shutdown!;
  return [send(asked.from, 'ControlledShutdownResponse', { requestId: asked.requestId, errorCode })];
}

/** The controller no longer knows this incarnation: it leads nothing, the shutdown may proceed. */
const sessionLostWhileShuttingDown: Handler = (ctx) => answerShutdown(ctx, ErrorCode.NONE);

const metadataArrived: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'MetadataFetchResponse'>;
  if (from.node !== ctx.controllerNode) return []; // an answer to a fetch we gave up on
  if (body.errorCode !== ErrorCode.NONE) {
    // Without a hint, move on to the next voter after a backoff rather than spin.
    if (body.leaderHint < 0) return [{ type: 'timer.set', event: 'FetchTimeoutFired', delayMs: ctx.config.retryBackoffMs, jitterMs: 0 }];
    retarget(ctx, body.leaderHint);
    return fetchRequest(ctx);
  }
  if (body.hasSnapshot && body.snapshot !== null && body.snapshot.offset > ctx.image.offset) {
    ctx.image = imageFromMessage(body.snapshot);
  }
  const entries = ctx.config.bugs.skipLastFetchedEntry === true && body.entries.length > 1 ? body.entries.slice(0, -1) : body.entries;
  for (const entry of entries) {
    if (entry.index === ctx.image.offset + 1) applyEntry(ctx.image, entry);
  }
  if (ctx.config.bugs.skipLastFetchedEntry === true && body.entries.length > 1) {
    ctx.image.offset = body.entries[body.entries.length - 1]!.index;
  }
  return [...reconcileReplicas(ctx), ...fetchRequest(ctx)];
};

function partitionConfig(ctx: BrokerContext): PartitionConfig {
  return {
    ...ctx.config.partition,
    nodeId: ctx.config.brokerId,
    brokerActor: brokerActorId,
    defaultMinInsyncReplicas: ctx.config.defaultMinInsyncReplicas,
    ...(ctx.config.bugs.partition === undefined ? {} : { bugs: ctx.config.bugs.partition }),
  };
}

/**
 * Brings the hosted replicas in line with the metadata: spawns replicas newly assigned
 * here, tells each one about a change of leader, epoch or ISR, and tells replicas whose
 * topic is gone to delete themselves. Not before the metadata has caught up with this
 * incarnation's registration, which fenced the previous one: until then the image may
 * still name this node leader of an epoch that its previous incarnation led.
 */
function reconcileReplicas(ctx: BrokerContext): Effect[] {
  if (ctx.brokerEpoch < 0 || ctx.image.offset < ctx.brokerEpoch) return [];
  const effects: Effect[] = [];
  const seen = new Set<string>();
  for (const topic of ctx.image.topicsByName.values()) {
    for (const partition of topic.partitions) {
      if (partition === undefined || !partition.replicas.includes(ctx.config.brokerId)) continue;
      const actorId = partitionActorId(topic.name, partition.partition);
      seen.add(actorId);
      const last = ctx.replicaStates.get(actorId);
      if (last !== undefined && last.topicId === topic.topicId && last.leaderEpoch === partition.leaderEpoch && last.partitionEpoch === partition.partitionEpoch) continue;
      ctx.replicaStates.set(actorId, { topicId: topic.topicId, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch });
      const state: WireMessages['PartitionStateChange'] = {
        topic: topic.name, topicId: topic.topicId, partition: partition.partition, replicas: [...partition.replicas], isr: [...partition.isr],
        leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch,
        configs: topic.configs.map((c) => ({ ...c })), removed: false,
      };
      if (last === undefined) {
        const input: PartitionInput = { config: partitionConfig(ctx), state };
        effects.push({ type: 'spawn', actorId, machine: partitionMachineName, input });
      }
      // A replica that already exists (perhaps still deleting an older topic of this name) learns it by message.
      effects.push(send({ node: ctx.config.brokerId, actor: actorId }, 'PartitionStateChange', state));
      if (topic.name === consumerOffsetsTopic) effects.push(...tellCoordinator(ctx, state, last === undefined));
      if (topic.name === transactionStateTopic) effects.push(...tellTxnCoordinator(ctx, state, last === undefined ? topic.partitions.length : null));
    }
  }
  for (const [actorId, last] of [...ctx.replicaStates]) {
    if (seen.has(actorId)) continue;
    ctx.replicaStates.delete(actorId);
    const at = actorId.lastIndexOf('-');
    const removed: WireMessages['PartitionStateChange'] = {
      topic: actorId.slice(0, at), topicId: last.topicId, partition: Number(actorId.slice(at + 1)), replicas: [], isr: [], leader: -1,
      leaderEpoch: last.leaderEpoch, partitionEpoch: last.partitionEpoch, configs: [], removed: true,
    };
    effects.push(send({ node: ctx.config.brokerId, actor: actorId }, 'PartitionStateChange', removed));
    if (removed.topic === consumerOffsetsTopic) effects.push(...tellCoordinator(ctx, removed, false));
    if (removed.topic === transactionStateTopic) effects.push(...tellTxnCoordinator(ctx, removed, null));
  }
  return effects;
}

/**
 * Each __consumer_offsets replica here has a group coordinator beside it, told the same
 * partition state: it serves while the replica leads.
 */
function tellCoordinator(ctx: BrokerContext, state: WireMessages['PartitionStateChange'], spawn: boolean): Effect[] {
  const actorId = groupCoordinatorActorId(state.partition);
  const effects: Effect[] = [];
  if (spawn) {
    const input: GroupCoordinatorInput = {
      config: { ...ctx.config.groupCoordinator, nodeId: ctx.config.brokerId, bugs: ctx.config.bugs.group ?? {} }, partition: state.partition,
    };
    effects.push({ type: 'spawn', actorId, machine: groupCoordinatorMachineName, input });
  }
  effects.push(send({ node: ctx.config.brokerId, actor: actorId }, 'PartitionStateChange', state));
  return effects;
}

/**
 * Likewise, each __transaction_state replica here has a transaction coordinator beside it,
 * spawned with the topic's partition count (`spawnWithPartitions`; null: it exists already):
 * it hashes transactional ids over the partitions the topic has, as every Kafka listener does,
 * whatever transaction.state.log.num.partitions said when it was created.
 */
function tellTxnCoordinator(ctx: BrokerContext, state: WireMessages['PartitionStateChange'], spawnWithPartitions: number | null): Effect[] {
  const actorId = txnCoordinatorActorId(state.partition);
  const effects: Effect[] = [];
  if (spawnWithPartitions !== null) {
    const settings = ctx.config.txnCoordinator ?? defaultTxnCoordinatorSettings;
    const input: TxnCoordinatorInput = {
      config: { ...settings, transactionStatePartitions: spawnWithPartitions, nodeId: ctx.config.brokerId, brokerActor: brokerActorId },
      partition: state.partition,
    };
    effects.push({ type: 'spawn', actorId, machine: txnCoordinatorMachineName, input });
  }
  effects.push(send({ node: ctx.config.brokerId, actor: actorId }, 'PartitionStateChange', state));
  return effects;
}

/**
 * A transaction coordinator here sends a marker: it goes to the partition's leader as this
 * broker's metadata names it. A topic the metadata does not have needs no marker
 * (UNKNOWN_TOPIC_OR_PARTITION tells the coordinator so); a partition without a leader is
 * LEADER_NOT_AVAILABLE, and the coordinator sends it again later.
 */
const routeTxnMarker: Handler = (ctx, event) => {
  const { body } = event as Delivered<'WriteTxnMarkerRequest'>;
  const topic = ctx.image.topicsByName.get(body.topic);
  const partition = topic?.partitions[body.partition];
  const refuse = (errorCode: number): Effect[] => [
    send(body.replyTo, 'WriteTxnMarkerResponse', { requestId: body.requestId, errorCode, topic: body.topic, partition: body.partition }),
  ];
  if (topic === undefined) return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (partition === undefined || partition.leader < 0) return refuse(ErrorCode.LEADER_NOT_AVAILABLE);
  return [send({ node: partition.leader, actor: partitionActorId(body.topic, body.partition) }, 'WriteTxnMarkerRequest', { ...body, replyTo: { ...body.replyTo } })];
};

/** A replica's ISR change goes to the controller under this broker's epoch. */
const forwardAlterPartition: Handler = (ctx, event) => {
  const { body } = event as Delivered<'AlterPartitionRequest'>;
  return [send(toController(ctx), 'AlterPartitionRequest', { ...body, newIsr: [...body.newIsr], brokerEpoch: Math.max(0, ctx.brokerEpoch) })];
};

const alterPartitionAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'AlterPartitionResponse'>;
  if (body.errorCode === ErrorCode.NOT_CONTROLLER) retarget(ctx, body.leaderHint);
  return [send({ node: ctx.config.brokerId, actor: partitionActorId(body.topic, body.partition) }, 'AlterPartitionResponse', { ...body, isr: [...body.isr] })];
};

/** A request for a replica this node does not host: say who leads that partition. */
const answerForAbsentReplica: Handler = (ctx, event) => {
  const request = event as WireEvent;
  if (request.type !== 'ProduceRequest' && request.type !== 'FetchRequest' && request.type !== 'OffsetForLeaderEpochRequest' && request.type !== 'ListOffsetsRequest') return [];
  const { topic, partition } = request.body;
  const found = ctx.image.topicsByName.get(topic)?.partitions[partition];
  const errorCode = found === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const leaderHint = found?.leader ?? -1;
  const leaderEpoch = found?.leaderEpoch ?? -1;
  switch (request.type) {
    case 'ProduceRequest':
      if (request.body.acks === 0) return [];
      return [send(request.from, 'ProduceResponse', {
        requestId: request.body.requestId, errorCode, baseOffset: -1, logStartOffset: -1, leaderHint, leaderEpoch, errorMessage: '', topic, partition,
      })];
    case 'FetchRequest':
      return [send(request.from, 'FetchResponse', {
        requestId: request.body.requestId, errorCode, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, records: new Uint8Array(0),
        leaderHint, leaderEpoch, topic, partition, errorMessage: '', lastStableOffset: -1, abortedTransactions: new Uint8Array(0), tombstoneHorizon: -1,
      })];
    case 'OffsetForLeaderEpochRequest':
      return [send(request.from, 'OffsetForLeaderEpochResponse', {
        requestId: request.body.requestId, errorCode, leaderEpoch: -1, endOffset: -1, leaderHint, topic, partition,
      })];
    case 'ListOffsetsRequest':
      return [send(request.from, 'ListOffsetsResponse', {
        requestId: request.body.requestId, errorCode, offset: -1, timestamp: -1, leaderEpoch, leaderHint, topic, partition,
      })];
  }
};

/** A group request for a coordinator this node does not run: NOT_COORDINATOR sends the client to look again. */
const answerForAbsentCoordinator: Handler = (_ctx, event) => groupRequestRefusal(event as WireEvent, ErrorCode.NOT_COORDINATOR);

// ---------------------------------------------------------------------------------------------
// Producer ids: one id at a time to the node's listener and coordinators, out of blocks the
// controller allocates (KIP-730), asked for again before the current block runs out.

/** Waiting askers beyond this are told to come back (COORDINATOR_NOT_AVAILABLE, retriable). */
export const producerIdWaitersMax = 1024;
/** Ask for the next block once fewer ids than this are left. */
const producerIdLowWater = Math.floor(producerIdBlockSize / 10);

export interface ProducerIdBlocks {
  /** Blocks in the order received; `next` is the first id not handed out, `end` the first past the block. */
  blocks: Array<{ next: number; end: number }>;
  waiting: Array<{ to: Address; requestId: string }>;
  /** The AllocateProducerIds request in flight. */
  asking: string | null;
  askSeq: number;
}

function producerIdsLeft(ids: ProducerIdBlocks): number {
  return ids.blocks.reduce((sum, b) => sum + (b.end - b.next), 0);
}

function takeProducerId(ids: ProducerIdBlocks): number | null {
  while (ids.blocks.length > 0 && ids.blocks[0]!.next >= ids.blocks[0]!.end) ids.blocks.shift();
  const block = ids.blocks[0];
  if (block === undefined) return null;
  block.next += 1;
  return block.next - 1;
}

/** Hands out ids to whoever waits, then asks for a block if few are left (once registered). */
function serveProducerIds(ctx: BrokerContext): Effect[] {
  const ids = ctx.producerIds;
  const effects: Effect[] = [];
  while (ids.waiting.length > 0) {
    const producerId = takeProducerId(ids);
    if (producerId === null) break;
    const asker = ids.waiting.shift()!;
    effects.push(send(asker.to, 'ProducerIdResponse', { requestId: asker.requestId, errorCode: ErrorCode.NONE, producerId }));
  }
  // A node that never hands out ids never asks (the simulator's traces stay as they were).
  const wanted = ids.waiting.length > 0 || (ids.blocks.length > 0 && producerIdsLeft(ids) < producerIdLowWater);
  if (wanted && ids.asking === null && ctx.brokerEpoch >= 0) {
    ids.askSeq += 1;
    ids.asking = `producer-ids/${ctx.config.brokerId}/${ctx.config.incarnationId}/${ids.askSeq}`;
    effects.push(
      send(toController(ctx), 'AllocateProducerIdsRequest', { requestId: ids.asking, brokerId: ctx.config.brokerId, brokerEpoch: ctx.brokerEpoch }),
      { type: 'timer.set', event: 'ProducerIdRetryFired', delayMs: ctx.config.requestTimeoutMs, jitterMs: 0 },
    );
  }
  return effects;
}

const producerIdAsked: Handler = (ctx, event) => {
  const { body, from } = event as Delivered<'ProducerIdRequest'>;
  if (ctx.producerIds.waiting.length >= producerIdWaitersMax) {
    return [send(from, 'ProducerIdResponse', { requestId: body.requestId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1 })];
  }
  ctx.producerIds.waiting.push({ to: from, requestId: body.requestId });
  return serveProducerIds(ctx);
};

const producerIdsAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'AllocateProducerIdsResponse'>;
  const ids = ctx.producerIds;
  if (body.requestId !== ids.asking) return []; // an answer to a request given up on
  ids.asking = null;
  const effects: Effect[] = [{ type: 'timer.cancel', event: 'ProducerIdRetryFired' }];
  if (body.errorCode === ErrorCode.NONE) {
    ids.blocks.push({ next: body.producerIdStart, end: body.producerIdStart + body.producerIdLen });
    return [...effects, ...serveProducerIds(ctx)];
  }
  if (body.errorCode === ErrorCode.NOT_CONTROLLER && body.leaderHint >= 0 && body.leaderHint !== ctx.controllerNode) {
    retarget(ctx, body.leaderHint);
    return [...effects, ...serveProducerIds(ctx)];
  }
  // No leader yet, or this broker's epoch is being renewed: ask again after a backoff.
  return [...effects, { type: 'timer.set', event: 'ProducerIdRetryFired', delayMs: ctx.config.retryBackoffMs, jitterMs: 0 }];
};

const producerIdRetry: Handler = (ctx) => {
  if (ctx.producerIds.asking !== null) retarget(ctx, -1); // no answer in time: try the next voter
  ctx.producerIds.asking = null;
  return serveProducerIds(ctx);
};

/** A transaction request for a coordinator this node does not run: NOT_COORDINATOR, as for groups. */
const answerForAbsentTxnCoordinator: Handler = (_ctx, event) => txnRequestRefusal(event as WireEvent, ErrorCode.NOT_COORDINATOR);

/**
 * A partition leader's KIP-890 check goes to the transaction's coordinator: the leader of the
 * transactional id's __transaction_state partition. One that arrives from a broker was sent
 * here for a coordinator this node does not run (the kernel's fallback): NOT_COORDINATOR.
 */
const routeTxnVerification: Handler = (ctx, event) => {
  const request = event as Delivered<'VerifyTxnPartitionRequest'>;
  if (request.from.actor === brokerActorId) return answerForAbsentTxnCoordinator(ctx, event);
  const { body } = request;
  const topic = ctx.image.topicsByName.get(transactionStateTopic);
  const partitions = topic?.partitions.length ?? 0;
  const leader = partitions === 0 ? -1 : topic!.partitions[txnPartitionFor(body.transactionalId, partitions)]?.leader ?? -1;
  if (leader < 0) {
    return [send(body.replyTo, 'VerifyTxnPartitionResponse', { requestId: body.requestId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topic: body.topic, partition: body.partition })];
  }
  return [send({ node: leader, actor: txnCoordinatorActorId(txnPartitionFor(body.transactionalId, partitions)) }, 'VerifyTxnPartitionRequest', { ...body, replyTo: { ...body.replyTo } })];
};

const fetchTimedOut: Handler = (ctx) => {
  retarget(ctx, -1);
  return fetchRequest(ctx);
};

export const brokerMachine = setup({
  types: {
    context: {} as BrokerContext,
    events: {} as BrokerEvent,
    input: {} as BrokerInput,
    emitted: {} as EffectBatch,
  },
  actions: {
    sendRegistration: effectful(sendRegistration),
    registrationAnswered: effectful(registrationAnswered),
    retryRegistration: effectful(retryRegistration),
    startSession: effectful(startSession),
    endSession: effectful(endSession),
    sendHeartbeat: effectful(sendHeartbeat),
    heartbeatAnswered: effectful(heartbeatAnswered),
    metadataArrived: effectful(metadataArrived),
    fetchTimedOut: effectful(fetchTimedOut),
    forwardAlterPartition: effectful(forwardAlterPartition),
    alterPartitionAnswered: effectful(alterPartitionAnswered),
    answerForAbsentReplica: effectful(answerForAbsentReplica),
    answerForAbsentCoordinator: effectful(answerForAbsentCoordinator),
    answerForAbsentTxnCoordinator: effectful(answerForAbsentTxnCoordinator),
    routeTxnVerification: effectful(routeTxnVerification),
    routeTxnMarker: effectful(routeTxnMarker),
    shutdownRequested: effectful(shutdownRequested),
    sessionLostWhileShuttingDown: effectful(sessionLostWhileShuttingDown),
    producerIdAsked: effectful(producerIdAsked),
    producerIdsAnswered: effectful(producerIdsAnswered),
    producerIdRetry: effectful(producerIdRetry),
    serveProducerIds: effectful((ctx) => serveProducerIds(ctx)),
  },
  guards: {
    registrationAccepted: ({ event }) => event.type === 'BrokerRegistrationResponse' && event.body.errorCode === ErrorCode.NONE,
    shuttingDown: ({ context }) => context.shutdown !== null,
    sessionLost: ({ event }) =>
      event.type === 'BrokerHeartbeatResponse' &&
      (event.body.errorCode === ErrorCode.STALE_BROKER_EPOCH || event.body.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED),
  },
}).createMachine({
  id: 'broker',
  context: ({ input }) => ({
    config: input.config,
    controllerNode: input.config.voters[input.config.brokerId % input.config.voters.length]!,
    brokerEpoch: -1,
    fenced: true,
    image: emptyImage(),
    lastHeartbeatAnswerMs: 0,
    replicaStates: new Map(),
    producerIds: { blocks: [], waiting: [], asking: null, askSeq: 0 },
    shutdown: null,
    nowMs: 0,
  }),
  initial: 'registering',
  on: {
    AlterPartitionRequest: { actions: 'forwardAlterPartition' },
    AlterPartitionResponse: { actions: 'alterPartitionAnswered' },
    ProduceRequest: { actions: 'answerForAbsentReplica' },
    FetchRequest: { actions: 'answerForAbsentReplica' },
    OffsetForLeaderEpochRequest: { actions: 'answerForAbsentReplica' },
    ListOffsetsRequest: { actions: 'answerForAbsentReplica' },
    ControlledShutdownRequest: { actions: 'shutdownRequested' },
    ProducerIdRequest: { actions: 'producerIdAsked' },
    WriteTxnMarkerRequest: { actions: 'routeTxnMarker' },
    AllocateProducerIdsResponse: { actions: 'producerIdsAnswered' },
    ProducerIdRetryFired: { actions: 'producerIdRetry' },
    ...Object.fromEntries([...groupRequestKinds].map((kind) => [kind, { actions: 'answerForAbsentCoordinator' as const }])),
    ...Object.fromEntries([...txnRequestKinds].map((kind) => [kind, { actions: 'answerForAbsentTxnCoordinator' as const }])),
    VerifyTxnPartitionRequest: { actions: 'routeTxnVerification' },
  },
  states: {
    registering: {
      entry: 'sendRegistration',
      on: {
        BrokerRegistrationResponse: [
          { guard: 'registrationAccepted', target: 'running', actions: 'registrationAnswered' },
          { actions: 'registrationAnswered' },
        ],
        RegistrationRetryFired: { actions: 'retryRegistration' },
      },
    },
    running: {
      entry: ['startSession', 'serveProducerIds'],
      exit: 'endSession',
      on: {
        HeartbeatTimerFired: { actions: 'sendHeartbeat' },
        BrokerHeartbeatResponse: [
          { guard: and(['sessionLost', 'shuttingDown']), actions: 'sessionLostWhileShuttingDown' },
          { guard: 'sessionLost', target: 'registering' },
          { actions: 'heartbeatAnswered' },
        ],
        MetadataFetchResponse: { actions: 'metadataArrived' },
        FetchTimeoutFired: { actions: 'fetchTimedOut' },
      },
    },
  },
});

export type BrokerMachine = typeof brokerMachine;
