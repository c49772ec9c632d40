// FindCoordinator: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/FindCoordinator{Request,Response}.json, limited to v0-4.
import type { MessageSpec } from '../schema.js';

export const FindCoordinatorRequest = {
  name: 'FindCoordinatorRequest',
  apiKey: 10,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'key', type: 'string', versions: '0-3' },
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    { name: 'coordinatorKeys', type: '[]string', versions: '4+' },
  ],
} as const satisfies MessageSpec;

export const FindCoordinatorResponse = {
  name: 'FindCoordinatorResponse',
  apiKey: 10,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3' },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    { name: 'coordinators', type: '[]Coordinator', versions: '4+', fields: [
      { name: 'key', type: 'string', versions: '4+' },
      { name: 'nodeId', type: 'int32', versions: '4+' },
      { name: 'host', type: 'string', versions: '4+' },
      { name: 'port', type: 'int32', versions: '4+' },
      { name: 'errorCode', type: 'int16', versions: '4+' },
      { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+' },
    ] },
  ],
} as const satisfies MessageSpec;
