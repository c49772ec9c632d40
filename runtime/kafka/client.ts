// A minimal Kafka client: one TCP connection, requests encoded by the codec, responses matched
// by correlation id. The CLI's group tools and the tests use it.
import { type Socket, connect } from 'node:net';
import {
  type ApiKey, type RequestInput, type ResponseBody, decodeResponseFrame, encodeRequestFrame,
} from './protocol/index.js';

export class KafkaClient {
  private buffered = Buffer.alloc(0);
  private correlation = 0;
  private readonly waiting = new Map<number, (frame: Uint8Array) => void>();
  private closedWith: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket, private readonly clientId: string) {
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.closedWith = new Error('connection closed');
      resolve();
    }));
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1', clientId = 'logmesh-test'): Promise<KafkaClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new KafkaClient(socket, clientId)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes (for malformed-input tests). */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async request<K extends ApiKey>(apiKey: K, apiVersion: number, body: RequestInput<K>, timeoutMs = 10_000): Promise<ResponseBody<K>> {
    if (this.closedWith !== null) throw this.closedWith;
    this.correlation += 1;
    const correlationId = this.correlation;
    const frame = encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: this.clientId }, body);
    const response = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no answer to api ${apiKey} v${apiVersion} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, (bytes) => {
        clearTimeout(timer);
        resolve(bytes);
      });
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error('connection closed'));
      });
      this.socket.write(frame);
    });
    return decodeResponseFrame(apiKey, apiVersion, response).body;
  }

  close(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      this.waiting.get(correlationId)?.(frame);
      this.waiting.delete(correlationId);
    }
  }
}
