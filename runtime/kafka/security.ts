// Who a Kafka client is: the listener's security settings (TLS, SASL, super users, the
// authorizer), each connection's session, and the SASL exchanges (SaslHandshake +
// SaslAuthenticate, KIP-152) that turn an anonymous connection into a principal.
// Authorization of each request against the ACLs is in kafka-api.ts (with actors/controller/acls.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCode } from '../../actors/protocol/errors.js';
import { ConfigError, type NodeConfig, type SecurityProtocol, listenerSecurityProtocol } from '../ops/config.js';
import {
  type ScramCredential, type ScramMechanism, ScramError, ScramServerExchange, isScramMechanism, newCredential, passwordMatches, scramMechanisms,
} from './scram.js';

/** The principal of a client that did not authenticate (PLAINTEXT and SSL listeners), as in Kafka. */
export const anonymousPrincipal = 'User:ANONYMOUS';
/** A SASL token longer than this is refused (the longest SCRAM or PLAIN message is far shorter). */
const saslTokenBytesMax = 8192;

export interface ListenerSecurity {
  protocol: SecurityProtocol;
  /** PEM bytes; null on PLAINTEXT and SASL_PLAINTEXT listeners. */
  tls: { cert: Buffer; key: Buffer; ca: Buffer | null } | null;
  saslMechanisms: string[];
  /** Users from the config file (sasl.bootstrap.users), by name. */
  bootstrapUsers: Map<string, BootstrapUser>;
  superUsers: ReadonlySet<string>;
  /** null: no authorizer, every authenticated client may do everything. */
  authorizer: { allowEveryoneIfNoAclFound: boolean } | null;
}

/** A config-file user: the password's hash for PLAIN, and SCRAM credentials salted at start. */
export interface BootstrapUser {
  passwordHash: Buffer;
  scram: Record<ScramMechanism, ScramCredential>;
}

export function bootstrapUser(password: string): BootstrapUser {
  return {
    passwordHash: createHash('sha256').update(password, 'utf8').digest(),
    scram: { 'SCRAM-SHA-256': newCredential('SCRAM-SHA-256', password), 'SCRAM-SHA-512': newCredential('SCRAM-SHA-512', password) },
  };
}

/** The listener's security from the node's config; a PEM file that cannot be read stops the node with one line naming its key. */
export function loadListenerSecurity(config: NodeConfig): ListenerSecurity {
  const protocol = listenerSecurityProtocol(config.listeners);
  const pem = (key: string, path: string | null): Buffer | null => {
    if (path === null) return null;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  return {
    protocol,
    tls: usesTls ? {
      cert: pem('ssl.certificate.location', config.sslCertificateLocation)!,
      key: pem('ssl.key.location', config.sslKeyLocation)!,
      ca: pem('ssl.ca.location', config.sslCaLocation),
    } : null,
    saslMechanisms: config.saslEnabledMechanisms,
    bootstrapUsers: new Map(requiresSasl(protocol) ? config.saslBootstrapUsers.map((u) => [u.name, bootstrapUser(u.password)]) : []),
    superUsers: new Set(config.superUsers),
    authorizer: config.authorizerClassName === '' ? null : { allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound },
  };
}

export function requiresSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

/** One connection's security state. */
export interface ClientSession {
  protocol: SecurityProtocol;
  clientHost: string;
  /** `User:name` once known; null while a SASL client has not authenticated. */
  principal: string | null;
  /** The mechanism the SaslHandshake chose. */
  mechanism: string | null;
  scram: ScramServerExchange | null;
  /** Set when the connection must close after its reply (a failed authentication). */
  failed: string | null;
}

export function newClientSession(protocol: SecurityProtocol, remoteAddress: string): ClientSession {
  return { protocol, clientHost: clientAddress(remoteAddress), principal: requiresSasl(protocol) ? null : anonymousPrincipal, mechanism: null, scram: null, failed: null };
}

/** Where SASL finds the SCRAM credentials kept in the metadata log. */
export type CredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;

export interface SaslAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Uint8Array;
}

const { SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM } = ErrorCode;

/** Runs the SASL exchanges of one listener. */
export class SaslAuthenticator {
  constructor(private readonly security: ListenerSecurity, private readonly credentials: CredentialLookup) {}

  /** SaslHandshake: picks the mechanism for the session. */
  handshake(session: ClientSession, mechanism: string): { errorCode: number; mechanisms: string[] } {
    const offered = requiresSasl(this.security.protocol) ? this.security.saslMechanisms : [];
    if (session.principal !== null || session.mechanism !== null) {
      session.failed = 'SaslHandshake after the SASL exchange began';
      return { errorCode: ILLEGAL_SASL_STATE, mechanisms: offered };
    }
    if (!offered.includes(mechanism)) {
      return { errorCode: UNSUPPORTED_SASL_MECHANISM, mechanisms: offered };
    }
    session.mechanism = mechanism;
    if (isScramMechanism(mechanism)) session.scram = new ScramServerExchange(mechanism, (user) => this.scramCredential(user, mechanism));
    return { errorCode: 0, mechanisms: offered };
  }

  /** SaslAuthenticate: one token of the exchange. */
  authenticate(session: ClientSession, token: Uint8Array): SaslAnswer {
    if (session.mechanism === null || session.principal !== null) {
      session.failed = 'SaslAuthenticate without a SaslHandshake';
      return { errorCode: ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate before SaslHandshake', authBytes: new Uint8Array(0) };
    }
    if (token.length > saslTokenBytesMax) return this.refuse(session, `SASL token of ${token.length} bytes`);
    const text = Buffer.from(token).toString('utf8');
    if (session.mechanism === 'PLAIN') return this.plain(session, text);
    try {
      const reply = session.scram!.respond(text);
      const user = session.scram!.authenticatedUser;
      if (user !== null) session.principal = `User:${user}`;
      return { errorCode: 0, errorMessage: null, authBytes: Buffer.from(reply, 'utf8') };
    } catch (error) {
      if (!(error instanceof ScramError)) throw error;
      return this.refuse(session, error.message);
    }
  }

  private plain(session: ClientSession, text: string): SaslAnswer {
    // RFC 4616: [authzid] NUL authcid NUL passwd
    const parts = text.split('\u0000');
    if (parts.length !== 3) return this.refuse(session, 'malformed PLAIN token');
    const [authzid, user, password] = parts as [string, string, string];
    if (authzid !== '' && authzid !== user) return this.refuse(session, 'authorization id differs from the user name');
    if (user === '' || !this.plainPasswordMatches(user, password)) return this.refuse(session, 'Authentication failed: Invalid username or password');
    session.principal = `User:${user}`;
    return { errorCode: 0, errorMessage: null, authBytes: new Uint8Array(0) };
  }

  /** PLAIN checks the password against the user's SCRAM credential in the metadata log, else sasl.bootstrap.users. */
  private plainPasswordMatches(user: string, password: string): boolean {
    for (const mechanism of scramMechanisms) {
      const credential = this.credentials(user, mechanism);
      if (credential !== undefined) return passwordMatches(mechanism, credential, password);
    }
    const configured = this.security.bootstrapUsers.get(user);
    if (configured === undefined) return false;
    return timingSafeEqual(createHash('sha256').update(password, 'utf8').digest(), configured.passwordHash);
  }

  private scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.credentials(user, mechanism) ?? this.security.bootstrapUsers.get(user)?.scram[mechanism];
  }

  private refuse(session: ClientSession, message: string): SaslAnswer {
    session.failed = `SASL authentication failed: ${message}`;
    return { errorCode: SASL_AUTHENTICATION_FAILED, errorMessage: message, authBytes: new Uint8Array(0) };
  }
}

/** What one request's client may do: the authorizer's answer, bound to the client's session. */
export interface Access {
  allows(operation: number, resourceType: number, resourceName: string): boolean;
}

export const fullAccess: Access = { allows: () => true };

/** Kafka matches ACL hosts against the client's IP address; an IPv4 client on a dual-stack socket reads as ::ffff:a.b.c.d. */
export function clientAddress(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}
