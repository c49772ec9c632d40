// ApiVersions: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/ApiVersions{Request,Response}.json, limited to v0-3.
import type { MessageSpec } from '../schema.js';

export const ApiVersionsRequest = {
  name: 'ApiVersionsRequest',
  apiKey: 18,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    { name: 'clientSoftwareName', type: 'string', versions: '3+' },
    { name: 'clientSoftwareVersion', type: 'string', versions: '3+' },
  ],
} as const satisfies MessageSpec;

export const ApiVersionsResponse = {
  name: 'ApiVersionsResponse',
  apiKey: 18,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'apiKeys', type: '[]ApiVersion', versions: '0+', fields: [
      { name: 'apiKey', type: 'int16', versions: '0+' },
      { name: 'minVersion', type: 'int16', versions: '0+' },
      { name: 'maxVersion', type: 'int16', versions: '0+' },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'supportedFeatures', type: '[]SupportedFeatureKey', versions: '3+', taggedVersions: '3+', tag: 0, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'minVersion', type: 'int16', versions: '3+' },
      { name: 'maxVersion', type: 'int16', versions: '3+' },
    ] },
    { name: 'finalizedFeaturesEpoch', type: 'int64', versions: '3+', taggedVersions: '3+', tag: 1, default: -1 },
    { name: 'finalizedFeatures', type: '[]FinalizedFeatureKey', versions: '3+', taggedVersions: '3+', tag: 2, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'maxVersionLevel', type: 'int16', versions: '3+' },
      { name: 'minVersionLevel', type: 'int16', versions: '3+' },
    ] },
    { name: 'zkMigrationReady', type: 'bool', versions: '3+', taggedVersions: '3+', tag: 3, default: false },
  ],
} as const satisfies MessageSpec;
