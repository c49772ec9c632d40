// The request plumbing every simulated Kafka client shares: envelopes sent straight through
// the simulated network from one client node, answers matched to pending requests by request
// id, a timeout per request, and a guess of each partition's leader that follows
// NOT_LEADER_OR_FOLLOWER hints and moves to the next node on timeouts. It is not an actor:
// it has no mailbox and no state machine, only callbacks on the scheduler's clock.
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../actors/protocol/codec.js';
import { ErrorCode } from '../../actors/protocol/errors.js';
import { type WireKind, type WireMessages, wireKinds } from '../../actors/protocol/messages.js';
import { partitionActorId } from '../../actors/partition/partition-machine.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import type { SimNetwork } from '../network.js';
import type { Scheduler } from '../scheduler.js';

/** Request kinds whose answer carries a `requestId` (every request a client sends). */
export type ClientRequestKind = {
  [K in WireKind]: WireMessages[K] extends { requestId: string } ? (K extends `${string}Request` ? K : never) : never
}[WireKind];

/** Requests addressed to a partition replica (they are answered with a leader hint). */
export type PartitionRequestKind = 'ProduceRequest' | 'FetchRequest' | 'ListOffsetsRequest' | 'OffsetForLeaderEpochRequest';

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

interface PendingRequest {
  onAnswer: (body: unknown, fromNode: number) => void;
  onTimeout: () => void;
  timeout: ReturnType<Scheduler['after']>;
}

export interface SimClientOptions {
  clientNode: number;
  /** The actor name the client sends from and traces its answers under. */
  actor: string;
  clusterId: string;
  nodeIds: number[];
  network: SimNetwork;
  scheduler: Scheduler;
  tracer: Tracer;
  /** Answers of these kinds are traced and matched; others are ignored. All kinds by default. */
  answerKinds?: readonly WireKind[];
}

export class SimClient {
  readonly clientNode: number;
  readonly actor: string;
  readonly nodeIds: number[];
  private readonly clusterId: string;
  private readonly scheduler: Scheduler;
  private readonly tracer: Tracer;
  private readonly answerKinds: ReadonlySet<string>;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly leaderGuess = new Map<string, number>();
  private readonly transport;
  private requestSeq = 0;

  constructor(options: SimClientOptions) {
    this.clientNode = options.clientNode;
    this.actor = options.actor;
    this.clusterId = options.clusterId;
    this.nodeIds = options.nodeIds;
    this.scheduler = options.scheduler;
    this.tracer = options.tracer;
    this.answerKinds = new Set(options.answerKinds ?? wireKinds);
    this.transport = options.network.transportFor(options.clientNode);
    this.transport.onReceive((bytes) => this.receive(bytes));
  }

  /** Requests sent and not yet answered or timed out. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request to `node`/`actor`; exactly one of `onAnswer` (the first answer carrying
   * its request id) or `onTimeout` (no answer within `timeoutMs`) runs, unless the client
   * abandons it first. Returns the request id.
   */
  send<K extends ClientRequestKind>(
    node: number, actor: string, kind: K, body: (requestId: string) => WireMessages[K], timeoutMs: number,
    onAnswer: (body: unknown, fromNode: number) => void, onTimeout: () => void,
  ): string {
    this.requestSeq += 1;
    const requestId = `c${this.clientNode}-${this.requestSeq}`;
    const pending: PendingRequest = {
      onAnswer,
      onTimeout,
      timeout: this.scheduler.after(timeoutMs, () => {
        this.pending.delete(requestId);
        pending.onTimeout();
      }),
    };
    this.pending.set(requestId, pending);
    this.transport.send(node, encodeEnvelope({
      clusterId: this.clusterId,
      from: { node: this.clientNode, actor: this.actor },
      to: { node, actor },
      kind,
      payload: encodePayload(kind, body(requestId)),
      msgId: `${this.clientNode}:${requestId}`,
      parentId: '',
    }));
    return requestId;
  }

  /**
   * Sends a request to the replica of the partition on the node believed to lead it. A
   * NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION answer moves the guess to the hinted
   * leader (or the next node); a timeout moves it to the next node.
   */
  sendToPartition<K extends PartitionRequestKind>(
    topic: string, partition: number, kind: K, body: (requestId: string) => WireMessages[K], timeoutMs: number,
    onAnswer: (body: unknown, fromNode: number) => void, onTimeout: () => void,
  ): string {
    const key = partitionKey(topic, partition);
    const target = this.leaderGuess.get(key) ?? this.nodeIds[partition % this.nodeIds.length]!;
    return this.send(target, partitionActorId(topic, partition), kind, body, timeoutMs, (answer, fromNode) => {
      const { errorCode, leaderHint } = answer as { errorCode: number; leaderHint: number };
      if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.leaderGuess.set(key, leaderHint >= 0 && leaderHint !== fromNode ? leaderHint : this.nextNode(fromNode));
      }
      onAnswer(answer, fromNode);
    }, () => {
      this.leaderGuess.set(key, this.nextNode(target));
      onTimeout();
    });
  }

  /** Forgets every request in flight: their answers are ignored and their timeouts never fire (a crashed client). */
  abandonAll(): void {
    for (const pending of this.pending.values()) this.scheduler.cancel(pending.timeout);
    this.pending.clear();
  }

  /** The node after `node`, in node id order, wrapping around. */
  nextNode(node: number): number {
    const at = this.nodeIds.indexOf(node);
    return this.nodeIds[(at + 1) % this.nodeIds.length]!;
  }

  private receive(bytes: Uint8Array): void {
    const envelope = decodeEnvelope(bytes);
    if (!this.answerKinds.has(envelope.kind)) return;
    const body = decodePayload(envelope.kind as WireKind, envelope.payload) as { requestId?: string };
    this.tracer.record({
      t: this.scheduler.now, node: this.clientNode, actor: this.actor, kind: envelope.kind, id: envelope.msgId,
      parent: envelope.parentId, from: `${envelope.from.node}/${envelope.from.actor}`,
    });
    const requestId = body.requestId;
    if (requestId === undefined) return;
    const pending = this.pending.get(requestId);
    if (pending === undefined) return; // an answer after we gave up on it, or a second copy
    this.pending.delete(requestId);
    this.scheduler.cancel(pending.timeout);
    pending.onAnswer(body, envelope.from.node);
  }
}
