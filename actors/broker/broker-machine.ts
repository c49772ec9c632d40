// The broker actor of one node: registers with the active controller, keeps its session
// alive with heartbeats, and follows the committed metadata log (long-polling fetches),
// applying it in order to its own copy of the cluster metadata.
import { setup } from 'xstate';
import type { Address, Delivered, Outgoing, WireEvent, WireKind, WireMessages } from '../protocol/messages.js';
import { type Effect, type EffectBatch, type TimerFired, effectfulStep } from '../protocol/effects.js';
import { ErrorCode } from '../protocol/errors.js';
import { controllerActorId } from '../controller/controller-machine.js';
import { type MetadataImage, applyEntry, emptyImage, imageFromMessage } from '../controller/metadata-image.js';

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
  bugs: BrokerBugs;
}

export interface BrokerBugs {
  /** Drop the last entry of every fetched batch while still advancing (breaks convergence). */
  skipLastFetchedEntry?: boolean;
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
  nowMs: number;
}

type BrokerEvent =
  | WireEvent
  | TimerFired<'RegistrationRetryFired'>
  | TimerFired<'HeartbeatTimerFired'>
  | TimerFired<'FetchTimeoutFired'>;

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
    brokerId: ctx.config.brokerId, brokerEpoch: ctx.brokerEpoch, metadataOffset: ctx.image.offset,
  });
}

function fetchRequest(ctx: BrokerContext): Effect[] {
  return [
    send(toController(ctx), 'MetadataFetchRequest', {
      brokerId: ctx.config.brokerId, fromOffset: ctx.image.offset, maxWaitMs: ctx.config.metadataFetchWaitMaxMs,
    }),
    { type: 'timer.set', event: 'FetchTimeoutFired', delayMs: ctx.config.metadataFetchWaitMaxMs + ctx.config.requestTimeoutMs, jitterMs: 0 },
  ];
}

const startSession: Handler = (ctx) => [
  heartbeatRequest(ctx),
  { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: ctx.config.heartbeatIntervalMs, jitterMs: 0 },
  ...fetchRequest(ctx),
];

const endSession: Handler = () => [
  { type: 'timer.cancel', event: 'HeartbeatTimerFired' },
  { type: 'timer.cancel', event: 'FetchTimeoutFired' },
];

const sendHeartbeat: Handler = (ctx) => [
  heartbeatRequest(ctx),
  { type: 'timer.set', event: 'HeartbeatTimerFired', delayMs: ctx.config.heartbeatIntervalMs, jitterMs: 0 },
];

const heartbeatAnswered: Handler = (ctx, event) => {
  const { body } = event as Delivered<'BrokerHeartbeatResponse'>;
  if (body.errorCode === ErrorCode.NOT_CONTROLLER) retarget(ctx, body.leaderHint);
  if (body.errorCode === ErrorCode.NONE) ctx.fenced = body.fenced;
  return [];
};

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
  return fetchRequest(ctx);
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
  },
  guards: {
    registrationAccepted: ({ event }) => event.type === 'BrokerRegistrationResponse' && event.body.errorCode === ErrorCode.NONE,
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
    nowMs: 0,
  }),
  initial: 'registering',
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
      entry: 'startSession',
      exit: 'endSession',
      on: {
        HeartbeatTimerFired: { actions: 'sendHeartbeat' },
        BrokerHeartbeatResponse: [
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
