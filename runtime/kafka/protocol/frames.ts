// Whole frames: header + body. A Kafka frame on the socket is an int32 size followed by that
// many bytes; the listener's framer strips the size before decodeRequestFrame, and the
// encode functions here return frames with the size prefix, ready to write.
import {
  apiByKey, supportedApiVersions, ApiKeys,
  type ApiKey, type ApiName, type ApiSpec, type RequestBody, type RequestInput, type ResponseBody, type ResponseInput,
} from './apis.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { KafkaProtocolError, UnsupportedVersionError, unsupportedVersionErrorCode } from './errors.js';
import {
  decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, peekApiKeyAndVersion,
  requestHeaderVersion, responseHeaderVersion, type RequestHeader,
} from './headers.js';
import { Reader, Writer } from './primitives.js';
import type { MessageInput, MessageSpec } from './schema.js';

// The int32 size prefix of every frame. (The bound on request frame size is the
// connection's: requestBytesMaxDefault in ../connection.ts.)
export const frameSizeBytes = 4;

// A decoded request; `apiKey` narrows `body` to that api's request type.
export type DecodedRequest = {
  [K in ApiKey]: { apiKey: K; apiName: ApiName; apiVersion: number; header: RequestHeader; body: RequestBody<K> };
}[ApiKey];

function checkConsumed(reader: Reader, api: ApiSpec, apiVersion: number, part: string): void {
  if (reader.remaining === 0) return;
  throw new KafkaProtocolError(`${reader.remaining} bytes left over after the body`, reader.offset)
    .withContext({ apiKey: api.apiKey, apiName: api.name, apiVersion, part });
}

function supportedApi(apiKey: number, apiVersion: number): ApiSpec {
  const api = apiByKey(apiKey);
  if (api === undefined || apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    throw new Error(`api ${apiKey} v${apiVersion} is not implemented by the codec`);
  }
  return api;
}

// Decodes a request frame (without its size prefix). Throws UnsupportedVersionError for an
// api key or version the codec does not implement (with the correlation id, when the header
// could be read), and KafkaProtocolError for anything malformed or truncated.
// Records fields in the body are views into `frame`.
export function decodeRequestFrame(frame: Uint8Array): DecodedRequest {
  const { apiKey, apiVersion } = peekApiKeyAndVersion(frame);
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
  const api = apiByKey(apiKey);
  if (api === undefined || apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    throw new UnsupportedVersionError(apiKey, apiVersion, header.correlationId, header.clientId, api !== undefined);
  }
  const body = decodeMessage(api.request, apiVersion, reader);
  checkConsumed(reader, api, apiVersion, 'request');
  return { apiKey, apiName: api.name, apiVersion, header, body } as unknown as DecodedRequest;
}

// Byte fields of a response frame at least this long travel as chunks of their own (see
// encodeResponseFrameChunks): below it, one small copy costs less than one more iovec.
export const responseSpliceBytesMin = 4096;

function encodeResponseInto<K extends ApiKey>(
  writer: Writer, apiKey: K, apiVersion: number, correlationId: number, body: ResponseInput<K>,
): Writer {
  const api = supportedApi(apiKey, apiVersion);
  const sizeAt = writer.placeholderInt32();
  encodeResponseHeader(writer, responseHeaderVersion(apiKey, apiVersion), correlationId);
  encodeMessage(api.response, apiVersion, body as MessageInput<MessageSpec>, writer);
  writer.patchInt32(sizeAt, writer.length - frameSizeBytes);
  return writer;
}

// A response frame, size prefix included.
export function encodeResponseFrame<K extends ApiKey>(
  apiKey: K, apiVersion: number, correlationId: number, body: ResponseInput<K>,
): Uint8Array {
  return encodeResponseInto(new Writer(), apiKey, apiVersion, correlationId, body).written();
}

// A response frame, size prefix included, as chunks to write in order: the body's large byte
// fields (a fetch's record batches) are the caller's own arrays, not copies, so they must not
// change until the chunks are written.
export function encodeResponseFrameChunks<K extends ApiKey>(
  apiKey: K, apiVersion: number, correlationId: number, body: ResponseInput<K>,
): Uint8Array[] {
  return encodeResponseInto(new Writer(undefined, responseSpliceBytesMin), apiKey, apiVersion, correlationId, body).writtenChunks();
}

// The answer to an ApiVersions request of a version the codec does not implement: a v0 body
// (header v0) with UNSUPPORTED_VERSION and the versions the broker does implement, so the
// client can retry with one of them.
export function encodeApiVersionsFallbackFrame(correlationId: number): Uint8Array {
  return encodeResponseFrame(ApiKeys.ApiVersions, 0, correlationId, {
    errorCode: unsupportedVersionErrorCode,
    apiKeys: supportedApiVersions(),
  });
}

export interface RequestFrameHeader<K extends ApiKey = ApiKey> {
  readonly apiKey: K;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

// A request frame, size prefix included (for tests and a client).
export function encodeRequestFrame<K extends ApiKey>(header: RequestFrameHeader<K>, body: RequestInput<K>): Uint8Array {
  const api = supportedApi(header.apiKey, header.apiVersion);
  const writer = new Writer();
  const sizeAt = writer.placeholderInt32();
  encodeRequestHeader(writer, requestHeaderVersion(header.apiKey, header.apiVersion), {
    requestApiKey: header.apiKey,
    requestApiVersion: header.apiVersion,
    correlationId: header.correlationId,
    clientId: header.clientId,
  });
  encodeMessage(api.request, header.apiVersion, body as MessageInput<MessageSpec>, writer);
  writer.patchInt32(sizeAt, writer.length - frameSizeBytes);
  return writer.written();
}

// Decodes a response frame (without its size prefix) to a request of `apiKey` v`apiVersion`.
export function decodeResponseFrame<K extends ApiKey>(
  apiKey: K, apiVersion: number, frame: Uint8Array,
): { correlationId: number; body: ResponseBody<K> } {
  const api = supportedApi(apiKey, apiVersion);
  const reader = new Reader(frame);
  const { correlationId } = decodeResponseHeader(reader, responseHeaderVersion(apiKey, apiVersion));
  const body = decodeMessage(api.response, apiVersion, reader) as unknown as ResponseBody<K>;
  checkConsumed(reader, api, apiVersion, 'response');
  return { correlationId, body };
}
