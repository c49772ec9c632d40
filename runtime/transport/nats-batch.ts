// Several envelopes in one NATS message. A payload that holds one envelope is the envelope
// itself, exactly as before batching existed (no copy, and a node reads what an older node
// sends). A payload that holds several starts with `batchMarker`, followed by each envelope
// prefixed with its length as a protobuf varint (what protobufjs' encodeDelimited writes).
//
// The marker is 0x01: a protobuf message starts with a field key (field number << 3 | wire
// type) whose field number is at least 1, so its first byte is 0x08 or more; and 0x00 is
// already taken by the mesh seal's frames (mesh-auth.ts), which travel through this layer
// one per envelope. An empty envelope (every field at its default) is zero bytes and travels
// alone as zero bytes.
import protobuf from 'protobufjs';

export const batchMarker = 0x01;

/** Bytes a batch adds for an envelope of `envelopeBytes`: its varint length prefix. */
export function lengthPrefixBytes(envelopeBytes: number): number {
  let bytes = 1;
  for (let rest = envelopeBytes >>> 7; rest > 0; rest >>>= 7) bytes += 1;
  return bytes;
}

/**
 * The NATS payload that carries `envelopes`, in order: the envelope itself when there is one
 * (unless it starts with the marker, which no envelope or sealed frame does: then it travels
 * as a batch of one, so that join and split stay inverse for any bytes).
 */
export function joinEnvelopes(envelopes: readonly Uint8Array[]): Uint8Array {
  const only = envelopes.length === 1 ? envelopes[0]! : undefined;
  if (only !== undefined && only[0] !== batchMarker) return only;
  const writer = protobuf.Writer.create();
  writer.uint32(batchMarker);
  for (const envelope of envelopes) writer.bytes(envelope);
  return writer.finish();
}

export interface SplitPayload {
  /** The whole envelopes found, in order (views into the payload, not copies). */
  envelopes: Uint8Array[];
  /** Why the rest of a batch was dropped, or null when every byte was read. */
  malformed: string | null;
}

/** The envelopes a NATS payload carries; a batch cut short yields the envelopes before the cut. */
export function splitEnvelopes(payload: Uint8Array): SplitPayload {
  if (payload[0] !== batchMarker) return { envelopes: [payload], malformed: null };
  const reader = protobuf.Reader.create(payload);
  reader.pos = 1;
  const envelopes: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const at = reader.pos;
    try {
      envelopes.push(reader.bytes());
    } catch (error) {
      const detail = (error as Error).message;
      return { envelopes, malformed: `batch of ${payload.byteLength} bytes broken at byte ${at} after ${envelopes.length} envelope(s) (${detail})` };
    }
  }
  return { envelopes, malformed: null };
}
