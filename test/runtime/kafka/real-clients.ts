// Shared set-up of the end-to-end tests of real Kafka clients against the embedded cluster
// (clients-e2e, transactions-e2e, groups-e2e): `logmesh embedded` as a child process on
// loopback, a kafkajs client and admin that wait for its three brokers, the Python clients (Debian's
// /usr/bin/python3 with kafka-python and confluent-kafka), and a stop of the cluster by its
// PID (SIGINT, then SIGKILL) whatever happens. Client programs run through the harness's
// runClient, which does not block this process (the cluster's log pipe must keep draining).
// Not a test file itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { type Child, cliPath, dumpOutputs, exitedWithin, isRunning, signal, startChild, waitFor } from '../real-cluster-harness.js';

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
  /** The `logmesh embedded` process: a test that waits long checks it is still running. */
  child: Child;
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
  /** Takes kafkajs' warnings and errors of `kafka` (and what it creates), one JSON line each, for a failure dump; without it kafkajs logs nothing. */
  clientLog?: (line: string) => void;
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
  const { clientLog } = options;
  const logging: Pick<KafkaConfig, 'logLevel' | 'logCreator'> = clientLog === undefined ? { logLevel: logLevel.NOTHING } : {
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, label, log }) => clientLog(JSON.stringify({ label, namespace, ...log })),
  };
  const kafka = new Kafka({ clientId: options.clientId, brokers: [bootstrap], retry: { retries: 10, initialRetryTime: 100 }, ...logging });
  const admin = kafka.admin();
  const stop = async (passed: boolean): Promise<void> => {
    await admin.disconnect().catch(() => {}); // not the test's failure, and must not hide one
    signal(child, 'SIGINT');
    if (!(await exitedWithin(child, clusterExitTimeoutMs))) signal(child, 'SIGKILL');
    if (!passed) dumpOutputs([child]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor('three brokers in the metadata', clusterReadyTimeoutMs, () => threeBrokersUp(child, bootstrap));
    await admin.connect();
  } catch (error) {
    await stop(false);
    throw error;
  }
  return { bootstrap, kafka, admin, child, stop };
}

/**
 * One quick look (no retries) at whether the cluster answers with three brokers, so that the
 * wait ends at once when the cluster process dies instead of sitting in a client's backoff.
 */
async function threeBrokersUp(cluster: Child, bootstrap: string): Promise<true | undefined> {
  if (!isRunning(cluster)) throw new Error(`${cluster.name} exited (${cluster.exitInfo})`);
  const probe = new Kafka({ clientId: 'cluster-probe', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000, requestTimeout: 2000 }).admin();
  try {
    await probe.connect();
    return (await probe.describeCluster()).brokers.length === 3 ? true : undefined;
  } catch {
    return undefined;
  } finally {
    await probe.disconnect().catch(() => {});
  }
}
