// The security tools (`logmesh users`, `logmesh acls`) speak the APIs kafkajs lacks
// (Describe/AlterUserScramCredentials) through logmesh's own Kafka client, so both use it:
// one connection to the first bootstrap server that answers, with TLS and SASL from a
// `--command-config` file in librdkafka's key names (Kafka's admin tools take the same flag).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ClientSecurity, KafkaClient, SaslRefusedError } from '../../kafka/client.js';
import { ToolError, bootstrapList, withBootstrapOption } from './connection.js';
import { withSpinner } from './spinner.js';

export interface AdminFlags {
  bootstrapServer: string;
  commandConfig?: string;
}

const commandConfigKeys = ['security.protocol', 'sasl.mechanism', 'sasl.mechanisms', 'sasl.username', 'sasl.password', 'ssl.ca.location'] as const;
const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** Adds --bootstrap-server and --command-config to a security tool's command. */
export function withAdminOptions(command: Command): Command {
  return withBootstrapOption(command)
    .option('--command-config <file>', `how to connect: ${commandConfigKeys.join(', ')} (librdkafka's names)`);
}

/** A --command-config file's text as client security; an unknown key or a bad value is one line naming the file and line. */
export function parseCommandConfig(text: string, source: string): ClientSecurity {
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!(commandConfigKeys as readonly string[]).includes(key)) throw new ToolError(`${source}:${i + 1}: unknown key "${key || line}" (known: ${commandConfigKeys.join(', ')})`);
    values.set(key === 'sasl.mechanisms' ? 'sasl.mechanism' : key, line.slice(eq + 1).trim());
  });
  const protocol = values.get('security.protocol') ?? 'PLAINTEXT';
  if (!securityProtocols.includes(protocol)) throw new ToolError(`${source}: security.protocol: expected one of ${securityProtocols.join(', ')}, got "${protocol}"`);
  const security: ClientSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const caPath = values.get('ssl.ca.location');
    let ca: Buffer | null = null;
    if (caPath !== undefined) {
      try {
        ca = readFileSync(caPath);
      } catch (error) {
        throw new ToolError(`${source}: ssl.ca.location: cannot read ${caPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    security.tls = { ca };
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = values.get('sasl.mechanism') ?? 'PLAIN';
    const username = values.get('sasl.username');
    const password = values.get('sasl.password');
    if (username === undefined || password === undefined) throw new ToolError(`${source}: ${protocol} needs sasl.username and sasl.password`);
    security.sasl = { mechanism, username, password };
  }
  return security;
}

function securityOf(flags: AdminFlags): ClientSecurity {
  if (flags.commandConfig === undefined) return {};
  let text: string;
  try {
    text = readFileSync(flags.commandConfig, 'utf8');
  } catch (error) {
    throw new ToolError(`--command-config: cannot read ${flags.commandConfig}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseCommandConfig(text, flags.commandConfig);
}

/** Connects to the first bootstrap server that answers (authenticating as configured), runs `work`, and closes. */
export async function withKafkaClient<T>(flags: AdminFlags, work: (client: KafkaClient) => Promise<T>): Promise<T> {
  const security = securityOf(flags);
  const servers = bootstrapList(flags.bootstrapServer);
  let lastError: Error | null = null;
  for (const server of servers) {
    const at = server.lastIndexOf(':');
    let client: KafkaClient;
    try {
      client = await withSpinner(`connecting to ${server}`, () => KafkaClient.connect(Number(server.slice(at + 1)), server.slice(0, at), 'logmesh-admin', security));
    } catch (error) {
      // A refused authentication will not go better on the next server.
      if (error instanceof SaslRefusedError) throw new ToolError(`cannot authenticate to ${server}: ${error.message}`);
      lastError = error as Error;
      continue;
    }
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }
  throw new ToolError(`cannot reach ${flags.bootstrapServer}: ${lastError?.message ?? 'no server'}`);
}
