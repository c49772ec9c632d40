// Every declared message, in every version, request and response: random values encode and
// decode back, fields absent from the version come back as their defaults, and re-encoding
// the decoded value gives the same bytes. The oracle for defaults is written here from
// Kafka's rules, independently of the codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apis, decodeMessage, encodeMessage, Reader, Writer, type ApiSpec } from '../../../../runtime/kafka/protocol/index.js';
import { inVersions, parseVersions, type FieldSpec, type MessageSpec } from '../../../../runtime/kafka/protocol/schema.js';
import { RequestHeaderSpec, ResponseHeaderSpec } from '../../../../runtime/kafka/protocol/headers.js';

const arraysLengthMax = 3;
const runsPerVersion = 15;

const has = (range: string | undefined, version: number) => range !== undefined && inVersions(parseVersions(range), version);

function defaultOf(field: FieldSpec): unknown {
  if (field.type.startsWith('[]')) return field.default === null ? null : [];
  if (field.fields !== undefined) return Object.fromEntries(field.fields.map((f) => [f.name, defaultOf(f)]));
  if (field.default !== undefined) {
    if (field.default === null || typeof field.default === 'boolean' || field.type === 'string') return field.default;
    return Number(field.default);
  }
  switch (field.type) {
    case 'bool': return false;
    case 'string': return '';
    case 'uuid': return '00000000-0000-0000-0000-000000000000';
    case 'bytes': return new Uint8Array(0);
    case 'records': return null;
    default: return 0;
  }
}

function primitive(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8': return fc.integer({ min: -128, max: 127 });
    case 'int16': return fc.integer({ min: -32768, max: 32767 });
    case 'uint16': return fc.integer({ min: 0, max: 65535 });
    case 'int32': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'uint32': return fc.integer({ min: 0, max: 0xffffffff });
    case 'int64': return fc.oneof(fc.constantFrom(-1, 0, 1), fc.maxSafeInteger());
    case 'float64': return fc.double();
    case 'bool': return fc.boolean();
    case 'uuid': return fc.oneof(fc.constant('00000000-0000-0000-0000-000000000000'), fc.uuid());
    case 'string': return fc.string({ unit: 'binary', maxLength: 12 });
    case 'bytes': case 'records': return fc.uint8Array({ maxLength: 12 });
    default: throw new Error(`no arbitrary for ${type}`);
  }
}

// [value to encode, value expected back] for one struct of `version`.
function structArbitrary(fields: readonly FieldSpec[], version: number): fc.Arbitrary<[Record<string, unknown>, Record<string, unknown>]> {
  const entries = fields.map((field) => fieldArbitrary(field, version).map((pair) => [field.name, pair] as const));
  return fc.tuple(...entries).map((pairs) => {
    const input: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, [value, back]] of pairs) {
      input[name] = value;
      expected[name] = back;
    }
    return [input, expected];
  });
}

function fieldArbitrary(field: FieldSpec, version: number): fc.Arbitrary<[unknown, unknown]> {
  const present = has(field.versions, version);
  const isArray = field.type.startsWith('[]');
  const element = isArray ? field.type.slice(2) : field.type;
  const one: fc.Arbitrary<[unknown, unknown]> = field.fields !== undefined
    ? structArbitrary(field.fields, version)
    : primitive(element).map((v) => [v, v]);
  let value: fc.Arbitrary<[unknown, unknown]> = isArray
    ? fc.array(one, { maxLength: arraysLengthMax }).map((pairs) => [pairs.map((p) => p[0]), pairs.map((p) => p[1])])
    : one;
  if (has(field.nullableVersions, version)) value = fc.option(value, { nil: null }).map((v) => v ?? [null, null]);
  if (!present) {
    // Whatever a caller puts in a field the version lacks is not written; it decodes as default.
    const expected = defaultOf(field);
    return fc.option(value.map(([v]) => v), { nil: undefined }).map((v) => [v, expected]);
  }
  // Left out: written as the default.
  return fc.option(value, { nil: undefined, freq: 8 }).map((v) => v ?? [undefined, defaultOf(field)]);
}

function checkMessage(spec: MessageSpec, version: number): void {
  fc.assert(fc.property(structArbitrary(spec.fields, version), ([input, expected]) => {
    const bytes = encodeMessage(spec, version, input, new Writer()).written();
    const reader = new Reader(bytes);
    const decoded = decodeMessage(spec, version, reader);
    assert.equal(reader.remaining, 0);
    assert.deepEqual(decoded, expected);
    assert.deepEqual(encodeMessage(spec, version, decoded, new Writer()).written(), bytes);
  }), { numRuns: runsPerVersion });
}

for (const api of Object.values(apis) as ApiSpec[]) {
  test(`${api.name} (key ${api.apiKey}) v${api.minVersion}-${api.maxVersion}: requests and responses round trip (property)`, () => {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      checkMessage(api.request, version);
      checkMessage(api.response, version);
    }
  });
}

test('request headers v0-2 and response headers v0-1 round trip (property)', () => {
  for (const version of [0, 1, 2]) checkMessage(RequestHeaderSpec, version);
  for (const version of [0, 1]) checkMessage(ResponseHeaderSpec, version);
});
