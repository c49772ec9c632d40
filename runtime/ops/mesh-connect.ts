// A node's (or a tool's) connection to the mesh from server.properties: credentials and TLS
// towards nats-server, then the mesh.secret seal around every envelope. A refusal by
// nats-server at start becomes one ConfigError line naming the keys to look at.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Transport } from '../kernel/ports.js';
import { MeshAuthenticator, type RefusalReason, authenticatedTransport } from '../transport/mesh-auth.js';
import { NatsTransport, type NatsTransportOptions } from '../transport/nats.js';
import { ConfigError, type NodeConfig } from './config.js';

/** The part of NodeConfig that says how to reach the mesh. */
export type MeshConfig = Pick<NodeConfig, 'clusterId' | 'natsServers' | 'natsUser' | 'natsPassword' | 'natsNkeySeedFile'
  | 'natsTlsCaFile' | 'natsTlsCertFile' | 'natsTlsKeyFile' | 'meshSecret'>;

/** No credentials, no TLS, no secret: what the tools and tests use by default. */
export const openMesh: Omit<MeshConfig, 'clusterId' | 'natsServers'> = {
  natsUser: null, natsPassword: null, natsNkeySeedFile: null, natsTlsCaFile: null, natsTlsCertFile: null, natsTlsKeyFile: null, meshSecret: null,
};

export interface MeshConnectOptions {
  nodeId: number;
  logger: Logger;
  /** Counts a frame refused for lacking this cluster's seal (only with mesh.secret). */
  onRefused?: (reason: RefusalReason) => void;
  /** The node's metrics registry: NATS messages published and received, malformed batches. */
  registry?: Registry;
}

/** Connects to NATS as `config` says; throws ConfigError naming the key when nats-server refuses. */
export async function connectMesh(config: MeshConfig, options: MeshConnectOptions): Promise<Transport> {
  const natsOptions = natsTransportOptions(config, options);
  let transport: NatsTransport;
  try {
    transport = await NatsTransport.connect(natsOptions);
  } catch (error) {
    throw new ConfigError(connectFailure(config, error as Error & { code?: string }));
  }
  if (config.meshSecret === null) return transport;
  return authenticatedTransport(transport, {
    authenticator: new MeshAuthenticator(config.meshSecret, config.clusterId),
    logger: options.logger,
    onRefused: options.onRefused ?? (() => {}),
  });
}

function natsTransportOptions(config: MeshConfig, options: MeshConnectOptions): NatsTransportOptions {
  const tls = config.natsTlsCaFile === null && config.natsTlsCertFile === null ? undefined : {
    ...(config.natsTlsCaFile === null ? {} : { caFile: config.natsTlsCaFile }),
    ...(config.natsTlsCertFile === null ? {} : { certFile: config.natsTlsCertFile, keyFile: config.natsTlsKeyFile! }),
  };
  return {
    servers: config.natsServers, prefix: config.clusterId, nodeId: options.nodeId, logger: options.logger,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(config.natsUser === null ? {} : { user: config.natsUser, pass: config.natsPassword! }),
    ...(config.natsNkeySeedFile === null ? {} : { nkeySeed: readSeed(config.natsNkeySeedFile) }),
    ...(tls === undefined ? {} : { tls }),
  };
}

function readSeed(file: string): Uint8Array {
  try {
    return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
  } catch (error) {
    throw new ConfigError(`nats.nkey.seed.file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** One line: what nats-server (or TLS) said, and which keys decide it. */
function connectFailure(config: MeshConfig, error: Error & { code?: string }): string {
  const servers = config.natsServers.join(',');
  const said = error.message.split('\n')[0];
  if (error.code === 'AUTHORIZATION_VIOLATION' || /authori[sz]ation/i.test(said ?? '')) {
    const keys = config.natsNkeySeedFile !== null ? 'nats.nkey.seed.file' : config.natsUser !== null ? 'nats.user/nats.password' : 'nats.user/nats.password or nats.nkey.seed.file (none set)';
    return `${keys}: nats-server at ${servers} refused the credentials (${said})`;
  }
  if (/tls|ssl|certificate|self.signed/i.test(`${error.code ?? ''} ${said}`)) {
    return `nats.tls.ca.file/nats.tls.cert.file: TLS to nats-server at ${servers} failed (${said})`;
  }
  return `nats.servers: cannot connect to ${servers} (${said})`;
}
