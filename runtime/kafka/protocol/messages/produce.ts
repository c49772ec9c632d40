// Produce: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/Produce{Request,Response}.json, limited to v0-9.
import type { MessageSpec } from '../schema.js';

export const ProduceRequest = {
  name: 'ProduceRequest',
  apiKey: 0,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '9+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'topicData', type: '[]TopicProduceData', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionData', type: '[]PartitionProduceData', versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageSpec;

export const ProduceResponse = {
  name: 'ProduceResponse',
  apiKey: 0,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '9+',
  fields: [
    { name: 'responses', type: '[]TopicProduceResponse', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionResponses', type: '[]PartitionProduceResponse', versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'baseOffset', type: 'int64', versions: '0+' },
        { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
        { name: 'recordErrors', type: '[]BatchIndexAndErrorMessage', versions: '8+', fields: [
          { name: 'batchIndex', type: 'int32', versions: '8+' },
          { name: 'batchIndexErrorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
        ] },
        { name: 'errorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
      ] },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
  ],
} as const satisfies MessageSpec;
