// The transaction APIs of one node's Kafka listener. FindCoordinator (key type 1) names the
// leader of the __transaction_state partition a transactional id hashes to (creating the topic
// on first use, as Kafka does); InitProducerId with a transactional id, AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn go to that partition's transaction coordinator actor on this node
// (actors/txn/coordinator-machine.ts), and a node that is not the coordinator answers
// NOT_COORDINATOR, which sends clients back to FindCoordinator. The coordinator's errors reach
// the client as it answered them, except that a client too old to know PRODUCER_FENCED gets
// INVALID_PRODUCER_EPOCH, as Kafka's KafkaApis does (KIP-588). ACLs as Kafka checks them:
// DESCRIBE on the transactional id to find its coordinator, WRITE on it for everything else,
// WRITE on each topic added to a transaction, READ on the group whose offsets are added.
import type { MetadataImage } from '../../actors/controller/metadata-image.js';
import { AclOperation, ResourceType } from '../../actors/controller/acls.js';
import { ErrorCode } from '../../actors/protocol/errors.js';
import type { ConfigEntry, TxnTopicPartition, WireKind, WireMessages } from '../../actors/protocol/messages.js';
import { transactionStateTopic, txnCoordinatorActorId, txnPartitionFor } from '../../actors/txn/coordinator-machine.js';
import { consumerOffsetsTopic } from '../../actors/group/offsets-topic.js';
import type { DecodedRequest, RequestBody } from './protocol/index.js';
import type { MeshPort } from './mesh-port.js';
import type { Access } from './security.js';
import { splitHostPort } from '../ops/config.js';

export interface TxnApiOptions {
  mesh: MeshPort;
  /** This node's view of the cluster metadata. */
  image: () => MetadataImage | undefined;
  /** Asks the controller to create a topic; resolves with Kafka's error code. */
  createTopic: (name: string, partitions: number, replicationFactor: number, configs: ConfigEntry[], timeoutMs: number) => Promise<{ errorCode: number }>;
  /** The __consumer_offsets partition of a group, for AddOffsetsToTxn. */
  offsetsPartitionOf: (groupId: string) => number;
  /** transaction.state.log.num.partitions */
  transactionStatePartitions: number;
  /** transaction.state.log.replication.factor (capped by the live brokers) */
  transactionStateReplicationFactor: number;
  /** transaction.state.log.min.isr (capped by the replication factor) */
  transactionStateMinIsr: number;
  /** How long a request to a coordinator may take beyond what the coordinator itself allows. */
  meshTimeoutMarginMs: number;
}

/** A transaction request answers with a body for the response encoder (the listener frames it). */
type Body = Record<string, unknown>;

/** Where a FindCoordinator key's coordinator is, or why not (the fields of a v0-3 answer and of a v4 coordinator). */
export interface Located {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

/** The coordinator writes each transition with acks=all (its own writeTimeoutMs, 5 s by default) before it answers. */
const txnRequestMs = 10_000;
/** Kafka's settings for the topic: compacted, 100 MiB segments. */
const transactionStateSegmentBytes = 100 * 1024 * 1024;

/**
 * The error a client of `version` understands: PRODUCER_FENCED exists from InitProducerId v4 and
 * from v2 of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn (Infinity: never, as for
 * TxnOffsetCommit v0-3); older clients handle INVALID_PRODUCER_EPOCH the same way.
 */
export function fencedErrorFor(errorCode: number, version: number, firstVersionWithProducerFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithProducerFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

export class TxnApi {
  private creatingTransactionStateTopic = false;

  constructor(private readonly options: TxnApiOptions) {}

  /** The partition and its leader for a transactional id, or the error a client gets. */
  private coordinatorOf(transactionalId: string): { partition: number; leader: number } | { errorCode: number } {
    const topic = this.options.image()?.topicsByName.get(transactionStateTopic);
    if (topic === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    // The coordinators hash over the partitions the topic has too (actors/broker/broker-machine.ts).
    const partition = txnPartitionFor(transactionalId, topic.partitions.length);
    const leader = topic.partitions[partition]?.leader ?? -1;
    if (leader < 0) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    return { partition, leader };
  }

  /** Creates __transaction_state once, in the background; clients retry meanwhile. */
  private ensureTransactionStateTopic(): void {
    const image = this.options.image();
    if (image === undefined || image.topicsByName.has(transactionStateTopic) || this.creatingTransactionStateTopic) return;
    const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).length;
    if (liveBrokers === 0) return;
    this.creatingTransactionStateTopic = true;
    const replicationFactor = Math.min(this.options.transactionStateReplicationFactor, liveBrokers);
    const minIsr = Math.min(this.options.transactionStateMinIsr, replicationFactor);
    const configs = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.bytes', value: String(transactionStateSegmentBytes) },
      { name: 'min.insync.replicas', value: String(minIsr) },
    ];
    void this.options.createTopic(transactionStateTopic, this.options.transactionStatePartitions, replicationFactor, configs, 30_000)
      .finally(() => { this.creatingTransactionStateTopic = false; });
  }

  /** FindCoordinator with key type 1 (a transaction), for one key. */
  locate(transactionalId: string, access: Access): Located {
    const refused = (errorCode: number, errorMessage: string | null = null): Located => ({ errorCode, errorMessage, nodeId: -1, host: '', port: -1 });
    if (!access.allows(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (transactionalId === '') return refused(ErrorCode.INVALID_REQUEST, 'an empty transactional id');
    const found = this.coordinatorOf(transactionalId);
    if ('errorCode' in found) {
      this.ensureTransactionStateTopic();
      return refused(found.errorCode);
    }
    const broker = this.options.image()?.brokers.get(found.leader);
    if (broker === undefined || broker.fenced) return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: found.leader, ...splitHostPort(broker.listener) };
  }

  /**
   * Sends a request to the transactional id's coordinator on this node. Resolves with its
   * answer, or with the error code to give the client (this node is not the coordinator, or it
   * did not answer in time).
   */
  private async ask<K extends WireKind, R extends WireKind>(
    transactionalId: string, kind: K, body: (requestId: string) => WireMessages[K] & { requestId: string }, answerKind: R,
  ): Promise<WireMessages[R] | { errorCode: number; failed: true }> {
    const found = this.coordinatorOf(transactionalId);
    if ('errorCode' in found) return { errorCode: ErrorCode.NOT_COORDINATOR, failed: true };
    const { mesh } = this.options;
    if (found.leader !== mesh.nodeId) return { errorCode: ErrorCode.NOT_COORDINATOR, failed: true };
    const answer = await mesh.request({ node: mesh.nodeId, actor: txnCoordinatorActorId(found.partition) }, kind, body(mesh.nextRequestId()),
      answerKind, txnRequestMs + this.options.meshTimeoutMarginMs);
    return answer ?? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, failed: true };
  }

  /** InitProducerId with a transactional id (the listener serves the idempotent one itself). */
  async initProducerId(request: Extract<DecodedRequest, { apiKey: 22 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<22>;
    const transactionalId = body.transactionalId ?? '';
    const refused = (errorCode: number): Body => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
    if (!access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const answer = await this.ask(transactionalId, 'InitTxnProducerRequest', (requestId) => ({
      requestId, transactionalId, transactionTimeoutMs: body.transactionTimeoutMs,
      producerId: request.apiVersion >= 3 ? body.producerId : -1, producerEpoch: request.apiVersion >= 3 ? body.producerEpoch : -1,
    }), 'InitTxnProducerResponse');
    const errorCode = fencedErrorFor(answer.errorCode, request.apiVersion, 4);
    if ('failed' in answer || errorCode !== ErrorCode.NONE) return refused(errorCode);
    return { throttleTimeMs: 0, errorCode, producerId: answer.producerId, producerEpoch: answer.producerEpoch };
  }

  /**
   * AddPartitionsToTxn: all or nothing, as in Kafka. A partition the client may not write is
   * TOPIC_AUTHORIZATION_FAILED, one that does not exist UNKNOWN_TOPIC_OR_PARTITION, and then
   * the others are OPERATION_NOT_ATTEMPTED without asking the coordinator.
   */
  async addPartitionsToTxn(request: Extract<DecodedRequest, { apiKey: 24 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<24>;
    const transactionalId = body.v3AndBelowTransactionalId;
    const asked: TxnTopicPartition[] = body.v3AndBelowTopics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
    const answer = (errorOf: (p: TxnTopicPartition) => number): Body => ({
      throttleTimeMs: 0, resultsByTopicV3AndBelow: byTopic(asked, (p) => ({ partitionIndex: p.partition, partitionErrorCode: errorOf(p) })),
    });
    if (!access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const image = this.options.image();
    const refusalOf = (p: TxnTopicPartition): number => {
      if (!access.allows(AclOperation.WRITE, ResourceType.TOPIC, p.topic)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      if (image?.topicsByName.get(p.topic)?.partitions[p.partition] === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return ErrorCode.NONE;
    };
    const refusals = asked.map(refusalOf);
    if (refusals.some((e) => e !== ErrorCode.NONE)) {
      const byPartition = new Map(asked.map((p, i) => [`${p.topic}\u0000${p.partition}`, refusals[i]!]));
      return answer((p) => {
        const errorCode = byPartition.get(`${p.topic}\u0000${p.partition}`) ?? ErrorCode.NONE;
        return errorCode === ErrorCode.NONE ? ErrorCode.OPERATION_NOT_ATTEMPTED : errorCode;
      });
    }
    const result = await this.ask(transactionalId, 'AddPartitionsToTxnRequest', (requestId) => ({
      requestId, transactionalId, producerId: body.v3AndBelowProducerId, producerEpoch: body.v3AndBelowProducerEpoch, partitions: uniquePartitions(asked),
    }), 'AddPartitionsToTxnResponse');
    const errorCode = fencedErrorFor(result.errorCode, request.apiVersion, 2);
    return answer(() => errorCode);
  }

  /**
   * AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction (kafkajs
   * does not retry it, so it must not wait for __consumer_offsets to exist).
   */
  async addOffsetsToTxn(request: Extract<DecodedRequest, { apiKey: 25 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<25>;
    const refused = (errorCode: number): Body => ({ throttleTimeMs: 0, errorCode });
    if (!access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body.transactionalId)) return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId)) return refused(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const partition = this.options.offsetsPartitionOf(body.groupId);
    const answer = await this.ask(body.transactionalId, 'AddPartitionsToTxnRequest', (requestId) => ({
      requestId, transactionalId: body.transactionalId, producerId: body.producerId, producerEpoch: body.producerEpoch,
      partitions: [{ topic: consumerOffsetsTopic, partition }],
    }), 'AddPartitionsToTxnResponse');
    return refused(fencedErrorFor(answer.errorCode, request.apiVersion, 2));
  }

  async endTxn(request: Extract<DecodedRequest, { apiKey: 26 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<26>;
    if (!access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    }
    const answer = await this.ask(body.transactionalId, 'EndTxnRequest', (requestId) => ({
      requestId, transactionalId: body.transactionalId, producerId: body.producerId, producerEpoch: body.producerEpoch, commit: body.committed,
    }), 'EndTxnResponse');
    return { throttleTimeMs: 0, errorCode: fencedErrorFor(answer.errorCode, request.apiVersion, 2) };
  }
}

/** Each partition once, in first-seen order (a client may name one twice). */
function uniquePartitions(partitions: TxnTopicPartition[]): TxnTopicPartition[] {
  const seen = new Set<string>();
  return partitions.filter((p) => {
    const key = `${p.topic}\u0000${p.partition}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Per-partition results grouped under their topics, in first-seen order. */
function byTopic<T>(partitions: TxnTopicPartition[], result: (p: TxnTopicPartition) => T): Array<{ name: string; resultsByPartition: T[] }> {
  const topics = new Map<string, T[]>();
  for (const p of uniquePartitions(partitions)) {
    const list = topics.get(p.topic) ?? [];
    topics.set(p.topic, list);
    list.push(result(p));
  }
  return [...topics].map(([name, resultsByPartition]) => ({ name, resultsByPartition }));
}
