// Node configuration from a server.properties file, with Kafka's key names where Kafka has
// them. Unknown keys, wrong types and missing required keys stop the node with one line
// naming the key (and the line of the file).
import type { LogConfig } from '../storage/partition-log.js';
import type { CleanerLoopConfig } from '../storage/node-storage.js';
import { meshSecretBytesMin } from '../transport/mesh-auth.js';
import { defaultTailCacheBytes } from '../storage/tail-cache.js';

export interface NodeConfig {
  nodeId: number;
  processRoles: Array<'broker' | 'controller'>;
  /** Controller voters: node ids (Kafka's `id@host:port` form is accepted; host:port is unused on the mesh). */
  controllerQuorumVoters: number[];
  clusterId: string;
  logDirs: string[];
  natsServers: string[];
  /** Credentials and TLS towards nats-server (null: not used). */
  natsUser: string | null;
  natsPassword: string | null;
  natsNkeySeedFile: string | null;
  natsTlsCaFile: string | null;
  natsTlsCertFile: string | null;
  natsTlsKeyFile: string | null;
  /** The cluster's shared mesh secret: envelopes are sealed with it (runtime/transport/mesh-auth.ts); null: none. */
  meshSecret: string | null;
  listeners: string;
  advertisedListeners: string;
  metricsPort: number;
  electionTimeoutMs: number;
  heartbeatIntervalMs: number;
  brokerHeartbeatIntervalMs: number;
  brokerSessionTimeoutMs: number;
  metadataSnapshotEntries: number;
  logSegmentBytes: number;
  logRollMs: number | null;
  logRollHours: number;
  logIndexIntervalBytes: number;
  logRetentionMs: number | null;
  logRetentionHours: number;
  logRetentionBytes: number;
  logFlushIntervalMessages: number;
  logFlushIntervalMs: number;
  messageMaxBytes: number;
  logCleanerBackoffMs: number;
  logCleanerDedupeBufferBytes: number;
  logTailCacheBytes: number;
  minInsyncReplicas: number;
  uncleanLeaderElectionEnable: boolean;
  replicaLagTimeMaxMs: number;
  replicaFetchMaxBytes: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchBackoffMs: number;
  leaderImbalanceCheckIntervalMs: number;
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  socketRequestMaxBytes: number;
  connectionsMaxIdleMs: number;
  offsetsTopicNumPartitions: number;
  offsetsTopicReplicationFactor: number;
  transactionStateLogNumPartitions: number;
  transactionStateLogReplicationFactor: number;
  transactionStateLogMinIsr: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  offsetsCommitTimeoutMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  /** null: the process's level (LOGMESH_LOG_LEVEL, default info). */
  logLevel: string | null;
  /** PEM files of the listener's certificate chain, private key and trusted CAs (SSL and SASL_SSL listeners). */
  sslCertificateLocation: string | null;
  sslKeyLocation: string | null;
  sslCaLocation: string | null;
  /** The SASL mechanisms a SASL listener offers. */
  saslEnabledMechanisms: string[];
  /** Users the listener knows from this file (`name:password`), beside the SCRAM credentials in the metadata log. */
  saslBootstrapUsers: Array<{ name: string; password: string }>;
  /** Principals (`User:name`) that every authorization check allows. */
  superUsers: string[];
  /** authorizer.class.name: '' (no authorization) or the built-in StandardAuthorizer. */
  authorizerClassName: string;
  allowEveryoneIfNoAclFound: boolean;
}

/** Kafka's security protocols, as the `listeners` prefix names them. */
export const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];
export const saslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
/** The authorizer class names that turn on logmesh's ACL authorizer (KRaft's and the ZooKeeper-era one). */
export const standardAuthorizerNames = ['org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer'];

export class ConfigError extends Error {}

type Parser = (value: string) => unknown;

interface KeySpec {
  field: keyof NodeConfig;
  parse: Parser;
  required?: boolean;
  default?: unknown;
}

const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Parser => (value) => {
  if (!/^-?\d+$/.test(value)) throw new Error(`expected an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new Error(`expected an integer in [${min}, ${max}], got ${n}`);
  return n;
};
const text: Parser = (value) => {
  if (value === '') throw new Error('expected a value');
  return value;
};
const boolean: Parser = (value) => {
  if (value !== 'true' && value !== 'false') throw new Error(`expected true or false, got "${value}"`);
  return value === 'true';
};
const seconds: Parser = (value) => (integer(1)(value) as number) * 1000;
const oneOf = (allowed: string[]): Parser => (value) => {
  if (!allowed.includes(value)) throw new Error(`expected one of ${allowed.join(', ')}, got "${value}"`);
  return value;
};
const minutes: Parser = (value) => (integer(1)(value) as number) * 60_000;
const list: Parser = (value) => value.split(',').map((v) => v.trim()).filter((v) => v !== '');
const roles: Parser = (value) => {
  const parts = list(value) as string[];
  for (const role of parts) if (role !== 'broker' && role !== 'controller') throw new Error(`unknown role "${role}" (broker, controller)`);
  if (parts.length === 0) throw new Error('expected broker, controller or both');
  return parts;
};
const listenerList: Parser = (value) => {
  const first = (list(value) as string[])[0];
  if (first === undefined) throw new Error('expected PROTOCOL://host:port');
  const match = /^([A-Z_]+):\/\/(.*:\d{1,5})$/.exec(first);
  if (match === null) throw new Error(`expected PROTOCOL://host:port, got "${first}"`);
  if (!(securityProtocols as readonly string[]).includes(match[1]!)) throw new Error(`unknown security protocol "${match[1]}" (${securityProtocols.join(', ')})`);
  return value;
};
const pemFile: Parser = (value) => text(value);
const mechanisms: Parser = (value) => {
  const parts = list(value) as string[];
  for (const m of parts) if (!(saslMechanisms as readonly string[]).includes(m)) throw new Error(`unsupported SASL mechanism "${m}" (${saslMechanisms.join(', ')})`);
  if (parts.length === 0) throw new Error(`expected one or more of ${saslMechanisms.join(', ')}`);
  return parts;
};
const bootstrapUsers: Parser = (value) => (list(value) as string[]).map((entry) => {
  const colon = entry.indexOf(':');
  if (colon <= 0 || colon === entry.length - 1) throw new Error(`expected name:password, got an entry without both`);
  return { name: entry.slice(0, colon), password: entry.slice(colon + 1) };
});
// Kafka separates super users with semicolons (a principal may contain a comma).
const principals: Parser = (value) => value.split(';').map((p) => p.trim()).filter((p) => p !== '').map((p) => {
  if (!/^User:.+$/.test(p)) throw new Error(`expected User:name, got "${p}"`);
  return p;
});
const authorizer: Parser = (value) => {
  if (value !== '' && !standardAuthorizerNames.includes(value)) throw new Error(`expected ${standardAuthorizerNames[0]} (or empty), got "${value}"`);
  return value;
};
const voters: Parser = (value) => {
  const ids = (list(value) as string[]).map((voter) => {
    const match = /^(\d+)(@.+)?$/.exec(voter);
    if (match === null) throw new Error(`expected id or id@host:port, got "${voter}"`);
    return Number(match[1]);
  });
  if (ids.length === 0) throw new Error('expected at least one voter');
  return ids;
};

const meshSecret: Parser = (value) => {
  if (Buffer.byteLength(value, 'utf8') < meshSecretBytesMin) throw new Error(`expected at least ${meshSecretBytesMin} bytes (a long random string)`);
  return value;
};

export const configKeys: Record<string, KeySpec> = {
  'node.id': { field: 'nodeId', parse: integer(1, 65535), required: true },
  'process.roles': { field: 'processRoles', parse: roles, default: ['broker', 'controller'] },
  'controller.quorum.voters': { field: 'controllerQuorumVoters', parse: voters, required: true },
  'cluster.id': { field: 'clusterId', parse: text, default: 'logmesh' },
  'log.dirs': { field: 'logDirs', parse: list, required: true },
  'nats.servers': { field: 'natsServers', parse: list, default: ['nats://127.0.0.1:4222'] },
  // Mesh security: how this node proves itself to nats-server (user/password or an nkey, over
  // TLS when a CA is given), and the secret that proves an envelope comes from a member.
  'nats.user': { field: 'natsUser', parse: text, default: null },
  'nats.password': { field: 'natsPassword', parse: text, default: null },
  'nats.nkey.seed.file': { field: 'natsNkeySeedFile', parse: text, default: null },
  'nats.tls.ca.file': { field: 'natsTlsCaFile', parse: text, default: null },
  'nats.tls.cert.file': { field: 'natsTlsCertFile', parse: text, default: null },
  'nats.tls.key.file': { field: 'natsTlsKeyFile', parse: text, default: null },
  'mesh.secret': { field: 'meshSecret', parse: meshSecret, default: null },
  listeners: { field: 'listeners', parse: listenerList, default: 'PLAINTEXT://127.0.0.1:9092' },
  'advertised.listeners': { field: 'advertisedListeners', parse: listenerList, default: '' },
  // Listener security (docs/operations.md#kafka-listener-security). PEM files, as librdkafka names them.
  'ssl.certificate.location': { field: 'sslCertificateLocation', parse: pemFile, default: null },
  'ssl.key.location': { field: 'sslKeyLocation', parse: pemFile, default: null },
  'ssl.ca.location': { field: 'sslCaLocation', parse: pemFile, default: null },
  'sasl.enabled.mechanisms': { field: 'saslEnabledMechanisms', parse: mechanisms, default: [...saslMechanisms] },
  'sasl.bootstrap.users': { field: 'saslBootstrapUsers', parse: bootstrapUsers, default: [] },
  'super.users': { field: 'superUsers', parse: principals, default: [] },
  'authorizer.class.name': { field: 'authorizerClassName', parse: authorizer, default: '' },
  'allow.everyone.if.no.acl.found': { field: 'allowEveryoneIfNoAclFound', parse: boolean, default: false },
  'metrics.port': { field: 'metricsPort', parse: integer(0, 65535), default: 0 },
  'controller.quorum.election.timeout.ms': { field: 'electionTimeoutMs', parse: integer(10), default: 1000 },
  'controller.quorum.heartbeat.interval.ms': { field: 'heartbeatIntervalMs', parse: integer(1), default: 500 },
  'broker.heartbeat.interval.ms': { field: 'brokerHeartbeatIntervalMs', parse: integer(1), default: 2000 },
  'broker.session.timeout.ms': { field: 'brokerSessionTimeoutMs', parse: integer(1), default: 9000 },
  'metadata.snapshot.entries': { field: 'metadataSnapshotEntries', parse: integer(1), default: 1000 },
  // Partition logs (defaults for every topic): Kafka's names and defaults, except that
  // log.flush.interval.messages defaults to 1, so that an acknowledged acks=all write is on
  // the disk of the leader and of every in-sync follower.
  'log.segment.bytes': { field: 'logSegmentBytes', parse: integer(1024), default: 1024 * 1024 * 1024 },
  'log.roll.ms': { field: 'logRollMs', parse: integer(1), default: null },
  'log.roll.hours': { field: 'logRollHours', parse: integer(1), default: 168 },
  'log.index.interval.bytes': { field: 'logIndexIntervalBytes', parse: integer(0), default: 4096 },
  'log.retention.ms': { field: 'logRetentionMs', parse: integer(-1), default: null },
  'log.retention.hours': { field: 'logRetentionHours', parse: integer(-1), default: 168 },
  'log.retention.bytes': { field: 'logRetentionBytes', parse: integer(-1), default: -1 },
  'log.flush.interval.messages': { field: 'logFlushIntervalMessages', parse: integer(1), default: 1 },
  'log.flush.interval.ms': { field: 'logFlushIntervalMs', parse: integer(1), default: 1000 },
  'message.max.bytes': { field: 'messageMaxBytes', parse: integer(0), default: 1024 * 1024 + 12 },
  // The log cleaner (compacted topics): Kafka's names and defaults. The dedupe buffer (the
  // offset map) is allocated at the first pass that cleans something, not at start.
  'log.cleaner.backoff.ms': { field: 'logCleanerBackoffMs', parse: integer(1), default: 15_000 },
  'log.cleaner.dedupe.buffer.size': { field: 'logCleanerDedupeBufferBytes', parse: integer(1024, 2_147_483_647), default: 128 * 1024 * 1024 },
  // logmesh's own: the memory that answers reads at the end of the logs (runtime/storage/tail-cache.ts).
  'log.tail.cache.bytes': { field: 'logTailCacheBytes', parse: integer(0, 2_147_483_647), default: defaultTailCacheBytes },
  'min.insync.replicas': { field: 'minInsyncReplicas', parse: integer(1), default: 1 },
  'unclean.leader.election.enable': { field: 'uncleanLeaderElectionEnable', parse: boolean, default: false },
  'replica.lag.time.max.ms': { field: 'replicaLagTimeMaxMs', parse: integer(1), default: 30_000 },
  'replica.fetch.max.bytes': { field: 'replicaFetchMaxBytes', parse: integer(1), default: 1024 * 1024 },
  'replica.fetch.wait.max.ms': { field: 'replicaFetchWaitMaxMs', parse: integer(0), default: 500 },
  'replica.fetch.backoff.ms': { field: 'replicaFetchBackoffMs', parse: integer(0), default: 1000 },
  'leader.imbalance.check.interval.seconds': { field: 'leaderImbalanceCheckIntervalMs', parse: seconds, default: 300_000 },
  'num.partitions': { field: 'numPartitions', parse: integer(1), default: 1 },
  'default.replication.factor': { field: 'defaultReplicationFactor', parse: integer(1), default: 1 },
  'auto.create.topics.enable': { field: 'autoCreateTopicsEnable', parse: boolean, default: true },
  'socket.request.max.bytes': { field: 'socketRequestMaxBytes', parse: integer(1024), default: 100 * 1024 * 1024 },
  'connections.max.idle.ms': { field: 'connectionsMaxIdleMs', parse: integer(1000), default: 600_000 },
  // Consumer groups: Kafka's names and defaults.
  'offsets.topic.num.partitions': { field: 'offsetsTopicNumPartitions', parse: integer(1, 10_000), default: 50 },
  'offsets.topic.replication.factor': { field: 'offsetsTopicReplicationFactor', parse: integer(1, 32767), default: 3 },
  'offsets.retention.minutes': { field: 'offsetsRetentionMs', parse: minutes, default: 7 * 24 * 3600_000 },
  'offsets.retention.check.interval.ms': { field: 'offsetsRetentionCheckIntervalMs', parse: integer(1), default: 600_000 },
  'offset.metadata.max.bytes': { field: 'offsetMetadataMaxBytes', parse: integer(0), default: 4096 },
  'offsets.commit.timeout.ms': { field: 'offsetsCommitTimeoutMs', parse: integer(1), default: 5000 },
  'group.min.session.timeout.ms': { field: 'groupMinSessionTimeoutMs', parse: integer(1), default: 6000 },
  'group.max.session.timeout.ms': { field: 'groupMaxSessionTimeoutMs', parse: integer(1), default: 1_800_000 },
  'group.max.size': { field: 'groupMaxSize', parse: integer(1), default: 2_147_483_647 },
  // Transactions: Kafka's names and defaults for __transaction_state.
  'transaction.state.log.num.partitions': { field: 'transactionStateLogNumPartitions', parse: integer(1, 10_000), default: 50 },
  'transaction.state.log.replication.factor': { field: 'transactionStateLogReplicationFactor', parse: integer(1, 32767), default: 3 },
  'transaction.state.log.min.isr': { field: 'transactionStateLogMinIsr', parse: integer(1, 32767), default: 2 },
  // Not Kafka's (it configures log4j): the level of this node's pino log lines.
  'log.level': { field: 'logLevel', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: null },
};

/** Parses server.properties text (plus `key=value` overrides). `source` names the file in errors. */
export function parseConfig(textContent: string, source: string, overrides: string[] = []): NodeConfig {
  const values = new Map<string, { value: string; where: string }>();
  textContent.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const eq = line.search(/[=:]/);
    if (eq <= 0) throw new ConfigError(`${source}:${i + 1}: expected key=value, got "${line}"`);
    values.set(line.slice(0, eq).trim(), { value: line.slice(eq + 1).trim(), where: `${source}:${i + 1}` });
  });
  for (const override of overrides) {
    const eq = override.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--override: expected key=value, got "${override}"`);
    values.set(override.slice(0, eq).trim(), { value: override.slice(eq + 1).trim(), where: '--override' });
  }
  const config: Record<string, unknown> = {};
  for (const [key, { value, where }] of values) {
    const spec = configKeys[key];
    if (spec === undefined) throw new ConfigError(`${where}: unknown key "${key}"`);
    try {
      config[spec.field] = spec.parse(value);
    } catch (error) {
      throw new ConfigError(`${where}: ${key}: ${(error as Error).message}`);
    }
  }
  for (const [key, spec] of Object.entries(configKeys)) {
    if (config[spec.field] !== undefined) continue;
    if (spec.required === true) throw new ConfigError(`${source}: missing required key "${key}"`);
    config[spec.field] = spec.default;
  }
  const result = config as unknown as NodeConfig;
  if (result.advertisedListeners === '') result.advertisedListeners = result.listeners;
  if (result.brokerSessionTimeoutMs < 3 * result.brokerHeartbeatIntervalMs) {
    throw new ConfigError(`${source}: broker.session.timeout.ms (${result.brokerSessionTimeoutMs}) must be at least 3 x broker.heartbeat.interval.ms (${result.brokerHeartbeatIntervalMs}), or brokers are fenced while they look for a new controller`);
  }
  if (result.groupMaxSessionTimeoutMs < result.groupMinSessionTimeoutMs) {
    throw new ConfigError(`${source}: group.max.session.timeout.ms (${result.groupMaxSessionTimeoutMs}) is below group.min.session.timeout.ms (${result.groupMinSessionTimeoutMs})`);
  }
  if ((result.natsUser === null) !== (result.natsPassword === null)) {
    throw new ConfigError(`${source}: ${result.natsUser === null ? 'nats.password is set without nats.user' : 'nats.user is set without nats.password'}`);
  }
  if (result.natsUser !== null && result.natsNkeySeedFile !== null) {
    throw new ConfigError(`${source}: nats.user and nats.nkey.seed.file are both set; a connection authenticates one way`);
  }
  if ((result.natsTlsCertFile === null) !== (result.natsTlsKeyFile === null)) {
    throw new ConfigError(`${source}: ${result.natsTlsCertFile === null ? 'nats.tls.key.file is set without nats.tls.cert.file' : 'nats.tls.cert.file is set without nats.tls.key.file'}`);
  }
  const protocol = listenerSecurityProtocol(result.listeners);
  if ((protocol === 'SSL' || protocol === 'SASL_SSL') && (result.sslCertificateLocation === null || result.sslKeyLocation === null)) {
    throw new ConfigError(`${source}: listeners uses ${protocol}, which needs ssl.certificate.location and ssl.key.location`);
  }
  if (result.processRoles.includes('controller') && !result.controllerQuorumVoters.includes(result.nodeId)) {
    throw new ConfigError(`${source}: controller.quorum.voters does not list node.id ${result.nodeId}, but process.roles includes controller`);
  }
  return result;
}

/** A host:port split in two (the last colon separates the port). */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}

/** host:port of the first listener, as brokers advertise it. */
export function listenerHostPort(listeners: string): string {
  const first = listeners.split(',')[0]!.trim();
  return first.replace(/^[A-Z_]+:\/\//, '');
}

/** The security protocol of the first listener (its `PROTOCOL://` prefix). */
export function listenerSecurityProtocol(listeners: string): SecurityProtocol {
  const match = /^([A-Z_]+):\/\//.exec(listeners.split(',')[0]!.trim());
  return (match?.[1] ?? 'PLAINTEXT') as SecurityProtocol;
}

/** The node's log cleaner loop from server.properties. */
export function cleanerConfigOf(config: NodeConfig): CleanerLoopConfig {
  return { backoffMs: config.logCleanerBackoffMs, offsetMapBytes: config.logCleanerDedupeBufferBytes };
}

/** The partition-log settings every topic starts from (topic configs override them later). */
export function logConfigOf(config: NodeConfig): LogConfig {
  const hours = (h: number): number => (h < 0 ? -1 : h * 3600 * 1000);
  return {
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logRollMs ?? hours(config.logRollHours),
    indexIntervalBytes: config.logIndexIntervalBytes,
    retentionMs: config.logRetentionMs ?? hours(config.logRetentionHours),
    retentionBytes: config.logRetentionBytes,
    flushMessages: config.logFlushIntervalMessages,
    flushMs: config.logFlushIntervalMs,
    maxBatchBytes: config.messageMaxBytes,
  };
}
