// The Kafka-style tools talk to the cluster as any Kafka client would: through kafkajs, over the
// listener's public protocol. This module builds that client (kafkajs' own logging routed to
// pino on stderr), opens and closes the admin client, and turns kafkajs errors into one line.
import type { Command } from 'commander';
import { type Admin, Kafka, type LogEntry, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { createLogger } from '../logger.js';
import { withSpinner } from './spinner.js';

export const defaultBootstrapServer = '127.0.0.1:9092';

/** kafkajs retries a failed request this many times (100 ms doubling, so about 3 s in all) before the tool gives up. */
const requestRetriesMax = 5;
const retryInitialMs = 100;
const connectionTimeoutMs = 3000;
const requestTimeoutMs = 30_000;

export interface ConnectionFlags {
  bootstrapServer: string;
}

/** Adds --bootstrap-server (Kafka's name and default port) to a tool's command. */
export function withBootstrapOption(command: Command): Command {
  return command.option('--bootstrap-server <host:port>', 'Kafka listeners of the cluster, comma-separated', defaultBootstrapServer);
}

export function bootstrapList(text: string): string[] {
  const servers = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const server of servers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(server)) throw new ToolError(`--bootstrap-server: expected host:port, got "${server}"`);
  }
  if (servers.length === 0) throw new ToolError('--bootstrap-server: no server given');
  return servers;
}

/** An error the tool reports as it is: one line, no kafkajs wording around it. */
export class ToolError extends Error {}

const pinoLevelOf: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs every error response at ERROR ('[Connection] Response ...') and every retry
 * (entries with a retryCount): retriable errors it gets past by itself (COORDINATOR_LOAD_IN_PROGRESS,
 * a rebalance, a seed broker not up yet) and errors it ends up throwing to the tool, which
 * prints them in its own error line. Those go to debug; what is left at warn or above is news
 * to the operator.
 */
function levelFor(entry: LogEntry): 'error' | 'warn' | 'info' | 'debug' {
  if (entry.namespace === 'Connection' || entry.log.retryCount !== undefined) return 'debug';
  if (entry.namespace === 'Runner' && /rebalanc/i.test(entry.log.message)) return 'debug';
  // A consumer 'crashes' on a retriable error too (a coordinator still loading) and restarts;
  // a crash it does not restart from reaches `logmesh consume` as a CRASH event, reported there.
  if (entry.namespace === 'Consumer' && /^(Crash: |Restarting the consumer)/.test(entry.log.message)) return 'debug';
  // The console producer is idempotent with bounded retries on purpose: when they run out the
  // tool stops with an error (unbounded, it would hang on a missing topic), so kafkajs' warning
  // that bounded retries weaken exactly-once tells the operator nothing.
  if (entry.namespace === 'Producer' && entry.log.message.startsWith('Limiting retries for the idempotent producer')) return 'debug';
  return pinoLevelOf[entry.level] ?? 'debug';
}

export function kafkajsLogCreator(logger: Logger): logCreator {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, ...fields } = entry.log;
    logger[levelFor(entry)]({ namespace: entry.namespace, ...fields }, message);
  };
}

/** What kafkajs should bother to hand to the log creator, from the pino level. */
function kafkajsLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled('debug')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('info')) return logLevel.INFO;
  // Connection errors are logged at ERROR and demoted to debug above: nothing to ask for below.
  return logLevel.WARN;
}

export function kafkaClient(bootstrap: string, clientId: string): Kafka {
  const logger = createLogger({ name: 'kafkajs', level: process.env.LOGMESH_LOG_LEVEL ?? 'warn', toStderr: true });
  return new Kafka({
    clientId,
    brokers: bootstrapList(bootstrap),
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    retry: { retries: requestRetriesMax, initialRetryTime: retryInitialMs },
    logLevel: kafkajsLevel(logger),
    logCreator: kafkajsLogCreator(logger),
  });
}

/** Connects an admin client, runs `work`, and disconnects whatever happened. */
export async function withAdmin<T>(bootstrap: string, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient(bootstrap, 'logmesh-admin').admin({ retry: { retries: requestRetriesMax, initialRetryTime: retryInitialMs } });
  await failingAs(`cannot connect to ${bootstrap}`, () => withSpinner(`connecting to ${bootstrap}`, () => admin.connect()));
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * One line for a kafkajs error: the Kafka error name for a protocol error (its own names, the
 * ones in actors/protocol/errors.ts), otherwise the innermost message, e.g. the refused connection.
 */
export function kafkaErrorText(error: unknown): string {
  let innermost = error;
  // KafkaJSDeleteGroupsError carries the per-group errors beside a generic message.
  const groupError = (error as { groups?: Array<{ error?: unknown }> } | null)?.groups?.[0]?.error;
  if (groupError !== undefined) innermost = groupError;
  for (let depth = 0; depth < 8; depth++) {
    const cause = (innermost as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null || cause === innermost) break;
    innermost = cause;
  }
  const type = (innermost as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type !== '') return type;
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return message.split('\n')[0]!;
}

/** Rethrows any error as one line naming what failed: `<what>: <reason>`. */
export async function failingAs<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ToolError) throw error;
    throw new ToolError(`${what}: ${kafkaErrorText(error)}`);
  }
}
