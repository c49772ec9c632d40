// A minimal Kafka client: one TCP (or TLS) connection, requests encoded by the codec, responses
// matched by correlation id, SASL PLAIN or SCRAM when asked. The CLI's tools and the tests use it.
import { type Socket, connect, isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { errorName } from '../../actors/protocol/errors.js';
import {
  ApiKeys, type ApiKey, type RequestInput, type ResponseBody, decodeResponseFrame, encodeRequestFrame,
} from './protocol/index.js';
import { ScramClientExchange, isScramMechanism } from './scram.js';

export interface ClientSecurity {
  /** Connect with TLS, trusting these CA certificates (PEM). */
  tls?: { ca: Buffer | null; servername?: string };
  sasl?: { mechanism: string; username: string; password: string };
}

/** An authentication the broker refused: its error name and message. */
export class SaslRefusedError extends Error {}

export class KafkaClient {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private correlation = 0;
  /** Requests not answered yet, by correlation id: what settles each. */
  private readonly waiting = new Map<number, { answer: (frame: Uint8Array) => void; fail: (error: Error) => void }>();
  private closedWith: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket, private readonly clientId: string) {
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.closedWith = new Error('connection closed');
      for (const request of this.waiting.values()) request.fail(this.closedWith);
      this.waiting.clear();
      resolve();
    }));
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1', clientId = 'logmesh-test', security: ClientSecurity = {}): Promise<KafkaClient> {
    const client = await new Promise<KafkaClient>((resolve, reject) => {
      const tls = security.tls;
      const socket: Socket = tls === undefined
        ? connect({ host, port }, () => resolve(new KafkaClient(socket, clientId)))
        : connectTls({
          host, port, ...(tls.ca === null ? {} : { ca: tls.ca }),
          // SNI carries host names only (RFC 6066); the certificate is still checked against an IP address.
          ...(tls.servername !== undefined ? { servername: tls.servername } : isIP(host) === 0 ? { servername: host } : {}),
        }, () => resolve(new KafkaClient(socket, clientId)));
      socket.once('error', reject);
    });
    if (security.sasl !== undefined) {
      try {
        await client.authenticate(security.sasl.mechanism, security.sasl.username, security.sasl.password);
      } catch (error) {
        client.close();
        throw error;
      }
    }
    return client;
  }

  /** SaslHandshake v1 then SaslAuthenticate (KIP-152); throws SaslRefusedError when the broker refuses. */
  async authenticate(mechanism: string, username: string, password: string): Promise<void> {
    const handshake = await this.request(ApiKeys.SaslHandshake, 1, { mechanism });
    if (handshake.errorCode !== 0) throw new SaslRefusedError(`${errorName(handshake.errorCode)}: the broker offers ${handshake.mechanisms.join(', ') || 'no mechanism'}`);
    const step = async (token: string): Promise<string> => {
      const answer = await this.request(ApiKeys.SaslAuthenticate, 2, { authBytes: Buffer.from(token, 'utf8') });
      if (answer.errorCode !== 0) throw new SaslRefusedError(`${errorName(answer.errorCode)}: ${answer.errorMessage ?? ''}`);
      return Buffer.from(answer.authBytes).toString('utf8');
    };
    if (mechanism === 'PLAIN') {
      await step(`\u0000${username}\u0000${password}`);
      return;
    }
    if (!isScramMechanism(mechanism)) throw new SaslRefusedError(`unsupported SASL mechanism ${mechanism}`);
    const scram = new ScramClientExchange(mechanism, username, password);
    const serverFinal = await step(scram.clientFinal(await step(scram.clientFirst())));
    if (!scram.serverVerified(serverFinal)) throw new SaslRefusedError('the broker did not prove it knows the SCRAM credential');
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
    // What settles a request lives in `waiting` only, and goes with its answer: a callback
    // on `closed` per request would keep every answer (a 1 MiB fetch each) until the close.
    const response = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no answer to api ${apiKey} v${apiVersion} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, {
        answer: (bytes) => {
          clearTimeout(timer);
          resolve(bytes);
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(frame);
    });
    return decodeResponseFrame(apiKey, apiVersion, response).body;
  }

  close(): void {
    this.socket.destroy();
  }

  // A large response arrives in many chunks: they are kept apart until the frame is whole and
  // joined once, not joined again on every chunk (which copied a 1 MiB fetch about 16 times).
  private received(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      if (this.pending[0]!.length < 4) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
      const size = this.pending[0]!.readInt32BE(0);
      if (this.pendingBytes < 4 + size) return;
      const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      const frame = joined.subarray(4, 4 + size);
      const rest = joined.subarray(4 + size);
      this.pending = rest.length === 0 ? [] : [rest];
      this.pendingBytes = rest.length;
      const correlationId = frame.readInt32BE(0);
      const request = this.waiting.get(correlationId);
      this.waiting.delete(correlationId);
      request?.answer(frame);
    }
  }
}
