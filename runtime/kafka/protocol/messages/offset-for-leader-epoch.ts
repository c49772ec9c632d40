// OffsetForLeaderEpoch: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/OffsetForLeaderEpoch{Request,Response}.json, limited to v0-4.
import type { MessageSpec } from '../schema.js';

export const OffsetForLeaderEpochRequest = {
  name: 'OffsetForLeaderEpochRequest',
  apiKey: 23,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'replicaId', type: 'int32', versions: '3+', default: -2 },
    { name: 'topics', type: '[]OffsetForLeaderTopic', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]OffsetForLeaderPartition', versions: '0+', fields: [
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '2+', default: -1 },
        { name: 'leaderEpoch', type: 'int32', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;

export const OffsetForLeaderEpochResponse = {
  name: 'OffsetForLeaderEpochResponse',
  apiKey: 23,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'topics', type: '[]OffsetForLeaderTopicResult', versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]EpochEndOffset', versions: '0+', fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'leaderEpoch', type: 'int32', versions: '1+', default: -1 },
        { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;
