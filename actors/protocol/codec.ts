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

export function encodePayload<K extends WireKind>(kind: K, body: WireMessages[K]): Uint8Array {
  // Plain objects of the declared shapes encode directly; fromObject would only copy them.
  return payloadTypes.get(kind)!.encode(body as unknown as Record<string, unknown>).finish();
}

export function decodePayload<K extends WireKind>(kind: K, bytes: Uint8Array): WireMessages[K] {
  const type = payloadTypes.get(kind);
  if (type === undefined) throw new MalformedEnvelopeError(`unknown kind "${kind}"`);
  try {
    return type.toObject(type.decode(bytes), { ...toObjectOptions, oneofs: false }) as unknown as WireMessages[K];
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
