// The Kafka APIs of one node: decodes a request frame, turns it into messages to this node's
// actors (partition replicas, the controller through the broker's view), and encodes the
// answer. Partition requests go only to replicas this node leads, as in Kafka: a client is
// told NOT_LEADER_OR_FOLLOWER and asks the leader's own listener.
//
// Every request arrives with its connection's security session: a SASL listener serves only
// ApiVersions and the SASL exchange until the client has authenticated, and with an authorizer
// every API checks the principal's ACLs as Kafka's KafkaApis does.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  AclOperation, ResourceType, aclBindingProblem, aclFilterProblem, authorize, clusterResourceName, filterMatches as filterMatchesAcl,
} from '../../actors/controller/acls.js';
import { brokerActorId, type BrokerContext } from '../../actors/broker/broker-machine.js';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import type { MetadataImage } from '../../actors/controller/metadata-image.js';
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import type { AclBinding, ConfigEntry, PartitionRecord, TopicState, UserScramCredentialRecord, WireMessages } from '../../actors/protocol/messages.js';
import { consumerReplicaId, readCommitted, readUncommitted } from '../../actors/protocol/messages.js';
import { unpackAborted } from '../../actors/partition/txn-index.js';
import { topicConfigError } from '../../actors/protocol/topic-configs.js';
import { type PartitionContext, partitionActorId } from '../../actors/partition/partition-machine.js';
import type { NodeKernel } from '../kernel/node-kernel.js';
import { sealBytes } from '../kernel/local-payload.js';
import {
  ApiKeys, type ApiKey, type DecodedRequest, type RequestBody, type ResponseInput, UnsupportedVersionError, decodeRequestFrame,
  encodeApiVersionsFallbackFrame, encodeResponseFrame, encodeResponseFrameChunks, supportedApiVersions,
} from './protocol/index.js';
import { MeshPort } from './mesh-port.js';
import type { ResponseFrame } from './connection.js';
import { GroupApi } from './group-api.js';
import { TxnApi } from './txn-api.js';
import { transactionStatePartitionsDefault, transactionStateTopic } from '../../actors/txn/coordinator-machine.js';
import { consumerOffsetsTopic, offsetsTopicPartitionsDefault } from '../../actors/group/offsets-topic.js';
import { splitHostPort } from '../ops/config.js';
import {
  type Access, type ClientSession, type ListenerSecurity, SaslAuthenticator, fullAccess, newClientSession,
} from './security.js';
import { credentialFromSaltedPassword, scramMechanismCodes, scramMechanismOfCode } from './scram.js';
import { type LogDirsSource, describeLogDir, logDirsFilterOf } from './log-dirs.js';

/** What a connection may ask before it has authenticated on a SASL listener (anything else closes it, as in Kafka). */
const preAuthenticationApis: ReadonlySet<number> = new Set([ApiKeys.ApiVersions, ApiKeys.SaslHandshake, ApiKeys.SaslAuthenticate]);

/** A listener without security settings: PLAINTEXT, no SASL, no authorizer. */
const openSecurity: ListenerSecurity = {
  protocol: 'PLAINTEXT', tls: null, saslMechanisms: [], bootstrapUsers: new Map(), superUsers: new Set(), authorizer: null,
};

export interface KafkaApiOptions {
  kernel: NodeKernel;
  clusterId: string;
  logger: Logger;
  autoCreateTopics: boolean;
  numPartitions: number;
  defaultReplicationFactor: number;
  /** How long a request to an actor may take beyond what the client allowed. */
  meshTimeoutMarginMs: number;
  /** The host endpoint name answers come back to (one per KafkaApi on a node). */
  endpoint?: string;
  /** offsets.topic.num.partitions (default 50) */
  offsetsTopicPartitions?: number;
  /** offsets.topic.replication.factor (default 3, capped by the live brokers) */
  offsetsTopicReplicationFactor?: number;
  /** transaction.state.log.num.partitions (default 50) */
  transactionStatePartitions?: number;
  /** transaction.state.log.replication.factor (default 3, capped by the live brokers) */
  transactionStateReplicationFactor?: number;
  /** transaction.state.log.min.isr (default 2, capped by the replication factor) */
  transactionStateMinIsr?: number;
  /** Where requests and topic traffic are counted for /metrics (runtime/ops/node-metrics.ts); absent: nowhere. */
  metrics?: KafkaApiMetrics | null;
  /** TLS, SASL and the authorizer (docs/operations.md#kafka-listener-security); absent: an open PLAINTEXT listener. */
  security?: ListenerSecurity;
  /** The node's log directory and open logs, for DescribeLogDirs; absent: it lists no directory. */
  logDirs?: LogDirsSource;
}

/** What the Kafka APIs report to /metrics. `api` is Kafka's API name, or 'unknown' for a frame that could not be read. */
export interface KafkaApiMetrics {
  requestStarted(api: string): void;
  requestDone(api: string, durationSeconds: number, failed: boolean): void;
  /** Record batches a leader here accepted from a producer (acks=0: sent to it). */
  produced(topic: string, records: Uint8Array): void;
  /** Record batches handed to a consumer. */
  fetched(topic: string, records: Uint8Array): void;
}

/** A client may not hold a fetch or a produce longer than this, whatever it asks. */
export const clientWaitMsMax = 60_000;

type Answer = ResponseFrame | null;

/** How long InitProducerId waits for the broker (a block may have to come from the controller). */
const producerIdTimeoutMs = 5000;

export class KafkaApi {
  private readonly mesh: MeshPort;
  private readonly groups: GroupApi;
  private readonly txns: TxnApi;
  private readonly security: ListenerSecurity;
  private readonly sasl: SaslAuthenticator;

  constructor(private readonly options: KafkaApiOptions) {
    this.security = options.security ?? openSecurity;
    this.sasl = new SaslAuthenticator(this.security, (user, mechanism) => this.image()?.scramCredentials.get(user)?.get(scramMechanismCodes[mechanism]));
    this.mesh = new MeshPort(options.kernel, options.endpoint);
    this.groups = new GroupApi({
      mesh: this.mesh,
      image: () => this.image(),
      createTopic: (name, partitions, replicationFactor, configs, timeoutMs) => this.createTopic(name, partitions, replicationFactor, configs, timeoutMs),
      offsetsTopicPartitions: options.offsetsTopicPartitions ?? offsetsTopicPartitionsDefault,
      offsetsTopicReplicationFactor: options.offsetsTopicReplicationFactor ?? 3,
      meshTimeoutMarginMs: options.meshTimeoutMarginMs,
      locateTxnCoordinator: (transactionalId, access) => this.txns.locate(transactionalId, access),
    });
    this.txns = new TxnApi({
      mesh: this.mesh,
      image: () => this.image(),
      createTopic: (name, partitions, replicationFactor, configs, timeoutMs) => this.createTopic(name, partitions, replicationFactor, configs, timeoutMs),
      offsetsPartitionOf: (groupId) => this.groups.offsetsPartitionOf(groupId),
      transactionStatePartitions: options.transactionStatePartitions ?? transactionStatePartitionsDefault,
      transactionStateReplicationFactor: options.transactionStateReplicationFactor ?? 3,
      transactionStateMinIsr: options.transactionStateMinIsr ?? 2,
      meshTimeoutMarginMs: options.meshTimeoutMarginMs,
    });
  }

  close(): void {
    this.mesh.close();
  }

  /**
   * Handles one request frame (without its size prefix) of the connection whose session is
   * given (absent: an anonymous PLAINTEXT client); resolves with the response frame.
   */
  async handle(frame: Uint8Array, session: ClientSession = newClientSession('PLAINTEXT', '')): Promise<Answer> {
    const metrics = this.options.metrics;
    if (metrics === undefined || metrics === null) return this.answer(frame, session, () => {});
    const startedMs = performance.now();
    let api = 'unknown';
    const seconds = () => (performance.now() - startedMs) / 1000;
    try {
      const answer = await this.answer(frame, session, (name) => {
        api = name;
        metrics.requestStarted(name);
      });
      metrics.requestDone(api, seconds(), false);
      return answer;
    } catch (error) {
      metrics.requestDone(api, seconds(), true);
      throw error;
    }
  }

  private async answer(frame: Uint8Array, session: ClientSession, decoded: (api: string) => void): Promise<Answer> {
    let request: DecodedRequest;
    try {
      request = decodeRequestFrame(frame);
    } catch (error) {
      if (error instanceof UnsupportedVersionError && error.apiKey === ApiKeys.ApiVersions) {
        decoded('ApiVersions');
        return encodeApiVersionsFallbackFrame(error.correlationId);
      }
      throw error;
    }
    decoded(request.apiName);
    if (session.principal === null && !preAuthenticationApis.has(request.apiKey)) {
      throw new Error(`${request.apiName} before SASL authentication`);
    }
    const access = this.accessOf(session);
    if (GroupApi.serves(request.apiKey)) return this.reply(request as never, await this.group(request, session, access) as never);
    return this.dispatch(request, session, access);
  }

  /** The authorizer bound to one session: super users and listeners without an authorizer may do everything. */
  private accessOf(session: ClientSession): Access {
    const authorizer = this.security.authorizer;
    const principal = session.principal;
    if (authorizer === null || principal === null || this.security.superUsers.has(principal)) return fullAccess;
    return {
      allows: (operation, resourceType, resourceName) => authorize(this.image()?.acls ?? [], {
        principal, host: session.clientHost, operation, resourceType, resourceName,
      }, authorizer.allowEveryoneIfNoAclFound),
    };
  }

  private group(request: DecodedRequest, session: ClientSession, access: Access): Promise<Record<string, unknown>> | Record<string, unknown> {
    const groups = this.groups;
    switch (request.apiKey) {
      case ApiKeys.FindCoordinator: return groups.findCoordinator(request, access);
      case ApiKeys.JoinGroup: return groups.joinGroup(request, { clientId: request.header.clientId ?? '', clientHost: `/${session.clientHost}` }, access);
      case ApiKeys.SyncGroup: return groups.syncGroup(request, access);
      case ApiKeys.Heartbeat: return groups.heartbeat(request, access);
      case ApiKeys.LeaveGroup: return groups.leaveGroup(request, access);
      case ApiKeys.OffsetCommit: return groups.offsetCommit(request, access);
      case ApiKeys.OffsetFetch: return groups.offsetFetch(request, access);
      case ApiKeys.DescribeGroups: return groups.describeGroups(request, access);
      case ApiKeys.ListGroups: return groups.listGroups(request, access);
      case ApiKeys.DeleteGroups: return groups.deleteGroups(request, access);
      case ApiKeys.OffsetDelete: return groups.offsetDelete(request, access);
      case ApiKeys.TxnOffsetCommit: return groups.txnOffsetCommit(request, access);
      default: throw new Error(`${request.apiName} is not a group API`);
    }
  }

  private reply<K extends ApiKey>(request: { apiKey: K; apiVersion: number; header: { correlationId: number } }, body: ResponseInput<K>): Uint8Array {
    return encodeResponseFrame(request.apiKey, request.apiVersion, request.header.correlationId, body);
  }

  /** As reply, with the records of the body written as chunks of their own: they must not change until sent. */
  private replyChunks<K extends ApiKey>(request: { apiKey: K; apiVersion: number; header: { correlationId: number } }, body: ResponseInput<K>): ResponseFrame {
    return encodeResponseFrameChunks(request.apiKey, request.apiVersion, request.header.correlationId, body);
  }

  private dispatch(request: DecodedRequest, session: ClientSession, access: Access): Promise<Answer> | Answer {
    switch (request.apiKey) {
      case ApiKeys.ApiVersions:
        return this.reply(request, { errorCode: 0, apiKeys: supportedApiVersions(), throttleTimeMs: 0 });
      case ApiKeys.SaslHandshake:
        return this.reply(request, this.sasl.handshake(session, (request.body as RequestBody<17>).mechanism));
      case ApiKeys.SaslAuthenticate:
        return this.saslAuthenticate(request, session);
      case ApiKeys.Metadata:
        return this.metadata(request, access);
      case ApiKeys.Produce:
        return this.produce(request, access);
      case ApiKeys.Fetch:
        return this.fetch(request, access);
      case ApiKeys.ListOffsets:
        return this.listOffsets(request, access);
      case ApiKeys.OffsetForLeaderEpoch:
        return this.offsetForLeaderEpoch(request, access);
      case ApiKeys.CreateTopics:
        return this.createTopics(request, access);
      case ApiKeys.DeleteTopics:
        return this.deleteTopics(request, access);
      case ApiKeys.CreatePartitions:
        return this.createPartitions(request, access);
      case ApiKeys.InitProducerId:
        return this.initProducerId(request, access);
      case ApiKeys.AddPartitionsToTxn:
        return this.txns.addPartitionsToTxn(request, access).then((body) => this.reply(request, body as never));
      case ApiKeys.AddOffsetsToTxn:
        return this.txns.addOffsetsToTxn(request, access).then((body) => this.reply(request, body as never));
      case ApiKeys.EndTxn:
        return this.txns.endTxn(request, access).then((body) => this.reply(request, body as never));
      case ApiKeys.DescribeCluster:
        return this.describeCluster(request);
      case ApiKeys.DescribeConfigs:
        return this.describeConfigs(request, access);
      case ApiKeys.DescribeLogDirs:
        return this.describeLogDirs(request, access);
      case ApiKeys.DescribeAcls:
        return this.describeAcls(request, access);
      case ApiKeys.CreateAcls:
        return this.createAcls(request, access);
      case ApiKeys.DeleteAcls:
        return this.deleteAcls(request, access);
      case ApiKeys.DescribeUserScramCredentials:
        return this.describeUserScramCredentials(request, access);
      case ApiKeys.AlterUserScramCredentials:
        return this.alterUserScramCredentials(request, access);
      default:
        throw new Error(`${request.apiName} v${request.apiVersion} is not served`);
    }
  }

  private saslAuthenticate(request: Extract<DecodedRequest, { apiKey: 36 }>, session: ClientSession): Answer {
    const answer = this.sasl.authenticate(session, (request.body as RequestBody<36>).authBytes);
    if (session.failed !== null) this.options.logger.info({ client: session.clientHost, mechanism: session.mechanism }, session.failed);
    else if (session.principal !== null) this.options.logger.debug({ client: session.clientHost, principal: session.principal }, 'client authenticated');
    return this.reply(request, { ...answer, sessionLifetimeMs: 0 });
  }

  // -------------------------------------------------------------------------------------
  // What the node's broker knows.

  private broker(): BrokerContext | undefined {
    return this.options.kernel.snapshotOf(brokerActorId)?.context as BrokerContext | undefined;
  }

  private image(): MetadataImage | undefined {
    return this.broker()?.image;
  }

  private liveBrokers(image: MetadataImage | undefined): Array<{ nodeId: number; host: string; port: number }> {
    if (image === undefined) return [];
    return [...image.brokers.values()]
      .filter((b) => !b.fenced)
      .sort((a, b) => a.brokerId - b.brokerId)
      .map((b) => ({ nodeId: b.brokerId, ...splitHostPort(b.listener) }));
  }

  private partitionOf(topic: string, partition: number): { topic: TopicState; record: PartitionRecord } | { errorCode: number } {
    const state = this.image()?.topicsByName.get(topic);
    if (state === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    const record = state.partitions[partition];
    if (record === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    if (record.leader < 0) return { errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
    if (record.leader !== this.options.kernel.nodeId) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    return { topic: state, record };
  }

  private replica(topic: string, partition: number): { node: number; actor: string } {
    return { node: this.options.kernel.nodeId, actor: partitionActorId(topic, partition) };
  }

  // -------------------------------------------------------------------------------------
  // Metadata and admin.

  private async metadata(request: Extract<DecodedRequest, { apiKey: 3 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<3>;
    const image = this.image();
    const describable = (name: string) => access.allows(AclOperation.DESCRIBE, ResourceType.TOPIC, name);
    const allTopics = body.topics === null || (request.apiVersion === 0 && body.topics.length === 0);
    // Kafka leaves the topics a client may not describe out of an all-topics answer.
    const names = allTopics
      ? [...(image?.topicsByName.keys() ?? [])].sort().filter(describable)
      : (body.topics ?? []).map((t) => t.name ?? '');
    const allowCreate = this.options.autoCreateTopics && (request.apiVersion < 4 || body.allowAutoTopicCreation);
    const topics = [];
    for (const name of names) {
      const state = image?.topicsByName.get(name);
      if (!describable(name)) {
        topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, partitions: [] });
        continue;
      }
      if (state === undefined) {
        if (allowCreate && !this.mayCreateTopic(access, name)) {
          topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, partitions: [] });
          continue;
        }
        if (allowCreate && name !== '') void this.createTopic(name, this.options.numPartitions, this.options.defaultReplicationFactor, [], 30_000);
        topics.push({ errorCode: allowCreate ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
        continue;
      }
      topics.push({
        errorCode: 0,
        name,
        topicId: state.topicId,
        isInternal: name.startsWith('__'),
        partitions: state.partitions.filter((p) => p !== undefined).map((p) => ({
          errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
          partitionIndex: p.partition,
          leaderId: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicas,
          isrNodes: p.isr,
          offlineReplicas: p.replicas.filter((id) => image?.brokers.get(id)?.fenced !== false),
        })),
      });
    }
    return this.reply(request, {
      throttleTimeMs: 0,
      brokers: this.liveBrokers(image),
      clusterId: this.options.clusterId,
      controllerId: this.broker()?.controllerNode ?? -1,
      topics,
    });
  }

  private mayCreateTopic(access: Access, name: string): boolean {
    return access.allows(AclOperation.CREATE, ResourceType.CLUSTER, clusterResourceName) || access.allows(AclOperation.CREATE, ResourceType.TOPIC, name);
  }

  private describeCluster(request: Extract<DecodedRequest, { apiKey: 60 }>): Answer {
    const image = this.image();
    return this.reply(request, {
      throttleTimeMs: 0, errorCode: 0, errorMessage: null, clusterId: this.options.clusterId, controllerId: this.broker()?.controllerNode ?? -1,
      brokers: this.liveBrokers(image).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: null })),
    });
  }

  /**
   * Sends a request to the active controller, following NOT_CONTROLLER hints (a short pause
   * when there is none: an election is on) and trying the next voter on silence, until
   * `timeoutMs` is spent. Resolves with the controller's answer, or null.
   */
  private async askController<
    K extends 'CreateTopicsRequest' | 'DeleteTopicsRequest' | 'CreatePartitionsRequest' | 'AlterUserScramCredentialsRequest' | 'CreateAclsRequest' | 'DeleteAclsRequest',
    R extends 'CreateTopicsResponse' | 'DeleteTopicsResponse' | 'CreatePartitionsResponse' | 'AlterUserScramCredentialsResponse' | 'CreateAclsResponse' | 'DeleteAclsResponse',
  >(
    kind: K, body: (requestId: string) => WireMessages[K], answerKind: R, timeoutMs: number,
  ): Promise<WireMessages[R] | null> {
    const deadline = Date.now() + timeoutMs;
    let target = this.broker()?.controllerNode ?? 1;
    while (Date.now() < deadline) {
      const requestBody = body(this.mesh.nextRequestId());
      const answer = await this.mesh.request({ node: target, actor: controllerActorId }, kind, requestBody, answerKind,
        Math.min(3000, Math.max(1, deadline - Date.now())));
      if (answer !== null && answer.errorCode !== ErrorCode.NOT_CONTROLLER) return answer;
      target = answer !== null && answer.leaderHint >= 0 ? answer.leaderHint : nextVoter(this.broker(), target);
      if (answer !== null && answer.leaderHint < 0) await sleep(100);
    }
    return null;
  }

  /**
   * Asks the active controller to create a topic; resolves with Kafka's error code. Every
   * resend carries the same creation id, so a resend of a create that was written (its answer
   * late, or lost with a controller) is answered NONE, not TOPIC_ALREADY_EXISTS.
   */
  private async createTopic(name: string, numPartitions: number, replicationFactor: number, configs: ConfigEntry[], timeoutMs: number): Promise<{ errorCode: number; offset: number }> {
    const creationId = randomUUID();
    const answer = await this.askController('CreateTopicsRequest', (requestId) => ({
      requestId, topics: [{ name, numPartitions, replicationFactor, configs, creationId }],
    }), 'CreateTopicsResponse', timeoutMs);
    if (answer === null) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, offset: 0 };
    return { errorCode: answer.results[0]?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: answer.offset };
  }

  /** Waits (bounded) until this node's metadata has applied `offset`, so a Metadata request right after sees it. */
  private async awaitMetadata(offset: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.image()?.offset ?? 0) < offset && Date.now() < deadline) await sleep(10);
  }

  private async createTopics(request: Extract<DecodedRequest, { apiKey: 19 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<19>;
    const results = await Promise.all(body.topics.map(async (topic) => {
      if (!this.mayCreateTopic(access, topic.name)) {
        return { name: topic.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' };
      }
      const numPartitions = topic.numPartitions < 0 ? this.options.numPartitions : topic.numPartitions;
      const replicationFactor = topic.replicationFactor < 0 ? this.options.defaultReplicationFactor : topic.replicationFactor;
      if (topic.assignments.length > 0) {
        return { name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'manual replica assignment is not supported' };
      }
      const configs = topic.configs.map((c) => ({ name: c.name, value: c.value ?? '' }));
      // The controller answers INVALID_CONFIG without words; the same pure check names the key.
      const configProblem = topicConfigError(configs);
      if (body.validateOnly) {
        if (configProblem !== null) return { name: topic.name, errorCode: ErrorCode.INVALID_CONFIG, errorMessage: configProblem };
        return { name: topic.name, errorCode: 0, errorMessage: null, numPartitions, replicationFactor };
      }
      const created = await this.createTopic(topic.name, numPartitions, replicationFactor, configs, Math.max(1000, body.timeoutMs));
      if (created.errorCode === 0) await this.awaitMetadata(created.offset, Math.max(1000, body.timeoutMs));
      const topicId = this.image()?.topicsByName.get(topic.name)?.topicId;
      const errorMessage = created.errorCode === 0 ? null
        : created.errorCode === ErrorCode.INVALID_CONFIG && configProblem !== null ? configProblem : errorName(created.errorCode);
      return {
        name: topic.name, topicId, errorCode: created.errorCode, errorMessage,
        numPartitions, replicationFactor, configs: [],
      };
    }));
    return this.reply(request, { throttleTimeMs: 0, topics: results });
  }

  /** CreatePartitions: through the active controller; answered once this node's metadata has the new partitions. */
  private async createPartitions(request: Extract<DecodedRequest, { apiKey: 37 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<37>;
    const refused = (name: string, errorCode: number, errorMessage: string) => ({ name, errorCode, errorMessage });
    const alterable = (name: string) => access.allows(AclOperation.ALTER, ResourceType.TOPIC, name);
    const asked = body.topics.filter((t) => t.assignments === null && alterable(t.name));
    const manual = [
      ...body.topics.filter((t) => !alterable(t.name)).map((t) => refused(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')),
      ...body.topics.filter((t) => t.assignments !== null && alterable(t.name)).map((t) => refused(t.name, ErrorCode.INVALID_REQUEST, 'manual replica assignment is not supported')),
    ];
    let results: Array<{ name: string; errorCode: number; errorMessage: string | null }>;
    if (body.validateOnly) {
      results = asked.map((t) => {
        const current = this.image()?.topicsByName.get(t.name)?.partitions.length;
        if (current === undefined) return refused(t.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic');
        if (t.count <= current) return refused(t.name, ErrorCode.INVALID_PARTITIONS, `the topic has ${current} partitions`);
        return { name: t.name, errorCode: 0, errorMessage: null };
      });
    } else if (asked.length === 0) {
      results = [];
    } else {
      const timeoutMs = Math.max(1000, body.timeoutMs);
      const answer = await this.askController('CreatePartitionsRequest', (requestId) => ({
        requestId, topics: asked.map((t) => ({ name: t.name, count: t.count })),
      }), 'CreatePartitionsResponse', timeoutMs);
      if (answer !== null) await this.awaitMetadata(answer.offset, timeoutMs);
      results = asked.map((t, i) => {
        const errorCode = answer?.results[i]?.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
        return { name: t.name, errorCode, errorMessage: errorCode === 0 ? null : errorName(errorCode) };
      });
    }
    return this.reply(request, { throttleTimeMs: 0, results: [...results, ...manual] });
  }

  private async deleteTopics(request: Extract<DecodedRequest, { apiKey: 20 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<20>;
    const asked = request.apiVersion >= 6 ? body.topics.map((t) => t.name ?? '') : body.topicNames;
    const names = asked.filter((name) => access.allows(AclOperation.DELETE, ResourceType.TOPIC, name));
    const refused = asked.filter((name) => !names.includes(name)).map((name) => ({ name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }));
    const answer = names.length === 0 ? { results: [] }
      : await this.askController('DeleteTopicsRequest', (requestId) => ({ requestId, names }), 'DeleteTopicsResponse', Math.max(1000, body.timeoutMs));
    const results = answer?.results.map((r) => ({ name: r.name, errorCode: r.errorCode })) ?? null;
    return this.reply(request, {
      throttleTimeMs: 0,
      responses: [...(results ?? names.map((name) => ({ name, errorCode: ErrorCode.REQUEST_TIMED_OUT }))), ...refused].map((r) => ({ ...r, errorMessage: null })),
    });
  }

  private describeConfigs(request: Extract<DecodedRequest, { apiKey: 32 }>, access: Access): Answer {
    const body = request.body as RequestBody<32>;
    const topicResource = 2;
    const brokerResource = 4;
    const results = body.resources.map((resource) => {
      const refused = (errorCode: number) => ({ errorCode, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] });
      if (resource.resourceType === topicResource && !access.allows(AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, resource.resourceName)) {
        return refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      }
      if (resource.resourceType === brokerResource && !access.allows(AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, clusterResourceName)) {
        return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      }
      const topic = resource.resourceType === topicResource ? this.image()?.topicsByName.get(resource.resourceName) : undefined;
      if (topic === undefined) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
      }
      const wanted = resource.configurationKeys;
      return {
        errorCode: 0, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName,
        configs: topic.configs
          .filter((c) => wanted === null || wanted.includes(c.name))
          .map((c) => ({ name: c.name, value: c.value, readOnly: false, isDefault: false, configSource: 1, isSensitive: false, synonyms: [] })),
      };
    });
    return this.reply(request, { throttleTimeMs: 0, results });
  }

  /** This node's log directory, as Kafka's: CLUSTER DESCRIBE, else CLUSTER_AUTHORIZATION_FAILED (v3+) and no directories. */
  private async describeLogDirs(request: Extract<DecodedRequest, { apiKey: 35 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<35>;
    if (!access.allows(AclOperation.DESCRIBE, ResourceType.CLUSTER, clusterResourceName)) {
      return this.reply(request, { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] });
    }
    const source = this.options.logDirs;
    if (source === undefined) return this.reply(request, { throttleTimeMs: 0, errorCode: 0, results: [] });
    const highWatermarkOf = (store: string): number | null => {
      const context = this.options.kernel.snapshotOf(store)?.context as PartitionContext | undefined;
      return context?.highWatermark ?? null;
    };
    const result = await describeLogDir(source, logDirsFilterOf(body.topics), highWatermarkOf);
    return this.reply(request, { throttleTimeMs: 0, errorCode: 0, results: [result] });
  }

  /**
   * An idempotent producer's id comes from this node's broker, out of a block the controller
   * committed (so no id is ever handed out twice, across restarts and nodes alike); a
   * transactional producer's from its transaction coordinator (txn-api.ts). An idempotent
   * producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (here: an existing
   * one), as in Kafka.
   */
  private async initProducerId(request: Extract<DecodedRequest, { apiKey: 22 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<22>;
    const refuse = (errorCode: number): Answer => this.reply(request, { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
    if (body.transactionalId !== null && body.transactionalId !== '') return this.reply(request, await this.txns.initProducerId(request, access) as never);
    const idempotentAllowed = access.allows(AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, clusterResourceName)
      || [...(this.image()?.topicsByName.keys() ?? [])].some((topic) => access.allows(AclOperation.WRITE, ResourceType.TOPIC, topic));
    if (!idempotentAllowed) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const answer = await this.mesh.request({ node: this.options.kernel.nodeId, actor: brokerActorId }, 'ProducerIdRequest',
      { requestId: this.mesh.nextRequestId() }, 'ProducerIdResponse', producerIdTimeoutMs);
    if (answer === null) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (answer.errorCode !== ErrorCode.NONE) return refuse(answer.errorCode);
    return this.reply(request, { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: answer.producerId, producerEpoch: 0 });
  }

  // -------------------------------------------------------------------------------------
  // ACLs and SCRAM credentials: stored in the metadata log by the active controller, read
  // from this node's metadata image.

  private aclApisRefusal(access: Access, operation: number): { errorCode: number; errorMessage: string } | null {
    if (this.security.authorizer === null) return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: 'No Authorizer is configured.' };
    if (!access.allows(operation, ResourceType.CLUSTER, clusterResourceName)) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' };
    return null;
  }

  private describeAcls(request: Extract<DecodedRequest, { apiKey: 29 }>, access: Access): Answer {
    const body = request.body as RequestBody<29>;
    const refusal = this.aclApisRefusal(access, AclOperation.DESCRIBE);
    if (refusal !== null) return this.reply(request, { throttleTimeMs: 0, ...refusal, resources: [] });
    const filter: AclBinding = {
      resourceType: body.resourceTypeFilter, resourceName: body.resourceNameFilter ?? '', patternType: body.patternTypeFilter,
      principal: body.principalFilter ?? '', host: body.hostFilter ?? '', operation: body.operation, permissionType: body.permissionType,
    };
    const problem = aclFilterProblem(filter);
    if (problem !== null) return this.reply(request, { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] });
    const resources = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: Array<Record<string, unknown>> }>();
    for (const acl of (this.image()?.acls ?? []).filter((a) => filterMatchesAcl(filter, a))) {
      const key = `${acl.resourceType}\u0000${acl.patternType}\u0000${acl.resourceName}`;
      const resource = resources.get(key) ?? { resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType, acls: [] };
      resources.set(key, resource);
      resource.acls.push({ principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType });
    }
    return this.reply(request, { throttleTimeMs: 0, errorCode: 0, errorMessage: null, resources: [...resources.values()] as never });
  }

  private async createAcls(request: Extract<DecodedRequest, { apiKey: 30 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<30>;
    const refusal = this.aclApisRefusal(access, AclOperation.ALTER);
    if (refusal !== null) return this.reply(request, { throttleTimeMs: 0, results: body.creations.map(() => refusal) });
    const acls: AclBinding[] = body.creations.map((c) => ({
      resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType, principal: c.principal, host: c.host,
      operation: c.operation, permissionType: c.permissionType,
    }));
    const problems = acls.map(aclBindingProblem);
    const valid = acls.filter((_, i) => problems[i] === null);
    const answer = valid.length === 0 ? null
      : await this.askController('CreateAclsRequest', (requestId) => ({ requestId, acls: valid }), 'CreateAclsResponse', controllerRequestMs);
    if (answer !== null) await this.awaitMetadata(answer.offset, controllerRequestMs);
    let next = 0;
    const results = problems.map((problem) => {
      if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
      const errorCode = answer?.results[next++]?.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
      return { errorCode, errorMessage: errorCode === 0 ? null : errorName(errorCode) };
    });
    return this.reply(request, { throttleTimeMs: 0, results });
  }

  private async deleteAcls(request: Extract<DecodedRequest, { apiKey: 31 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<31>;
    const refusal = this.aclApisRefusal(access, AclOperation.ALTER);
    if (refusal !== null) return this.reply(request, { throttleTimeMs: 0, filterResults: body.filters.map(() => ({ ...refusal, matchingAcls: [] })) });
    const filters: AclBinding[] = body.filters.map((f) => ({
      resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter ?? '', patternType: f.patternTypeFilter, principal: f.principalFilter ?? '',
      host: f.hostFilter ?? '', operation: f.operation, permissionType: f.permissionType,
    }));
    const answer = filters.length === 0 ? null
      : await this.askController('DeleteAclsRequest', (requestId) => ({ requestId, filters }), 'DeleteAclsResponse', controllerRequestMs);
    if (answer !== null) await this.awaitMetadata(answer.offset, controllerRequestMs);
    const filterResults = filters.map((filter, i) => {
      const result = answer?.results[i];
      if (result === undefined) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null, matchingAcls: [] };
      return {
        errorCode: result.errorCode, errorMessage: result.errorCode === 0 ? null : aclFilterProblem(filter) ?? errorName(result.errorCode),
        matchingAcls: result.matching.map((a) => ({ errorCode: 0, errorMessage: null, ...a })),
      };
    });
    return this.reply(request, { throttleTimeMs: 0, filterResults });
  }

  private describeUserScramCredentials(request: Extract<DecodedRequest, { apiKey: 50 }>, access: Access): Answer {
    const body = request.body as RequestBody<50>;
    if (!access.allows(AclOperation.DESCRIBE, ResourceType.CLUSTER, clusterResourceName)) {
      return this.reply(request, { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', results: [] });
    }
    const stored = this.image()?.scramCredentials ?? new Map<string, Map<number, UserScramCredentialRecord>>();
    const asked = body.users === null ? [...stored.keys()].sort() : body.users.map((u) => u.name);
    const results = asked.map((user) => {
      if (asked.filter((u) => u === user).length > 1) {
        return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request', credentialInfos: [] };
      }
      const credentials = stored.get(user);
      if (credentials === undefined) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist', credentialInfos: [] };
      return {
        user, errorCode: 0, errorMessage: null,
        credentialInfos: [...credentials.values()].sort((a, b) => a.mechanism - b.mechanism).map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })),
      };
    });
    return this.reply(request, { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results });
  }

  /** The salted passwords become StoredKey and ServerKey here: the metadata log never holds what a client could log in with. */
  private async alterUserScramCredentials(request: Extract<DecodedRequest, { apiKey: 51 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<51>;
    const users = [...new Set([...body.deletions.map((d) => d.name), ...body.upsertions.map((u) => u.name)])];
    if (!access.allows(AclOperation.ALTER, ResourceType.CLUSTER, clusterResourceName)) {
      return this.reply(request, { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' })) });
    }
    const refused = new Map<string, { errorCode: number; errorMessage: string }>();
    const upsertions: UserScramCredentialRecord[] = [];
    for (const u of body.upsertions) {
      const mechanism = scramMechanismOfCode(u.mechanism);
      if (mechanism === undefined) {
        refused.set(u.name, { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: `Unknown SCRAM mechanism ${u.mechanism}` });
        continue;
      }
      if (u.saltedPassword.length !== (mechanism === 'SCRAM-SHA-256' ? 32 : 64) || u.salt.length === 0) {
        refused.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `a ${mechanism} salted password has ${mechanism === 'SCRAM-SHA-256' ? 32 : 64} bytes and needs a salt` });
        continue;
      }
      const credential = credentialFromSaltedPassword(mechanism, u.saltedPassword, u.salt, u.iterations);
      upsertions.push({ name: u.name, mechanism: u.mechanism, ...credential });
    }
    const deletions = body.deletions.filter((d) => !refused.has(d.name)).map((d) => ({ name: d.name, mechanism: d.mechanism }));
    const kept = upsertions.filter((u) => !refused.has(u.name));
    const answer = kept.length + deletions.length === 0 ? null
      : await this.askController('AlterUserScramCredentialsRequest', (requestId) => ({ requestId, upsertions: kept, deletions }), 'AlterUserScramCredentialsResponse', controllerRequestMs);
    if (answer !== null) await this.awaitMetadata(answer.offset, controllerRequestMs);
    const results = users.map((user) => {
      const refusal = refused.get(user);
      if (refusal !== undefined) return { user, ...refusal };
      const errorCode = answer?.results.find((r) => r.user === user)?.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
      return { user, errorCode, errorMessage: errorCode === 0 ? null : scramErrorMessage(errorCode) };
    });
    return this.reply(request, { throttleTimeMs: 0, results });
  }

  // -------------------------------------------------------------------------------------
  // Produce, fetch, offsets.

  private async produce(request: Extract<DecodedRequest, { apiKey: 0 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<0>;
    const clientTimeoutMs = Math.min(Math.max(0, body.timeoutMs), clientWaitMsMax);
    const timeoutMs = clientTimeoutMs + this.options.meshTimeoutMarginMs;
    // A transactional producer needs WRITE on its transactional id (Produce v3+), for every partition at once, as in Kafka.
    const transactionalId = body.transactionalId ?? '';
    const refusedId = transactionalId !== '' && !access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
    const responses = await Promise.all(body.topicData.map(async (topic) => ({
      name: topic.name,
      partitionResponses: await Promise.all(topic.partitionData.map(async (data) => {
        const failed = (errorCode: number, errorMessage: string | null = null) => ({
          index: data.index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage,
        });
        if (refusedId) return failed(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        // Internal topics are written by their coordinators only, as in Kafka.
        if (!access.allows(AclOperation.WRITE, ResourceType.TOPIC, topic.name)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        if (topic.name === consumerOffsetsTopic || topic.name === transactionStateTopic) return failed(ErrorCode.INVALID_TOPIC_EXCEPTION, 'internal topic');
        const found = this.partitionOf(topic.name, data.index);
        if ('errorCode' in found) return failed(found.errorCode);
        if (data.records === null || data.records.length === 0) return failed(ErrorCode.CORRUPT_MESSAGE, 'no records');
        const produce = {
          requestId: this.mesh.nextRequestId(), topic: topic.name, partition: data.index, acks: body.acks, timeoutMs: clientTimeoutMs,
          // Handed to the leader uncopied: its log writes the offsets into them in place.
          records: sealBytes(data.records), leaderEpoch: -1, transactionalId: body.transactionalId ?? '',
        };
        if (body.acks === 0) {
          this.mesh.send(this.replica(topic.name, data.index), 'ProduceRequest', produce);
          this.options.metrics?.produced(topic.name, data.records);
          return failed(0);
        }
        const answer = await this.mesh.request(this.replica(topic.name, data.index), 'ProduceRequest', produce, 'ProduceResponse', timeoutMs);
        if (answer === null) return failed(ErrorCode.REQUEST_TIMED_OUT);
        if (answer.errorCode === ErrorCode.NONE) this.options.metrics?.produced(topic.name, data.records);
        return {
          index: data.index, errorCode: answer.errorCode, baseOffset: answer.baseOffset, logAppendTimeMs: -1, logStartOffset: answer.logStartOffset,
          recordErrors: [], errorMessage: answer.errorMessage === '' ? null : answer.errorMessage,
        };
      })),
    })));
    if (body.acks === 0) return null;
    return this.reply(request, { responses, throttleTimeMs: 0 });
  }

  /**
   * Fetch: every partition is asked at once without waiting; if nothing came back and the
   * client allows waiting, they are asked again with its max wait, and the answer goes out
   * as soon as one partition has records (or all have waited).
   */
  private async fetch(request: Extract<DecodedRequest, { apiKey: 1 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<1>;
    const maxWaitMs = Math.min(Math.max(0, body.maxWaitMs), clientWaitMsMax);
    type Item = { topic: string; partition: number; fetchOffset: number; maxBytes: number; currentLeaderEpoch: number };
    const items: Item[] = body.topics.flatMap((t) => t.partitions.map((p) => ({
      topic: t.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: Math.max(0, p.partitionMaxBytes), currentLeaderEpoch: p.currentLeaderEpoch,
    })));
    const readable = new Set(items.map((i) => i.topic).filter((topic) => access.allows(AclOperation.READ, ResourceType.TOPIC, topic)));
    const ask = (item: Item, maxWaitMs: number) => {
      if (!readable.has(item.topic)) return Promise.resolve(emptyFetch(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      const found = this.partitionOf(item.topic, item.partition);
      if ('errorCode' in found) return Promise.resolve(emptyFetch(found.errorCode));
      return this.mesh.request(this.replica(item.topic, item.partition), 'FetchRequest', {
        requestId: this.mesh.nextRequestId(), topic: item.topic, partition: item.partition, replicaId: consumerReplicaId,
        fetchOffset: item.fetchOffset, lastFetchedEpoch: -1, currentLeaderEpoch: item.currentLeaderEpoch, maxBytes: item.maxBytes,
        maxWaitMs, minBytes: 1, isolationLevel: isolationOf(body.isolationLevel),
      }, 'FetchResponse', maxWaitMs + this.options.meshTimeoutMarginMs).then((answer) => answer ?? emptyFetch(ErrorCode.REQUEST_TIMED_OUT));
    };
    let answers = await Promise.all(items.map((item) => ask(item, 0)));
    const hasData = (list: typeof answers): boolean => list.some((a) => a.records.length > 0 || a.errorCode !== 0);
    if (!hasData(answers) && maxWaitMs > 0 && items.length > 0) {
      answers = await firstWithData(items.map((item) => ask(item, maxWaitMs)), (a) => a.records.length > 0 || a.errorCode !== 0, answers);
    }
    const byTopic = new Map<string, Array<Record<string, unknown>>>();
    items.forEach((item, i) => {
      const a = answers[i]!;
      if (a.records.length > 0) this.options.metrics?.fetched(item.topic, a.records);
      const partitions = byTopic.get(item.topic) ?? [];
      byTopic.set(item.topic, partitions);
      partitions.push({
        partitionIndex: item.partition, errorCode: a.errorCode, highWatermark: a.highWatermark, lastStableOffset: a.lastStableOffset,
        logStartOffset: a.logStartOffset, preferredReadReplica: -1, records: a.records,
        // Kafka sends null to read_uncommitted consumers and the list (maybe empty) to read_committed ones.
        abortedTransactions: request.apiVersion >= 4 && body.isolationLevel === readCommitted ? unpackAborted(a.abortedTransactions) : null,
      });
    });
    return this.replyChunks(request, {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions as never })),
    });
  }

  private async listOffsets(request: Extract<DecodedRequest, { apiKey: 2 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<2>;
    const topics = await Promise.all(body.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(topic.partitions.map(async (p) => {
        const found = access.allows(AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name)
          ? this.partitionOf(topic.name, p.partitionIndex) : { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        const answer = 'errorCode' in found ? null : await this.mesh.request(this.replica(topic.name, p.partitionIndex), 'ListOffsetsRequest', {
          requestId: this.mesh.nextRequestId(), topic: topic.name, partition: p.partitionIndex, timestamp: p.timestamp, currentLeaderEpoch: p.currentLeaderEpoch,
          isolationLevel: isolationOf(body.isolationLevel),
        }, 'ListOffsetsResponse', 5000 + this.options.meshTimeoutMarginMs);
        const errorCode = 'errorCode' in found ? found.errorCode : answer === null ? ErrorCode.REQUEST_TIMED_OUT : answer.errorCode;
        const offset = answer?.offset ?? -1;
        return {
          partitionIndex: p.partitionIndex, errorCode, oldStyleOffsets: errorCode === 0 && offset >= 0 ? [offset] : [],
          timestamp: answer?.timestamp ?? -1, offset, leaderEpoch: answer?.leaderEpoch ?? -1,
        };
      })),
    })));
    return this.reply(request, { throttleTimeMs: 0, topics });
  }

  private async offsetForLeaderEpoch(request: Extract<DecodedRequest, { apiKey: 23 }>, access: Access): Promise<Answer> {
    const body = request.body as RequestBody<23>;
    const topics = await Promise.all(body.topics.map(async (topic) => ({
      topic: topic.topic,
      partitions: await Promise.all(topic.partitions.map(async (p) => {
        const found = access.allows(AclOperation.DESCRIBE, ResourceType.TOPIC, topic.topic)
          ? this.partitionOf(topic.topic, p.partition) : { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        if ('errorCode' in found) return { errorCode: found.errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        const answer = await this.mesh.request(this.replica(topic.topic, p.partition), 'OffsetForLeaderEpochRequest', {
          requestId: this.mesh.nextRequestId(), topic: topic.topic, partition: p.partition, replicaId: consumerReplicaId,
          currentLeaderEpoch: p.currentLeaderEpoch, leaderEpoch: p.leaderEpoch,
        }, 'OffsetForLeaderEpochResponse', 5000 + this.options.meshTimeoutMarginMs);
        if (answer === null) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        return { errorCode: answer.errorCode, partition: p.partition, leaderEpoch: answer.leaderEpoch, endOffset: answer.endOffset };
      })),
    })));
    return this.reply(request, { throttleTimeMs: 0, topics });
  }
}

/** How long an ACL or credential change may take at the controller. */
const controllerRequestMs = 10_000;

function scramErrorMessage(errorCode: number): string {
  if (errorCode === ErrorCode.RESOURCE_NOT_FOUND) return 'Attempt to delete a user credential that does not exist';
  if (errorCode === ErrorCode.DUPLICATE_RESOURCE) return 'A user credential cannot be altered twice in the same request';
  if (errorCode === ErrorCode.UNACCEPTABLE_CREDENTIAL) return 'Iterations must be in [4096, 16384], with a salt';
  return errorName(errorCode);
}

/** A Fetch or ListOffsets isolation level as the partition takes it: read_committed (1), else read_uncommitted (0). */
function isolationOf(level: number): number {
  return level === readCommitted ? readCommitted : readUncommitted;
}

function emptyFetch(errorCode: number) {
  return { errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: new Uint8Array(0), abortedTransactions: new Uint8Array(0) };
}

/** Resolves with all results once every promise settles, or early once one satisfies `enough` (the rest keep `fallback`). */
function firstWithData<T>(promises: Array<Promise<T>>, enough: (value: T) => boolean, fallback: T[]): Promise<T[]> {
  return new Promise((resolve) => {
    const results = fallback.slice();
    let pending = promises.length;
    let done = false;
    promises.forEach((promise, i) => {
      void promise.then((value) => {
        results[i] = value;
        pending -= 1;
        if (done) return;
        if (enough(value) || pending === 0) {
          done = true;
          resolve(results);
        }
      });
    });
  });
}

function nextVoter(broker: BrokerContext | undefined, current: number): number {
  const voters = broker?.config.voters ?? [current];
  return voters[(voters.indexOf(current) + 1) % voters.length]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
