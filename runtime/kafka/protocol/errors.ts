// The two ways a request can fail to decode, kept apart because the listener answers them
// differently: a malformed frame drops the connection (one log line, from `message`); an
// api key or version this broker does not implement is answered with UNSUPPORTED_VERSION.

import { ErrorCode } from '../../../actors/protocol/errors.js';

/** Kafka's UNSUPPORTED_VERSION, from the project's one error table. */
export const unsupportedVersionErrorCode = ErrorCode.UNSUPPORTED_VERSION;

export interface ProtocolErrorContext {
  readonly apiKey?: number;
  readonly apiName?: string;
  readonly apiVersion?: number;
  // 'request' or 'response' body, or a header.
  readonly part?: string;
}

// Malformed, truncated or unencodable wire data. `message` names the api, version and the
// path of the field that failed (e.g. `topicData[0].partitionData[1].records`).
export class KafkaProtocolError extends Error {
  override readonly name = 'KafkaProtocolError';
  readonly code = 'MALFORMED';
  readonly reason: string;
  // Byte offset in the frame (or in the body being decoded) where the failure was found.
  readonly offset: number;
  // Outermost field first.
  readonly fieldPath: string[] = [];
  context: ProtocolErrorContext = {};

  constructor(reason: string, offset = -1) {
    super(reason);
    this.reason = reason;
    this.offset = offset;
    this.message = this.describe();
  }

  // Called while unwinding out of nested structs and arrays: the innermost name comes first.
  atField(segment: string): this {
    this.fieldPath.unshift(segment);
    this.message = this.describe();
    return this;
  }

  withContext(context: ProtocolErrorContext): this {
    this.context = { ...context, ...this.context };
    this.message = this.describe();
    return this;
  }

  get field(): string {
    return this.fieldPath.reduce((path, s) => (s.startsWith('[') || path === '' ? path + s : `${path}.${s}`), '');
  }

  private describe(): string {
    const { apiName, apiKey, apiVersion, part } = this.context;
    const api = apiName ?? (apiKey === undefined ? undefined : `api ${apiKey}`);
    const where = [
      api === undefined ? '' : `${api}${apiVersion === undefined ? '' : ` v${apiVersion}`}`,
      part ?? '',
    ].filter((s) => s !== '').join(' ');
    const field = this.field === '' ? '' : ` field ${this.field}`;
    const at = this.offset >= 0 ? ` (offset ${this.offset})` : '';
    return `${where === '' ? 'kafka protocol' : where}${field}: ${this.reason}${at}`;
  }
}

// A request whose api key, or whose version of a known api, this codec does not implement.
// The header fields that could be read are kept so the listener can answer with the
// request's correlation id.
export class UnsupportedVersionError extends Error {
  override readonly name = 'UnsupportedVersionError';
  readonly code = 'UNSUPPORTED_VERSION';
  readonly errorCode = unsupportedVersionErrorCode;

  constructor(
    readonly apiKey: number,
    readonly apiVersion: number,
    readonly correlationId: number,
    readonly clientId: string | null,
    readonly knownApi: boolean,
  ) {
    super(
      knownApi
        ? `unsupported version ${apiVersion} of api ${apiKey} (correlation id ${correlationId})`
        : `unknown api key ${apiKey} (version ${apiVersion}, correlation id ${correlationId})`,
    );
  }
}

// Wraps anything thrown while decoding that is not already a protocol error, so callers see
// one error type for bad input.
export function asProtocolError(error: unknown): KafkaProtocolError {
  if (error instanceof KafkaProtocolError) return error;
  return new KafkaProtocolError(error instanceof Error ? error.message : String(error));
}
