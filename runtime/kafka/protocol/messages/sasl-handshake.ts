// SaslHandshake: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/SaslHandshake{Request,Response}.json, limited to v0-1.
import type { MessageSpec } from '../schema.js';

export const SaslHandshakeRequest = {
  name: 'SaslHandshakeRequest',
  apiKey: 17,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'mechanism', type: 'string', versions: '0+' },
  ],
} as const satisfies MessageSpec;

export const SaslHandshakeResponse = {
  name: 'SaslHandshakeResponse',
  apiKey: 17,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'mechanisms', type: '[]string', versions: '0+' },
  ],
} as const satisfies MessageSpec;
