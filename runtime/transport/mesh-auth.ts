// Authentication on the mesh: with `mesh.secret` set, every envelope a member sends travels
// in a frame that carries an HMAC-SHA256 tag over the envelope bytes, and a member accepts
// only frames whose tag it can recompute. Anyone who can publish on the NATS subjects but
// does not hold the cluster's secret (a process that is not a member, or a member of another
// cluster with another secret or id) is refused before its bytes reach the kernel.
//
// Frame: one marker byte 0x00 (never the first byte of a protobuf envelope, whose first byte
// is a field key, never 0), the tag (32 bytes), then the envelope. The key is derived from
// the secret and the cluster id, so that two clusters sharing a secret still do not accept
// each other's envelopes. Replays of a genuine frame are not refused here: the protocols
// already tolerate duplicated messages (the simulator injects them).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Transport } from '../kernel/ports.js';

const frameMarker = 0x00;
const tagBytes = 32;
const headerBytes = 1 + tagBytes;
/** The shortest secret accepted: 16 bytes, so that guessing the key is out of reach. */
export const meshSecretBytesMin = 16;
/** At most one log line per this many ms about refused envelopes (a flood must not flood the log). */
export const refusalLogIntervalMs = 10_000;

export type RefusalReason = 'untagged' | 'bad_tag';

export class MeshAuthenticator {
  private readonly key: Buffer;

  constructor(secret: string, clusterId: string) {
    if (Buffer.byteLength(secret, 'utf8') < meshSecretBytesMin) throw new Error(`the mesh secret must be at least ${meshSecretBytesMin} bytes`);
    this.key = createHmac('sha256', secret).update(`logmesh mesh key for cluster ${clusterId}`).digest();
  }

  /** The frame that carries `envelope` on the mesh. */
  seal(envelope: Uint8Array): Uint8Array {
    const frame = new Uint8Array(headerBytes + envelope.byteLength);
    frame[0] = frameMarker;
    frame.set(this.tag(envelope), 1);
    frame.set(envelope, headerBytes);
    return frame;
  }

  /** The envelope inside `frame`, or why the frame is refused. */
  open(frame: Uint8Array): { envelope: Uint8Array } | { refused: RefusalReason } {
    if (frame.byteLength < headerBytes || frame[0] !== frameMarker) return { refused: 'untagged' };
    const envelope = frame.subarray(headerBytes);
    const expected = this.tag(envelope);
    const carried = frame.subarray(1, headerBytes);
    return timingSafeEqual(expected, carried) ? { envelope } : { refused: 'bad_tag' };
  }

  private tag(envelope: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update(envelope).digest();
  }
}

export interface AuthenticatedTransportOptions {
  authenticator: MeshAuthenticator;
  logger: Logger;
  /** Counts one refused frame (the node's envelopes-dropped counter, reason `unauthenticated`). */
  onRefused: (reason: RefusalReason) => void;
  /** Host time for the log's rate limit. */
  now?: () => number;
}

/**
 * Wraps a transport so that what this process sends is sealed and what it receives is opened:
 * refused frames are counted, logged at most once per `refusalLogIntervalMs` (with how many
 * were refused since the last line), and never handed on.
 */
export function authenticatedTransport(transport: Transport, options: AuthenticatedTransportOptions): Transport {
  const now = options.now ?? Date.now;
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let refusedSinceLog = 0;
  const refuse = (reason: RefusalReason, bytes: number): void => {
    options.onRefused(reason);
    refusedSinceLog += 1;
    const at = now();
    if (at - lastLogAt < refusalLogIntervalMs) return;
    options.logger.warn({ reason, bytes, refused: refusedSinceLog },
      `refused ${refusedSinceLog} envelope(s) not sealed with this cluster's mesh.secret (a process that is not a member publishes on the mesh)`);
    lastLogAt = at;
    refusedSinceLog = 0;
  };
  return {
    send(toNode, bytes) {
      transport.send(toNode, options.authenticator.seal(bytes));
    },
    onReceive(handler) {
      transport.onReceive((frame) => {
        const opened = options.authenticator.open(frame);
        if ('refused' in opened) refuse(opened.refused, frame.byteLength);
        else handler(opened.envelope);
      });
    },
    close: () => transport.close(),
  };
}
