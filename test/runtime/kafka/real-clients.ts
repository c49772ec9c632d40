// Shared set-up of the end-to-end tests of real Kafka clients against the embedded cluster
// (clients-e2e, transactions-e2e): `logmesh embedded` as a child process on loopback, a
// kafkajs client and admin that wait for its three brokers, the Python clients (Debian's
// /usr/bin/python3 with kafka-python and confluent-kafka), and a stop of the cluster by its
// PID (SIGINT, then SIGKILL) whatever happens. Client programs run through the harness's
// runClient, which does not block this process (the cluster's log pipe must keep draining).
// Not a test file itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { cliPath, dumpOutputs, exitedWithin, signal, startChild, waitFor } from '../real-cluster-harness.js';

export const python = '/usr/bin/python3';
export const ci = process.env.CI === 'true';

const clusterReadyTimeoutMs = 30_000;
const clusterExitTimeoutMs = 10_000;

export function hasPythonModule(module: string): boolean {
  return existsSync(python) && spawnSync(python, ['-c', `import ${module}`]).status === 0;
}

/** The `skip` option for a test that needs a client: skipped only without it outside CI; under CI the test runs and fails. */
export const skipWithout = (found: boolean, what: string): string | false => (found || ci ? false : `${what} not installed`);

/** The last stdout line of a client script, which prints its result as JSON. */
export function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export interface EmbeddedCluster {
  /** host:port of node 1's Kafka listener. */
  bootstrap: string;
  kafka: Kafka;
  /** Connected; stop() disconnects it. */
  admin: Admin;
  /** Stops the cluster by its PID (SIGINT, SIGKILL if it has not exited in 10 s), prints its output unless the test passed, removes its data. */
  stop(passed: boolean): Promise<void>;
}

export interface EmbeddedClusterOptions {
  /** The kafkajs client id. */
  clientId: string;
  /** Node 1's Kafka port (nodes 2 and 3 take the next two); the embedded default 9092 when not given. */
  kafkaPortBase?: number;
  /** More `logmesh embedded` arguments. */
  extraArgs?: readonly string[];
}

/**
 * Starts the embedded 3-node cluster in a fresh data directory and waits until kafkajs sees
 * its three brokers; if that fails, the cluster is stopped before the error is thrown.
 */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), `logmesh-${options.clientId}-`));
  const portArgs = options.kafkaPortBase === undefined ? [] : ['--kafka-port', String(options.kafkaPortBase)];
  const bootstrap = `127.0.0.1:${options.kafkaPortBase ?? 9092}`;
  const child = startChild('embedded', process.execPath, [cliPath, 'embedded', '--data', dataDir, ...portArgs, ...(options.extraArgs ?? [])]);
  const kafka = new Kafka({ clientId: options.clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  const stop = async (passed: boolean): Promise<void> => {
    await admin.disconnect().catch(() => {}); // not the test's failure, and must not hide one
    signal(child, 'SIGINT');
    if (!(await exitedWithin(child, clusterExitTimeoutMs))) signal(child, 'SIGKILL');
    if (!passed) dumpOutputs([child]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor('three brokers in the metadata', clusterReadyTimeoutMs, async () => {
      try {
        await admin.connect();
        const described = await admin.describeCluster();
        return described.brokers.length === 3 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  } catch (error) {
    await stop(false);
    throw error;
  }
  return { bootstrap, kafka, admin, stop };
}
