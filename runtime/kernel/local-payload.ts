// Messages between actors of one node without protobuf: what the receiver would get from
// decodePayload(kind, encodePayload(kind, body)), built by copying field by field. Only for
// flat kinds (scalars, strings and bytes: produce, fetch and their answers, heartbeats,
// votes), where the copy is exact; anything else goes through the codec as before.
import { payloadTypeOf } from '../../actors/protocol/codec.js';
import { type WireKind, type WireMessages, wireKinds } from '../../actors/protocol/messages.js';

type FlatFieldType = 'uint32' | 'sint32' | 'double' | 'bool' | 'string' | 'bytes';

interface FlatPlan {
  /** The decoded message's class: its prototype supplies the proto3 defaults, as after a decode. */
  ctor: new () => Record<string, unknown>;
  /** In field-number order, the order the encoder writes and the decoder sets them. */
  fields: Array<{ name: string; type: FlatFieldType }>;
}

const flatTypes: ReadonlySet<string> = new Set<FlatFieldType>(['uint32', 'sint32', 'double', 'bool', 'string', 'bytes']);

function planOf(kind: WireKind): FlatPlan | undefined {
  const type = payloadTypeOf(kind);
  if (type.oneofsArray.length > 0) return undefined;
  const fields = type.fieldsArray.map((field) => field.resolve());
  if (fields.some((field) => field.repeated || field.map || field.resolvedType !== null || !flatTypes.has(field.type))) return undefined;
  return {
    ctor: type.ctor as unknown as FlatPlan['ctor'],
    fields: [...fields].sort((a, b) => a.id - b.id).map((field) => ({ name: field.name, type: field.type as FlatFieldType })),
  };
}

const plans = new Map<string, FlatPlan>(wireKinds.flatMap((kind) => {
  const plan = planOf(kind);
  return plan === undefined ? [] : [[kind, plan] as const];
}));

/**
 * Byte arrays handed over whole: their sender will neither write them nor need them as they
 * are once sent. What the node's storage hands out from a log read (fresh from the file, or
 * the tail cache's own copy of an append), and a Produce request's records (a view of the
 * request's frame, which the listener reads nothing from afterwards but the batch headers'
 * record counts, which the leader's in-place offsets leave alone). A local message carries
 * these as they are instead of copying them, so records go from the socket to the log, and
 * from a read to the socket, without a copy in between.
 */
const sealedBytes = new WeakSet<Uint8Array>();

/** Promises that the sender will not write `bytes`, or rely on what it holds, from now on; returns them. */
export function sealBytes<T extends Uint8Array>(bytes: T): T {
  sealedBytes.add(bytes);
  return bytes;
}

/** A lone surrogate: the one thing the UTF-8 round trip of a string changes. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `kind` may take the copy (for tests and docs). */
export function copiesLocally(kind: WireKind): boolean {
  return plans.has(kind);
}

/**
 * The body as the receiver would decode it, or undefined when only the codec can say (a
 * nested kind, or a value of an unexpected type, whose encoding the codec decides or refuses).
 * Numbers are narrowed as the wire narrows them (uint32 `>>> 0`, sint32 `| 0`); bytes are
 * copied, so neither side sees the other's later writes (sealed bytes, which nobody writes,
 * are passed as they are); fields the sender left out, or set
 * to null or undefined, are not set, and read as the class's defaults.
 */
export function copyLocalPayload<K extends WireKind>(kind: K, body: WireMessages[K]): WireMessages[K] | undefined {
  const plan = plans.get(kind);
  if (plan === undefined) return undefined;
  const source = body as unknown as Record<string, unknown>;
  const copy = new plan.ctor();
  for (const { name, type } of plan.fields) {
    // The encoder writes own, non-null fields only.
    if (!Object.prototype.hasOwnProperty.call(source, name)) continue;
    const value = source[name];
    if (value === null || value === undefined) continue;
    switch (type) {
      case 'uint32':
        if (typeof value !== 'number') return undefined;
        copy[name] = value >>> 0;
        break;
      case 'sint32':
        if (typeof value !== 'number') return undefined;
        copy[name] = value | 0;
        break;
      case 'double':
        if (typeof value !== 'number') return undefined;
        copy[name] = value;
        break;
      case 'bool':
        copy[name] = Boolean(value);
        break;
      case 'string':
        if (typeof value !== 'string' || loneSurrogate.test(value)) return undefined;
        copy[name] = value;
        break;
      case 'bytes':
        if (!(value instanceof Uint8Array)) return undefined;
        copy[name] = sealedBytes.has(value) ? value : Buffer.from(value);
        break;
    }
  }
  return copy as unknown as WireMessages[K];
}
