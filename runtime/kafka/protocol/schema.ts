// Kafka messages declared as data, the way Apache Kafka's own JSON message definitions
// (clients/src/main/resources/common/message/*.json) declare them: a message is a list of
// fields, each with a type and the versions it exists in. The codec (codec.ts) derives the
// wire encoding from these declarations; no API has hand-written byte handling.
//
// Types, as in Kafka's JSON:
//   a primitive:            'int8' 'int16' 'uint16' 'int32' 'uint32' 'int64' 'float64' 'bool'
//                           'uuid' 'string' 'bytes' 'records'
//   an array of primitives: '[]int32', '[]string', ...
//   a struct:               'SnapshotId' with `fields`
//   an array of structs:    '[]FetchTopic' with `fields`
// Version ranges: '3+' (3 and later), '3-7', '3' (only 3), 'none'.

export const primitiveTypes = [
  'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'bool', 'uuid', 'string', 'bytes', 'records',
] as const;
export type PrimitiveTypeName = (typeof primitiveTypes)[number];

export type DefaultValue = number | boolean | string | null;

export interface FieldSpec {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  // A tagged field is written in the tagged-field section at the end of its struct, and only
  // when its value differs from its default.
  readonly taggedVersions?: string;
  readonly tag?: number;
  // 'none' keeps a field in its classic encoding even in flexible versions (the request
  // header's client id).
  readonly flexibleVersions?: string;
  readonly default?: DefaultValue;
  readonly fields?: readonly FieldSpec[];
}

export interface MessageSpec {
  readonly name: string;
  readonly apiKey?: number;
  readonly type: 'request' | 'response' | 'header';
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSpec[];
}

// An inclusive range; `max` is Infinity for 'N+', and `min > max` for 'none'.
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const noVersions: VersionRange = { min: 1, max: 0 };
const versionRangeText = /^(\d+)(\+|-(\d+))?$/;

export function parseVersions(text: string): VersionRange {
  if (text === 'none') return noVersions;
  const match = versionRangeText.exec(text);
  if (match === null) throw new Error(`bad version range '${text}'`);
  const min = Number(match[1]);
  if (match[2] === '+') return { min, max: Infinity };
  const max = match[3] === undefined ? min : Number(match[3]);
  if (max < min) throw new Error(`bad version range '${text}'`);
  return { min, max };
}

export function inVersions(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

// ---- The value types a declaration describes, derived at the type level ----

interface PrimitiveValues {
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  uint32: number;
  int64: number;
  float64: number;
  bool: boolean;
  uuid: string;
  string: string;
  bytes: Uint8Array;
  // A view into the received frame holding record batches, never decoded by the codec.
  records: Uint8Array;
}

type ElementValue<F extends FieldSpec, T extends string> = T extends keyof PrimitiveValues
  ? PrimitiveValues[T]
  : F extends { readonly fields: infer S extends readonly FieldSpec[] } ? StructValue<S> : never;

type BaseValue<F extends FieldSpec> = F['type'] extends `[]${infer E}` ? ElementValue<F, E>[] : ElementValue<F, F['type']>;

export type FieldValue<F extends FieldSpec> = F extends { readonly nullableVersions: string }
  ? BaseValue<F> | null
  : BaseValue<F>;

// A decoded struct: every declared field is present; fields absent from the decoded version
// hold their defaults.
export type StructValue<S extends readonly FieldSpec[]> = { [F in S[number] as F['name']]: FieldValue<F> };

// A message known only as MessageSpec (not a literal declaration) has untyped values.
export type MessageValue<M extends MessageSpec> = string extends M['fields'][number]['name']
  ? Record<string, unknown>
  : StructValue<M['fields']>;

// What the encoder accepts: any field may be left out and is then written as its default.
type ElementInput<F extends FieldSpec, T extends string> = T extends keyof PrimitiveValues
  ? PrimitiveValues[T]
  : F extends { readonly fields: infer S extends readonly FieldSpec[] } ? StructInput<S> : never;

type BaseInput<F extends FieldSpec> = F['type'] extends `[]${infer E}`
  ? readonly ElementInput<F, E>[]
  : ElementInput<F, F['type']>;

export type FieldInput<F extends FieldSpec> = F extends { readonly nullableVersions: string }
  ? BaseInput<F> | null
  : BaseInput<F>;

export type StructInput<S extends readonly FieldSpec[]> = { [F in S[number] as F['name']]?: FieldInput<F> };

export type MessageInput<M extends MessageSpec> = string extends M['fields'][number]['name']
  ? Record<string, unknown>
  : StructInput<M['fields']>;
