// The wire schema of every message that travels between actors, in proto3.
// It lives in a string (not a .proto file read at run time) because actors/ never touches
// the file system; `logmesh proto` prints it for tools that want the .proto text.
export const protoSource = `
syntax = "proto3";
package logmesh;

// Causal tracing: every message names itself and the message whose handling produced it.
message TraceContext {
  string msg_id = 1;
  string parent_id = 2;
}

// The envelope carried by every transport, the simulated one included.
message Envelope {
  string cluster_id = 1;
  uint32 from_node = 2;
  string from_actor = 3;
  uint32 to_node = 4;
  string to_actor = 5;
  string kind = 6;
  bytes payload = 7;
  TraceContext trace = 8;
}

// ---- Raft (controller quorum) ----
message VoteRequest {
  uint32 term = 1;
  uint32 candidate_id = 2;
  uint32 last_log_index = 3;
  uint32 last_log_term = 4;
  bool pre_vote = 5;
}
message VoteResponse {
  uint32 term = 1;
  uint32 voter_id = 2;
  bool vote_granted = 3;
  bool pre_vote = 4;
}
// One Raft entry: a batch of records that commits (or is lost) as a whole, so that a
// decision such as "fence broker 2 and move its partitions" is never half applied.
message LogEntry {
  uint32 index = 1;
  uint32 term = 2;
  repeated MetadataRecord records = 3;
}
message AppendEntriesRequest {
  uint32 term = 1;
  uint32 leader_id = 2;
  uint32 prev_log_index = 3;
  uint32 prev_log_term = 4;
  repeated LogEntry entries = 5;
  uint32 leader_commit = 6;
}
message AppendEntriesResponse {
  uint32 term = 1;
  uint32 follower_id = 2;
  bool success = 3;
  uint32 match_index = 4;
  uint32 conflict_index = 5;
}
message InstallSnapshotRequest {
  uint32 term = 1;
  uint32 leader_id = 2;
  uint32 last_included_index = 3;
  uint32 last_included_term = 4;
  MetadataImage image = 5;
}
message InstallSnapshotResponse {
  uint32 term = 1;
  uint32 follower_id = 2;
  uint32 match_index = 3;
}

// ---- Metadata records (the replicated state machine of the controller quorum) ----
message MetadataRecord {
  oneof record {
    LeaderChangeRecord leader_change = 1;
    RegisterBrokerRecord register_broker = 2;
    FenceBrokerRecord fence_broker = 3;
    UnfenceBrokerRecord unfence_broker = 4;
    TopicRecord topic = 5;
    PartitionRecord partition = 6;
    PartitionChangeRecord partition_change = 7;
    RemoveTopicRecord remove_topic = 8;
    ProducerIdsRecord producer_ids = 20;
    UserScramCredentialRecord user_scram_credential = 9;
    RemoveUserScramCredentialRecord remove_user_scram_credential = 10;
    AclBinding acl = 11;
    AclBinding remove_acl = 12;
  }
}
// A topic-level configuration override (retention.ms, min.insync.replicas, ...).
message ConfigEntry { string name = 1; string value = 2; }
message LeaderChangeRecord { uint32 leader_id = 1; uint32 term = 2; }
message RegisterBrokerRecord {
  uint32 broker_id = 1;
  string incarnation_id = 2;
  string listener = 3;
}
message FenceBrokerRecord { uint32 broker_id = 1; uint32 broker_epoch = 2; }
message UnfenceBrokerRecord { uint32 broker_id = 1; uint32 broker_epoch = 2; }
message TopicRecord { string name = 1; string topic_id = 2; repeated ConfigEntry configs = 3; string creation_id = 4; }
message PartitionRecord {
  string topic_id = 1;
  uint32 partition = 2;
  repeated uint32 replicas = 3;
  repeated uint32 isr = 4;
  sint32 leader = 5;
  uint32 leader_epoch = 6;
  uint32 partition_epoch = 7;
}
message PartitionChangeRecord {
  string topic_id = 1;
  uint32 partition = 2;
  repeated uint32 isr = 3;
  sint32 leader = 4;
}
message RemoveTopicRecord { string topic_id = 1; }
// Producer ids are int64 in Kafka; carried as double, exact to 2^53 like offsets.
message ProducerIdsRecord { uint32 broker_id = 1; uint32 broker_epoch = 2; double next_producer_id = 3; }
// A SCRAM credential (RFC 5802) as the server keeps it: never the password. mechanism is
// Kafka's number (1 SCRAM-SHA-256, 2 SCRAM-SHA-512); a later record for the same user and
// mechanism replaces the earlier one.
message UserScramCredentialRecord {
  string name = 1;
  uint32 mechanism = 2;
  bytes salt = 3;
  bytes stored_key = 4;
  bytes server_key = 5;
  uint32 iterations = 6;
}
message RemoveUserScramCredentialRecord { string name = 1; uint32 mechanism = 2; }
// One ACL, with Kafka's numbers for the resource type, pattern type, operation and
// permission type. As a DeleteAcls filter, 1 (ANY) matches any value and '' any name.
message AclBinding {
  uint32 resource_type = 1;
  string resource_name = 2;
  uint32 pattern_type = 3;
  string principal = 4;
  string host = 5;
  uint32 operation = 6;
  uint32 permission_type = 7;
}

// A whole metadata state, used for Raft snapshots and snapshot-based catch-up.
message BrokerState {
  uint32 broker_id = 1;
  uint32 broker_epoch = 2;
  string incarnation_id = 3;
  string listener = 4;
  bool fenced = 5;
}
message TopicState {
  string name = 1;
  string topic_id = 2;
  repeated PartitionRecord partitions = 3;
  repeated ConfigEntry configs = 4;
  string creation_id = 5;
}
message MetadataImage {
  uint32 offset = 1;
  repeated BrokerState brokers = 2;
  repeated TopicState topics = 3;
  double next_producer_id = 20;
  repeated UserScramCredentialRecord scram_credentials = 4;
  repeated AclBinding acls = 5;
}

// ---- Brokers and clients talking to the controller ----
message BrokerRegistrationRequest {
  uint32 broker_id = 1;
  string incarnation_id = 2;
  string listener = 3;
}
message BrokerRegistrationResponse {
  sint32 error_code = 1;
  uint32 broker_epoch = 2;
  sint32 leader_hint = 3;
}
// want_shut_down: a controlled shutdown (KRaft's): the controller moves the broker's
// leadership away and takes it out of every ISR (it fences it), and answers
// should_shut_down once that is committed.
message BrokerHeartbeatRequest {
  uint32 broker_id = 1;
  uint32 broker_epoch = 2;
  uint32 metadata_offset = 3;
  bool want_shut_down = 4;
}
message BrokerHeartbeatResponse {
  sint32 error_code = 1;
  bool fenced = 2;
  sint32 leader_hint = 3;
  bool should_shut_down = 4;
}
// From a node's host to its broker: shut down in a controlled way; answered when the
// controller has moved this broker's leadership away (or could not: error_code).
message ControlledShutdownRequest { string request_id = 1; }
message ControlledShutdownResponse { string request_id = 1; sint32 error_code = 2; }
message MetadataFetchRequest {
  uint32 broker_id = 1;
  uint32 from_offset = 2;
  uint32 max_wait_ms = 3;
}
message MetadataFetchResponse {
  sint32 error_code = 1;
  sint32 leader_hint = 2;
  repeated LogEntry entries = 3;
  MetadataImage snapshot = 4;
  bool has_snapshot = 5;
}
message CreatableTopic {
  string name = 1;
  sint32 num_partitions = 2;
  sint32 replication_factor = 3;
  repeated ConfigEntry configs = 4;
  string creation_id = 5;
}
message CreateTopicsRequest {
  string request_id = 1;
  repeated CreatableTopic topics = 2;
}
message CreatableTopicResult {
  string name = 1;
  sint32 error_code = 2;
  string topic_id = 3;
}
message CreateTopicsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated CreatableTopicResult results = 4;
  uint32 offset = 5;
}
// Security metadata: SCRAM credentials already salted and hashed by the listener (the
// controller draws no randomness), and ACLs.
message AlterUserScramCredentialsRequest {
  string request_id = 1;
  repeated UserScramCredentialRecord upsertions = 2;
  repeated RemoveUserScramCredentialRecord deletions = 3;
}
message UserResult { string user = 1; sint32 error_code = 2; }
message AlterUserScramCredentialsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated UserResult results = 4;
  uint32 offset = 5;
}
message CreateAclsRequest { string request_id = 1; repeated AclBinding acls = 2; }
message AclResult { sint32 error_code = 1; }
message CreateAclsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated AclResult results = 4;
  uint32 offset = 5;
}
message DeleteAclsRequest { string request_id = 1; repeated AclBinding filters = 2; }
message DeleteAclsFilterResult { sint32 error_code = 1; repeated AclBinding matching = 2; }
message DeleteAclsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated DeleteAclsFilterResult results = 4;
  uint32 offset = 5;
}
message DeleteTopicsRequest {
  string request_id = 1;
  repeated string names = 2;
}
message DeleteTopicsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated CreatableTopicResult results = 4;
}
// Adds partitions to existing topics, up to count each (Kafka's CreatePartitions).
message PartitionCount { string name = 1; uint32 count = 2; }
message CreatePartitionsRequest { string request_id = 1; repeated PartitionCount topics = 2; }
message CreatePartitionsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  repeated CreatableTopicResult results = 4;
  uint32 offset = 5;
}
// A broker asks the active controller for a block of producer ids (KIP-730); the block is
// committed to the metadata log before it is handed out, so no id is ever given twice.
message AllocateProducerIdsRequest { string request_id = 1; uint32 broker_id = 2; uint32 broker_epoch = 3; }
message AllocateProducerIdsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_hint = 3;
  double producer_id_start = 4;
  uint32 producer_id_len = 5;
}
// An actor or the Kafka listener of a node asks its broker for one producer id.
message ProducerIdRequest { string request_id = 1; }
message ProducerIdResponse { string request_id = 1; sint32 error_code = 2; double producer_id = 3; }
// ---- Transactions ----
// Producer ids and epochs: int64 and int16 in Kafka; ids carried as double like offsets.
message TxnTopicPartition { string topic = 1; uint32 partition = 2; }
message InitTxnProducerRequest {
  string request_id = 1;
  string transactional_id = 2;
  sint32 transaction_timeout_ms = 3;
  double producer_id = 4;
  sint32 producer_epoch = 5;
}
message InitTxnProducerResponse { string request_id = 1; sint32 error_code = 2; double producer_id = 3; sint32 producer_epoch = 4; }
message AddPartitionsToTxnRequest {
  string request_id = 1;
  string transactional_id = 2;
  double producer_id = 3;
  sint32 producer_epoch = 4;
  repeated TxnTopicPartition partitions = 5;
}
message AddPartitionsToTxnResponse { string request_id = 1; sint32 error_code = 2; }
message EndTxnRequest {
  string request_id = 1;
  string transactional_id = 2;
  double producer_id = 3;
  sint32 producer_epoch = 4;
  bool commit = 5;
}
message EndTxnResponse { string request_id = 1; sint32 error_code = 2; }
message ActorAddress { uint32 node = 1; string actor = 2; }
message WriteTxnMarkerRequest {
  string request_id = 1;
  ActorAddress reply_to = 2;
  string topic = 3;
  uint32 partition = 4;
  double producer_id = 5;
  sint32 producer_epoch = 6;
  bool commit = 7;
  sint32 coordinator_epoch = 8;
}
message WriteTxnMarkerResponse { string request_id = 1; sint32 error_code = 2; string topic = 3; uint32 partition = 4; }
message TxnOffsetCommitRequest {
  string request_id = 1;
  string transactional_id = 2;
  string group_id = 3;
  double producer_id = 4;
  sint32 producer_epoch = 5;
  sint32 generation_id = 6;
  string member_id = 7;
  string group_instance_id = 8;
  repeated OffsetEntry offsets = 9;
}
message TxnOffsetCommitResponse { string request_id = 1; repeated OffsetEntry results = 2; }
message VerifyTxnPartitionRequest {
  string request_id = 1;
  ActorAddress reply_to = 2;
  string transactional_id = 3;
  double producer_id = 4;
  sint32 producer_epoch = 5;
  string topic = 6;
  uint32 partition = 7;
}
message VerifyTxnPartitionResponse { string request_id = 1; sint32 error_code = 2; string topic = 3; uint32 partition = 4; }
message TxnMarkerWritten {
  string topic = 1;
  uint32 partition = 2;
  double producer_id = 3;
  sint32 producer_epoch = 4;
  bool commit = 5;
  double offset = 6;
}
message DescribeQuorumRequest { string request_id = 1; }
message DescribeQuorumResponse {
  string request_id = 1;
  uint32 node_id = 2;
  string role = 3;
  uint32 term = 4;
  sint32 leader_id = 5;
  uint32 commit_index = 6;
  uint32 last_index = 7;
}
// ---- Partition replicas ----
// Offsets are JavaScript numbers (exact to 2^53) carried as double: decoding then yields
// plain numbers, with no 64-bit integer objects on the produce and fetch paths.
// The broker tells a local replica what the metadata log says about its partition (Kafka's
// LeaderAndIsr). removed: the topic is gone or the replica was moved off this broker.
message PartitionStateChange {
  string topic = 1;
  string topic_id = 2;
  uint32 partition = 3;
  repeated uint32 replicas = 4;
  repeated uint32 isr = 5;
  sint32 leader = 6;
  uint32 leader_epoch = 7;
  uint32 partition_epoch = 8;
  repeated ConfigEntry configs = 9;
  bool removed = 10;
}
// A partition leader asks the controller (through its broker) to change the ISR.
message AlterPartitionRequest {
  uint32 broker_id = 1;
  uint32 broker_epoch = 2;
  string topic_id = 3;
  uint32 partition = 4;
  uint32 leader_epoch = 5;
  uint32 partition_epoch = 6;
  repeated uint32 new_isr = 7;
  string topic = 8;
  string request_id = 9;
}
message AlterPartitionResponse {
  sint32 error_code = 1;
  sint32 leader_hint = 2;
  string topic_id = 3;
  uint32 partition = 4;
  sint32 leader = 5;
  uint32 leader_epoch = 6;
  repeated uint32 isr = 7;
  uint32 partition_epoch = 8;
  string topic = 9;
  string request_id = 10;
}
// Produce to a partition leader. acks: 0, 1 or -1 (all). leader_epoch: what the client
// believes, or -1.
message ProduceRequest {
  string request_id = 1;
  string topic = 2;
  uint32 partition = 3;
  sint32 acks = 4;
  uint32 timeout_ms = 5;
  bytes records = 6;
  sint32 leader_epoch = 7;
  string transactional_id = 8;
}
message ProduceResponse {
  string request_id = 1;
  sint32 error_code = 2;
  double base_offset = 3;
  double log_start_offset = 4;
  sint32 leader_hint = 5;
  sint32 leader_epoch = 6;
  string error_message = 7;
  string topic = 8;
  uint32 partition = 9;
}
// Fetch from a leader: by a follower (replica_id >= 0, reads up to the log end) or by a
// consumer (replica_id -1, reads below the high watermark).
message FetchRequest {
  string request_id = 1;
  string topic = 2;
  uint32 partition = 3;
  sint32 replica_id = 4;
  double fetch_offset = 5;
  sint32 last_fetched_epoch = 6;
  sint32 current_leader_epoch = 7;
  uint32 max_bytes = 8;
  uint32 max_wait_ms = 9;
  uint32 min_bytes = 10;
  // A follower's: every offset below it is on its disk (fetch_offset is its log end).
  double durable_offset = 11;
  uint32 isolation_level = 12;
}
message FetchResponse {
  string request_id = 1;
  sint32 error_code = 2;
  double high_watermark = 3;
  double log_start_offset = 4;
  double log_end_offset = 5;
  bytes records = 6;
  sint32 leader_hint = 7;
  sint32 leader_epoch = 8;
  string topic = 9;
  uint32 partition = 10;
  string error_message = 11;
  double last_stable_offset = 12;
  // 16-byte entries: producer id, first offset (big-endian int64 each).
  bytes aborted_transactions = 13;
  // Every assigned replica has fetched past it: followers' cleaners remove tombstones only below it.
  double tombstone_horizon = 14;
}
// KIP-101/279: the end offset of the largest epoch <= leader_epoch that the leader knows.
message OffsetForLeaderEpochRequest {
  string request_id = 1;
  string topic = 2;
  uint32 partition = 3;
  sint32 replica_id = 4;
  sint32 current_leader_epoch = 5;
  sint32 leader_epoch = 6;
}
// ListOffsets for one partition: timestamp -1 latest (the high watermark), -2 earliest,
// otherwise the first offset whose record timestamp is at or after it.
message ListOffsetsRequest {
  string request_id = 1;
  string topic = 2;
  uint32 partition = 3;
  double timestamp = 4;
  sint32 current_leader_epoch = 5;
  uint32 isolation_level = 6;
}
message ListOffsetsResponse {
  string request_id = 1;
  sint32 error_code = 2;
  double offset = 3;
  double timestamp = 4;
  sint32 leader_epoch = 5;
  sint32 leader_hint = 6;
  string topic = 7;
  uint32 partition = 8;
}
message OffsetForLeaderEpochResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 leader_epoch = 3;
  double end_offset = 4;
  sint32 leader_hint = 5;
  string topic = 6;
  uint32 partition = 7;
}

// ---- Consumer groups (to the group coordinator of the group's __consumer_offsets partition) ----
// Kafka's nullable strings travel as "" (an empty group.instance.id, protocol type or name
// means none). Every request names its group; the coordinator answers NOT_COORDINATOR for a
// group that does not hash to its partition.
message GroupProtocolEntry { string name = 1; bytes metadata = 2; }
message JoinGroupRequest {
  string request_id = 1;
  string group_id = 2;
  uint32 version = 3;
  string member_id = 4;
  string group_instance_id = 5;
  string client_id = 6;
  string client_host = 7;
  sint32 session_timeout_ms = 8;
  sint32 rebalance_timeout_ms = 9;
  string protocol_type = 10;
  repeated GroupProtocolEntry protocols = 11;
}
message JoinGroupMemberEntry { string member_id = 1; string group_instance_id = 2; bytes metadata = 3; }
message JoinGroupResponse {
  string request_id = 1;
  sint32 error_code = 2;
  sint32 generation_id = 3;
  string protocol_type = 4;
  string protocol_name = 5;
  string leader = 6;
  bool skip_assignment = 7;
  string member_id = 8;
  repeated JoinGroupMemberEntry members = 9;
}
message SyncGroupAssignment { string member_id = 1; bytes assignment = 2; }
message SyncGroupRequest {
  string request_id = 1;
  string group_id = 2;
  sint32 generation_id = 3;
  string member_id = 4;
  string group_instance_id = 5;
  string protocol_type = 6;
  string protocol_name = 7;
  repeated SyncGroupAssignment assignments = 8;
}
message SyncGroupResponse {
  string request_id = 1;
  sint32 error_code = 2;
  string protocol_type = 3;
  string protocol_name = 4;
  bytes assignment = 5;
}
message HeartbeatRequest {
  string request_id = 1;
  string group_id = 2;
  sint32 generation_id = 3;
  string member_id = 4;
  string group_instance_id = 5;
}
message HeartbeatResponse { string request_id = 1; sint32 error_code = 2; }
message LeaveGroupMemberEntry { string member_id = 1; string group_instance_id = 2; sint32 error_code = 3; }
message LeaveGroupRequest {
  string request_id = 1;
  string group_id = 2;
  uint32 version = 3;
  repeated LeaveGroupMemberEntry members = 4;
}
message LeaveGroupResponse {
  string request_id = 1;
  sint32 error_code = 2;
  repeated LeaveGroupMemberEntry members = 3;
}
// One partition's committed offset (requests and answers; error_code only in answers,
// offset -1 when the group has none).
message OffsetEntry {
  string topic = 1;
  uint32 partition = 2;
  double offset = 3;
  sint32 leader_epoch = 4;
  string metadata = 5;
  sint32 error_code = 6;
}
message TopicPartitionEntry { string topic = 1; uint32 partition = 2; }
// generation_id -1 with an empty member id: a commit outside group management.
// retention_ms -1: the broker's offsets.retention.minutes.
message OffsetCommitRequest {
  string request_id = 1;
  string group_id = 2;
  sint32 generation_id = 3;
  string member_id = 4;
  string group_instance_id = 5;
  double retention_ms = 6;
  repeated OffsetEntry offsets = 7;
}
message OffsetCommitResponse { string request_id = 1; repeated OffsetEntry results = 2; }
// all_partitions: every offset the group has (Kafka's null topic list).
message OffsetFetchRequest {
  string request_id = 1;
  string group_id = 2;
  bool all_partitions = 3;
  repeated TopicPartitionEntry partitions = 4;
  bool require_stable = 5;
}
message OffsetFetchResponse { string request_id = 1; sint32 error_code = 2; repeated OffsetEntry offsets = 3; }
message DescribedMember {
  string member_id = 1;
  string group_instance_id = 2;
  string client_id = 3;
  string client_host = 4;
  bytes metadata = 5;
  bytes assignment = 6;
}
message DescribedGroup {
  sint32 error_code = 1;
  string group_id = 2;
  string state = 3;
  string protocol_type = 4;
  string protocol_name = 5;
  repeated DescribedMember members = 6;
}
message DescribeGroupsRequest { string request_id = 1; repeated string group_ids = 2; }
message DescribeGroupsResponse { string request_id = 1; repeated DescribedGroup groups = 2; }
message ListedGroup { string group_id = 1; string protocol_type = 2; string group_state = 3; }
message ListGroupsRequest { string request_id = 1; repeated string states_filter = 2; }
message ListGroupsResponse { string request_id = 1; sint32 error_code = 2; repeated ListedGroup groups = 3; }
message GroupResult { string group_id = 1; sint32 error_code = 2; }
message DeleteGroupsRequest { string request_id = 1; repeated string group_ids = 2; }
message DeleteGroupsResponse { string request_id = 1; repeated GroupResult results = 2; }
message OffsetDeleteRequest { string request_id = 1; string group_id = 2; repeated TopicPartitionEntry partitions = 3; }
message OffsetDeleteResponse { string request_id = 1; sint32 error_code = 2; repeated OffsetEntry results = 3; }
`;
