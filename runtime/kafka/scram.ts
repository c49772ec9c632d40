// SCRAM (RFC 5802, with RFC 7677's SHA-256 and Kafka's SHA-512, KIP-84): the credential a
// server keeps (salt, iterations, StoredKey, ServerKey; never the password), the server's side
// of the exchange the Kafka listener runs, and the client's side the CLI tools and tests use.
// Kafka sends no channel binding and does not SASLprep passwords: neither does this.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { scramIterationsMin } from '../../actors/controller/security-decisions.js';

export const scramMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof scramMechanisms)[number];

export { scramIterationsMax, scramIterationsMin } from '../../actors/controller/security-decisions.js';
/** Bytes of a salt this node draws (Kafka's ScramFormatter uses a random 256-bit value too). */
export const scramSaltBytes = 32;
/** Bytes of the server's nonce part. */
const serverNonceBytes = 24;
/** A client-first message longer than this is not a SCRAM message. */
const scramMessageBytesMax = 4096;

export interface ScramCredential {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** Kafka's mechanism numbers in Describe/AlterUserScramCredentials. */
export const scramMechanismCodes: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismOfCode(code: number): ScramMechanism | undefined {
  return scramMechanisms.find((m) => scramMechanismCodes[m] === code);
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return (scramMechanisms as readonly string[]).includes(name);
}

function hashOf(mechanism: ScramMechanism): { name: 'sha256' | 'sha512'; bytes: number } {
  return mechanism === 'SCRAM-SHA-256' ? { name: 'sha256', bytes: 32 } : { name: 'sha512', bytes: 64 };
}

function hmac(mechanism: ScramMechanism, key: Uint8Array, text: string | Uint8Array): Buffer {
  return createHmac(hashOf(mechanism).name, key).update(text).digest();
}

function hash(mechanism: ScramMechanism, bytes: Uint8Array): Buffer {
  return createHash(hashOf(mechanism).name).update(bytes).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC. */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Buffer {
  const h = hashOf(mechanism);
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, h.bytes, h.name);
}

/** The credential a server keeps, from the salted password (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salted: Uint8Array, salt: Uint8Array, iterations: number): ScramCredential {
  const clientKey = hmac(mechanism, salted, 'Client Key');
  return { salt: Uint8Array.from(salt), iterations, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, salted, 'Server Key') };
}

/** A new credential with a random salt. */
export function newCredential(mechanism: ScramMechanism, password: string, iterations = scramIterationsMin): ScramCredential {
  const salt = randomBytes(scramSaltBytes);
  return credentialFromSaltedPassword(mechanism, saltedPassword(mechanism, password, salt, iterations), salt, iterations);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `password` is the one the credential was made from (SASL/PLAIN checks passwords this way). */
export function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): boolean {
  const salted = saltedPassword(mechanism, password, credential.salt, credential.iterations);
  return equalBytes(credentialFromSaltedPassword(mechanism, salted, credential.salt, credential.iterations).storedKey, credential.storedKey);
}

/** `key=value` attributes of a SCRAM message, in order. */
function attributes(message: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new ScramError(`malformed SCRAM attribute "${part.slice(0, 16)}"`);
    result.set(part[0]!, part.slice(2));
  }
  return result;
}

function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new ScramError('malformed user name');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** A SCRAM exchange that cannot go on; the message is safe to show the client. */
export class ScramError extends Error {}

/**
 * The server's side of one exchange: client-first → server-first, client-final → server-final.
 * `lookup` finds the user's credential for this mechanism (undefined: unknown user).
 */
export class ScramServerExchange {
  private state: 'initial' | 'sentServerFirst' | 'done' = 'initial';
  private user = '';
  private credential: ScramCredential | undefined;
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private gs2Header = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | undefined,
    private readonly serverNonce: string = randomBytes(serverNonceBytes).toString('base64url'),
  ) {}

  /** The authenticated user name, once the exchange has succeeded. */
  get authenticatedUser(): string | null {
    return this.state === 'done' ? this.user : null;
  }

  /** Answers one client message; throws ScramError when the client must be refused. */
  respond(message: string): string {
    if (message.length > scramMessageBytesMax) throw new ScramError('SCRAM message too long');
    if (this.state === 'initial') return this.clientFirst(message);
    if (this.state === 'sentServerFirst') return this.clientFinal(message);
    throw new ScramError('SCRAM exchange already complete');
  }

  private clientFirst(message: string): string {
    // gs2-header: 'n' (no channel binding), optional a=authzid, then the bare message.
    const match = /^(n|y),(a=[^,]*)?,(.*)$/.exec(message);
    if (match === null) throw new ScramError('malformed client-first message (channel binding is not supported)');
    this.gs2Header = `${match[1]},${match[2] ?? ''},`;
    this.clientFirstBare = match[3]!;
    const attrs = attributes(this.clientFirstBare);
    const user = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (user === undefined || clientNonce === undefined || clientNonce === '') throw new ScramError('client-first message without user or nonce');
    this.user = decodeSaslName(user);
    const authzid = match[2]?.slice(2);
    if (authzid !== undefined && authzid !== '' && decodeSaslName(authzid) !== this.user) throw new ScramError('authorization id differs from the user name');
    this.credential = this.lookup(this.user);
    if (this.credential === undefined) throw new ScramError('Authentication failed: Invalid user credentials');
    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${Buffer.from(this.credential.salt).toString('base64')},i=${this.credential.iterations}`;
    this.state = 'sentServerFirst';
    return this.serverFirst;
  }

  private clientFinal(message: string): string {
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('client-final message without proof');
    const withoutProof = message.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) throw new ScramError('channel binding does not match');
    // Kafka's ScramSaslServer accepts a nonce that ends with the server-first one: librdkafka
    // (2.0 at least) sends its client nonce again in front of the whole combined nonce.
    if (!(attrs.get('r') ?? '').endsWith(this.nonce)) throw new ScramError('nonce does not match');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const credential = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new ScramError('Authentication failed: Invalid user credentials');
    const clientKey = xor(proof, clientSignature);
    if (!equalBytes(hash(this.mechanism, clientKey), credential.storedKey)) throw new ScramError('Authentication failed: Invalid user credentials');
    this.state = 'done';
    return `v=${hmac(this.mechanism, credential.serverKey, authMessage).toString('base64')}`;
  }
}

/** The client's side of one exchange, for the CLI tools and tests. */
export class ScramClientExchange {
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
    private readonly clientNonce: string = randomBytes(serverNonceBytes).toString('base64url'),
  ) {}

  clientFirst(): string {
    this.clientFirstBare = `n=${encodeSaslName(this.user)},r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.clientNonce) || !Number.isInteger(iterations) || iterations < 1) throw new ScramError('malformed server-first message');
    const salted = saltedPassword(this.mechanism, this.password, salt, iterations);
    const clientKey = hmac(this.mechanism, salted, 'Client Key');
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, hash(this.mechanism, clientKey), authMessage);
    this.expectedServerSignature = hmac(this.mechanism, hmac(this.mechanism, salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${xor(clientKey, clientSignature).toString('base64')}`;
  }

  /** Whether the server proved it knows the credential. */
  serverVerified(serverFinal: string): boolean {
    const signature = attributes(serverFinal).get('v');
    return signature !== undefined && this.expectedServerSignature !== null && equalBytes(Buffer.from(signature, 'base64'), this.expectedServerSignature);
  }
}
