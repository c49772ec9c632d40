// Encode and decode envelopes and payloads with protobufjs. Pure: no I/O.
import protobuf from 'protobufjs';
import { protoSource } from './schema.js';
import { wireKinds, type Address, type LogEntry, type MetadataImageMessage, type WireKind, type WireMessages } from './messages.js';

const root = protobuf.parse(protoSource, { keepCase: false }).root;
const envelopeType = root.lookupType('logmesh.Envelope');
const payloadTypes = new Map<string, protobuf.Type>(
  wireKinds.map((kind) => [kind, root.lookupType(`logmesh.${kind}`)]),
);
const toObjectOptions: protobuf.IConversionOptions = { defaults: true, arrays: true, longs: Number };

export interface Envelope {
  clusterId: string;
  from: Address;
  to: Address;
  kind: string;
  payload: Uint8Array;
  msgId: string;
  parentId: string;
}

export class MalformedEnvelopeError extends Error {
  constructor(public readonly reason: string) {
    super(`malformed envelope: ${reason}`);
  }
}

export function isWireKind(kind: string): kind is WireKind {
  return payloadTypes.has(kind);
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return envelopeType
    .encode({
      clusterId: envelope.clusterId,
      fromNode: envelope.from.node,
      fromActor: envelope.from.actor,
      toNode: envelope.to.node,
      toActor: envelope.to.actor,
      kind: envelope.kind,
      payload: envelope.payload,
      trace: { msgId: envelope.msgId, parentId: envelope.parentId },
    })
    .finish();
}

/**
 * encodeEnvelope of an envelope whose payload is encodePayload(kind, body), in one pass: the
 * body is encoded straight into the envelope's writer (as protobuf writes a nested message),
 * where the two steps encoded it, copied it out, and copied it into the envelope again, twice
 * for every byte of a FetchResponse's records. The bytes are the same as the two steps'
 * (the generated encoder writes every field it is given, in field order, defaults included).
 */
export function encodeEnvelopeOf<K extends WireKind>(head: Omit<Envelope, 'payload' | 'kind'> & { kind: K }, body: WireMessages[K]): Uint8Array {
  const writer = protobuf.Writer.create();
  writer
    .uint32(10).string(head.clusterId) // 1: cluster_id
    .uint32(16).uint32(head.from.node) // 2: from_node
    .uint32(26).string(head.from.actor) // 3: from_actor
    .uint32(32).uint32(head.to.node) // 4: to_node
    .uint32(42).string(head.to.actor) // 5: to_actor
    .uint32(50).string(head.kind) // 6: kind
    .uint32(58).fork(); // 7: payload, length-delimited
  payloadTypes.get(head.kind)!.encode(body as unknown as Record<string, unknown>, writer);
  writer.ldelim()
    .uint32(66).fork() // 8: trace
    .uint32(10).string(head.msgId)
    .uint32(18).string(head.parentId)
    .ldelim();
  return writer.finish();
}

/** Decodes an envelope from the mesh; throws MalformedEnvelopeError on anything off. */
interface DecodedEnvelope {
  clusterId: string;
  fromNode: number;
  fromActor: string;
  toNode: number;
  toActor: string;
  kind: string;
  payload: Uint8Array;
  trace: { msgId: string; parentId: string } | null;
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let raw: DecodedEnvelope;
  try {
    // Read straight off the decoded message (its prototype supplies proto3 defaults).
    raw = envelopeType.decode(bytes) as unknown as DecodedEnvelope;
  } catch (err) {
    throw new MalformedEnvelopeError(`undecodable (${(err as Error).message})`);
  }
  const envelope: Envelope = {
    clusterId: raw.clusterId,
    from: { node: raw.fromNode, actor: raw.fromActor },
    to: { node: raw.toNode, actor: raw.toActor },
    kind: raw.kind,
    payload: raw.payload,
    msgId: raw.trace?.msgId ?? '',
    parentId: raw.trace?.parentId ?? '',
  };
  if (envelope.to.actor === '') throw new MalformedEnvelopeError('no destination actor');
  if (!isWireKind(envelope.kind)) throw new MalformedEnvelopeError(`unknown kind "${envelope.kind}"`);
  return envelope;
}

/** The protobuf type of a payload kind (the kernel's local copy reads its fields). */
export function payloadTypeOf(kind: WireKind): protobuf.Type {
  return payloadTypes.get(kind)!;
}

export function encodePayload<K extends WireKind>(kind: K, body: WireMessages[K]): Uint8Array {
  // Plain objects of the declared shapes encode directly; fromObject would only copy them.
  return payloadTypes.get(kind)!.encode(body as unknown as Record<string, unknown>).finish();
}

/** The fields of each payload type that hold nested messages. */
const nestedFields = new Map<string, protobuf.Field[]>(
  [...payloadTypes].map(([kind, type]) => [kind, type.fieldsArray.filter((field) => {
    field.resolve();
    return field.resolvedType instanceof protobuf.Type;
  })]),
);

function holdsNestedMessages(kind: string, message: Record<string, unknown>): boolean {
  for (const field of nestedFields.get(kind)!) {
    const value = message[field.name];
    if (field.repeated ? (value as unknown[]).length > 0 : value !== null && value !== undefined) return true;
  }
  return false;
}

/**
 * Decodes a payload into the plain shape messages.ts declares. A message without nested
 * messages (most heartbeats and acknowledgements) is used as decoded: its prototype supplies
 * proto3 defaults, and nothing reads it other than field by field. Anything nested is
 * copied into plain objects (records are told apart with `in`, images are spread).
 */
export function decodePayload<K extends WireKind>(kind: K, bytes: Uint8Array): WireMessages[K] {
  const type = payloadTypes.get(kind);
  if (type === undefined) throw new MalformedEnvelopeError(`unknown kind "${kind}"`);
  try {
    const message = type.decode(bytes) as unknown as Record<string, unknown>;
    if (!holdsNestedMessages(kind, message)) return message as unknown as WireMessages[K];
    return type.toObject(message as unknown as protobuf.Message, toObjectOptions) as unknown as WireMessages[K];
  } catch (err) {
    throw new MalformedEnvelopeError(`undecodable ${kind} payload (${(err as Error).message})`);
  }
}

const logEntryType = root.lookupType('logmesh.LogEntry');
const metadataImageType = root.lookupType('logmesh.MetadataImage');

/** The canonical bytes of a log entry (field order and defaults normalised by protobuf). */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  return logEntryType.encode(entry as unknown as Record<string, unknown>).finish();
}

export function encodeMetadataImage(image: MetadataImageMessage): Uint8Array {
  return metadataImageType.encode(image as unknown as Record<string, unknown>).finish();
}
