// One simulation run: a seed, a cluster, a workload, a fault schedule, the checkers, and a
// trace whose hash names the run.
import { defaultControllerTimings } from '../actors/controller/controller-machine.js';
import { defaultBrokerTimings } from '../actors/broker/broker-machine.js';
import { defaultPartitionTimings } from '../actors/partition/partition-machine.js';
import { CommittedAgreementChecker } from './checkers/committed-agreement.js';
import { ElectionSafetyChecker, electionSafety } from './checkers/election-safety.js';
import { LeaderCompletenessChecker, leaderCompleteness } from './checkers/leader-completeness.js';
import { LogMatchingChecker, logMatching } from './checkers/log-matching.js';
import { convergenceGaps, metadataConvergence } from './checkers/metadata-convergence.js';
import { committedAgreement } from './checkers/committed-agreement.js';
import { type Violation, ViolationLog } from './checkers/types.js';
import { type SimBugs, type SimTimings, SimCluster, simOffsetsPartitions, simTxnStatePartitions } from './cluster.js';
import { type FaultKind, Nemesis } from './nemesis.js';
import { type FaultSchedule, formatSchedule } from './schedule.js';
import { SimNetwork } from './network.js';
import { Prng } from './prng.js';
import { Scheduler } from './scheduler.js';
import type { InputObserver } from '../runtime/kernel/node-kernel.js';
import { type RunHeader, TraceRecorder, traceVersion } from './trace.js';
import { AdminClient } from './workloads/admin-client.js';
import { type DataTopic, ProduceConsumeWorkload, partitionKey } from './workloads/produce-consume.js';
import { HighWatermarkChecker, checkReplication, replicationCheckerNames, settledLeaders } from './checkers/replication.js';
import { checkGroups, groupCheckerNames } from './checkers/groups.js';
import { GroupWorkload, type GroupStats } from './workloads/groups.js';
import { consumerOffsetsTopic, offsetsPartitionFor } from '../actors/group/offsets-topic.js';
import { partitionActorId } from '../actors/partition/partition-machine.js';
import { CompactionReadChecker, checkCleanedTxnsResolved, checkCompactedLogs, compactedLatestValue, compactionCheckerNames } from './checkers/compaction.js';
import {
  type CompactionStats, CompactionWorkload, compactionTopicConfigs, compactionTopicName, compactionTopicPartitions,
} from './workloads/compaction.js';
import { defaultSimCleaner } from './log-cleaner.js';
import { checkTransactions, readCommittedIsolation, txnCheckerNames } from './checkers/transactions.js';
import { TransactionsWorkload, txnInputPartitions, txnInputTopic, txnOutputPartitions, txnOutputTopic } from './workloads/transactions.js';
import { type TxnStats, newTxnStats } from './workloads/transactions-history.js';
import { transactionStateTopic } from '../actors/txn/coordinator-machine.js';
import type { CleanerStats } from './partition-disk.js';

export const ackedMetadataDurable = 'acked-metadata-durable';
export const actorAssertion = 'actor-assertion';
export const eventBudget = 'event-budget';
export const checkerNames = [
  electionSafety, logMatching, leaderCompleteness, committedAgreement, metadataConvergence, ackedMetadataDurable,
  ...replicationCheckerNames, ...groupCheckerNames, ...compactionCheckerNames, ...txnCheckerNames, actorAssertion, eventBudget,
] as const;

/**
 * admin: topic churn only; produce-consume: producers and consumers on one topic; groups: a
 * consumer group reading a topic the producers write; mixed: topic churn and producers and
 * consumers; compaction: updates and tombstones to few keys of a compacted topic, read from
 * the beginning again and again while the disks' cleaners rewrite it; transactions: a
 * read-process-write pipeline of transactional processors (sim/workloads/transactions.ts).
 */
export const workloadKinds = ['admin', 'produce-consume', 'groups', 'mixed', 'compaction', 'transactions'] as const;
export type WorkloadKind = (typeof workloadKinds)[number];

export function parseWorkload(text: string): WorkloadKind {
  if (!(workloadKinds as readonly string[]).includes(text)) throw new Error(`unknown workload "${text}" (known: ${workloadKinds.join(', ')})`);
  return text as WorkloadKind;
}

export const dataTopicName = 'events';
export const dataTopicPartitions = 2;
export const dataProducers = 2;
/** Producers start once the data topic has had time to be created. */
export const dataStartMs = 3000;
/** The consumer-group workload: group `g1`'s members read `orders`, which the producers write. */
export const groupTopicName = 'orders';
export const groupTopicPartitions = 4;
export const groupId = 'g1';
export const groupMembers = 3;
/** After settling, the final cleaning passes of a compaction run must be done within this. */
export const finalCleanMaxMs = 20_000;
/** delete.retention.ms of the transactions workload's compacted topics (internal ones and the output): markers whose data is gone then go within a run. */
export const txnInternalDeleteRetentionMs = 1000;
/** Faults start at the latest this long into a run, whether the data topic exists or not. */
export const faultsStartMaxMs = 10_000;

export const simTimings: SimTimings = {
  controller: {
    ...defaultControllerTimings,
    brokerSessionTimeoutMs: 6000,
    // Small, so that runs exercise snapshots and snapshot-based catch-up.
    snapshotThresholdEntries: 24,
    appendEntriesMax: 16,
    metadataFetchEntriesMax: 16,
    leaderImbalanceCheckIntervalMs: 5000,
  },
  broker: { ...defaultBrokerTimings, defaultMinInsyncReplicas: 1 },
  partition: {
    ...defaultPartitionTimings,
    replicaFetchMaxBytes: 64 * 1024,
    replicaFetchBackoffMs: 100,
    // An idle follower's long poll: a leader answers at once when records arrive, so a longer
    // wait costs no latency and saves the simulator most of the idle partitions' events.
    replicaFetchWaitMaxMs: 2000,
    // Short, so that followers cut off by faults leave the ISR (and come back) within a run,
    // yet over two idle polls long.
    replicaLagTimeMaxMs: 5000,
    requestTimeoutMs: 2000,
  },
};

export const noBugs: SimBugs = { controller: {}, broker: {} };

/** Virtual time between periodic whole-cluster checks and progress reports. */
export const checkIntervalMs = 1000;
/** A run that needs more events than this is livelocked (an event storm), itself a failure. */
export const eventsMaxDefault = 1_000_000;

export const settleMaxMsDefault = 60_000;
/**
 * The admin workload creates a topic every 0.5-4 s: far more metadata churn than a real
 * cluster sees, enough to keep every run full of elections racing with new records.
 */
export const adminIntervalMinMs = 500;
export const adminIntervalMaxMs = 4000;
const adminClientNode = 1000;
const dataClientNode = 1001;
/** Group members are nodes 1002, 1003, ...; the workload's own OffsetFetch comes from the next one. */
const groupClientNodeFirst = 1002;
/** The compaction workload's client, well above the group members' nodes. */
const compactionClientNode = 1100;

export interface SimOptions {
  seed: number;
  nodes: number;
  durationMs: number;
  faults: FaultKind[];
  workload?: WorkloadKind;
  /** Sets unclean.leader.election.enable (and min.insync.replicas=1) on the data topic: a known way to lose acknowledged writes. */
  uncleanLeaderElection?: boolean;
  tracePath?: string | null;
  settleMaxMs?: number;
  eventsMax?: number;
  bugs?: SimBugs;
  /** The `--bug` name the bugs came from, for the trace's run header. */
  bugName?: string;
  /** Inject exactly these faults (a recorded or shrunk schedule) instead of drawing them from the seed. */
  faultSchedule?: FaultSchedule;
  /**
   * Called with every trace line as it is written (the run header is line 1), while the
   * cluster is in the state that line leaves it in. Returning true stops the run: no heal,
   * no settle, no final checks (replay uses this).
   */
  onTraceLine?: (line: string, lineNumber: number, cluster: SimCluster) => boolean;
  onProgress?: (progress: SimProgress) => void;
  /** Called with the cluster once the run is over, for tests and debugging. */
  onFinish?: (cluster: SimCluster) => void;
  /** Observes every node's actors (each delivered event with its payload, states and effects); never changes the run. */
  inputObserver?: (node: number) => InputObserver;
}

export interface SimProgress {
  virtualMs: number;
  durationMs: number;
  events: number;
  violations: number;
  phase: 'faults' | 'settling';
}

export interface SimResult {
  seed: number;
  traceHash: string;
  violations: number;
  nodes: number;
  durationMs: number;
  virtualMs: number;
  settledMs: number | null;
  /** Set when onTraceLine stopped the run: the line it stopped at. */
  stoppedAtLine?: number;
  events: number;
  traceLines: number;
  faults: Record<string, number>;
  /** The faults injected, resolved: `faultSchedule` replays them. */
  faultSchedule: FaultSchedule;
  network: Record<string, number>;
  disk: Record<string, number>;
  workload: {
    topicsRequested: number; topicsAcked: number; rejected: number; ambiguous: number; abandoned: number;
    produceAttempts: number; writesAcked: number; recordsAcked: number; produceAbandoned: number; recordsConsumed: number; fetches: number;
    /** The consumer group's numbers, all zero without the group workload. */
    group: GroupStats;
    /** The compaction workload's numbers, all zero without it. */
    compaction: CompactionStats;
    /** The transactions workload's numbers, all zero without it. */
    transactions: TxnStats;
  };
  /** What the disks' cleaners did (all zero unless the workload compacts). */
  cleaner: CleanerStats;
  leaderTerms: number;
  checks: Record<string, number>;
  violationDetails: Violation[];
  wallMs: number;
}

export function runSimulation(options: SimOptions): SimResult {
  const wallStart = performance.now();
  const { seed } = options;
  const scheduler = new Scheduler();
  const tracer = new TraceRecorder(options.tracePath ?? null);
  const violations = new ViolationLog();
  const network = new SimNetwork(scheduler, Prng.forPurpose(seed, 'network'));
  const cluster = new SimCluster(seed, options.nodes, scheduler, network, tracer, simTimings, options.bugs ?? noBugs,
    (node, actor, error) => violations.report(actorAssertion, scheduler.now, `node ${node} ${actor}: ${error.message}`));
  if (options.inputObserver !== undefined) cluster.inputObserver = options.inputObserver;

  const elections = new ElectionSafetyChecker(violations);
  const committed = new CommittedAgreementChecker(violations);
  const completeness = new LeaderCompletenessChecker(violations, committed);
  const logMatchingChecker = new LogMatchingChecker(violations);
  const highWatermarks = new HighWatermarkChecker(violations);
  const stop: { atLine: number | null } = { atLine: null };
  const onTraceLine = options.onTraceLine;
  if (onTraceLine !== undefined) {
    tracer.lineListener = (line, lineNumber) => {
      if (stop.atLine === null && onTraceLine(line, lineNumber, cluster)) stop.atLine = lineNumber;
    };
  }
  tracer.recordHeader(runHeader(options));
  tracer.listener = (event) => {
    if (event.node >= adminClientNode) return;
    if (event.actor === 'controller') {
      const view = cluster.controller(event.node);
      if (view === undefined) return;
      elections.observe(view, event.t);
      committed.observe(view, event.t);
      completeness.observe(view, event.t);
    } else if (event.actor !== 'broker') {
      const view = cluster.replica(event.node, event.actor);
      if (view !== undefined) highWatermarks.observe(view, event.t);
    }
  };

  const workloadKind = options.workload ?? 'mixed';
  const admin = new AdminClient(adminClientNode, cluster.clusterId, cluster.nodeIds, network, scheduler, Prng.forPurpose(seed, 'workload'), tracer);
  const data = new ProduceConsumeWorkload(dataClientNode, cluster.clusterId, cluster.nodeIds, network, scheduler, Prng.forPurpose(seed, 'data'), tracer);
  // Not part of mixed: it would make mixed runs about 60% slower (40 seeds of 60 s: 56 s instead of 35 s).
  const groupsOn = workloadKind === 'groups';
  const groups = new GroupWorkload({
    groupId, topic: groupTopicName, partitions: groupTopicPartitions, members: groupMembers, offsetsPartitions: simOffsetsPartitions,
    firstClientNode: groupClientNodeFirst,
  }, cluster.clusterId, cluster.nodeIds, network, scheduler, Prng.forPurpose(seed, 'groups'), tracer);
  const txnOn = workloadKind === 'transactions';
  const txn = txnOn
    ? new TransactionsWorkload(cluster.clusterId, cluster.nodeIds, network, scheduler, Prng.forPurpose(seed, 'transactions'), tracer, simTxnStatePartitions, simOffsetsPartitions)
    : null;
  // Crashes and cuts aimed at partition leaders hit the group's coordinator half of the time
  // (with transactions: the processors' transaction coordinators and the group's).
  const focusPartitions = groupsOn ? [partitionActorId(consumerOffsetsTopic, offsetsPartitionFor(groupId, simOffsetsPartitions))]
    : txn !== null ? [
      ...txn.txnStatePartitionsOf.map((p) => partitionActorId(transactionStateTopic, p)), partitionActorId(consumerOffsetsTopic, txn.groupOffsetsPartition),
    ] : [];
  const nemesis = new Nemesis(options.faults, cluster, network, scheduler, Prng.forPurpose(seed, 'nemesis'), tracer, focusPartitions,
    options.faultSchedule ?? null);
  const replicationFactor = Math.min(3, options.nodes);
  const dataTopics: DataTopic[] = [
    ...(workloadKind === 'produce-consume' || workloadKind === 'mixed' ? [{ name: dataTopicName, partitions: dataTopicPartitions }] : []),
    ...(groupsOn ? [{ name: groupTopicName, partitions: groupTopicPartitions }] : []),
  ];
  const internalTopics = groupsOn ? [consumerOffsetsTopic] : txnOn ? [consumerOffsetsTopic, transactionStateTopic] : [];
  const txnTopics: DataTopic[] = txnOn ? [{ name: txnInputTopic, partitions: txnInputPartitions }, { name: txnOutputTopic, partitions: txnOutputPartitions }] : [];
  const compactionOn = workloadKind === 'compaction';
  const compactedReads = new CompactionReadChecker(compactionTopicName, violations);
  const compaction = compactionOn
    ? new CompactionWorkload(compactionClientNode, cluster.clusterId, cluster.nodeIds, network, scheduler, Prng.forPurpose(seed, 'compaction'), tracer, compactedReads)
    : null;
  // The transactions workload's internal topics and output are compacted: their cleaning (transactional offset commits,
  // aborted data, markers) is under test too. One pass at a time per node over some 11 logs: the cleaner looks more
  // often, so that the output's markers go within a 10 s run as well as in the final passes.
  if (compactionOn || txnOn) cluster.logCleaner = txnOn ? { ...defaultSimCleaner, intervalMs: 300, intervalJitterMs: 200 } : defaultSimCleaner;
  const compactionTopics: DataTopic[] = compactionOn ? [{ name: compactionTopicName, partitions: compactionTopicPartitions }] : [];

  cluster.startAll();
  if (workloadKind === 'admin' || workloadKind === 'mixed') admin.run(options.durationMs, adminIntervalMinMs, adminIntervalMaxMs);
  for (const name of internalTopics) {
    // What FindCoordinator does in a real cluster: the internal topic, compacted, as replicated as the data.
    admin.create({
      name, numPartitions: name === transactionStateTopic ? simTxnStatePartitions : simOffsetsPartitions, replicationFactor,
      configs: [
        { name: 'cleanup.policy', value: 'compact' }, { name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) },
        // Markers (like tombstones) wait delete.retention.ms once their data is gone: short enough to go within a run.
        ...(txnOn ? [{ name: 'delete.retention.ms', value: String(txnInternalDeleteRetentionMs) }] : []),
      ],
    }, true);
  }
  for (const topic of txnTopics) {
    // The output is compacted too: the cleaner removes aborted data and markers where the
    // read_committed consumers read (its records have unique keys, so no committed one goes).
    const compacted = topic.name === txnOutputTopic
      ? [
        { name: 'cleanup.policy', value: 'compact' }, { name: 'delete.retention.ms', value: String(txnInternalDeleteRetentionMs) },
        // Its records are never superseded: a pass each time the cleaner looks, not once the log has doubled.
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      ]
      : [];
    admin.create({
      name: topic.name, numPartitions: topic.partitions, replicationFactor,
      configs: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }, ...compacted],
    }, true);
  }
  if (txn !== null) scheduler.after(dataStartMs, () => txn.start(options.durationMs));
  for (const topic of dataTopics) {
    admin.create({
      name: topic.name, numPartitions: topic.partitions, replicationFactor,
      // With unclean election on, the topic is set up as in Jepsen's Kafka 0.8 analysis: an
      // ISR of one may acknowledge, and an out-of-sync replica may then be elected.
      configs: options.uncleanLeaderElection === true
        ? [{ name: 'min.insync.replicas', value: '1' }, { name: 'unclean.leader.election.enable', value: 'true' }]
        : [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
    }, true);
  }
  if (compaction !== null) {
    admin.create({
      name: compactionTopicName, numPartitions: compactionTopicPartitions, replicationFactor,
      configs: [...compactionTopicConfigs, { name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
    }, true);
    scheduler.after(dataStartMs, () => compaction.start(options.durationMs));
  }
  if (dataTopics.length > 0) scheduler.after(dataStartMs, () => data.start(dataTopics, dataProducers, options.durationMs));
  if (groupsOn) scheduler.after(dataStartMs, () => groups.start(options.durationMs));
  // Faults begin once the data topic exists: with all replicas required at creation, a
  // creation racing the first crashes could take the whole run.
  const startFaults = (): void => {
    const created = [...dataTopics, ...compactionTopics, ...txnTopics].map((t) => t.name).concat(internalTopics).every((name) => admin.history.acked.has(name));
    if (created || scheduler.now >= faultsStartMaxMs) nemesis.start(options.durationMs);
    else scheduler.after(100, startFaults);
  };
  startFaults();

  const report = (phase: SimProgress['phase']): void => {
    logMatchingChecker.check(cluster.controllers(), scheduler.now);
    options.onProgress?.({ virtualMs: scheduler.now, durationMs: options.durationMs, events: scheduler.eventsRun, violations: violations.violations.length, phase });
  };

  const eventsMax = options.eventsMax ?? eventsMaxDefault;
  const overBudget = (): boolean => scheduler.eventsRun >= eventsMax;
  const halted = (): boolean => overBudget() || stop.atLine !== null;
  for (let t = checkIntervalMs; t <= options.durationMs && !halted(); t += checkIntervalMs) {
    scheduler.runUntil(t, halted);
    report('faults');
  }
  // A run stopped by onTraceLine ends where it stopped: no heal, no settle, no final checks.
  let settledMs: number | null = null;
  if (stop.atLine === null) {
    nemesis.healAll();
    if (groupsOn) groups.healMembers();
    txn?.healProcessors();

    // Settle: after the faults heal, the metadata must converge within a bound.
    const settleMaxMs = options.settleMaxMs ?? settleMaxMsDefault;
    let gaps: string[] = [];
    for (let waited = 0; waited <= settleMaxMs && !halted(); waited += checkIntervalMs) {
      scheduler.runUntil(options.durationMs + waited, halted);
      gaps = [
        ...convergenceGaps(cluster.controllers(), cluster.brokers(), cluster.nodeIds),
        ...replicationGaps(cluster, dataTopics, (watermarks) => data.caughtUp(watermarks)),
        ...replicationGaps(cluster, compactionTopics, () => compaction?.idle ?? true),
        ...replicationGaps(cluster, txnTopics, () => true),
      ];
      // The group settles last: its final OffsetFetch goes out once everything else has.
      if (gaps.length === 0 && admin.idle && groupsOn) gaps = groups.settleGaps(leaderHighWatermarks(cluster));
      // Likewise the pipeline: its final OffsetFetch and final state once all else has settled.
      if (gaps.length === 0 && admin.idle && txn !== null) gaps = txn.settleGaps(leaderHighWatermarks(cluster));
      if (gaps.length === 0 && admin.idle) {
        settledMs = waited;
        break;
      }
      report('settling');
    }
    logMatchingChecker.check(cluster.controllers(), scheduler.now);
    if (stop.atLine !== null) {
      // Stopped while settling: no verdict.
    } else if (overBudget()) {
      violations.report(eventBudget, scheduler.now, `stopped after ${eventsMax} events at ${scheduler.now.toFixed(0)} ms: an event storm`);
    } else if (settledMs === null) {
      const why = gaps.length > 0 ? gaps.slice(0, 3).join('; ') : 'admin requests still outstanding';
      violations.report(metadataConvergence, scheduler.now, `no convergence ${settleMaxMs} ms after faults healed: ${why}`);
    } else {
      checkAckedMetadata(cluster, admin, violations, scheduler.now);
      if (dataTopics.length > 0) checkReplication(cluster, data.history, violations, scheduler.now);
      if (compaction !== null) finalCompactionCheck(cluster, scheduler, compaction, compactedReads, violations, halted);
      if (txn !== null) lateOutputRead(cluster, scheduler, txn, violations, halted);
    }
    // Without settling there is no final OffsetFetch; the other group checks hold all along.
    if (groupsOn && stop.atLine === null) checkGroups(groups.history, violations, scheduler.now);
    // Without settling there is no final state: isolation and fencing are still checked.
    if (txn !== null && stop.atLine === null) checkTransactions(txn.history, violations, scheduler.now);
    if (txnOn && settledMs !== null && stop.atLine === null && !overBudget()) checkCleanedTxnsResolved(cluster, [...internalTopics, txnOutputTopic], violations, scheduler.now);
  }
  options.onFinish?.(cluster);
  const checks: Record<string, number> = {};
  for (const name of checkerNames) checks[name] = violations.countFor(name);
  const wallMs = performance.now() - wallStart;
  return {
    seed,
    traceHash: tracer.digest(),
    violations: violations.violations.length,
    nodes: options.nodes,
    durationMs: options.durationMs,
    virtualMs: scheduler.now,
    settledMs,
    ...(stop.atLine === null ? {} : { stoppedAtLine: stop.atLine }),
    events: scheduler.eventsRun,
    traceLines: tracer.lines,
    faults: { ...nemesis.injected },
    faultSchedule: [...nemesis.schedule],
    network: { ...network.stats },
    disk: cluster.diskStats() as unknown as Record<string, number>,
    workload: {
      topicsRequested: admin.history.requested,
      topicsAcked: admin.history.acked.size,
      rejected: admin.history.rejected,
      ambiguous: admin.history.ambiguous,
      abandoned: admin.history.abandoned,
      produceAttempts: data.history.produceAttempts,
      writesAcked: data.history.acked.length,
      recordsAcked: data.history.acked.reduce((n, w) => n + w.values.length, 0),
      produceAbandoned: data.history.abandoned,
      recordsConsumed: [...data.history.consumed.values()].reduce((n, c) => n + c.values.size, 0),
      fetches: data.history.fetches,
      group: { ...groups.history.stats, errors: { ...groups.history.stats.errors } },
      compaction: compaction === null ? emptyCompactionStats() : { ...compaction.stats, produceErrors: { ...compaction.stats.produceErrors } },
      transactions: txn === null ? newTxnStats() : { ...txn.history.stats, errors: { ...txn.history.stats.errors } },
    },
    cleaner: cluster.cleanerStats(),
    leaderTerms: elections.termsWithLeader,
    checks,
    violationDetails: violations.violations,
    wallMs: Math.round(wallMs),
  };
}

/** The trace's first line: everything needed to run this simulation again. */
export function runHeader(options: SimOptions): RunHeader {
  return {
    t: 0,
    kind: '@run',
    version: traceVersion,
    options: {
      seed: options.seed,
      nodes: options.nodes,
      durationMs: options.durationMs,
      faults: [...options.faults],
      workload: options.workload ?? 'mixed',
      uncleanLeaderElection: options.uncleanLeaderElection === true,
      settleMaxMs: options.settleMaxMs ?? settleMaxMsDefault,
      eventsMax: options.eventsMax ?? eventsMaxDefault,
      bug: options.bugName ?? null,
      bugs: options.bugs ?? noBugs,
      ...(options.faultSchedule === undefined ? {} : { schedule: formatSchedule(options.faultSchedule) }),
    },
  };
}

/**
 * What keeps the data topics from being settled: a partition without a ready leader, an ISR
 * short of its replicas, a replica behind the leader, a consumer behind the watermark.
 */
function replicationGaps(cluster: SimCluster, topics: DataTopic[], caughtUp: (highWatermarks: Map<string, number>) => boolean): string[] {
  if (topics.length === 0) return [];
  const gaps: string[] = [];
  const leaders = settledLeaders(cluster);
  const replicas = cluster.replicas();
  const watermarks = new Map<string, number>();
  for (const topic of topics) {
    for (let p = 0; p < topic.partitions; p++) {
      const key = partitionKey(topic.name, p);
      const leader = leaders.get(key);
      if (leader === undefined) {
        gaps.push(`${key} has no ready leader`);
        continue;
      }
      const ctx = leader.context;
      watermarks.set(key, ctx.highWatermark);
      if (ctx.isr.length < ctx.replicas.length) gaps.push(`${key} ISR ${ctx.isr.join(',')} of replicas ${ctx.replicas.join(',')}`);
      if (ctx.highWatermark < ctx.logEndOffset) gaps.push(`${key} high watermark ${ctx.highWatermark} below log end ${ctx.logEndOffset}`);
      for (const view of replicas) {
        if (view.context.topic !== topic.name || view.context.partition !== p || view.node === leader.node) continue;
        if (view.context.logEndOffset !== ctx.logEndOffset) gaps.push(`${key} on node ${view.node} ends at ${view.context.logEndOffset}, leader at ${ctx.logEndOffset}`);
      }
    }
  }
  if (!caughtUp(watermarks)) gaps.push('producers or consumers still busy');
  return gaps;
}

/**
 * The end of a compaction run: every node's cleaner makes one more pass over each compacted
 * log, whatever its dirty ratio (bounded by finalCleanMaxMs), then the logs are read.
 */
/** Runs the simulation on in steps of checkIntervalMs until `done`, `ms` have passed or the run halts; whether it is done. */
function runUntilDone(scheduler: Scheduler, ms: number, done: () => boolean, halted: () => boolean): boolean {
  const from = scheduler.now;
  for (let waited = 0; !done() && waited < ms && !halted(); waited += checkIntervalMs) scheduler.runUntil(from + waited + checkIntervalMs, halted);
  return done();
}

function finalCompactionCheck(
  cluster: SimCluster, scheduler: Scheduler, workload: CompactionWorkload, reads: CompactionReadChecker, violations: ViolationLog, halted: () => boolean,
): void {
  cluster.requestFinalClean();
  const cleaned = runUntilDone(scheduler, finalCleanMaxMs, () => cluster.finalCleanDone(), halted);
  if (halted()) return;
  if (!cleaned) {
    violations.report(compactedLatestValue, scheduler.now, `the final cleaning passes were not done ${finalCleanMaxMs} ms after the cluster settled`);
  }
  checkCompactedLogs(cluster, compactionTopicName, workload.keys, reads, violations, scheduler.now);
}

/**
 * The end of a transactions run: the cleaner's final passes, three rounds delete.retention.ms
 * apart (one removes the last aborted data, the next finds those transactions' markers without
 * data, the last removes them), then a read_committed consumer reads each output partition
 * from offset 0 (checked against the one that read along, checkers/transactions.ts).
 */
function lateOutputRead(cluster: SimCluster, scheduler: Scheduler, txn: TransactionsWorkload, violations: ViolationLog, halted: () => boolean): void {
  const runFor = (ms: number, done: () => boolean): boolean => runUntilDone(scheduler, ms, done, halted);
  for (let round = 0; round < 3 && !halted(); round++) {
    cluster.requestFinalClean();
    if (!runFor(finalCleanMaxMs, () => cluster.finalCleanDone())) {
      violations.report(readCommittedIsolation, scheduler.now, `the final cleaning passes over the transactions' topics were not done within ${finalCleanMaxMs} ms`);
      return;
    }
    runFor(txnInternalDeleteRetentionMs + checkIntervalMs, () => false);
  }
  txn.startLateReaders();
  txn.history.readCommittedLateDone = runFor(finalCleanMaxMs, () => txn.lateReadersDone(leaderHighWatermarks(cluster)));
  if (!txn.history.readCommittedLateDone && !halted()) {
    violations.report(readCommittedIsolation, scheduler.now, `the late read_committed consumers of ${txnOutputTopic} did not reach the high watermarks within ${finalCleanMaxMs} ms`);
  }
}

function emptyCompactionStats(): CompactionStats {
  return { updatesAttempted: 0, updatesAcked: 0, tombstonesAcked: 0, produceErrors: {}, consumerPasses: 0, recordsRead: 0, fetches: 0 };
}

/** The high watermark of every partition's settled leader. */
function leaderHighWatermarks(cluster: SimCluster): Map<string, number> {
  const watermarks = new Map<string, number>();
  for (const [key, leader] of settledLeaders(cluster)) watermarks.set(key, leader.context.highWatermark);
  return watermarks;
}

/** Every topic creation the controller acknowledged is in the converged metadata. */
function checkAckedMetadata(cluster: SimCluster, admin: AdminClient, violations: ViolationLog, atMs: number): void {
  const leader = cluster.controllers().find((c) => c.state === 'leader');
  if (leader === undefined) return;
  for (const [name, topicId] of admin.history.acked) {
    const topic = leader.context.image.topicsByName.get(name);
    if (topic === undefined || topic.topicId !== topicId) {
      violations.report(ackedMetadataDurable, atMs, `acknowledged topic ${name} (${topicId}) is missing from the committed metadata`);
    }
  }
}
