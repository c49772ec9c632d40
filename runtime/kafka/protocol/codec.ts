// The codec derived from the declarations in schema.ts. For each (message, version) it
// compiles a plan once, lazily: which fields are on the wire, in which encoding (classic or
// compact), which are tagged, and what absent fields default to. Decoding and encoding then
// walk the plan; nothing is allocated per field beyond the values themselves.
//
// Flexible versions (KIP-482) are handled here once for every API: strings, bytes, records
// and arrays switch to compact (unsigned varint length + 1) forms, and every struct ends with
// a tagged-field section.
import { KafkaProtocolError, UnsupportedVersionError, asProtocolError, type ProtocolErrorContext } from './errors.js';
import { emptyBytes, nullUuid, Reader, Writer } from './primitives.js';
import {
  inVersions, parseVersions, primitiveTypes,
  type DefaultValue, type FieldSpec, type MessageInput, type MessageSpec, type MessageValue, type PrimitiveTypeName,
} from './schema.js';
import { apiByKey, type ApiKey, type RequestBody, type RequestInput, type ResponseBody, type ResponseInput } from './apis.js';

const enum Kind {
  Int8, Int16, Uint16, Int32, Uint32, Int64, Float64, Bool, Uuid, String, Bytes, Records, Struct,
}

const kindByType: Record<PrimitiveTypeName, Kind> = {
  int8: Kind.Int8, int16: Kind.Int16, uint16: Kind.Uint16, int32: Kind.Int32, uint32: Kind.Uint32,
  int64: Kind.Int64, float64: Kind.Float64, bool: Kind.Bool, uuid: Kind.Uuid, string: Kind.String,
  bytes: Kind.Bytes, records: Kind.Records,
};

const enum Mode {
  // Not in this version: decodes as its default, is not written.
  Absent,
  // Written in declaration order.
  Regular,
  // Written in the struct's tagged-field section when not at its default.
  Tagged,
}

interface FieldPlan {
  readonly name: string;
  readonly mode: Mode;
  readonly isArray: boolean;
  // The element kind for arrays.
  readonly kind: Kind;
  readonly struct: StructPlan | null;
  readonly nullable: boolean;
  readonly compact: boolean;
  readonly tag: number;
  // The default of a primitive field, or null for a field (or array) that defaults to null.
  readonly defaultValue: DefaultValue | Uint8Array | undefined;
  // The least bytes one element (or the value, for non-arrays) takes on the wire.
  readonly elementBytesMin: number;
}

export interface StructPlan {
  readonly name: string;
  readonly version: number;
  // Every declared field, in declaration order (absent ones too, for their defaults).
  readonly fields: readonly FieldPlan[];
  // Tagged fields of this version, by ascending tag.
  readonly tagged: readonly FieldPlan[];
  readonly flexible: boolean;
  readonly bytesMin: number;
}

const primitiveNames: ReadonlySet<string> = new Set(primitiveTypes);

function fixedBytes(kind: Kind, compact: boolean): number {
  switch (kind) {
    case Kind.Int8: case Kind.Bool: return 1;
    case Kind.Int16: case Kind.Uint16: return 2;
    case Kind.Int32: case Kind.Uint32: return 4;
    case Kind.Int64: case Kind.Float64: return 8;
    case Kind.Uuid: return 16;
    case Kind.String: return compact ? 1 : 2;
    case Kind.Bytes: case Kind.Records: return compact ? 1 : 4;
    case Kind.Struct: return 0;
  }
}

function primitiveDefault(spec: FieldSpec, kind: Kind): DefaultValue | Uint8Array | undefined {
  if (spec.default !== undefined) {
    if (spec.default === null) return null;
    if (kind === Kind.Int64 || kind === Kind.Int32 || kind === Kind.Int16 || kind === Kind.Int8
      || kind === Kind.Uint16 || kind === Kind.Uint32 || kind === Kind.Float64) return Number(spec.default);
    return spec.default;
  }
  switch (kind) {
    case Kind.Bool: return false;
    case Kind.Uuid: return nullUuid;
    case Kind.String: return '';
    case Kind.Bytes: return emptyBytes;
    case Kind.Records: return null;
    case Kind.Struct: return undefined;
    default: return 0;
  }
}

function compileStruct(name: string, specs: readonly FieldSpec[], version: number, flexible: boolean): StructPlan {
  const names = new Set<string>();
  const fields: FieldPlan[] = [];
  for (const spec of specs) {
    if (names.has(spec.name)) throw new Error(`${name}: field ${spec.name} declared twice`);
    names.add(spec.name);
    fields.push(compileField(name, spec, version, flexible));
  }
  const tagged = fields.filter((f) => f.mode === Mode.Tagged).sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < tagged.length; i++) {
    if (tagged[i]!.tag === tagged[i - 1]!.tag) throw new Error(`${name}: tag ${tagged[i]!.tag} used twice in v${version}`);
  }
  let bytesMin = flexible ? 1 : 0;
  for (const f of fields) {
    if (f.mode !== Mode.Regular) continue;
    bytesMin += f.isArray ? (f.compact ? 1 : 4) : f.elementBytesMin;
  }
  return { name, version, fields, tagged, flexible, bytesMin };
}

function compileField(owner: string, spec: FieldSpec, version: number, flexible: boolean): FieldPlan {
  const isArray = spec.type.startsWith('[]');
  const typeName = isArray ? spec.type.slice(2) : spec.type;
  const isStruct = !primitiveNames.has(typeName);
  if (isStruct && spec.fields === undefined) throw new Error(`${owner}.${spec.name}: struct ${typeName} has no fields`);
  if (!isStruct && spec.fields !== undefined) throw new Error(`${owner}.${spec.name}: ${typeName} cannot have fields`);
  const present = inVersions(parseVersions(spec.versions), version);
  const tagged = present && spec.taggedVersions !== undefined && inVersions(parseVersions(spec.taggedVersions), version);
  if (spec.taggedVersions !== undefined && spec.tag === undefined) throw new Error(`${owner}.${spec.name}: tagged without a tag`);
  if (tagged && !flexible) throw new Error(`${owner}.${spec.name}: tagged in v${version}, which is not flexible`);
  const nullable = present && spec.nullableVersions !== undefined && inVersions(parseVersions(spec.nullableVersions), version);
  if (nullable && isStruct && !isArray) throw new Error(`${owner}.${spec.name}: nullable structs are not supported`);
  const compact = flexible && (spec.flexibleVersions === undefined || inVersions(parseVersions(spec.flexibleVersions), version));
  const kind = isStruct ? Kind.Struct : kindByType[typeName as PrimitiveTypeName];
  const struct = isStruct ? compileStruct(typeName, spec.fields!, version, flexible) : null;
  return {
    name: spec.name,
    mode: !present ? Mode.Absent : tagged ? Mode.Tagged : Mode.Regular,
    isArray,
    kind,
    struct,
    nullable,
    compact,
    tag: spec.tag ?? -1,
    defaultValue: isArray ? (spec.default === null ? null : undefined) : primitiveDefault(spec, kind),
    elementBytesMin: struct === null ? fixedBytes(kind, compact) : struct.bytesMin,
  };
}

const plans = new Map<MessageSpec, (StructPlan | undefined)[]>();

// The plan of one message version, compiled on first use.
export function planFor(spec: MessageSpec, version: number): StructPlan {
  let byVersion = plans.get(spec);
  if (byVersion === undefined) {
    byVersion = [];
    plans.set(spec, byVersion);
  }
  let plan = byVersion[version];
  if (plan === undefined) {
    if (!Number.isInteger(version) || !inVersions(parseVersions(spec.validVersions), version)) {
      throw new Error(`${spec.name} has no version ${version}`);
    }
    plan = compileStruct(spec.name, spec.fields, version, inVersions(parseVersions(spec.flexibleVersions), version));
    byVersion[version] = plan;
  }
  return plan;
}

export function supportsVersion(spec: MessageSpec, version: number): boolean {
  return Number.isInteger(version) && inVersions(parseVersions(spec.validVersions), version);
}

// ---- Defaults ----

function defaultOf(field: FieldPlan): unknown {
  if (field.isArray) return field.defaultValue === null ? null : [];
  if (field.struct !== null) return defaultStruct(field.struct);
  return field.defaultValue;
}

function defaultStruct(plan: StructPlan): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of plan.fields) value[field.name] = defaultOf(field);
  return value;
}

// Whether a tagged field can be left out: its value is its default.
function isDefault(field: FieldPlan, value: unknown): boolean {
  if (value === undefined) return true;
  if (field.isArray) return field.defaultValue === null ? value === null : Array.isArray(value) && value.length === 0;
  if (field.struct !== null) {
    if (typeof value !== 'object' || value === null) return false;
    const struct = value as Record<string, unknown>;
    for (const f of field.struct.fields) if (f.mode !== Mode.Absent && !isDefault(f, struct[f.name])) return false;
    return true;
  }
  if (field.kind === Kind.Bytes && field.defaultValue !== null) return value instanceof Uint8Array && value.length === 0;
  return value === field.defaultValue;
}

// ---- Decoding ----

function decodeStruct(reader: Reader, plan: StructPlan): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  const fields = plan.fields;
  let i = 0;
  try {
    for (; i < fields.length; i++) {
      const field = fields[i]!;
      value[field.name] = field.mode === Mode.Regular ? decodeField(reader, field) : defaultOf(field);
    }
  } catch (error) {
    throw asProtocolError(error).atField(fields[i]!.name);
  }
  if (plan.flexible) decodeTaggedFields(reader, plan, value);
  return value;
}

function taggedField(plan: StructPlan, tag: number): FieldPlan | undefined {
  for (const field of plan.tagged) if (field.tag === tag) return field;
  return undefined;
}

function decodeTaggedFields(reader: Reader, plan: StructPlan, value: Record<string, unknown>): void {
  const count = reader.unsignedVarint();
  for (let i = 0; i < count; i++) {
    const tag = reader.unsignedVarint();
    const size = reader.unsignedVarint();
    const field = taggedField(plan, tag);
    if (field === undefined) {
      reader.skip(size);
      continue;
    }
    const start = reader.offset;
    if (size > reader.remaining) {
      throw new KafkaProtocolError(`truncated: tag ${tag} needs ${size} bytes, ${reader.remaining} left`, start).atField(field.name);
    }
    try {
      value[field.name] = decodeField(reader, field);
    } catch (error) {
      throw asProtocolError(error).atField(field.name);
    }
    if (reader.offset - start !== size) {
      throw new KafkaProtocolError(`tagged field took ${reader.offset - start} bytes, its size says ${size}`, start).atField(field.name);
    }
  }
}

function decodeField(reader: Reader, field: FieldPlan): unknown {
  if (!field.isArray) return decodeValue(reader, field);
  const length = reader.arrayLength(field.compact, field.nullable, field.elementBytesMin);
  if (length === -1) return null;
  const elements = new Array<unknown>(length);
  let i = 0;
  try {
    for (; i < length; i++) elements[i] = decodeValue(reader, field);
  } catch (error) {
    throw asProtocolError(error).atField(`[${i}]`);
  }
  return elements;
}

// One value of the field's (element) kind.
function decodeValue(reader: Reader, field: FieldPlan): unknown {
  switch (field.kind) {
    case Kind.Int8: return reader.int8();
    case Kind.Int16: return reader.int16();
    case Kind.Uint16: return reader.uint16();
    case Kind.Int32: return reader.int32();
    case Kind.Uint32: return reader.uint32();
    case Kind.Int64: return reader.int64();
    case Kind.Float64: return reader.float64();
    case Kind.Bool: return reader.boolean();
    case Kind.Uuid: return reader.uuid();
    case Kind.String:
      // An array of strings has nullable elements never; the field's nullability is the array's.
      if (field.nullable && !field.isArray) return field.compact ? reader.compactNullableString() : reader.nullableString();
      return field.compact ? reader.compactString() : reader.string();
    case Kind.Bytes:
      if (field.nullable && !field.isArray) return field.compact ? reader.compactNullableBytes() : reader.nullableBytes();
      return field.compact ? reader.compactBytes() : reader.bytes();
    case Kind.Records: return reader.records(field.compact);
    case Kind.Struct: return decodeStruct(reader, field.struct!);
  }
}

// ---- Encoding ----

function encodeStruct(writer: Writer, plan: StructPlan, input: unknown): void {
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new KafkaProtocolError(`expected a ${plan.name} struct, got ${input === null ? 'null' : typeof input}`);
  }
  const value = input as Record<string, unknown>;
  const fields = plan.fields;
  let i = 0;
  try {
    for (; i < fields.length; i++) {
      const field = fields[i]!;
      if (field.mode === Mode.Regular) encodeField(writer, field, value[field.name]);
    }
  } catch (error) {
    throw asProtocolError(error).atField(fields[i]!.name);
  }
  if (plan.flexible) encodeTaggedFields(writer, plan, value);
}

function encodeTaggedFields(writer: Writer, plan: StructPlan, value: Record<string, unknown>): void {
  let count = 0;
  for (const field of plan.tagged) if (!isDefault(field, value[field.name])) count++;
  writer.unsignedVarint(count);
  if (count === 0) return;
  for (const field of plan.tagged) {
    const fieldValue = value[field.name];
    if (isDefault(field, fieldValue)) continue;
    // A tagged field is prefixed by its size, known only once it is encoded.
    const scratch = new Writer(64);
    try {
      encodeField(scratch, field, fieldValue);
    } catch (error) {
      throw asProtocolError(error).atField(field.name);
    }
    writer.unsignedVarint(field.tag).unsignedVarint(scratch.length).raw(scratch.written());
  }
}

function encodeField(writer: Writer, field: FieldPlan, value: unknown): void {
  if (value === undefined) value = defaultOf(field);
  if (value === null) {
    if (!field.nullable) throw new KafkaProtocolError('null in a field that is not nullable in this version');
    if (field.isArray) {
      writer.arrayLength(-1, field.compact);
      return;
    }
  }
  if (!field.isArray) {
    encodeValue(writer, field, value);
    return;
  }
  if (!Array.isArray(value)) throw new KafkaProtocolError(`expected an array, got ${typeof value}`);
  writer.arrayLength(value.length, field.compact);
  let i = 0;
  try {
    for (; i < value.length; i++) encodeValue(writer, field, value[i]);
  } catch (error) {
    throw asProtocolError(error).atField(`[${i}]`);
  }
}

function encodeValue(writer: Writer, field: FieldPlan, value: unknown): void {
  switch (field.kind) {
    case Kind.Int8: writer.int8(value as number); return;
    case Kind.Int16: writer.int16(value as number); return;
    case Kind.Uint16: writer.uint16(value as number); return;
    case Kind.Int32: writer.int32(value as number); return;
    case Kind.Uint32: writer.uint32(value as number); return;
    case Kind.Int64: writer.int64(value as number); return;
    case Kind.Float64: writer.float64(value as number); return;
    case Kind.Bool: writer.boolean(value as boolean); return;
    case Kind.Uuid: writer.uuid(value as string); return;
    case Kind.String:
      if (value === null && field.isArray) throw new KafkaProtocolError('null string in an array');
      if (field.compact) writer.compactNullableString(value as string | null);
      else writer.nullableString(value as string | null);
      return;
    case Kind.Bytes:
      if (value === null && field.isArray) throw new KafkaProtocolError('null bytes in an array');
      if (field.compact) writer.compactNullableBytes(value as Uint8Array | null);
      else writer.nullableBytes(value as Uint8Array | null);
      return;
    case Kind.Records:
      if (value !== null && !(value instanceof Uint8Array)) throw new KafkaProtocolError(`expected records bytes, got ${typeof value}`);
      writer.records(value, field.compact);
      return;
    case Kind.Struct: encodeStruct(writer, field.struct!, value); return;
  }
}

// ---- Messages ----

function context(spec: MessageSpec, version: number): ProtocolErrorContext {
  if (spec.type === 'header') return { apiName: spec.name, apiVersion: version };
  return { apiKey: spec.apiKey, apiName: spec.name.replace(/(Request|Response)$/, ''), apiVersion: version, part: spec.type };
}

// Decodes one message body of `version` from the reader's position; fields absent in that
// version hold their defaults.
export function decodeMessage<M extends MessageSpec>(spec: M, version: number, reader: Reader): MessageValue<M> {
  const plan = planFor(spec, version);
  try {
    return decodeStruct(reader, plan) as MessageValue<M>;
  } catch (error) {
    throw asProtocolError(error).withContext(context(spec, version));
  }
}

// Encodes one message body of `version`; fields left out are written as their defaults,
// fields absent in that version are not written.
export function encodeMessage<M extends MessageSpec>(spec: M, version: number, value: MessageInput<M>, writer: Writer): Writer {
  const plan = planFor(spec, version);
  try {
    encodeStruct(writer, plan, value);
  } catch (error) {
    throw asProtocolError(error).withContext(context(spec, version));
  }
  return writer;
}

// A message of `version` with every field at its default.
export function defaultMessage<M extends MessageSpec>(spec: M, version: number): MessageValue<M> {
  return defaultStruct(planFor(spec, version)) as MessageValue<M>;
}

// ---- By api key ----

// Body-level calls know no correlation id: an UnsupportedVersionError from here carries -1
// (decodeRequestFrame in frames.ts throws one with the header's).
function apiVersionOrThrow(apiKey: number, version: number) {
  const api = apiByKey(apiKey);
  if (api === undefined) throw new UnsupportedVersionError(apiKey, version, -1, null, false);
  if (!Number.isInteger(version) || version < api.minVersion || version > api.maxVersion) {
    throw new UnsupportedVersionError(apiKey, version, -1, null, true);
  }
  return api;
}

export function decodeRequest<K extends ApiKey>(apiKey: K, version: number, reader: Reader): RequestBody<K> {
  const api = apiVersionOrThrow(apiKey, version);
  return decodeMessage(api.request, version, reader) as unknown as RequestBody<K>;
}

export function decodeResponse<K extends ApiKey>(apiKey: K, version: number, reader: Reader): ResponseBody<K> {
  const api = apiVersionOrThrow(apiKey, version);
  return decodeMessage(api.response, version, reader) as unknown as ResponseBody<K>;
}

// Writes the body into `writer` (a new one by default) and returns everything the writer
// holds, as a view.
export function encodeRequest<K extends ApiKey>(apiKey: K, version: number, body: RequestInput<K>, writer = new Writer()): Uint8Array {
  const api = apiVersionOrThrow(apiKey, version);
  return encodeMessage(api.request, version, body as MessageInput<MessageSpec>, writer).written();
}

export function encodeResponse<K extends ApiKey>(apiKey: K, version: number, body: ResponseInput<K>, writer = new Writer()): Uint8Array {
  const api = apiVersionOrThrow(apiKey, version);
  return encodeMessage(api.response, version, body as MessageInput<MessageSpec>, writer).written();
}
