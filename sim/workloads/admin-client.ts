// A client of the controller quorum that creates topics, as an admin tool would: it sends
// CreateTopics to the controller it believes leads, follows NOT_CONTROLLER hints, and
// retries on timeouts. It keeps the history the checkers read: which creations were acked.
import { decodeEnvelope, decodePayload, encodeEnvelope, encodePayload } from '../../actors/protocol/codec.js';
import { ErrorCode } from '../../actors/protocol/errors.js';
import type { CreateTopicsResponse, CreatableTopic } from '../../actors/protocol/messages.js';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';

export const adminActorId = 'admin-client';
export const adminRequestTimeoutMs = 2000;
export const adminRetryBackoffMs = 100;
export const adminAttemptsMax = 40;

interface Outstanding {
  requestId: string;
  topic: CreatableTopic;
  attempt: number;
  target: number;
  timeout: ReturnType<Scheduler['after']> | null;
  /** Keep asking while the cluster has too few live brokers for the replication factor. */
  insist: boolean;
}

export interface AdminHistory {
  requested: number;
  acked: Map<string, string>;
  rejected: number;
  ambiguous: number;
  abandoned: number;
}

export class AdminClient {
  readonly history: AdminHistory = { requested: 0, acked: new Map(), rejected: 0, ambiguous: 0, abandoned: 0 };
  private readonly outstanding = new Map<string, Outstanding>();
  private seq = 0;
  private leaderGuess: number;
  private readonly transport;

  constructor(
    private readonly clientNode: number,
    private readonly clusterId: string,
    private readonly voters: number[],
    network: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly tracer: Tracer,
  ) {
    this.leaderGuess = voters[0]!;
    this.transport = network.transportFor(clientNode);
    this.transport.onReceive((bytes) => this.receive(bytes));
  }

  /** Creates a topic every so often until `untilMs`. */
  run(untilMs: number, intervalMinMs: number, intervalMaxMs: number): void {
    const next = (): void => {
      if (this.scheduler.now >= untilMs) return;
      this.createTopic();
      this.scheduler.after(this.prng.int(intervalMinMs, intervalMaxMs), next);
    };
    this.scheduler.after(this.prng.int(intervalMinMs, intervalMaxMs), next);
  }

  get idle(): boolean {
    return this.outstanding.size === 0;
  }

  private createTopic(): void {
    this.create({
      name: `topic-${this.seq + 1}`,
      numPartitions: this.prng.int(1, 4),
      replicationFactor: this.prng.int(1, Math.min(3, this.voters.length)),
      configs: [],
    });
  }

  /**
   * Creates one topic now, retrying until the controller answers; its fate lands in the
   * history. Every attempt carries the same creation id, so a retry of a create that was
   * written is acknowledged as it, not refused TOPIC_ALREADY_EXISTS.
   */
  create(spec: Omit<CreatableTopic, 'creationId'>, insist = false): void {
    this.seq += 1;
    const requestId = `req-${this.seq}`;
    const topic: CreatableTopic = { ...spec, creationId: `admin-${this.clientNode}-${requestId}` };
    const request: Outstanding = { requestId, topic, attempt: 0, target: this.leaderGuess, timeout: null, insist };
    this.history.requested += 1;
    this.outstanding.set(request.requestId, request);
    this.send(request);
  }

  private send(request: Outstanding): void {
    request.attempt += 1;
    if (request.attempt > adminAttemptsMax && !request.insist) {
      this.outstanding.delete(request.requestId);
      this.history.abandoned += 1;
      return;
    }
    request.target = this.leaderGuess;
    const bytes = encodeEnvelope({
      clusterId: this.clusterId,
      from: { node: this.clientNode, actor: adminActorId },
      to: { node: request.target, actor: controllerActorId },
      kind: 'CreateTopicsRequest',
      payload: encodePayload('CreateTopicsRequest', { requestId: request.requestId, topics: [request.topic] }),
      msgId: `${this.clientNode}:${request.requestId}:${request.attempt}`,
      parentId: '',
    });
    this.transport.send(request.target, bytes);
    request.timeout = this.scheduler.after(adminRequestTimeoutMs, () => {
      request.timeout = null;
      this.nextController();
      this.send(request);
    });
  }

  private receive(bytes: Uint8Array): void {
    const envelope = decodeEnvelope(bytes);
    if (envelope.kind !== 'CreateTopicsResponse') return;
    const body = decodePayload('CreateTopicsResponse', envelope.payload);
    this.tracer.record({ t: this.scheduler.now, node: this.clientNode, actor: adminActorId, kind: envelope.kind, id: envelope.msgId, parent: envelope.parentId, from: `${envelope.from.node}/${envelope.from.actor}` });
    const request = this.outstanding.get(body.requestId);
    // A late answer, or a second copy of one (the network duplicates): only the first answer
    // to an attempt in flight counts, or every copy would start a retry of its own.
    if (request === undefined || request.timeout === null) return;
    this.scheduler.cancel(request.timeout);
    request.timeout = null;
    this.settle(request, body, envelope.from.node);
  }

  private settle(request: Outstanding, body: CreateTopicsResponse, from: number): void {
    if (body.errorCode === ErrorCode.NOT_CONTROLLER) {
      if (body.leaderHint >= 0 && body.leaderHint !== from) this.leaderGuess = body.leaderHint;
      else this.nextController();
      this.scheduler.after(adminRetryBackoffMs, () => this.send(request));
      return;
    }
    this.leaderGuess = from;
    if (request.insist && body.results[0]?.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR) {
      this.scheduler.after(adminRequestTimeoutMs / 2, () => this.send(request));
      return;
    }
    this.outstanding.delete(request.requestId);
    const result = body.results[0];
    if (result === undefined) return;
    if (result.errorCode === ErrorCode.NONE) this.history.acked.set(result.name, result.topicId);
    else if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && request.attempt > 1) this.history.ambiguous += 1;
    else this.history.rejected += 1;
  }

  private nextController(): void {
    const at = this.voters.indexOf(this.leaderGuess);
    this.leaderGuess = this.voters[(at + 1) % this.voters.length]!;
  }
}
