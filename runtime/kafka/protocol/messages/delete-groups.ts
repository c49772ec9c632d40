// DeleteGroups: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/DeleteGroups{Request,Response}.json, v0-2.
import type { MessageSpec } from '../schema.js';

export const DeleteGroupsRequest = {
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'groupsNames', type: '[]string', versions: '0+' },
  ],
} as const satisfies MessageSpec;

export const DeleteGroupsResponse = {
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: '[]DeletableGroupResult', versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
    ] },
  ],
} as const satisfies MessageSpec;
