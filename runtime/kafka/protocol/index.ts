// The Kafka wire-protocol codec: what the TCP listener (and a test client) imports.
export { KafkaProtocolError, UnsupportedVersionError, unsupportedVersionErrorCode } from './errors.js';
export type { ProtocolErrorContext } from './errors.js';
export { nullUuid, Reader, Writer } from './primitives.js';
export type { FieldSpec, MessageInput, MessageSpec, MessageValue } from './schema.js';
export {
  ApiKeys, apis, apiByKey, isApiKey, supportsApiVersion, supportedApiVersions,
} from './apis.js';
export type {
  ApiKey, ApiName, ApiSpec, RequestBody, RequestInput, ResponseBody, ResponseInput,
} from './apis.js';
export {
  decodeRequest, decodeResponse, encodeRequest, encodeResponse, decodeMessage, encodeMessage, defaultMessage,
} from './codec.js';
export {
  requestHeaderVersion, responseHeaderVersion, decodeRequestHeader, encodeRequestHeader,
  decodeResponseHeader, encodeResponseHeader,
} from './headers.js';
export type { RequestHeader, ResponseHeader } from './headers.js';
export {
  decodeRequestFrame, decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, encodeResponseFrameChunks,
  encodeApiVersionsFallbackFrame, frameSizeBytes, responseSpliceBytesMin,
} from './frames.js';
export type { DecodedRequest, RequestFrameHeader } from './frames.js';
