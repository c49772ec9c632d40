// OffsetDelete: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/OffsetDelete{Request,Response}.json, v0 (never
// flexible).
import type { MessageSpec } from '../schema.js';

export const OffsetDeleteRequest = {
  name: 'OffsetDeleteRequest',
  apiKey: 47,
  type: 'request',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'topics', type: '[]OffsetDeleteRequestTopic', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]OffsetDeleteRequestPartition', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;

export const OffsetDeleteResponse = {
  name: 'OffsetDeleteResponse',
  apiKey: 47,
  type: 'response',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'topics', type: '[]OffsetDeleteResponseTopic', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]OffsetDeleteResponsePartition', versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;
