// TypeScript shapes of the protobuf messages in schema.ts (field names camelCased, as
// protobufjs decodes them). Events are named as facts arriving at an actor.

export interface Address {
  node: number;
  actor: string;
}

export interface VoteRequest {
  term: number;
  candidateId: number;
  lastLogIndex: number;
  lastLogTerm: number;
  preVote: boolean;
}
export interface VoteResponse {
  term: number;
  voterId: number;
  voteGranted: boolean;
  preVote: boolean;
}

export interface LeaderChangeRecord { leaderId: number; term: number }
export interface RegisterBrokerRecord { brokerId: number; incarnationId: string; listener: string }
export interface FenceBrokerRecord { brokerId: number; brokerEpoch: number }
export interface UnfenceBrokerRecord { brokerId: number; brokerEpoch: number }
export interface ConfigEntry { name: string; value: string }
/**
 * creationId: the create request's own id (empty when the creator gave none), so that a
 * resent create of this topic is answered as the first one was, not TOPIC_ALREADY_EXISTS.
 */
export interface TopicRecord { name: string; topicId: string; configs: ConfigEntry[]; creationId: string }
export interface PartitionRecord {
  topicId: string;
  partition: number;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}
export interface PartitionChangeRecord { topicId: string; partition: number; isr: number[]; leader: number }
export interface RemoveTopicRecord { topicId: string }
/** A block of producer ids handed to a broker: the next block starts at nextProducerId (KRaft's ProducerIdsRecord). */
export interface ProducerIdsRecord { brokerId: number; brokerEpoch: number; nextProducerId: number }
/** A SCRAM credential; `mechanism` is Kafka's number (1 SCRAM-SHA-256, 2 SCRAM-SHA-512). */
export interface UserScramCredentialRecord {
  name: string;
  mechanism: number;
  salt: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
  iterations: number;
}
export interface RemoveUserScramCredentialRecord { name: string; mechanism: number }
/** One ACL in Kafka's numbers (actors/controller/acls.ts names them). */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export type MetadataRecord =
  | { leaderChange: LeaderChangeRecord }
  | { registerBroker: RegisterBrokerRecord }
  | { fenceBroker: FenceBrokerRecord }
  | { unfenceBroker: UnfenceBrokerRecord }
  | { topic: TopicRecord }
  | { partition: PartitionRecord }
  | { partitionChange: PartitionChangeRecord }
  | { removeTopic: RemoveTopicRecord }
  | { producerIds: ProducerIdsRecord }
  | { userScramCredential: UserScramCredentialRecord }
  | { removeUserScramCredential: RemoveUserScramCredentialRecord }
  | { acl: AclBinding }
  | { removeAcl: AclBinding };

export interface LogEntry {
  index: number;
  term: number;
  /** Applied together: an entry is the unit of atomicity. */
  records: MetadataRecord[];
}

export interface BrokerState {
  brokerId: number;
  brokerEpoch: number;
  incarnationId: string;
  listener: string;
  fenced: boolean;
}
export interface TopicState {
  name: string;
  topicId: string;
  partitions: PartitionRecord[];
  configs: ConfigEntry[];
  /** As in its TopicRecord. */
  creationId: string;
}
/** The wire form of a metadata state (snapshots); see actors/controller/metadata-image.ts. */
export interface MetadataImageMessage {
  offset: number;
  brokers: BrokerState[];
  topics: TopicState[];
  /** The first producer id no broker has been given yet. */
  nextProducerId: number;
  scramCredentials: UserScramCredentialRecord[];
  acls: AclBinding[];
}

export interface AppendEntriesRequest {
  term: number;
  leaderId: number;
  prevLogIndex: number;
  prevLogTerm: number;
  entries: LogEntry[];
  leaderCommit: number;
}
export interface AppendEntriesResponse {
  term: number;
  followerId: number;
  success: boolean;
  matchIndex: number;
  conflictIndex: number;
}
export interface InstallSnapshotRequest {
  term: number;
  leaderId: number;
  lastIncludedIndex: number;
  lastIncludedTerm: number;
  image: MetadataImageMessage;
}
export interface InstallSnapshotResponse {
  term: number;
  followerId: number;
  matchIndex: number;
}

export interface BrokerRegistrationRequest { brokerId: number; incarnationId: string; listener: string }
export interface BrokerRegistrationResponse { errorCode: number; brokerEpoch: number; leaderHint: number }
export interface BrokerHeartbeatRequest { brokerId: number; brokerEpoch: number; metadataOffset: number; wantShutDown: boolean }
export interface BrokerHeartbeatResponse { errorCode: number; fenced: boolean; leaderHint: number; shouldShutDown: boolean }
export interface ControlledShutdownRequest { requestId: string }
export interface ControlledShutdownResponse { requestId: string; errorCode: number }
export interface MetadataFetchRequest { brokerId: number; fromOffset: number; maxWaitMs: number }
export interface MetadataFetchResponse {
  errorCode: number;
  leaderHint: number;
  entries: LogEntry[];
  snapshot: MetadataImageMessage | null;
  hasSnapshot: boolean;
}
/**
 * creationId: the same on every resend of one create and never used for another (empty: the
 * creator does not resend); a create whose topic exists with this creationId succeeds.
 */
export interface CreatableTopic { name: string; numPartitions: number; replicationFactor: number; configs: ConfigEntry[]; creationId: string }
export interface CreateTopicsRequest { requestId: string; topics: CreatableTopic[] }
export interface CreatableTopicResult { name: string; errorCode: number; topicId: string }
export interface CreateTopicsResponse {
  requestId: string;
  errorCode: number;
  leaderHint: number;
  results: CreatableTopicResult[];
  offset: number;
}
export interface AlterUserScramCredentialsRequest {
  requestId: string;
  upsertions: UserScramCredentialRecord[];
  deletions: RemoveUserScramCredentialRecord[];
}
export interface UserResult { user: string; errorCode: number }
export interface AlterUserScramCredentialsResponse { requestId: string; errorCode: number; leaderHint: number; results: UserResult[]; offset: number }
export interface CreateAclsRequest { requestId: string; acls: AclBinding[] }
export interface CreateAclsResponse { requestId: string; errorCode: number; leaderHint: number; results: Array<{ errorCode: number }>; offset: number }
/** Filters: resource and pattern type, operation and permission 1 (ANY) match anything, '' any name/principal/host. */
export interface DeleteAclsRequest { requestId: string; filters: AclBinding[] }
export interface DeleteAclsResponse {
  requestId: string;
  errorCode: number;
  leaderHint: number;
  results: Array<{ errorCode: number; matching: AclBinding[] }>;
  offset: number;
}
export interface DeleteTopicsRequest { requestId: string; names: string[] }
export interface DeleteTopicsResponse {
  requestId: string;
  errorCode: number;
  leaderHint: number;
  results: CreatableTopicResult[];
}
export interface CreatePartitionsRequest { requestId: string; topics: Array<{ name: string; count: number }> }
export interface CreatePartitionsResponse {
  requestId: string;
  errorCode: number;
  leaderHint: number;
  results: CreatableTopicResult[];
  offset: number;
}
/** A broker asks the controller for a block of producer ids (Kafka's AllocateProducerIds, KIP-730). */
export interface AllocateProducerIdsRequest { requestId: string; brokerId: number; brokerEpoch: number }
export interface AllocateProducerIdsResponse { requestId: string; errorCode: number; leaderHint: number; producerIdStart: number; producerIdLen: number }
/** An actor or the Kafka listener of a node asks its broker for one producer id. */
export interface ProducerIdRequest { requestId: string }
export interface ProducerIdResponse { requestId: string; errorCode: number; producerId: number }
/** A topic partition of a transaction. */
export interface TxnTopicPartition { topic: string; partition: number }
/** InitProducerId with a transactional id, from the Kafka listener to the id's transaction coordinator. */
export interface InitTxnProducerRequest {
  requestId: string;
  transactionalId: string;
  transactionTimeoutMs: number;
  /** The producer's current id and epoch (KIP-360), or -1 and -1. */
  producerId: number;
  producerEpoch: number;
}
export interface InitTxnProducerResponse { requestId: string; errorCode: number; producerId: number; producerEpoch: number }
/** AddPartitionsToTxn (and AddOffsetsToTxn, as the offsets partition of its group). */
export interface AddPartitionsToTxnRequest {
  requestId: string;
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  partitions: TxnTopicPartition[];
}
export interface AddPartitionsToTxnResponse { requestId: string; errorCode: number }
export interface EndTxnRequest { requestId: string; transactionalId: string; producerId: number; producerEpoch: number; commit: boolean }
export interface EndTxnResponse { requestId: string; errorCode: number }
/**
 * A transaction marker for one partition (Kafka's WriteTxnMarkers), from a transaction
 * coordinator through its node's broker, which knows the partition's leader, to that leader;
 * the answer goes to replyTo.
 */
export interface WriteTxnMarkerRequest {
  requestId: string;
  replyTo: Address;
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  /** The coordinator's epoch: the leader epoch of its __transaction_state partition. */
  coordinatorEpoch: number;
}
export interface WriteTxnMarkerResponse { requestId: string; errorCode: number; topic: string; partition: number }
/**
 * TxnOffsetCommit, from the Kafka listener to the group's coordinator: offsets written to
 * __consumer_offsets as part of a transaction, visible to OffsetFetch only once the
 * transaction's commit marker is written there (TxnMarkerWritten).
 */
export interface TxnOffsetCommitRequest {
  requestId: string;
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  /** -1 with an empty member id: no group generation check (TxnOffsetCommit v0-v2). */
  generationId: number;
  memberId: string;
  groupInstanceId: string;
  offsets: OffsetEntry[];
}
export interface TxnOffsetCommitResponse { requestId: string; results: OffsetEntry[] }
/**
 * KIP-890: before the first transactional write of a producer to a partition, its leader asks
 * the transaction's coordinator (through its node's broker, which knows where that is) whether
 * the partition is in the producer's open transaction; NONE if it is. The answer goes to replyTo.
 */
export interface VerifyTxnPartitionRequest {
  requestId: string;
  replyTo: Address;
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topic: string;
  partition: number;
}
export interface VerifyTxnPartitionResponse { requestId: string; errorCode: number; topic: string; partition: number }
/**
 * From the leader of a __consumer_offsets partition to the group coordinator beside it, once
 * a transaction marker it appended is committed (below the high watermark): the coordinator
 * makes that producer's pending offsets visible (commit) or drops them (abort).
 */
export interface TxnMarkerWritten {
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  /** The marker's offset. */
  offset: number;
}
export interface DescribeQuorumRequest { requestId: string }
export interface DescribeQuorumResponse {
  requestId: string;
  nodeId: number;
  role: string;
  term: number;
  leaderId: number;
  commitIndex: number;
  lastIndex: number;
}

export interface PartitionStateChange {
  topic: string;
  topicId: string;
  partition: number;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  configs: ConfigEntry[];
  removed: boolean;
}
export interface AlterPartitionRequest {
  brokerId: number;
  brokerEpoch: number;
  topicId: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
  topic: string;
  requestId: string;
}
export interface AlterPartitionResponse {
  errorCode: number;
  leaderHint: number;
  topicId: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
  topic: string;
  requestId: string;
}
export const acksAll = -1;
export interface ProduceRequest {
  requestId: string;
  topic: string;
  partition: number;
  /** 0, 1 or -1 (all) */
  acks: number;
  timeoutMs: number;
  records: Uint8Array;
  /** What the client believes the leader epoch is, or -1. */
  leaderEpoch: number;
  /** A transactional producer's id (Produce v3+), '' otherwise: the leader checks a transaction's first write here with its coordinator. */
  transactionalId: string;
}
export interface ProduceResponse {
  requestId: string;
  errorCode: number;
  baseOffset: number;
  logStartOffset: number;
  leaderHint: number;
  leaderEpoch: number;
  errorMessage: string;
  topic: string;
  partition: number;
}
/** replicaId of a consumer's fetch. */
export const consumerReplicaId = -1;
export interface FetchRequest {
  requestId: string;
  topic: string;
  partition: number;
  replicaId: number;
  /** Where to read from: a follower's log end, a consumer's position. */
  fetchOffset: number;
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  maxBytes: number;
  maxWaitMs: number;
  minBytes: number;
  /** Consumers only: 0 read_uncommitted (up to the high watermark), 1 read_committed (up to the last stable offset). */
  isolationLevel: number;
  /**
   * A follower's durable end: every offset below it is on its disk (fetchOffset may be ahead:
   * a follower fetches on while its fsync runs). Only this counts toward the high watermark.
   * Absent (0) from consumers.
   */
  durableOffset?: number;
}
export const readUncommitted = 0;
export const readCommitted = 1;
export interface FetchResponse {
  requestId: string;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  records: Uint8Array;
  leaderHint: number;
  leaderEpoch: number;
  topic: string;
  partition: number;
  errorMessage: string;
  /** Below it no transaction is open (equal to the high watermark when none is); -1 in refusals. */
  lastStableOffset: number;
  /**
   * read_committed only: the aborted transactions the records overlap, as Kafka's Fetch lists
   * them, packed as 16-byte entries (producer id, first offset: big-endian int64 each) so
   * that the message stays flat (runtime/kernel/local-payload.ts); see actors/partition/txn-index.ts.
   */
  abortedTransactions: Uint8Array;
  /**
   * Every assigned replica, in the ISR or not, has fetched past this offset (the leader's
   * tombstone horizon): followers' cleaners remove expired tombstones only below it. -1 in refusals.
   */
  tombstoneHorizon: number;
}
export interface OffsetForLeaderEpochRequest {
  requestId: string;
  topic: string;
  partition: number;
  replicaId: number;
  currentLeaderEpoch: number;
  leaderEpoch: number;
}
export const latestTimestamp = -1;
export const earliestTimestamp = -2;
/** ListOffsets v7+ (KIP-734): the offset of the record with the largest timestamp. */
export const maxTimestampQuery = -3;
export interface ListOffsetsRequest {
  requestId: string;
  topic: string;
  partition: number;
  timestamp: number;
  currentLeaderEpoch: number;
  /** read_committed (1): "latest" is the last stable offset rather than the high watermark. */
  isolationLevel: number;
}
export interface ListOffsetsResponse {
  requestId: string;
  errorCode: number;
  offset: number;
  timestamp: number;
  leaderEpoch: number;
  leaderHint: number;
  topic: string;
  partition: number;
}
export interface OffsetForLeaderEpochResponse {
  requestId: string;
  errorCode: number;
  leaderEpoch: number;
  endOffset: number;
  leaderHint: number;
  topic: string;
  partition: number;
}

// ---- Consumer groups. Kafka's nullable strings are '' here (see schema.ts). ----
export interface GroupProtocolEntry { name: string; metadata: Uint8Array }
export interface JoinGroupRequest {
  requestId: string;
  groupId: string;
  version: number;
  memberId: string;
  groupInstanceId: string;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocolEntry[];
}
export interface JoinGroupMemberEntry { memberId: string; groupInstanceId: string; metadata: Uint8Array }
export interface JoinGroupResponse {
  requestId: string;
  errorCode: number;
  generationId: number;
  protocolType: string;
  protocolName: string;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: JoinGroupMemberEntry[];
}
export interface SyncGroupRequest {
  requestId: string;
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string;
  protocolType: string;
  protocolName: string;
  assignments: Array<{ memberId: string; assignment: Uint8Array }>;
}
export interface SyncGroupResponse { requestId: string; errorCode: number; protocolType: string; protocolName: string; assignment: Uint8Array }
export interface HeartbeatRequest { requestId: string; groupId: string; generationId: number; memberId: string; groupInstanceId: string }
export interface HeartbeatResponse { requestId: string; errorCode: number }
export interface LeaveGroupMemberEntry { memberId: string; groupInstanceId: string; errorCode: number }
export interface LeaveGroupRequest { requestId: string; groupId: string; version: number; members: LeaveGroupMemberEntry[] }
export interface LeaveGroupResponse { requestId: string; errorCode: number; members: LeaveGroupMemberEntry[] }
export interface OffsetEntry { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string; errorCode: number }
export interface TopicPartitionEntry { topic: string; partition: number }
export interface OffsetCommitRequest {
  requestId: string;
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string;
  retentionMs: number;
  offsets: OffsetEntry[];
}
export interface OffsetCommitResponse { requestId: string; results: OffsetEntry[] }
export interface OffsetFetchRequest {
  requestId: string;
  groupId: string;
  allPartitions: boolean;
  partitions: TopicPartitionEntry[];
  /** KIP-447 (OffsetFetch v7+): a partition with an offset commit still pending answers UNSTABLE_OFFSET_COMMIT. */
  requireStable: boolean;
}
export interface OffsetFetchResponse { requestId: string; errorCode: number; offsets: OffsetEntry[] }
export interface DescribedMember {
  memberId: string; groupInstanceId: string; clientId: string; clientHost: string; metadata: Uint8Array; assignment: Uint8Array;
}
export interface DescribedGroup { errorCode: number; groupId: string; state: string; protocolType: string; protocolName: string; members: DescribedMember[] }
export interface DescribeGroupsRequest { requestId: string; groupIds: string[] }
export interface DescribeGroupsResponse { requestId: string; groups: DescribedGroup[] }
export interface ListedGroup { groupId: string; protocolType: string; groupState: string }
export interface ListGroupsRequest { requestId: string; statesFilter: string[] }
export interface ListGroupsResponse { requestId: string; errorCode: number; groups: ListedGroup[] }
export interface GroupResult { groupId: string; errorCode: number }
export interface DeleteGroupsRequest { requestId: string; groupIds: string[] }
export interface DeleteGroupsResponse { requestId: string; results: GroupResult[] }
export interface OffsetDeleteRequest { requestId: string; groupId: string; partitions: TopicPartitionEntry[] }
export interface OffsetDeleteResponse { requestId: string; errorCode: number; results: OffsetEntry[] }

/** Every message kind that crosses a transport, with its payload type. */
export interface WireMessages {
  VoteRequest: VoteRequest;
  VoteResponse: VoteResponse;
  AppendEntriesRequest: AppendEntriesRequest;
  AppendEntriesResponse: AppendEntriesResponse;
  InstallSnapshotRequest: InstallSnapshotRequest;
  InstallSnapshotResponse: InstallSnapshotResponse;
  BrokerRegistrationRequest: BrokerRegistrationRequest;
  BrokerRegistrationResponse: BrokerRegistrationResponse;
  BrokerHeartbeatRequest: BrokerHeartbeatRequest;
  BrokerHeartbeatResponse: BrokerHeartbeatResponse;
  MetadataFetchRequest: MetadataFetchRequest;
  MetadataFetchResponse: MetadataFetchResponse;
  CreateTopicsRequest: CreateTopicsRequest;
  CreateTopicsResponse: CreateTopicsResponse;
  DeleteTopicsRequest: DeleteTopicsRequest;
  DeleteTopicsResponse: DeleteTopicsResponse;
  AlterUserScramCredentialsRequest: AlterUserScramCredentialsRequest;
  AlterUserScramCredentialsResponse: AlterUserScramCredentialsResponse;
  CreateAclsRequest: CreateAclsRequest;
  CreateAclsResponse: CreateAclsResponse;
  DeleteAclsRequest: DeleteAclsRequest;
  DeleteAclsResponse: DeleteAclsResponse;
  CreatePartitionsRequest: CreatePartitionsRequest;
  CreatePartitionsResponse: CreatePartitionsResponse;
  DescribeQuorumRequest: DescribeQuorumRequest;
  DescribeQuorumResponse: DescribeQuorumResponse;
  PartitionStateChange: PartitionStateChange;
  AlterPartitionRequest: AlterPartitionRequest;
  AlterPartitionResponse: AlterPartitionResponse;
  ProduceRequest: ProduceRequest;
  ProduceResponse: ProduceResponse;
  FetchRequest: FetchRequest;
  FetchResponse: FetchResponse;
  OffsetForLeaderEpochRequest: OffsetForLeaderEpochRequest;
  OffsetForLeaderEpochResponse: OffsetForLeaderEpochResponse;
  ListOffsetsRequest: ListOffsetsRequest;
  ListOffsetsResponse: ListOffsetsResponse;
  ControlledShutdownRequest: ControlledShutdownRequest;
  ControlledShutdownResponse: ControlledShutdownResponse;
  JoinGroupRequest: JoinGroupRequest;
  JoinGroupResponse: JoinGroupResponse;
  SyncGroupRequest: SyncGroupRequest;
  SyncGroupResponse: SyncGroupResponse;
  HeartbeatRequest: HeartbeatRequest;
  HeartbeatResponse: HeartbeatResponse;
  LeaveGroupRequest: LeaveGroupRequest;
  LeaveGroupResponse: LeaveGroupResponse;
  OffsetCommitRequest: OffsetCommitRequest;
  OffsetCommitResponse: OffsetCommitResponse;
  OffsetFetchRequest: OffsetFetchRequest;
  OffsetFetchResponse: OffsetFetchResponse;
  DescribeGroupsRequest: DescribeGroupsRequest;
  DescribeGroupsResponse: DescribeGroupsResponse;
  ListGroupsRequest: ListGroupsRequest;
  ListGroupsResponse: ListGroupsResponse;
  DeleteGroupsRequest: DeleteGroupsRequest;
  DeleteGroupsResponse: DeleteGroupsResponse;
  OffsetDeleteRequest: OffsetDeleteRequest;
  OffsetDeleteResponse: OffsetDeleteResponse;
  AllocateProducerIdsRequest: AllocateProducerIdsRequest;
  AllocateProducerIdsResponse: AllocateProducerIdsResponse;
  ProducerIdRequest: ProducerIdRequest;
  ProducerIdResponse: ProducerIdResponse;
  InitTxnProducerRequest: InitTxnProducerRequest;
  InitTxnProducerResponse: InitTxnProducerResponse;
  AddPartitionsToTxnRequest: AddPartitionsToTxnRequest;
  AddPartitionsToTxnResponse: AddPartitionsToTxnResponse;
  EndTxnRequest: EndTxnRequest;
  EndTxnResponse: EndTxnResponse;
  WriteTxnMarkerRequest: WriteTxnMarkerRequest;
  WriteTxnMarkerResponse: WriteTxnMarkerResponse;
  TxnOffsetCommitRequest: TxnOffsetCommitRequest;
  TxnOffsetCommitResponse: TxnOffsetCommitResponse;
  TxnMarkerWritten: TxnMarkerWritten;
  VerifyTxnPartitionRequest: VerifyTxnPartitionRequest;
  VerifyTxnPartitionResponse: VerifyTxnPartitionResponse;
}
export type WireKind = keyof WireMessages;
export const wireKinds: readonly WireKind[] = [
  'VoteRequest', 'VoteResponse', 'AppendEntriesRequest', 'AppendEntriesResponse',
  'InstallSnapshotRequest', 'InstallSnapshotResponse', 'BrokerRegistrationRequest',
  'BrokerRegistrationResponse', 'BrokerHeartbeatRequest', 'BrokerHeartbeatResponse',
  'MetadataFetchRequest', 'MetadataFetchResponse', 'CreateTopicsRequest', 'CreateTopicsResponse',
  'DeleteTopicsRequest', 'DeleteTopicsResponse', 'CreatePartitionsRequest', 'CreatePartitionsResponse', 'DescribeQuorumRequest', 'DescribeQuorumResponse',
  'PartitionStateChange', 'AlterPartitionRequest', 'AlterPartitionResponse', 'ProduceRequest', 'ProduceResponse',
  'FetchRequest', 'FetchResponse', 'OffsetForLeaderEpochRequest', 'OffsetForLeaderEpochResponse',
  'ListOffsetsRequest', 'ListOffsetsResponse', 'ControlledShutdownRequest', 'ControlledShutdownResponse',
  'JoinGroupRequest', 'JoinGroupResponse',
  'SyncGroupRequest', 'SyncGroupResponse',
  'HeartbeatRequest', 'HeartbeatResponse',
  'LeaveGroupRequest', 'LeaveGroupResponse',
  'OffsetCommitRequest', 'OffsetCommitResponse',
  'OffsetFetchRequest', 'OffsetFetchResponse',
  'DescribeGroupsRequest', 'DescribeGroupsResponse',
  'ListGroupsRequest', 'ListGroupsResponse',
  'DeleteGroupsRequest', 'DeleteGroupsResponse',
  'OffsetDeleteRequest', 'OffsetDeleteResponse',
  'AllocateProducerIdsRequest', 'AllocateProducerIdsResponse',
  'ProducerIdRequest', 'ProducerIdResponse',
  'InitTxnProducerRequest', 'InitTxnProducerResponse',
  'AddPartitionsToTxnRequest', 'AddPartitionsToTxnResponse',
  'EndTxnRequest', 'EndTxnResponse',
  'WriteTxnMarkerRequest', 'WriteTxnMarkerResponse',
  'TxnOffsetCommitRequest', 'TxnOffsetCommitResponse', 'TxnMarkerWritten',
  'VerifyTxnPartitionRequest', 'VerifyTxnPartitionResponse',
  'AlterUserScramCredentialsRequest', 'AlterUserScramCredentialsResponse',
  'CreateAclsRequest', 'CreateAclsResponse',
  'DeleteAclsRequest', 'DeleteAclsResponse',
];

/** Requests addressed to a partition replica; a node without that replica lets its broker answer. */
export const partitionRequestKinds: ReadonlySet<string> = new Set(['ProduceRequest', 'FetchRequest', 'OffsetForLeaderEpochRequest', 'ListOffsetsRequest']);
/** Requests addressed to a group coordinator; a node without that coordinator lets its broker answer. */
export const groupRequestKinds: ReadonlySet<string> = new Set(['JoinGroupRequest', 'SyncGroupRequest', 'HeartbeatRequest', 'LeaveGroupRequest', 'OffsetCommitRequest', 'OffsetFetchRequest', 'DescribeGroupsRequest', 'ListGroupsRequest', 'DeleteGroupsRequest', 'OffsetDeleteRequest', 'TxnOffsetCommitRequest']);
/** Requests addressed to a transaction coordinator; a node without that coordinator lets its broker answer. */
export const txnRequestKinds: ReadonlySet<string> = new Set(['InitTxnProducerRequest', 'AddPartitionsToTxnRequest', 'EndTxnRequest', 'VerifyTxnPartitionRequest']);
/** Requests that the broker answers when the actor they are addressed to does not exist. */
export const fallbackRequestKinds: ReadonlySet<string> = new Set([...partitionRequestKinds, ...groupRequestKinds, ...txnRequestKinds]);

/** A message as an actor receives it: the payload plus who sent it and when it arrived. */
export type Delivered<K extends WireKind> = {
  type: K;
  from: Address;
  body: WireMessages[K];
  atMs: number;
};
export type WireEvent = { [K in WireKind]: Delivered<K> }[WireKind];

/** What an actor asks its host to send. */
export type Outgoing = { [K in WireKind]: { to: Address; kind: K; body: WireMessages[K] } }[WireKind];
