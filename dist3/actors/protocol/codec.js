// Encode and decode envelopes and payloads with protobufjs. Pure: no I/O.
import protobuf from 'protobufjs';
import { protoSource } from './schema.js';
import { wireKinds } from './messages.js';
const root = protobuf.parse(protoSource, { keepCase: false }).root;
const envelopeType = root.lookupType('logmesh.Envelope');
const payloadTypes = new Map(wireKinds.map((kind) => [kind, root.lookupType(`logmesh.${kind}`)]));
const toObjectOptions = { defaults: true, arrays: true, longs: Number };
export class MalformedEnvelopeError extends Error {
    reason;
    constructor(reason) {
        super(`malformed envelope: ${reason}`);
        this.reason = reason;
    }
}
export function isWireKind(kind) {
    return payloadTypes.has(kind);
}
export function encodeEnvelope(envelope) {
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
export function decodeEnvelope(bytes) {
    let raw;
    try {
        // Read straight off the decoded message (its prototype supplies proto3 defaults).
        raw = envelopeType.decode(bytes);
    }
    catch (err) {
        throw new MalformedEnvelopeError(`undecodable (${err.message})`);
    }
    const envelope = {
        clusterId: raw.clusterId,
        from: { node: raw.fromNode, actor: raw.fromActor },
        to: { node: raw.toNode, actor: raw.toActor },
        kind: raw.kind,
        payload: raw.payload,
        msgId: raw.trace?.msgId ?? '',
        parentId: raw.trace?.parentId ?? '',
    };
    if (envelope.to.actor === '')
        throw new MalformedEnvelopeError('no destination actor');
    if (!isWireKind(envelope.kind))
        throw new MalformedEnvelopeError(`unknown kind "${envelope.kind}"`);
    return envelope;
}
export function encodePayload(kind, body) {
    // Plain objects of the declared shapes encode directly; fromObject would only copy them.
    return payloadTypes.get(kind).encode(body).finish();
}
export function decodePayload(kind, bytes) {
    const type = payloadTypes.get(kind);
    if (type === undefined)
        throw new MalformedEnvelopeError(`unknown kind "${kind}"`);
    try {
        return type.toObject(type.decode(bytes), { ...toObjectOptions, oneofs: false });
    }
    catch (err) {
        throw new MalformedEnvelopeError(`undecodable ${kind} payload (${err.message})`);
    }
}
const logEntryType = root.lookupType('logmesh.LogEntry');
const metadataImageType = root.lookupType('logmesh.MetadataImage');
/** The canonical bytes of a log entry (field order and defaults normalised by protobuf). */
export function encodeLogEntry(entry) {
    return logEntryType.encode(entry).finish();
}
export function encodeMetadataImage(image) {
    return metadataImageType.encode(image).finish();
}
//# sourceMappingURL=codec.js.map