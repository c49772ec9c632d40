// Request and response headers (Kafka's RequestHeader.json and ResponseHeader.json).
// Request header v1 adds the client id; v2 (flexible requests) adds tagged fields but keeps
// the client id a classic int16-length string. Response header v1 (flexible responses) adds
// tagged fields, except for ApiVersions, whose response header is always v0: a client that
// sent a version the broker does not know must still be able to read the answer.
import { ApiKeys, apiByKey } from './apis.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { KafkaProtocolError } from './errors.js';
import type { Reader, Writer } from './primitives.js';
import type { MessageSpec, MessageValue } from './schema.js';

export const RequestHeaderSpec = {
  name: 'RequestHeader',
  type: 'header',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'requestApiKey', type: 'int16', versions: '0+' },
    { name: 'requestApiVersion', type: 'int16', versions: '0+' },
    { name: 'correlationId', type: 'int32', versions: '0+' },
    { name: 'clientId', type: 'string', versions: '1+', nullableVersions: '1+', flexibleVersions: 'none', default: '' },
  ],
} as const satisfies MessageSpec;

export const ResponseHeaderSpec = {
  name: 'ResponseHeader',
  type: 'header',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'correlationId', type: 'int32', versions: '0+' },
  ],
} as const satisfies MessageSpec;

export type RequestHeader = MessageValue<typeof RequestHeaderSpec>;
export type ResponseHeader = MessageValue<typeof ResponseHeaderSpec>;
export type RequestHeaderVersion = 0 | 1 | 2;
export type ResponseHeaderVersion = 0 | 1;

// Every request logmesh accepts uses header v1, or v2 once its api version is flexible
// (v0, without client id, is only ControlledShutdown v0's, which no client sends us). For a
// version above the highest we implement, Kafka's open-ended flexible ranges still tell.
// An unknown api key gets v1: enough to read its correlation id.
export function requestHeaderVersion(apiKey: number, apiVersion: number): RequestHeaderVersion {
  const api = apiByKey(apiKey);
  return api !== undefined && apiVersion >= api.firstFlexibleVersion ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): ResponseHeaderVersion {
  if (apiKey === ApiKeys.ApiVersions) return 0;
  const api = apiByKey(apiKey);
  return api !== undefined && apiVersion >= api.firstFlexibleVersion ? 1 : 0;
}

export function decodeRequestHeader(reader: Reader, headerVersion: RequestHeaderVersion): RequestHeader {
  return decodeMessage(RequestHeaderSpec, headerVersion, reader);
}

// Reads the api key and version at the start of a request frame without consuming them.
export function peekApiKeyAndVersion(frame: Uint8Array): { apiKey: number; apiVersion: number } {
  if (frame.length < 4) {
    throw new KafkaProtocolError(`truncated: needs 4 bytes, ${frame.length} left`, 0)
      .withContext({ apiName: 'RequestHeader' });
  }
  const view = new DataView(frame.buffer, frame.byteOffset, 4);
  return { apiKey: view.getInt16(0), apiVersion: view.getInt16(2) };
}

export function encodeRequestHeader(writer: Writer, headerVersion: RequestHeaderVersion, header: RequestHeader): Writer {
  return encodeMessage(RequestHeaderSpec, headerVersion, header, writer);
}

export function decodeResponseHeader(reader: Reader, headerVersion: ResponseHeaderVersion): ResponseHeader {
  return decodeMessage(ResponseHeaderSpec, headerVersion, reader);
}

export function encodeResponseHeader(writer: Writer, headerVersion: ResponseHeaderVersion, correlationId: number): Writer {
  return encodeMessage(ResponseHeaderSpec, headerVersion, { correlationId }, writer);
}
