// The APIs the codec implements, by Kafka api key: the single source for what the broker
// advertises in its ApiVersions response. The version ranges cover the clients logmesh
// supports (librdkafka 2.0 / kcat / confluent-kafka-python 2.0, kafkajs 2.2, kafka-python 2.0).
import { parseVersions, type MessageInput, type MessageSpec, type MessageValue } from './schema.js';
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './messages/add-offsets-to-txn.js';
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './messages/add-partitions-to-txn.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './messages/api-versions.js';
import { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from './messages/alter-user-scram-credentials.js';
import { CreateAclsRequest, CreateAclsResponse } from './messages/create-acls.js';
import { DeleteAclsRequest, DeleteAclsResponse } from './messages/delete-acls.js';
import { DescribeAclsRequest, DescribeAclsResponse } from './messages/describe-acls.js';
import { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from './messages/describe-user-scram-credentials.js';
import { CreatePartitionsRequest, CreatePartitionsResponse } from './messages/create-partitions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './messages/create-topics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './messages/delete-groups.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './messages/delete-topics.js';
import { DescribeClusterRequest, DescribeClusterResponse } from './messages/describe-cluster.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './messages/describe-configs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './messages/describe-groups.js';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from './messages/describe-log-dirs.js';
import { EndTxnRequest, EndTxnResponse } from './messages/end-txn.js';
import { FetchRequest, FetchResponse } from './messages/fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './messages/find-coordinator.js';
import { HeartbeatRequest, HeartbeatResponse } from './messages/heartbeat.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './messages/init-producer-id.js';
import { JoinGroupRequest, JoinGroupResponse } from './messages/join-group.js';
import { LeaveGroupRequest, LeaveGroupResponse } from './messages/leave-group.js';
import { ListGroupsRequest, ListGroupsResponse } from './messages/list-groups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './messages/list-offsets.js';
import { MetadataRequest, MetadataResponse } from './messages/metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './messages/offset-commit.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from './messages/offset-delete.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './messages/offset-fetch.js';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from './messages/offset-for-leader-epoch.js';
import { ProduceRequest, ProduceResponse } from './messages/produce.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from './messages/sasl-authenticate.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from './messages/sasl-handshake.js';
import { SyncGroupRequest, SyncGroupResponse } from './messages/sync-group.js';
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './messages/txn-offset-commit.js';

// Kafka's api keys, by name.
export const ApiKeys = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  TxnOffsetCommit: 28,
  DescribeAcls: 29,
  CreateAcls: 30,
  DeleteAcls: 31,
  DescribeConfigs: 32,
  DescribeLogDirs: 35,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  OffsetDelete: 47,
  DescribeUserScramCredentials: 50,
  AlterUserScramCredentials: 51,
  DescribeCluster: 60,
} as const;

export interface ApiSpec<Req extends MessageSpec = MessageSpec, Res extends MessageSpec = MessageSpec> {
  readonly apiKey: number;
  readonly name: ApiName;
  readonly request: Req;
  readonly response: Res;
  readonly minVersion: number;
  readonly maxVersion: number;
  // The first flexible version (request header v2, response header v1), or Infinity.
  readonly firstFlexibleVersion: number;
}

function defineApi<const Req extends MessageSpec, const Res extends MessageSpec>(
  name: keyof typeof ApiKeys, request: Req, response: Res,
): ApiSpec<Req, Res> {
  const apiKey = ApiKeys[name];
  const versions = parseVersions(request.validVersions);
  const flexible = parseVersions(request.flexibleVersions);
  const sameDeclaration = request.apiKey === apiKey && response.apiKey === apiKey
    && request.type === 'request' && response.type === 'response'
    && request.validVersions === response.validVersions && request.flexibleVersions === response.flexibleVersions;
  if (!sameDeclaration) throw new Error(`${name}: request and response declarations disagree`);
  // Kafka's flexible versions are always "N+": once flexible, every later version is too.
  if (flexible.min <= flexible.max && flexible.max !== Infinity) throw new Error(`${name}: flexible versions must be open-ended`);
  return {
    apiKey,
    name,
    request,
    response,
    minVersion: versions.min,
    maxVersion: versions.max,
    firstFlexibleVersion: flexible.min <= flexible.max ? flexible.min : Infinity,
  };
}

export const apis = {
  [ApiKeys.Produce]: defineApi('Produce', ProduceRequest, ProduceResponse),
  [ApiKeys.Fetch]: defineApi('Fetch', FetchRequest, FetchResponse),
  [ApiKeys.ListOffsets]: defineApi('ListOffsets', ListOffsetsRequest, ListOffsetsResponse),
  [ApiKeys.Metadata]: defineApi('Metadata', MetadataRequest, MetadataResponse),
  [ApiKeys.OffsetCommit]: defineApi('OffsetCommit', OffsetCommitRequest, OffsetCommitResponse),
  [ApiKeys.OffsetFetch]: defineApi('OffsetFetch', OffsetFetchRequest, OffsetFetchResponse),
  [ApiKeys.FindCoordinator]: defineApi('FindCoordinator', FindCoordinatorRequest, FindCoordinatorResponse),
  [ApiKeys.JoinGroup]: defineApi('JoinGroup', JoinGroupRequest, JoinGroupResponse),
  [ApiKeys.Heartbeat]: defineApi('Heartbeat', HeartbeatRequest, HeartbeatResponse),
  [ApiKeys.LeaveGroup]: defineApi('LeaveGroup', LeaveGroupRequest, LeaveGroupResponse),
  [ApiKeys.SyncGroup]: defineApi('SyncGroup', SyncGroupRequest, SyncGroupResponse),
  [ApiKeys.DescribeGroups]: defineApi('DescribeGroups', DescribeGroupsRequest, DescribeGroupsResponse),
  [ApiKeys.ListGroups]: defineApi('ListGroups', ListGroupsRequest, ListGroupsResponse),
  [ApiKeys.SaslHandshake]: defineApi('SaslHandshake', SaslHandshakeRequest, SaslHandshakeResponse),
  [ApiKeys.ApiVersions]: defineApi('ApiVersions', ApiVersionsRequest, ApiVersionsResponse),
  [ApiKeys.CreateTopics]: defineApi('CreateTopics', CreateTopicsRequest, CreateTopicsResponse),
  [ApiKeys.DeleteTopics]: defineApi('DeleteTopics', DeleteTopicsRequest, DeleteTopicsResponse),
  [ApiKeys.InitProducerId]: defineApi('InitProducerId', InitProducerIdRequest, InitProducerIdResponse),
  [ApiKeys.OffsetForLeaderEpoch]: defineApi('OffsetForLeaderEpoch', OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
  [ApiKeys.AddPartitionsToTxn]: defineApi('AddPartitionsToTxn', AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
  [ApiKeys.AddOffsetsToTxn]: defineApi('AddOffsetsToTxn', AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
  [ApiKeys.EndTxn]: defineApi('EndTxn', EndTxnRequest, EndTxnResponse),
  [ApiKeys.TxnOffsetCommit]: defineApi('TxnOffsetCommit', TxnOffsetCommitRequest, TxnOffsetCommitResponse),
  [ApiKeys.DescribeAcls]: defineApi('DescribeAcls', DescribeAclsRequest, DescribeAclsResponse),
  [ApiKeys.CreateAcls]: defineApi('CreateAcls', CreateAclsRequest, CreateAclsResponse),
  [ApiKeys.DeleteAcls]: defineApi('DeleteAcls', DeleteAclsRequest, DeleteAclsResponse),
  [ApiKeys.DescribeConfigs]: defineApi('DescribeConfigs', DescribeConfigsRequest, DescribeConfigsResponse),
  [ApiKeys.DescribeLogDirs]: defineApi('DescribeLogDirs', DescribeLogDirsRequest, DescribeLogDirsResponse),
  [ApiKeys.SaslAuthenticate]: defineApi('SaslAuthenticate', SaslAuthenticateRequest, SaslAuthenticateResponse),
  [ApiKeys.CreatePartitions]: defineApi('CreatePartitions', CreatePartitionsRequest, CreatePartitionsResponse),
  [ApiKeys.DeleteGroups]: defineApi('DeleteGroups', DeleteGroupsRequest, DeleteGroupsResponse),
  [ApiKeys.OffsetDelete]: defineApi('OffsetDelete', OffsetDeleteRequest, OffsetDeleteResponse),
  [ApiKeys.DescribeUserScramCredentials]: defineApi('DescribeUserScramCredentials', DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse),
  [ApiKeys.AlterUserScramCredentials]: defineApi('AlterUserScramCredentials', AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse),
  [ApiKeys.DescribeCluster]: defineApi('DescribeCluster', DescribeClusterRequest, DescribeClusterResponse),
} as const;

export type Apis = typeof apis;
export type ApiKey = keyof Apis;
export type ApiName = keyof typeof ApiKeys;

// Decoded bodies: every field present (defaults for fields absent in the version).
export type RequestBody<K extends ApiKey> = MessageValue<Apis[K]['request']>;
export type ResponseBody<K extends ApiKey> = MessageValue<Apis[K]['response']>;
// Bodies to encode: any field may be left out and is written as its default.
export type RequestInput<K extends ApiKey> = MessageInput<Apis[K]['request']>;
export type ResponseInput<K extends ApiKey> = MessageInput<Apis[K]['response']>;

const apiList: readonly ApiSpec[] = Object.values(apis);
const apisByKey: readonly (ApiSpec | undefined)[] = (() => {
  const table: (ApiSpec | undefined)[] = [];
  for (const api of apiList) table[api.apiKey] = api;
  return table;
})();

export function apiByKey(apiKey: number): ApiSpec | undefined {
  return Number.isInteger(apiKey) && apiKey >= 0 ? apisByKey[apiKey] : undefined;
}

export function isApiKey(apiKey: number): apiKey is ApiKey {
  return apiByKey(apiKey) !== undefined;
}

export function supportsApiVersion(apiKey: number, version: number): boolean {
  const api = apiByKey(apiKey);
  return api !== undefined && Number.isInteger(version) && version >= api.minVersion && version <= api.maxVersion;
}

// The api_keys of an ApiVersions response: exactly what the codec implements.
export function supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return apiList
    .map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}
