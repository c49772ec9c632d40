// One client connection of the Kafka listener: size-prefixed frames in, responses out in
// request order (clients pipeline requests and match answers by correlation id, but Kafka
// promises order), with bounds on frame size, requests in flight and idle time.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** socket.request.max.bytes: Kafka's default. */
export const requestBytesMaxDefault = 100 * 1024 * 1024;
/** Requests of one connection being handled at once; reading pauses beyond this. */
export const inFlightRequestsMax = 64;
/** Bytes queued for the socket beyond which reading pauses until they drain. */
export const pendingWriteBytesMax = 16 * 1024 * 1024;
/** connections.max.idle.ms: Kafka's default. */
export const idleTimeoutMsDefault = 10 * 60 * 1000;

export interface ConnectionOptions {
  requestBytesMax: number;
  idleTimeoutMs: number;
  logger: Logger;
}

/**
 * A whole response frame, size prefix included: one array, or chunks to write in order (a
 * fetch's record batches go out as their own chunks, never copied into the frame).
 */
export type ResponseFrame = Uint8Array | readonly Uint8Array[];

/**
 * What the connection asks of the protocol layer for each frame (without its size prefix);
 * the answer is a whole response frame. `null` means the request expects no response (a
 * produce with acks=0). A thrown error closes the connection: the stream cannot be trusted
 * after a request it could not parse.
 */
export type FrameHandler = (frame: Uint8Array, connection: KafkaConnection) => Promise<ResponseFrame | null>;

export class KafkaConnection {
  readonly id: number;
  readonly remote: string;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: Array<{ done: boolean; bytes: ResponseFrame | null }> = [];
  private inFlight = 0;
  private closed = false;
  /** Set once a reply must be the last one (a failed authentication): the reason the connection then ends. */
  private closingAfterReplies: string | null = null;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    id: number,
    private readonly socket: Socket,
    private readonly handleFrame: FrameHandler,
    private readonly options: ConnectionOptions,
    private readonly onClose: (connection: KafkaConnection) => void,
  ) {
    this.id = id;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (error) => this.options.logger.debug({ err: error, remote: this.remote }, 'connection error'));
    socket.on('close', () => this.teardown());
    this.touch();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.options.logger.info({ remote: this.remote, connection: this.id }, `closing Kafka connection: ${reason}`);
    this.socket.destroy();
    this.teardown();
  }

  /** Writes what is answered so far, then ends the connection; later requests are not read. */
  closeAfterReplies(reason: string): void {
    if (this.closed || this.closingAfterReplies !== null) return;
    this.closingAfterReplies = reason;
    this.socket.pause();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.onClose(this);
  }

  private touch(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(`idle for ${this.options.idleTimeoutMs} ms`), this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private received(chunk: Buffer): void {
    this.touch();
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.extractFrames();
  }

  private extractFrames(): void {
    while (!this.closed && this.closingAfterReplies === null && this.bufferedBytes >= 4 && this.inFlight < inFlightRequestsMax) {
      const head = this.peek(4);
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.options.requestBytesMax) {
        this.close(`request of ${size} bytes exceeds socket.request.max.bytes (${this.options.requestBytesMax})`);
        return;
      }
      if (this.bufferedBytes < 4 + size) return;
      const frame = this.take(4 + size).subarray(4);
      this.dispatch(frame);
    }
    this.maybePause();
  }

  private dispatch(frame: Uint8Array): void {
    const slot: { done: boolean; bytes: ResponseFrame | null } = { done: false, bytes: null };
    this.slots.push(slot);
    this.inFlight += 1;
    this.handleFrame(frame, this).then(
      (bytes) => {
        slot.bytes = bytes;
        slot.done = true;
        this.inFlight -= 1;
        this.flushSlots();
        this.maybeResume();
      },
      (error: Error) => this.close(error.message),
    );
  }

  /**
   * Writes finished responses in request order; one still being handled holds back the rest.
   * Corked, so that the chunks of every frame written here leave in one writev.
   */
  private flushSlots(): void {
    if (this.slots.length > 0 && this.slots[0]!.done && !this.closed) {
      this.socket.cork();
      while (this.slots.length > 0 && this.slots[0]!.done) {
        const { bytes } = this.slots.shift()!;
        // Frames come encoded with their size prefix.
        if (bytes === null || this.closed) continue;
        if (bytes instanceof Uint8Array) this.socket.write(bytes);
        else for (const chunk of bytes) this.socket.write(chunk);
      }
      this.socket.uncork();
    }
    if (this.closingAfterReplies !== null && !this.closed && this.slots.length === 0) {
      this.options.logger.info({ remote: this.remote, connection: this.id }, `closing Kafka connection: ${this.closingAfterReplies}`);
      this.socket.end();
      this.teardown();
    }
  }

  private maybePause(): void {
    if (this.closed) return;
    if (this.inFlight >= inFlightRequestsMax || this.socket.writableLength > pendingWriteBytesMax) this.socket.pause();
  }

  private maybeResume(): void {
    if (this.closed || this.closingAfterReplies !== null) return;
    if (this.inFlight < inFlightRequestsMax && this.socket.writableLength <= pendingWriteBytesMax) {
      this.socket.resume();
      this.extractFrames();
    }
  }

  private peek(bytes: number): Buffer {
    if (this.buffered[0]!.length >= bytes) return this.buffered[0]!;
    const joined = Buffer.concat(this.buffered);
    this.buffered = [joined];
    return joined;
  }

  private take(bytes: number): Buffer {
    const first = this.peek(bytes);
    const taken = first.subarray(0, bytes);
    const rest = first.subarray(bytes);
    this.buffered[0] = rest;
    if (rest.length === 0) this.buffered.shift();
    this.bufferedBytes -= bytes;
    return taken;
  }
}
