// The real-process nemesis (Jepsen-style), `logmesh chaos`: nats-server and three node
// processes on loopback (chaos-cluster.ts), real kafkajs clients recording a history
// (chaos-workload.ts), and faults on a schedule drawn from a seed, one at a time:
//   kill        kill -9 of a node, restarted after a while
//   pause       SIGSTOP of a node for longer than the session timeouts, then SIGCONT
//   nats-restart nats-server killed and started again on the same port
//   mesh-cut    one node's connection to nats-server severed for a while (its proxy)
//   disk-full   one node's disk (a tmpfs of its own) filled until ENOSPC, then freed; the node
//               must stop with a line naming the error, and is restarted
// After each fault heals, the cluster must take an acks=all write on every partition within
// recoveryLimitMs; then the nemesis waits for every ISR to be full again before the next fault.
// At the end the simulator's checkers run on the history: no acknowledged write lost, the
// idempotent producer's values written once, consumers' reads still in the log, dense offsets
// (sim/checkers/replication.ts), committed offsets intact (sim/checkers/groups.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../sim/prng.js';
import { type PartitionLog, checkHistoryAgainstLogs, ackedWritesDurable, consumerBelowHighWatermark, denseOffsets, idempotentNoDuplicates } from '../../sim/checkers/replication.js';
import { ackedCommitsDurable, checkGroups, committedOffsetsMonotonic } from '../../sim/checkers/groups.js';
import { ViolationLog, type Violation } from '../../sim/checkers/types.js';
import { ChaosCluster, brokerSessionTimeoutMs, chaosNodeIds } from './chaos-cluster.js';
import { ChaosWorkload, type ClientHistory, type Operation, chaosPartitions, chaosTopic } from './chaos-workload.js';
import { pause } from './bench-processes.js';

export const chaosFaultKinds = ['kill', 'pause', 'nats-restart', 'mesh-cut', 'disk-full'] as const;
export type ChaosFaultKind = (typeof chaosFaultKinds)[number];

/** The promise: after a fault heals, every partition takes an acks=all write within this. */
export const recoveryLimitMs = 10_000;
/** How long recovery is measured before giving up on it (a violation either way). */
const recoveryWatchMs = 30_000;
/** Waiting for every ISR to be full again before the next fault; past it the next fault comes anyway. */
const settleMaxMs = 30_000;
const startTimeoutMs = 60_000;
const readBackTimeoutMs = 60_000;
export const recoveredWithinLimit = 'recovered-within-10s';
export const diskFullFailsClearly = 'disk-full-fails-clearly';

/** Checkers whose verdicts the report lists (the ones that apply to a real cluster's history). */
export const chaosCheckerNames = [
  ackedWritesDurable, idempotentNoDuplicates, consumerBelowHighWatermark, denseOffsets, committedOffsetsMonotonic, ackedCommitsDurable,
  recoveredWithinLimit, diskFullFailsClearly,
] as const;

export interface ChaosFault {
  kind: ChaosFaultKind;
  /** The node it hit (none for nats-restart). */
  node: number | null;
  holdMs: number;
  /** Ms since the start of the campaign. */
  startedAtMs: number;
  healedAtMs: number;
  /** From the heal to the first round of probes all acknowledged; null if not within recoveryWatchMs. */
  recoveryMs: number | null;
  /** From the recovery until every ISR held three replicas again; null if not within settleMaxMs. */
  settleMs: number | null;
  note: string;
  /** disk-full only: what the filler wrote and how the node took it. */
  diskFull?: { filledBytes: number; stopped: boolean; exitInfo: string | null; namedEnospc: boolean };
}

export interface ChaosOptions {
  durationMs: number;
  seed: number;
  natsServer: string;
  portBase: number;
  /** The data directory's parent (a fresh temp directory under it); os.tmpdir() by default. */
  tmpRoot?: string;
  kinds?: readonly ChaosFaultKind[];
  /** Write every client operation (invoke/ok/fail/info, with its time) here, one JSON line each. */
  historyFile?: string;
  onProgress?: (elapsedMs: number, faults: readonly ChaosFault[]) => void;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  wallMs: number;
  faults: ChaosFault[];
  /** Kinds left out, and why (disk-full without a tmpfs). */
  skippedKinds: Record<string, string>;
  operations: Record<string, Record<string, number>>;
  acknowledgedWrites: number;
  recordsRead: number;
  commitsAcknowledged: number;
  producerRestarts: number;
  consumerCrashes: number;
  violations: Violation[];
  verdicts: Record<string, 'pass' | 'fail'>;
}

/** The fault after `previous`: kinds in a seeded order, each round a new shuffle, so that a short run still sees every kind. */
export class ChaosSchedule {
  private readonly prng: Prng;
  private round: ChaosFaultKind[] = [];

  constructor(seed: number, private readonly kinds: readonly ChaosFaultKind[]) {
    this.prng = Prng.forPurpose(seed, 'chaos');
  }

  next(): { kind: ChaosFaultKind; node: number; holdMs: number; quietMs: number } {
    if (this.round.length === 0) this.round = this.shuffled();
    const kind = this.round.shift()!;
    const node = this.prng.pick(chaosNodeIds);
    // Pauses and mesh cuts outlast the broker session, so that the node is fenced and comes back.
    const holdMs = kind === 'pause' || kind === 'mesh-cut'
      ? this.prng.int(brokerSessionTimeoutMs + 1000, brokerSessionTimeoutMs + 3000)
      : this.prng.int(1500, 4000);
    return { kind, node, holdMs, quietMs: this.prng.int(500, 2000) };
  }

  private shuffled(): ChaosFaultKind[] {
    const order = [...this.kinds];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.prng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const dataDir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'logmesh-chaos-'));
  const cluster = new ChaosCluster({ natsServer: options.natsServer, dataDir, portBase: options.portBase, clusterId: `chaos-${options.seed}` });
  const violations = new ViolationLog();
  const faults: ChaosFault[] = [];
  const skippedKinds: Record<string, string> = {};
  let workload: ChaosWorkload | null = null;
  try {
    await cluster.start();
    let kinds = [...(options.kinds ?? chaosFaultKinds)];
    if (kinds.includes('disk-full') && cluster.ownDisk.size < chaosNodeIds.length) {
      kinds = kinds.filter((k) => k !== 'disk-full');
      skippedKinds['disk-full'] = 'no tmpfs per node (mounting one needs root); a shared disk is never filled';
    }
    workload = await startWorkload(cluster);
    const elapsed = (): number => performance.now() - started;
    if ((await recover(workload, cluster, startTimeoutMs)) === null) throw new Error(`the cluster took no writes within ${startTimeoutMs} ms of starting`);
    const schedule = new ChaosSchedule(options.seed, kinds);
    // Leave room at the end for the last fault's recovery and the checks.
    while (elapsed() < options.durationMs - 15_000) {
      const planned = schedule.next();
      const fault = await inject(cluster, workload, planned, elapsed, violations);
      faults.push(fault);
      options.onProgress?.(elapsed(), faults);
      await pause(planned.quietMs);
    }
    for (const id of chaosNodeIds) if (!cluster.nodeRunning(id)) cluster.startNode(id);
    await recover(workload, cluster, recoveryWatchMs);
    await workload.stop();
    await workload.finalOffsetFetch();
    const logs = await workload.readToEnd(readBackTimeoutMs);
    checkChaosHistory(workload.history, logs, violations, elapsed());
    if (options.historyFile !== undefined) writeFileSync(options.historyFile, workload.history.ops.map((op) => JSON.stringify(op)).join('\n') + '\n');
    options.onProgress?.(elapsed(), faults);
    return report(options, performance.now() - started, faults, skippedKinds, workload.history, violations,
      [...logs.values()].reduce((n, log) => n + log.values.size, 0));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${cluster.describeChildren()}`);
  } finally {
    await workload?.close();
    await cluster.stop();
  }
}

/**
 * The simulator's checkers on a real history: the clients' anomalies, every offset below the
 * watermark read back, then sim/checkers/replication.ts and sim/checkers/groups.ts as they are.
 */
export function checkChaosHistory(history: ClientHistory, logs: ReadonlyMap<string, PartitionLog>, violations: ViolationLog, atMs: number): void {
  for (const anomaly of history.data.anomalies) violations.report(consumerBelowHighWatermark, atMs, anomaly);
  for (const [key, log] of logs) {
    for (let offset = 0; offset < log.highWatermark; offset++) {
      if (!log.values.has(offset)) violations.report(denseOffsets, atMs, `${key}: offset ${offset} below the high watermark ${log.highWatermark} was not read back`);
    }
  }
  checkHistoryAgainstLogs(history.data, logs, violations, atMs);
  checkGroups(history.groups, violations, atMs);
}

async function startWorkload(cluster: ChaosCluster): Promise<ChaosWorkload> {
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    const workload = new ChaosWorkload(cluster.bootstrap);
    try {
      await workload.start();
      return workload;
    } catch (error) {
      await workload.close();
      if (performance.now() > deadline) throw new Error(`the workload could not start within ${startTimeoutMs} ms: ${(error as Error).message}`);
      await pause(500);
    }
  }
}

/** Probes every partition until all take a write; the ms it took, or null past `limitMs`. */
async function recover(workload: ChaosWorkload, cluster: ChaosCluster, limitMs: number): Promise<number | null> {
  const from = performance.now();
  while (performance.now() - from < limitMs) {
    // A node the fault left dead (disk full, or one that failed on its own) is brought back.
    for (const id of chaosNodeIds) if (!cluster.nodeRunning(id)) cluster.startNode(id);
    if (await workload.probeAll()) return performance.now() - from;
    await pause(100);
  }
  return null;
}

/** Waits until every partition of the topic has three in-sync replicas; the ms it took, or null. */
async function settle(workload: ChaosWorkload, limitMs: number): Promise<number | null> {
  const from = performance.now();
  while (performance.now() - from < limitMs) {
    if (await workload.isrFull()) return performance.now() - from;
    await pause(200);
  }
  return null;
}

async function inject(
  cluster: ChaosCluster, workload: ChaosWorkload, planned: ReturnType<ChaosSchedule['next']>, elapsed: () => number, violations: ViolationLog,
): Promise<ChaosFault> {
  const { kind, node, holdMs } = planned;
  const startedAtMs = elapsed();
  let note = '';
  let diskFull: ChaosFault['diskFull'];
  switch (kind) {
    case 'kill': {
      const child = cluster.nodes.get(node)!;
      child.signal('SIGKILL');
      await child.exited;
      await pause(holdMs);
      cluster.startNode(node);
      break;
    }
    case 'pause': {
      const child = cluster.nodes.get(node)!;
      child.signal('SIGSTOP');
      await pause(holdMs);
      child.signal('SIGCONT');
      break;
    }
    case 'nats-restart': {
      cluster.nats!.signal('SIGKILL');
      await cluster.nats!.exited;
      await pause(holdMs);
      await cluster.startNats();
      break;
    }
    case 'mesh-cut': {
      const proxy = cluster.proxies.get(node)!;
      proxy.sever();
      await pause(holdMs);
      proxy.heal();
      break;
    }
    case 'disk-full': {
      const child = cluster.nodes.get(node)!;
      const filled = cluster.fillDisk(node);
      // The node must notice (every replica appends what the producers write) and stop.
      const exited = await Promise.race([child.exited.then(() => true), pause(Math.max(holdMs, 5000)).then(() => false)]);
      cluster.freeDisk(node);
      const said = child.tail.find((line) => line.includes('ENOSPC')) !== undefined;
      note = exited ? `filled ${Math.round(filled / 1048576)} MiB; node stopped (${child.exitInfo})${said ? ' naming ENOSPC' : ''}` : `filled ${Math.round(filled / 1048576)} MiB; node kept running`;
      if (exited && (child.exitInfo !== 'code 70' || !said)) {
        violations.report(diskFullFailsClearly, elapsed(), `node ${node} on a full disk exited with ${child.exitInfo} without a line naming ENOSPC; last lines: ${child.tail.slice(-3).join(' | ')}`);
      }
      if (exited) cluster.startNode(node);
      diskFull = { filledBytes: filled, stopped: exited, exitInfo: child.exitInfo, namedEnospc: said };
      break;
    }
  }
  const healedAtMs = elapsed();
  const recoveryMs = await recover(workload, cluster, recoveryWatchMs);
  if (recoveryMs === null || recoveryMs > recoveryLimitMs) {
    violations.report(recoveredWithinLimit, elapsed(),
      `${kind}${kind === 'nats-restart' ? '' : ` of node ${node}`} healed at ${(healedAtMs / 1000).toFixed(1)} s: every partition took a write ${recoveryMs === null ? `not within ${recoveryWatchMs} ms` : `only after ${Math.round(recoveryMs)} ms`}`);
  }
  const settleMs = await settle(workload, settleMaxMs);
  return { kind, node: kind === 'nats-restart' ? null : node, holdMs, startedAtMs, healedAtMs, recoveryMs, settleMs, note, ...(diskFull === undefined ? {} : { diskFull }) };
}

function report(options: ChaosOptions, wallMs: number, faults: ChaosFault[], skippedKinds: Record<string, string>,
  history: ClientHistory, violations: ViolationLog, recordsRead: number): ChaosReport {
  const operations: Record<string, Record<string, number>> = {};
  for (const op of history.ops as Operation[]) {
    const byType = operations[op.f] ?? (operations[op.f] = {});
    byType[op.type] = (byType[op.type] ?? 0) + 1;
  }
  const verdicts: Record<string, 'pass' | 'fail'> = {};
  for (const name of chaosCheckerNames) verdicts[name] = violations.countFor(name) > 0 ? 'fail' : 'pass';
  for (const violation of violations.violations) verdicts[violation.checker] = 'fail';
  return {
    seed: options.seed, durationMs: options.durationMs, wallMs, faults, skippedKinds, operations,
    acknowledgedWrites: history.data.acked.length, recordsRead, commitsAcknowledged: history.groups.commits.length,
    producerRestarts: history.producerRestarts, consumerCrashes: history.consumerCrashes,
    violations: violations.violations, verdicts,
  };
}

/** The report as the lines `logmesh chaos` prints (and docs/chaos.md quotes). */
export function formatChaosReport(r: ChaosReport): string[] {
  const byKind = new Map<string, ChaosFault[]>();
  for (const fault of r.faults) byKind.set(fault.kind, [...(byKind.get(fault.kind) ?? []), fault]);
  const ms = (values: Array<number | null>): string => {
    const known = values.filter((v): v is number => v !== null);
    if (known.length === 0) return '-';
    const max = Math.max(...known);
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    return `mean ${Math.round(mean)} ms, max ${Math.round(max)} ms${known.length < values.length ? `, ${values.length - known.length} never` : ''}`;
  };
  const lines = [
    `chaos campaign     seed ${r.seed}, ${(r.durationMs / 60_000).toFixed(1)} min asked, ${(r.wallMs / 60_000).toFixed(1)} min run; topic ${chaosTopic} (${chaosPartitions} partitions, replication 3, min.insync.replicas 2)`,
    '',
    'fault              injected  recovery (heal -> every partition writable)   ISR full again',
    ...[...byKind].sort().map(([kind, list]) => `  ${kind.padEnd(16)} ${String(list.length).padStart(8)}  ${ms(list.map((f) => f.recoveryMs)).padEnd(44)} ${ms(list.map((f) => f.settleMs))}`),
    ...Object.entries(r.skippedKinds).map(([kind, why]) => `  ${kind.padEnd(16)} skipped: ${why}`),
    '',
    'operation          ok / fail / info',
    ...Object.entries(r.operations).sort().map(([f, byType]) => `  ${f.padEnd(16)} ${byType.ok ?? 0} / ${byType.fail ?? 0} / ${byType.info ?? 0}`),
    `  acknowledged writes ${r.acknowledgedWrites}, records read back ${r.recordsRead}, commits acknowledged ${r.commitsAcknowledged}, producer restarts ${r.producerRestarts}, consumer crashes ${r.consumerCrashes}`,
    '',
    'checker                        verdict',
    ...Object.entries(r.verdicts).map(([name, verdict]) => `  ${name.padEnd(30)} ${verdict}`),
  ];
  for (const violation of r.violations.slice(0, 20)) lines.push(`VIOLATION ${violation.checker} at ${(violation.atMs / 1000).toFixed(1)} s: ${violation.message}`);
  const disks = r.faults.flatMap((f) => (f.diskFull === undefined ? [] : [f.diskFull]));
  if (disks.length > 0) {
    const outcomes = new Map<string, number>();
    for (const d of disks) {
      const outcome = d.stopped ? `stopped (${d.exitInfo})${d.namedEnospc ? ' naming ENOSPC' : ' without naming ENOSPC'}` : 'kept running';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const mib = disks.map((d) => Math.round(d.filledBytes / 1048576));
    lines.push('', `disk-full: filled ${Math.min(...mib)}-${Math.max(...mib)} MiB each time; the node ${[...outcomes].map(([o, n]) => `${o}: ${n} of ${disks.length}`).join(', ')}`);
  }
  return lines;
}
