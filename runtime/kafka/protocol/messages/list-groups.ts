// ListGroups: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/ListGroups{Request,Response}.json, limited to v0-4.
import type { MessageSpec } from '../schema.js';

export const ListGroupsRequest = {
  name: 'ListGroupsRequest',
  apiKey: 16,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'statesFilter', type: '[]string', versions: '4+' },
  ],
} as const satisfies MessageSpec;

export const ListGroupsResponse = {
  name: 'ListGroupsResponse',
  apiKey: 16,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'groups', type: '[]ListedGroup', versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'protocolType', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '4+' },
    ] },
  ],
} as const satisfies MessageSpec;
