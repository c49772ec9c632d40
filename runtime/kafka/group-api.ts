// The consumer-group APIs of one node's Kafka listener. FindCoordinator names the leader of
// the __consumer_offsets partition a group hashes to (creating the topic on first use, as
// Kafka does; a transactional id's coordinator comes from txn-api.ts); the other group APIs go to that partition's coordinator actor on this node,
// and a node that is not the coordinator answers NOT_COORDINATOR, which sends clients back to
// FindCoordinator. Each API checks the client's ACLs as Kafka's KafkaApis does (READ on the
// group to take part in it, DESCRIBE to look at it, DELETE to delete it; READ on a topic to
// commit its offsets, DESCRIBE to fetch them).
import type { MetadataImage } from '../../actors/controller/metadata-image.js';
import { AclOperation, ResourceType, clusterResourceName } from '../../actors/controller/acls.js';
import type { Access } from './security.js';
import { type Located, fencedErrorFor } from './txn-api.js';
import { ErrorCode } from '../../actors/protocol/errors.js';
import type { ConfigEntry, OffsetEntry, WireKind, WireMessages } from '../../actors/protocol/messages.js';
import { consumerOffsetsTopic, groupCoordinatorActorId, offsetsPartitionFor } from '../../actors/group/offsets-topic.js';
import { ApiKeys, type DecodedRequest, type RequestBody } from './protocol/index.js';
import type { MeshPort } from './mesh-port.js';
import { splitHostPort } from '../ops/config.js';

export interface GroupApiOptions {
  mesh: MeshPort;
  /** This node's view of the cluster metadata. */
  image: () => MetadataImage | undefined;
  /** Asks the controller to create a topic; resolves with Kafka's error code. */
  createTopic: (name: string, partitions: number, replicationFactor: number, configs: ConfigEntry[], timeoutMs: number) => Promise<{ errorCode: number }>;
  /** offsets.topic.num.partitions */
  offsetsTopicPartitions: number;
  /** offsets.topic.replication.factor (capped by the live brokers) */
  offsetsTopicReplicationFactor: number;
  /** How long a request to a coordinator may take beyond what the protocol lets it wait. */
  meshTimeoutMarginMs: number;
  /** FindCoordinator for a transactional id (key type 1): the transaction APIs answer it. */
  locateTxnCoordinator: (transactionalId: string, access: Access) => Located;
}

/** Who sent a request: the group protocol records it per member. */
export interface ClientInfo {
  clientId: string;
  clientHost: string;
}

/** Group requests answer with a body for the response encoder (the listener frames it). */
type Body = Record<string, unknown>;

/** The longest a JoinGroup may wait for its round (a rebalance timeout is capped at this). */
const joinWaitMsMax = 300_000;
/** A SyncGroup waits for the leader's assignment; the coordinator's session bounds it, this bounds us. */
const syncWaitMsMax = 60_000;
const quickRequestMs = 10_000;

const coordinatorKeyGroup = 0;
const coordinatorKeyTransaction = 1;

export class GroupApi {
  private creatingOffsetsTopic = false;

  constructor(private readonly options: GroupApiOptions) {}

  /** The partition and its leader for a group, or the error a client gets. */
  private coordinatorOf(groupId: string): { partition: number; leader: number } | { errorCode: number } {
    const topic = this.options.image()?.topicsByName.get(consumerOffsetsTopic);
    if (topic === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const partition = offsetsPartitionFor(groupId, topic.partitions.length);
    const leader = topic.partitions[partition]?.leader ?? -1;
    if (leader < 0) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    return { partition, leader };
  }

  /** Creates __consumer_offsets once, in the background; clients retry meanwhile. */
  private ensureOffsetsTopic(): void {
    const image = this.options.image();
    if (image === undefined || image.topicsByName.has(consumerOffsetsTopic) || this.creatingOffsetsTopic) return;
    const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).length;
    if (liveBrokers === 0) return;
    this.creatingOffsetsTopic = true;
    const replicationFactor = Math.min(this.options.offsetsTopicReplicationFactor, liveBrokers);
    // Kafka's settings for the topic: compacted, 100 MiB segments.
    const configs = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(100 * 1024 * 1024) }];
    void this.options.createTopic(consumerOffsetsTopic, this.options.offsetsTopicPartitions, replicationFactor, configs, 30_000)
      .finally(() => { this.creatingOffsetsTopic = false; });
  }

  /**
   * The __consumer_offsets partition of a group (AddOffsetsToTxn). Like Kafka's transaction
   * coordinator it needs no topic: before the topic exists (it is created here), the partition
   * is the one offsets.topic.num.partitions will give it.
   */
  offsetsPartitionOf(groupId: string): number {
    const topic = this.options.image()?.topicsByName.get(consumerOffsetsTopic);
    if (topic === undefined) this.ensureOffsetsTopic();
    return offsetsPartitionFor(groupId, topic?.partitions.length ?? this.options.offsetsTopicPartitions);
  }

  findCoordinator(request: Extract<DecodedRequest, { apiKey: 10 }>, access: Access): Body {
    const body = request.body as RequestBody<10>;
    const locate = (key: string, keyType: number): Located => {
      if (keyType === coordinatorKeyTransaction) return this.options.locateTxnCoordinator(key, access);
      if (keyType !== coordinatorKeyGroup) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown coordinator key type ${keyType}`, nodeId: -1, host: '', port: -1 };
      }
      if (!access.allows(AclOperation.DESCRIBE, ResourceType.GROUP, key)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, nodeId: -1, host: '', port: -1 };
      }
      const found = this.coordinatorOf(key);
      if ('errorCode' in found) {
        this.ensureOffsetsTopic();
        return { errorCode: found.errorCode, errorMessage: null, nodeId: -1, host: '', port: -1 };
      }
      const broker = this.options.image()?.brokers.get(found.leader);
      if (broker === undefined || broker.fenced) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, nodeId: -1, host: '', port: -1 };
      return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: found.leader, ...splitHostPort(broker.listener) };
    };
    if (request.apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: body.coordinatorKeys.map((key) => ({ key, ...locate(key, body.keyType) })) };
    }
    return { throttleTimeMs: 0, ...locate(body.key, request.apiVersion >= 1 ? body.keyType : coordinatorKeyGroup) };
  }

  /**
   * Sends a request to the group's coordinator on this node. Resolves with its answer, or
   * with the error code to give the client (this node is not the coordinator, or it did not
   * answer in time).
   */
  private async ask<K extends WireKind, R extends WireKind>(
    groupId: string, kind: K, body: (requestId: string) => WireMessages[K] & { requestId: string }, answerKind: R, waitMs: number,
  ): Promise<WireMessages[R] | { errorCode: number; failed: true }> {
    const found = this.coordinatorOf(groupId);
    if ('errorCode' in found) return { errorCode: found.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ? ErrorCode.NOT_COORDINATOR : found.errorCode, failed: true };
    const { mesh } = this.options;
    if (found.leader !== mesh.nodeId) return { errorCode: ErrorCode.NOT_COORDINATOR, failed: true };
    const answer = await mesh.request({ node: mesh.nodeId, actor: groupCoordinatorActorId(found.partition) }, kind, body(mesh.nextRequestId()),
      answerKind, waitMs + this.options.meshTimeoutMarginMs);
    return answer ?? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, failed: true };
  }

  async joinGroup(request: Extract<DecodedRequest, { apiKey: 11 }>, client: ClientInfo, access: Access): Promise<Body> {
    const body = request.body as RequestBody<11>;
    if (!access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: body.memberId, members: [] };
    }
    const rebalanceTimeoutMs = request.apiVersion >= 1 ? body.rebalanceTimeoutMs : body.sessionTimeoutMs;
    const answer = await this.ask(body.groupId, 'JoinGroupRequest', (requestId) => ({
      requestId, groupId: body.groupId, version: request.apiVersion, memberId: body.memberId, groupInstanceId: body.groupInstanceId ?? '',
      clientId: client.clientId, clientHost: client.clientHost, sessionTimeoutMs: body.sessionTimeoutMs, rebalanceTimeoutMs,
      protocolType: body.protocolType, protocols: body.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    }), 'JoinGroupResponse', Math.min(Math.max(rebalanceTimeoutMs, body.sessionTimeoutMs, 0), joinWaitMsMax));
    if ('failed' in answer) {
      return { throttleTimeMs: 0, errorCode: answer.errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: body.memberId, members: [] };
    }
    return {
      throttleTimeMs: 0, errorCode: answer.errorCode, generationId: answer.generationId, protocolType: nullable(answer.protocolType),
      // Before version 7 the protocol name is not nullable.
      protocolName: request.apiVersion >= 7 ? nullable(answer.protocolName) : answer.protocolName, leader: answer.leader,
      skipAssignment: answer.skipAssignment, memberId: answer.memberId,
      members: answer.members.map((m) => ({ memberId: m.memberId, groupInstanceId: nullable(m.groupInstanceId), metadata: m.metadata })),
    };
  }

  async syncGroup(request: Extract<DecodedRequest, { apiKey: 14 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<14>;
    if (!access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
    }
    const answer = await this.ask(body.groupId, 'SyncGroupRequest', (requestId) => ({
      requestId, groupId: body.groupId, generationId: body.generationId, memberId: body.memberId, groupInstanceId: body.groupInstanceId ?? '',
      protocolType: body.protocolType ?? '', protocolName: body.protocolName ?? '',
      assignments: body.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    }), 'SyncGroupResponse', syncWaitMsMax);
    if ('failed' in answer) return { throttleTimeMs: 0, errorCode: answer.errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
    return {
      throttleTimeMs: 0, errorCode: answer.errorCode, protocolType: nullable(answer.protocolType), protocolName: nullable(answer.protocolName),
      assignment: answer.assignment,
    };
  }

  async heartbeat(request: Extract<DecodedRequest, { apiKey: 12 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<12>;
    if (!access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const answer = await this.ask(body.groupId, 'HeartbeatRequest', (requestId) => ({
      requestId, groupId: body.groupId, generationId: body.generationId, memberId: body.memberId, groupInstanceId: body.groupInstanceId ?? '',
    }), 'HeartbeatResponse', quickRequestMs);
    return { throttleTimeMs: 0, errorCode: answer.errorCode };
  }

  async leaveGroup(request: Extract<DecodedRequest, { apiKey: 13 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<13>;
    if (!access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const members = request.apiVersion >= 3
      ? body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? '', errorCode: 0 }))
      : [{ memberId: body.memberId, groupInstanceId: '', errorCode: 0 }];
    const answer = await this.ask(body.groupId, 'LeaveGroupRequest', (requestId) => ({
      requestId, groupId: body.groupId, version: request.apiVersion, members,
    }), 'LeaveGroupResponse', quickRequestMs);
    if ('failed' in answer) return { throttleTimeMs: 0, errorCode: answer.errorCode, members: [] };
    return {
      throttleTimeMs: 0, errorCode: answer.errorCode,
      members: answer.members.map((m) => ({ memberId: m.memberId, groupInstanceId: nullable(m.groupInstanceId), errorCode: m.errorCode })),
    };
  }

  async offsetCommit(request: Extract<DecodedRequest, { apiKey: 8 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<8>;
    const image = this.options.image();
    const known = (topic: string, partition: number): boolean => image?.topicsByName.get(topic)?.partitions[partition] !== undefined;
    const groupAllowed = access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId);
    const wanted: OffsetEntry[] = [];
    const unknown: OffsetEntry[] = [];
    for (const t of body.topics) {
      for (const p of t.partitions) {
        const entry = {
          topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: request.apiVersion >= 6 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata ?? '', errorCode: 0,
        };
        if (!groupAllowed) unknown.push({ ...entry, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
        else if (!access.allows(AclOperation.READ, ResourceType.TOPIC, t.name)) unknown.push({ ...entry, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        else if (known(t.name, p.partitionIndex)) wanted.push(entry);
        else unknown.push({ ...entry, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      }
    }
    let results: OffsetEntry[] = [];
    if (wanted.length > 0) {
      const answer = await this.ask(body.groupId, 'OffsetCommitRequest', (requestId) => ({
        requestId, groupId: body.groupId, generationId: request.apiVersion >= 1 ? body.generationIdOrMemberEpoch : -1,
        memberId: request.apiVersion >= 1 ? body.memberId : '', groupInstanceId: body.groupInstanceId ?? '', retentionMs: -1, offsets: wanted,
      }), 'OffsetCommitResponse', quickRequestMs);
      results = 'failed' in answer ? wanted.map((o) => ({ ...o, errorCode: answer.errorCode })) : answer.results;
    }
    return { throttleTimeMs: 0, topics: byTopic([...results, ...unknown], (o) => ({ partitionIndex: o.partition, errorCode: o.errorCode })) };
  }

  /**
   * TxnOffsetCommit: offsets written as part of a transaction, to the group's coordinator like
   * OffsetCommit (Kafka checks WRITE on the transactional id first, then READ on the group and
   * on each topic). No version of it knows PRODUCER_FENCED: INVALID_PRODUCER_EPOCH instead.
   */
  async txnOffsetCommit(request: Extract<DecodedRequest, { apiKey: 28 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<28>;
    const image = this.options.image();
    const known = (topic: string, partition: number): boolean => image?.topicsByName.get(topic)?.partitions[partition] !== undefined;
    const refusal = !access.allows(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body.transactionalId) ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !access.allows(AclOperation.READ, ResourceType.GROUP, body.groupId) ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.NONE;
    const wanted: OffsetEntry[] = [];
    const unknown: OffsetEntry[] = [];
    for (const t of body.topics) {
      for (const p of t.partitions) {
        const entry = {
          topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: request.apiVersion >= 2 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata ?? '', errorCode: 0,
        };
        if (refusal !== ErrorCode.NONE) unknown.push({ ...entry, errorCode: refusal });
        else if (!access.allows(AclOperation.READ, ResourceType.TOPIC, t.name)) unknown.push({ ...entry, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        else if (known(t.name, p.partitionIndex)) wanted.push(entry);
        else unknown.push({ ...entry, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      }
    }
    let results: OffsetEntry[] = [];
    if (wanted.length > 0) {
      const answer = await this.ask(body.groupId, 'TxnOffsetCommitRequest', (requestId) => ({
        requestId, transactionalId: body.transactionalId, groupId: body.groupId, producerId: body.producerId, producerEpoch: body.producerEpoch,
        generationId: request.apiVersion >= 3 ? body.generationId : -1, memberId: request.apiVersion >= 3 ? body.memberId : '',
        groupInstanceId: body.groupInstanceId ?? '', offsets: wanted,
      }), 'TxnOffsetCommitResponse', quickRequestMs);
      results = 'failed' in answer ? wanted.map((o) => ({ ...o, errorCode: answer.errorCode })) : answer.results;
    }
    const partitionOut = (o: OffsetEntry) => ({ partitionIndex: o.partition, errorCode: fencedErrorFor(o.errorCode, request.apiVersion, Infinity) });
    return { throttleTimeMs: 0, topics: byTopic([...results, ...unknown], partitionOut) };
  }

  async offsetFetch(request: Extract<DecodedRequest, { apiKey: 9 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<9>;
    const fetchOne = async (groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null) => {
      const asked = (topics ?? []).flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
      const refused = (errorCode: number) => ({ topic: '', partition: 0, offset: -1, leaderEpoch: -1, metadata: '', errorCode });
      if (!access.allows(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
        const errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
        return { errorCode, offsets: request.apiVersion < 2 ? asked.map((p) => ({ ...refused(errorCode), ...p })) : [] };
      }
      const topicAllowed = (topic: string) => access.allows(AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
      const hidden = asked.filter((p) => !topicAllowed(p.topic)).map((p) => ({ ...refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED), ...p }));
      const partitions = asked.filter((p) => topicAllowed(p.topic));
      if (topics !== null && partitions.length === 0 && asked.length > 0) return { errorCode: ErrorCode.NONE, offsets: hidden };
      const answer = await this.ask(groupId, 'OffsetFetchRequest', (requestId) => ({
        requestId, groupId, allPartitions: topics === null, partitions, requireStable: body.requireStable,
      }), 'OffsetFetchResponse', quickRequestMs);
      const errorCode = answer.errorCode;
      // Before version 2 there is no group-level error: each partition carries it.
      const offsets = 'failed' in answer || answer.errorCode !== 0
        ? partitions.map((p) => ({ ...p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: request.apiVersion < 2 ? errorCode : 0 }))
        : answer.offsets.filter((o) => topicAllowed(o.topic));
      return { errorCode, offsets: [...offsets, ...hidden] };
    };
    const partitionOut = (o: OffsetEntry) => ({
      partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: o.errorCode,
    });
    if (request.apiVersion >= 8) {
      const groups = await Promise.all(body.groups.map(async (g) => {
        const { errorCode, offsets } = await fetchOne(g.groupId, g.topics);
        return { groupId: g.groupId, errorCode, topics: byTopic(offsets, partitionOut) };
      }));
      return { throttleTimeMs: 0, groups };
    }
    const { errorCode, offsets } = await fetchOne(body.groupId, body.topics);
    return { throttleTimeMs: 0, errorCode, topics: byTopic(offsets, partitionOut) };
  }

  async describeGroups(request: Extract<DecodedRequest, { apiKey: 15 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<15>;
    const groups = await Promise.all(body.groups.map(async (groupId) => {
      if (!access.allows(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 };
      }
      const answer = await this.ask(groupId, 'DescribeGroupsRequest', (requestId) => ({ requestId, groupIds: [groupId] }), 'DescribeGroupsResponse', quickRequestMs);
      const described = 'failed' in answer ? undefined : answer.groups[0];
      if (described === undefined) {
        const errorCode = 'failed' in answer ? answer.errorCode : ErrorCode.COORDINATOR_NOT_AVAILABLE;
        return { errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 };
      }
      return {
        errorCode: described.errorCode, groupId, groupState: described.state, protocolType: described.protocolType, protocolData: described.protocolName,
        members: described.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: nullable(m.groupInstanceId), clientId: m.clientId, clientHost: m.clientHost,
          memberMetadata: m.metadata, memberAssignment: m.assignment,
        })),
        authorizedOperations: -2147483648,
      };
    }));
    return { throttleTimeMs: 0, groups };
  }

  /** Every group whose coordinator runs on this node (Kafka's ListGroups is per broker). */
  async listGroups(request: Extract<DecodedRequest, { apiKey: 16 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<16>;
    const topic = this.options.image()?.topicsByName.get(consumerOffsetsTopic);
    const { mesh } = this.options;
    const led = (topic?.partitions ?? []).filter((p) => p !== undefined && p.leader === mesh.nodeId).map((p) => p.partition);
    const answers = await Promise.all(led.map((partition) => mesh.request({ node: mesh.nodeId, actor: groupCoordinatorActorId(partition) }, 'ListGroupsRequest', {
      requestId: mesh.nextRequestId(), statesFilter: request.apiVersion >= 4 ? body.statesFilter : [],
    }, 'ListGroupsResponse', quickRequestMs)));
    let errorCode: number = ErrorCode.NONE;
    const groups = [];
    for (const answer of answers) {
      if (answer === null) errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      else if (answer.errorCode !== ErrorCode.NONE) errorCode = answer.errorCode;
      else groups.push(...answer.groups);
    }
    // DESCRIBE on the cluster shows every group; otherwise only the groups the client may describe.
    const everything = access.allows(AclOperation.DESCRIBE, ResourceType.CLUSTER, clusterResourceName);
    const visible = everything ? groups : groups.filter((g) => access.allows(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId));
    return { throttleTimeMs: 0, errorCode, groups: visible.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)) };
  }

  async deleteGroups(request: Extract<DecodedRequest, { apiKey: 42 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<42>;
    const results = await Promise.all(body.groupsNames.map(async (groupId) => {
      if (!access.allows(AclOperation.DELETE, ResourceType.GROUP, groupId)) return { groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
      const answer = await this.ask(groupId, 'DeleteGroupsRequest', (requestId) => ({ requestId, groupIds: [groupId] }), 'DeleteGroupsResponse', quickRequestMs);
      const errorCode = 'failed' in answer ? answer.errorCode : answer.results[0]?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
      return { groupId, errorCode };
    }));
    return { throttleTimeMs: 0, results };
  }

  async offsetDelete(request: Extract<DecodedRequest, { apiKey: 47 }>, access: Access): Promise<Body> {
    const body = request.body as RequestBody<47>;
    if (!access.allows(AclOperation.DELETE, ResourceType.GROUP, body.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const readable = (topic: string) => access.allows(AclOperation.READ, ResourceType.TOPIC, topic);
    const refused = body.topics.filter((t) => !readable(t.name))
      .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })));
    const partitions = body.topics.filter((t) => readable(t.name)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
    if (partitions.length === 0 && refused.length > 0) {
      return { errorCode: 0, throttleTimeMs: 0, topics: byTopic(refused, (o) => ({ partitionIndex: o.partition, errorCode: o.errorCode })) };
    }
    const answer = await this.ask(body.groupId, 'OffsetDeleteRequest', (requestId) => ({ requestId, groupId: body.groupId, partitions }),
      'OffsetDeleteResponse', quickRequestMs);
    if ('failed' in answer || answer.errorCode !== ErrorCode.NONE) return { errorCode: answer.errorCode, throttleTimeMs: 0, topics: [] };
    return { errorCode: 0, throttleTimeMs: 0, topics: byTopic([...answer.results, ...refused], (o) => ({ partitionIndex: o.partition, errorCode: o.errorCode })) };
  }

  /** Whether this request is one of the group APIs this module serves. */
  static serves(apiKey: number): boolean {
    return groupApiKeys.has(apiKey);
  }
}

const groupApiKeys: ReadonlySet<number> = new Set([
  ApiKeys.FindCoordinator, ApiKeys.JoinGroup, ApiKeys.SyncGroup, ApiKeys.Heartbeat, ApiKeys.LeaveGroup, ApiKeys.OffsetCommit,
  ApiKeys.OffsetFetch, ApiKeys.DescribeGroups, ApiKeys.ListGroups, ApiKeys.DeleteGroups, ApiKeys.OffsetDelete, ApiKeys.TxnOffsetCommit,
]);

function nullable(value: string): string | null {
  return value === '' ? null : value;
}

/** Per-partition entries grouped under their topics, in first-seen order. */
function byTopic<T>(entries: OffsetEntry[], partition: (entry: OffsetEntry) => T): Array<{ name: string; partitions: T[] }> {
  const topics = new Map<string, T[]>();
  for (const entry of entries) {
    const list = topics.get(entry.topic) ?? [];
    topics.set(entry.topic, list);
    list.push(partition(entry));
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}
