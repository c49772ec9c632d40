// Fetch: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/Fetch{Request,Response}.json, limited to v0-12.
import type { MessageSpec } from '../schema.js';

export const FetchRequest = {
  name: 'FetchRequest',
  apiKey: 1,
  type: 'request',
  validVersions: '0-12',
  flexibleVersions: '12+',
  fields: [
    { name: 'clusterId', type: 'string', versions: '12+', nullableVersions: '12+', taggedVersions: '12+', tag: 0, default: null },
    { name: 'replicaId', type: 'int32', versions: '0+', default: -1 },
    { name: 'maxWaitMs', type: 'int32', versions: '0+' },
    { name: 'minBytes', type: 'int32', versions: '0+' },
    { name: 'maxBytes', type: 'int32', versions: '3+', default: 2147483647 },
    { name: 'isolationLevel', type: 'int8', versions: '4+', default: 0 },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    { name: 'sessionEpoch', type: 'int32', versions: '7+', default: -1 },
    { name: 'topics', type: '[]FetchTopic', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]FetchPartition', versions: '0+', fields: [
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '9+', default: -1 },
        { name: 'fetchOffset', type: 'int64', versions: '0+' },
        { name: 'lastFetchedEpoch', type: 'int32', versions: '12+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'partitionMaxBytes', type: 'int32', versions: '0+' },
      ] },
    ] },
    { name: 'forgottenTopicsData', type: '[]ForgottenTopic', versions: '7+', fields: [
      { name: 'topic', type: 'string', versions: '7+' },
      { name: 'partitions', type: '[]int32', versions: '7+' },
    ] },
    { name: 'rackId', type: 'string', versions: '11+', default: '' },
  ],
} as const satisfies MessageSpec;

export const FetchResponse = {
  name: 'FetchResponse',
  apiKey: 1,
  type: 'response',
  validVersions: '0-12',
  flexibleVersions: '12+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '7+' },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    { name: 'responses', type: '[]FetchableTopicResponse', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]PartitionData', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'highWatermark', type: 'int64', versions: '0+' },
        { name: 'lastStableOffset', type: 'int64', versions: '4+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'divergingEpoch', type: 'EpochEndOffset', versions: '12+', taggedVersions: '12+', tag: 0, fields: [
          { name: 'epoch', type: 'int32', versions: '12+', default: -1 },
          { name: 'endOffset', type: 'int64', versions: '12+', default: -1 },
        ] },
        { name: 'currentLeader', type: 'LeaderIdAndEpoch', versions: '12+', taggedVersions: '12+', tag: 1, fields: [
          { name: 'leaderId', type: 'int32', versions: '12+', default: -1 },
          { name: 'leaderEpoch', type: 'int32', versions: '12+', default: -1 },
        ] },
        { name: 'snapshotId', type: 'SnapshotId', versions: '12+', taggedVersions: '12+', tag: 2, fields: [
          { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
          { name: 'epoch', type: 'int32', versions: '0+', default: -1 },
        ] },
        { name: 'abortedTransactions', type: '[]AbortedTransaction', versions: '4+', nullableVersions: '4+', fields: [
          { name: 'producerId', type: 'int64', versions: '4+' },
          { name: 'firstOffset', type: 'int64', versions: '4+' },
        ] },
        { name: 'preferredReadReplica', type: 'int32', versions: '11+', default: -1 },
        { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;
