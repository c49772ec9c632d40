// The actor kernel of one node: hosts xstate machines, gives each a bounded mailbox,
// turns their emitted effects into envelopes, timers and storage operations, and turns
// arrivals and completions back into events. Run to completion: an actor handles one event
// at a time, and messages between actors of the same node wait in the node's run queue.
import { createActor, type AnyActorRef, type AnyStateMachine } from 'xstate';
import type { Logger } from 'pino';
import {
  type Envelope, decodeEnvelope, decodePayload, encodeEnvelopeOf,
} from '../../actors/protocol/codec.js';
import type { Effect, EffectBatch } from '../../actors/protocol/effects.js';
import { type Address, type Outgoing, type WireKind, fallbackRequestKinds } from '../../actors/protocol/messages.js';
import { copyLocalPayload } from './local-payload.js';
import type { Clock, StoragePort, TimerHandle, Tracer, Transport } from './ports.js';
import type { DropReason, KernelMetrics } from './metrics.js';
import type { PlacementTable } from './placement.js';

export const mailboxCapacityDefault = 10_000;

export interface KernelOptions {
  nodeId: number;
  clusterId: string;
  clock: Clock;
  /** Uniform in [0, 1): the host's randomness, used for timer jitter. */
  random: () => number;
  transport: Transport;
  storage: StoragePort;
  logger: Logger;
  metrics: KernelMetrics | null;
  tracer: Tracer | null;
  mailboxCapacity?: number;
  /** Where actors live; the kernel records its own actors here as it spawns and stops them. */
  placement?: PlacementTable;
  /** Called after an actor's state changed (for operators' logs). */
  onStateChange?: (actorId: string, state: string) => void;
  /** Called when an actor throws (a broken invariant); the actor is stopped. */
  onActorFailure?: (actorId: string, error: Error) => void;
  /** Machines actors may spawn by name (the broker spawns partition replicas). */
  machines?: Record<string, AnyStateMachine>;
  /**
   * Receives partition requests (produce, fetch, ...) addressed to a replica this node does
   * not host, so that it can answer NOT_LEADER_OR_FOLLOWER instead of leaving the client to
   * time out.
   */
  fallbackActor?: string;
  /** Sees every actor start, every event delivered (with its effects) and every stop: input recording and the trace viewer. */
  inputs?: InputObserver;
}

/** One event as an actor handled it. */
export interface DeliveredInput {
  /** The xstate event: `type`, `atMs` and the message's fields. */
  event: { type: string; atMs: number; [key: string]: unknown };
  msgId: string;
  parentId: string;
  /** `node/actor` of the sender, '' for timers and storage completions. */
  from: string;
  stateBefore: string;
  stateAfter: string;
  /** What the actor emitted while handling it, in order. */
  effects: readonly Effect[];
}

/**
 * Observes a node's actors from outside (never changes what they do). Each call comes just
 * before the matching trace line (`@start`, the event, `@stop`) is recorded.
 */
export interface InputObserver {
  /** An actor started: `machine` is the machine's id (`controller`, `broker`, `partition`, ...). */
  started(t: number, actorId: string, machine: string, input: unknown, state: string, effects: readonly Effect[]): void;
  delivered(actorId: string, input: DeliveredInput): void;
  stopped(t: number, actorId: string): void;
}

/** A message delivered to a host endpoint: decoded, with its sender. */
export interface EndpointMessage {
  kind: WireKind;
  from: Address;
  body: unknown;
}

type KernelEvent = { type: string; atMs: number; [key: string]: unknown };

interface MailboxItem {
  event: KernelEvent;
  msgId: string;
  parentId: string;
  from: string;
}

interface ActorCell {
  id: string;
  actor: AnyActorRef;
  mailbox: MailboxItem[];
  timers: Map<string, TimerHandle>;
  state: string;
  failed: boolean;
}

export class NodeKernel {
  readonly nodeId: number;
  private readonly options: KernelOptions;
  private readonly cells = new Map<string, ActorCell>();
  private readonly runQueue: ActorCell[] = [];
  private draining = false;
  /** Stops asked for during a step, done once the step is over. */
  private afterStep: Array<() => void> = [];
  private stopped = false;
  private messageSeq = 0;
  /** The message being handled; effects emitted meanwhile name it as their causal parent. */
  private currentMsgId = '';
  private readonly mailboxCapacity: number;
  /** Receivers on this node that are not actors (a Kafka listener's connections), by address. */
  private readonly endpoints = new Map<string, (message: EndpointMessage) => void>();
  /** Every line names the node: the given logger if it already does (a node host's child), else a child that does. */
  private readonly logger: KernelOptions['logger'];
  /** The effects of the step being handled, collected only for an input observer. */
  private stepEffects: { cell: ActorCell; effects: Effect[] } | null = null;

  constructor(options: KernelOptions) {
    this.options = options;
    this.nodeId = options.nodeId;
    this.logger = options.logger.bindings().node === undefined ? options.logger.child({ node: options.nodeId }) : options.logger;
    this.mailboxCapacity = options.mailboxCapacity ?? mailboxCapacityDefault;
    options.transport.onReceive((bytes) => this.receive(bytes));
  }

  spawn(actorId: string, machine: AnyStateMachine, input: unknown): void {
    if (this.cells.has(actorId)) throw new Error(`node ${this.nodeId}: actor ${actorId} already exists`);
    const cell: ActorCell = { id: actorId, actor: undefined as unknown as AnyActorRef, mailbox: [], timers: new Map(), state: '', failed: false };
    // No inspect hook: xstate would build an inspection event for every microstep of every
    // actor; the state name is read from the snapshot once a step is over.
    const actor = createActor(machine, { input, clock: this.options.clock });
    cell.actor = actor;
    this.cells.set(actorId, cell);
    this.options.placement?.place(actorId, this.nodeId);
    actor.on('effects', (batch) => {
      const { effects } = batch as unknown as EffectBatch;
      if (this.stepEffects?.cell === cell) this.stepEffects.effects.push(...effects);
      for (const effect of effects) this.perform(cell, effect);
    });
    actor.subscribe({ error: (error) => this.fail(cell, error as Error) });
    this.currentMsgId = `${this.nodeId}:start:${actorId}`;
    // Messages the actor sends while starting wait in the run queue until it has started.
    const wasDraining = this.draining;
    this.draining = true;
    const observer = this.options.inputs;
    const outerStep = this.stepEffects;
    if (observer !== undefined) this.stepEffects = { cell, effects: [] };
    try {
      this.guarded(cell, () => actor.start());
    } finally {
      this.draining = wasDraining;
    }
    this.readState(cell);
    if (observer !== undefined) {
      observer.started(this.options.clock.now(), actorId, machine.id, input, cell.state, this.stepEffects!.effects);
      this.stepEffects = outerStep;
    }
    this.options.tracer?.record({ t: this.options.clock.now(), node: this.nodeId, actor: actorId, kind: '@start', id: this.currentMsgId, parent: '', state: cell.state });
    this.runAfterStep();
    this.drain();
  }

  /** The actor's xstate snapshot, for hosts that observe (the simulator's checkers, status pages). */
  snapshotOf(actorId: string): { value: unknown; context: unknown } | undefined {
    const cell = this.cells.get(actorId);
    return cell === undefined || cell.failed ? undefined : (cell.actor.getSnapshot() as { value: unknown; context: unknown });
  }

  actorIds(): string[] {
    return [...this.cells.keys()];
  }

  /** Stops every actor and cancels its timers. Pending storage completions are ignored. */
  stop(): void {
    this.stopped = true;
    for (const cell of this.cells.values()) {
      for (const handle of cell.timers.values()) this.options.clock.clearTimeout(handle);
      cell.timers.clear();
      cell.actor.stop();
      this.options.placement?.remove(cell.id, this.nodeId);
    }
    this.cells.clear();
    this.runQueue.length = 0;
  }

  /** An envelope from the transport. Anything malformed is dropped and counted, never thrown. */
  receive(bytes: Uint8Array): void {
    if (this.stopped) return;
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes);
    } catch (error) {
      this.drop('malformed', (error as Error).message);
      return;
    }
    if (envelope.clusterId !== this.options.clusterId) {
      this.drop('wrong_cluster', `envelope for cluster "${envelope.clusterId}"`);
      return;
    }
    if (envelope.to.node !== this.nodeId) {
      this.drop('wrong_node', `envelope for node ${envelope.to.node}`);
      return;
    }
    this.accept(envelope.from, envelope.to.actor, envelope.kind, envelope.msgId, envelope.parentId, envelope.payload);
  }

  /** Sends a message on behalf of something outside the actors (a client of this node). */
  sendFrom(from: Address, message: Outgoing, parentId = ''): string {
    const msgId = this.nextMsgId();
    if (message.to.node === this.nodeId) {
      // To an actor or endpoint of this node: a copy of the body as the codec would decode
      // it, without encoding an envelope (local-payload.ts says which kinds can).
      const body = copyLocalPayload(message.kind, message.body);
      if (body !== undefined) {
        this.options.metrics?.envelopeSent(this.nodeId);
        this.arriveLocally(from, message, body, msgId, parentId);
        return msgId;
      }
    }
    this.options.metrics?.envelopeSent(this.nodeId);
    const bytes = encodeEnvelopeOf({ clusterId: this.options.clusterId, from, to: message.to, kind: message.kind, msgId, parentId }, message.body);
    if (message.to.node === this.nodeId) this.receive(bytes);
    else this.options.transport.send(message.to.node, bytes);
    return msgId;
  }

  /**
   * Lets host code on this node (not an actor) receive messages addressed to `name`: the
   * Kafka listener waits for replicas' answers this way. Handlers must not throw.
   */
  attachEndpoint(name: string, handler: (message: EndpointMessage) => void): void {
    if (this.cells.has(name) || this.endpoints.has(name)) throw new Error(`node ${this.nodeId}: address ${name} is taken`);
    this.endpoints.set(name, handler);
  }

  detachEndpoint(name: string): void {
    this.endpoints.delete(name);
  }

  /**
   * What receive() does with the envelope it would have decoded: the same checks (a node that
   * stopped takes nothing; an envelope without a destination actor is malformed), then accept.
   * The sender address is a fresh object, as a decoded one would be.
   */
  private arriveLocally(from: Address, message: Outgoing, body: unknown, msgId: string, parentId: string): void {
    if (this.stopped) return;
    if (message.to.actor === '') {
      this.drop('malformed', 'malformed envelope: no destination actor');
      return;
    }
    this.accept({ node: from.node, actor: from.actor }, message.to.actor, message.kind, msgId, parentId, null, body);
  }

  /**
   * Delivers to the endpoint or actor named `toActor`: `payload` is the encoded body from an
   * envelope, or null when `localBody` is the body already (arriveLocally).
   */
  private accept(from: Address, toActor: string, kind: string, msgId: string, parentId: string, payload: Uint8Array | null, localBody?: unknown): void {
    const endpoint = this.endpoints.get(toActor);
    let cell: ActorCell | undefined;
    if (endpoint === undefined) {
      cell = this.cells.get(toActor);
      if ((cell === undefined || cell.failed) && this.options.fallbackActor !== undefined && fallbackRequestKinds.has(kind)) {
        cell = this.cells.get(this.options.fallbackActor);
      }
      if (cell === undefined || cell.failed) {
        this.drop('unknown_actor', `no actor "${toActor}" on node ${this.nodeId}`);
        return;
      }
    }
    let body: unknown = localBody;
    if (payload !== null) {
      try {
        body = decodePayload(kind as WireKind, payload);
      } catch (error) {
        this.drop('malformed', (error as Error).message);
        return;
      }
    }
    this.options.metrics?.envelopeReceived(this.nodeId);
    if (endpoint !== undefined) {
      endpoint({ kind: kind as WireKind, from, body });
      return;
    }
    this.enqueue(cell!, {
      event: { type: kind, from, body, atMs: this.options.clock.now() },
      msgId,
      parentId,
      from: `${from.node}/${from.actor}`,
    });
  }

  private enqueue(cell: ActorCell, item: MailboxItem): void {
    if (cell.mailbox.length >= this.mailboxCapacity) {
      this.drop('mailbox_full', `mailbox of ${cell.id} holds ${cell.mailbox.length} messages`);
      return;
    }
    cell.mailbox.push(item);
    this.runQueue.push(cell);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.runQueue.length > 0 && !this.stopped) {
        const cell = this.runQueue.shift()!;
        const item = cell.mailbox.shift();
        if (item === undefined || cell.failed) continue;
        this.deliver(cell, item);
      }
    } finally {
      this.draining = false;
    }
  }

  private deliver(cell: ActorCell, item: MailboxItem): void {
    const before = cell.state;
    this.currentMsgId = item.msgId;
    const observer = this.options.inputs;
    if (observer !== undefined) this.stepEffects = { cell, effects: [] };
    this.guarded(cell, () => cell.actor.send(item.event));
    this.readState(cell);
    const effects = this.stepEffects?.effects ?? [];
    this.stepEffects = null;
    this.runAfterStep();
    if (cell.state !== before) this.options.onStateChange?.(cell.id, cell.state);
    observer?.delivered(cell.id, {
      event: item.event, msgId: item.msgId, parentId: item.parentId, from: item.from, stateBefore: before, stateAfter: cell.state, effects,
    });
    const tracer = this.options.tracer;
    if (tracer !== null) {
      const line: Parameters<Tracer['record']>[0] = {
        t: item.event.atMs, node: this.nodeId, actor: cell.id, kind: item.event.type, id: item.msgId, parent: item.parentId,
      };
      if (item.from !== '') line.from = item.from;
      if (cell.state !== before) line.state = cell.state;
      tracer.record(line);
    }
  }

  private readState(cell: ActorCell): void {
    cell.state = stateName((cell.actor.getSnapshot() as { value?: unknown }).value);
  }

  private runAfterStep(): void {
    while (this.afterStep.length > 0) {
      const work = this.afterStep;
      this.afterStep = [];
      for (const task of work) task();
    }
  }

  private guarded(cell: ActorCell, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.fail(cell, error as Error);
    }
  }

  private fail(cell: ActorCell, error: Error): void {
    if (cell.failed) return;
    cell.failed = true;
    for (const handle of cell.timers.values()) this.options.clock.clearTimeout(handle);
    cell.timers.clear();
    this.logger.error({ actor: cell.id, err: error }, `actor ${cell.id} failed: ${error.message}`);
    this.options.onActorFailure?.(cell.id, error);
  }

  private perform(cell: ActorCell, effect: Effect): void {
    switch (effect.type) {
      case 'send':
        this.sendFrom({ node: this.nodeId, actor: cell.id }, effect.message, this.currentMsgId);
        return;
      case 'storage': {
        const completed = this.completion(cell);
        this.options.storage.submit(cell.id, effect.op, () => completed({ type: 'StorageCompleted', seq: effect.seq }));
        return;
      }
      case 'log': {
        const completed = this.completion(cell);
        this.options.storage.submitLog(cell.id, effect.op, (result) => completed({ type: 'LogCompleted', seq: effect.seq, result }));
        return;
      }
      case 'flush': {
        const completed = this.completion(cell);
        this.options.storage.flushLog(cell.id, effect.offset, (result) => completed({ type: 'LogFlushed', token: effect.token, result }));
        return;
      }
      case 'highWatermark':
        this.options.storage.noteHighWatermark?.(cell.id, effect.offset, effect.tombstoneHorizon);
        return;
      case 'timer.set': {
        this.cancelTimer(cell, effect.event);
        const parentId = this.currentMsgId;
        const delayMs = effect.delayMs + (effect.jitterMs > 0 ? Math.floor(this.options.random() * effect.jitterMs) : 0);
        const handle = this.options.clock.setTimeout(() => {
          cell.timers.delete(effect.event);
          if (this.stopped || cell.failed) return;
          this.enqueue(cell, { event: { type: effect.event, atMs: this.options.clock.now() }, msgId: this.nextMsgId(), parentId, from: '' });
        }, delayMs);
        cell.timers.set(effect.event, handle);
        return;
      }
      case 'timer.cancel':
        this.cancelTimer(cell, effect.event);
        return;
      case 'spawn': {
        const machine = this.options.machines?.[effect.machine];
        if (machine === undefined) throw new Error(`node ${this.nodeId}: no machine "${effect.machine}" to spawn ${effect.actorId}`);
        const existing = this.cells.get(effect.actorId);
        if (existing !== undefined && !existing.failed) return;
        if (existing !== undefined) this.remove(existing);
        const spawner = this.currentMsgId;
        this.spawn(effect.actorId, machine, effect.input);
        this.currentMsgId = spawner;
        return;
      }
      case 'stop':
        this.afterStep.push(() => this.remove(cell));
        return;
      case 'note':
        this.logger[effect.level]({ actor: cell.id }, effect.message);
        return;
    }
  }

  /**
   * What hands a port's completion back to the actor as an event, timed when it arrives and
   * caused by the message being handled now; dropped once the actor or the node is gone.
   */
  private completion(cell: ActorCell): (event: { type: string; [key: string]: unknown }) => void {
    const parentId = this.currentMsgId;
    return (event) => {
      if (this.stopped || cell.failed) return;
      this.enqueue(cell, { event: { ...event, atMs: this.options.clock.now() }, msgId: this.nextMsgId(), parentId, from: '' });
    };
  }

  /** Stops one actor: its timers are cancelled, its mailbox and pending completions dropped. */
  private remove(cell: ActorCell): void {
    if (this.cells.get(cell.id) !== cell) return;
    cell.failed = true;
    for (const handle of cell.timers.values()) this.options.clock.clearTimeout(handle);
    cell.timers.clear();
    cell.mailbox.length = 0;
    cell.actor.stop();
    this.cells.delete(cell.id);
    this.options.placement?.remove(cell.id, this.nodeId);
    this.options.inputs?.stopped(this.options.clock.now(), cell.id);
    this.options.tracer?.record({ t: this.options.clock.now(), node: this.nodeId, actor: cell.id, kind: '@stop', id: this.currentMsgId, parent: '' });
  }

  private cancelTimer(cell: ActorCell, event: string): void {
    const handle = cell.timers.get(event);
    if (handle !== undefined) {
      this.options.clock.clearTimeout(handle);
      cell.timers.delete(event);
    }
  }

  private nextMsgId(): string {
    this.messageSeq += 1;
    return `${this.nodeId}:${this.messageSeq}`;
  }

  private drop(reason: DropReason, detail: string): void {
    this.options.metrics?.envelopeDropped(this.nodeId, reason);
    this.logger.warn({ reason }, `dropped envelope: ${detail}`);
  }
}

/** An xstate state value as one string: its name, or the JSON of a nested state. */
export function stateName(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
