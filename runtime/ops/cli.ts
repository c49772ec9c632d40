#!/usr/bin/env -S node --initial-old-space-size=128 --max-semi-space-size=32
// The `logmesh` command: nodes, the embedded cluster, simulations and campaigns, small tools
// that talk to the controller quorum over the mesh, and Kafka-style tools (topics, produce,
// consume, groups, cluster) that speak the public Kafka protocol through kafkajs, and the
// security tools (users, acls) through logmesh's own Kafka client (tools/).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { protoSource } from '../../actors/protocol/schema.js';
import { errorName } from '../../actors/protocol/errors.js';
import type { ConfigEntry } from '../../actors/protocol/messages.js';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import { runCampaign } from '../../sim/campaign.js';
import { type FaultKind, faultKinds, parseFaults } from '../../sim/nemesis.js';
import { type SimResult, type WorkloadKind, parseWorkload, runSimulation } from '../../sim/run.js';
import type { SimBugs } from '../../sim/cluster.js';
import { bugSwitches } from './bugs.js';
import { type FaultSchedule, formatSchedule, parseSchedule } from '../../sim/schedule.js';
import { shrinkCommand } from './shrink-cli.js';
import { createKernelMetrics } from '../kernel/metrics.js';
import { ConfigError, parseConfig } from './config.js';
import { formatDuration, parseDuration, parseSeedRange } from './duration.js';
import { startEmbeddedCluster } from './embedded.js';
import { findNatsServer, startDevCluster } from './dev.js';
import { type ChaosFaultKind, chaosFaultKinds, formatChaosReport, runChaos } from './chaos.js';
import { createLogger } from './logger.js';
import { MeshClient } from './mesh-client.js';
import { connectMesh, openMesh } from './mesh-connect.js';
import { startNodeHost } from './node-host.js';
import { registerClusterCommand } from './tools/cluster.js';
import { registerConsumeCommand } from './tools/consume.js';
import { registerGroupsCommand } from './tools/groups.js';
import { registerAclsCommand } from './tools/acls.js';
import { registerUsersCommand } from './tools/users.js';
import { asInt, collectConfig } from './tools/options.js';
import { registerProduceCommand } from './tools/produce.js';
import { registerReplayCommand } from './replay-cli.js';
import { registerTraceCommand } from './trace-cli.js';
import { registerTopicsCommand } from './tools/topics.js';
import { Registry } from 'prom-client';

const program = new Command();

/** How long SIGTERM waits for the controller to move a node's leadership away. */
const controlledShutdownTimeoutMs = 30_000;
program
  .name('logmesh')
  .description('Kafka-compatible distributed log: actors on a NATS mesh, with a deterministic simulator')
  .showSuggestionAfterError(false)
  .configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });

function asWorkload(text: string): WorkloadKind {
  try {
    return parseWorkload(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function asDuration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function asFaults(value: string): FaultKind[] {
  try {
    return parseFaults(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function asSeeds(value: string): [number, number] {
  try {
    return parseSeedRange(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function asBug(value: string): SimBugs {
  const bugs = bugSwitches[value];
  if (bugs === undefined) throw new InvalidArgumentError(`unknown bug "${value}" (${Object.keys(bugSwitches).join(', ')})`);
  return bugs;
}

function asSchedule(value: string): FaultSchedule {
  try {
    return parseSchedule(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function reproCommand(seed: number, flags: SimFlags, bug: string | undefined): string {
  const faultText = flags.faults.length === 0 ? 'none' : flags.faults.join(',');
  const unclean = flags.uncleanLeaderElection === true ? ' --unclean-leader-election' : '';
  const schedule = flags.schedule === undefined ? '' : ` --schedule ${formatSchedule(flags.schedule)}`;
  return `npx logmesh sim --seed ${seed} --nodes ${flags.nodes} --duration ${formatDuration(flags.duration)} --faults ${faultText} --workload ${flags.workload}${unclean}${bug === undefined ? '' : ` --bug ${bug}`}${schedule}`;
}

interface SimFlags {
  seed?: number;
  seeds?: [number, number];
  nodes: number;
  duration: number;
  faults: FaultKind[];
  workload: WorkloadKind;
  uncleanLeaderElection?: boolean;
  trace?: string;
  bug?: SimBugs;
  workers?: number;
  quiet?: boolean;
  schedule?: FaultSchedule;
  shrink?: boolean;
}

program
  .command('sim')
  .description('run a deterministic simulation (one --seed) or a campaign (--seeds A..B)')
  .option('--seed <n>', 'the seed of one run', asInt('--seed', 0, 2 ** 31 - 1))
  .option('--seeds <range>', 'run a campaign over seeds A..B on worker threads', asSeeds)
  .option('--nodes <n>', 'cluster size', asInt('--nodes', 1, 9), 3)
  .option('--duration <time>', 'virtual time with faults (then faults heal and the cluster must settle)', asDuration, 60_000)
  .option('--faults <list>', `comma list of ${faultKinds.join(',')} (or none)`, asFaults, ['partition', 'crash', 'drop'] as FaultKind[])
  .option('--workload <kind>', 'admin (topic churn), produce-consume (producers and consumers on a replicated topic), groups (a consumer group under member faults and coordinator moves), compaction (updates and tombstones to few keys of a compacted topic, cleaned by the simulated disks while consumers read it), transactions (a read-process-write pipeline of transactional processors with crashes and zombies) or mixed', asWorkload, 'mixed' as WorkloadKind)
  .option('--unclean-leader-election', 'set unclean.leader.election.enable on the data topic (loses acknowledged writes)')
  .option('--trace <file>', 'write the JSON Lines trace of a single run')
  .option('--workers <n>', 'worker threads for a campaign (default: one per core)', asInt('--workers', 1, 64))
  .option('--quiet', 'no progress output')
  .option('--schedule <faults>', 'inject exactly these faults instead of drawing them (the form --shrink prints, or none)', asSchedule)
  .option('--shrink', 'if the run fails, shrink it to fewer faults and a shorter fault phase that fail the same checker')
  .addOption(new Option('--bug <name>', 'test only: switch on a deliberate protocol bug').argParser(asBug).hideHelp())
  .action(async (flags: SimFlags) => {
    const bugName = process.argv.includes('--bug') ? process.argv[process.argv.indexOf('--bug') + 1] : undefined;
    if (flags.seeds !== undefined) {
      if (flags.shrink === true || flags.schedule !== undefined) throw new InvalidArgumentError('--shrink and --schedule work on one --seed, not a campaign');
      await campaignCommand(flags, bugName);
      return;
    }
    const seed = flags.seed ?? 1;
    if (flags.shrink === true) {
      process.exitCode = shrinkCommand({
        seed, nodes: flags.nodes, durationMs: flags.duration, faults: flags.faults, workload: flags.workload,
        uncleanLeaderElection: flags.uncleanLeaderElection, bugs: flags.bug, bugName, faultSchedule: flags.schedule,
      }, (shrunk) => reproCommand(seed, { ...flags, duration: shrunk.durationMs, schedule: shrunk.schedule }, bugName), flags.quiet === true);
      return;
    }
    const progress = flags.quiet === true ? undefined : (p: { virtualMs: number; durationMs: number; events: number; violations: number; phase: string }) => {
      const line = `[sim] seed ${seed} ${p.phase} t=${(p.virtualMs / 1000).toFixed(0)}s/${(p.durationMs / 1000).toFixed(0)}s events=${p.events} violations=${p.violations}`;
      if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
      else if (p.virtualMs % 10_000 === 0) process.stderr.write(`${line}\n`);
    };
    const result = runSimulation({
      seed, nodes: flags.nodes, durationMs: flags.duration, faults: flags.faults, workload: flags.workload,
      uncleanLeaderElection: flags.uncleanLeaderElection, tracePath: flags.trace ?? null, bugs: flags.bug, bugName, onProgress: progress,
      faultSchedule: flags.schedule,
    });
    if (progress !== undefined && process.stderr.isTTY) process.stderr.write('\n');
    printRun(result, flags, bugName);
    process.exitCode = result.violations > 0 ? 1 : 0;
  });

function printRun(result: SimResult, flags: SimFlags, bugName: string | undefined): void {
  const speed = result.wallMs > 0 ? Math.round(result.virtualMs / result.wallMs) : null;
  for (const violation of result.violationDetails.slice(0, 10)) {
    process.stderr.write(`[sim] VIOLATION ${violation.checker} at ${violation.atMs.toFixed(1)} ms: ${violation.message}\n`);
  }
  if (result.violations > 0) {
    process.stderr.write(`[sim] reproduce with: ${reproCommand(result.seed, flags, bugName)}\n`);
  }
  const { violationDetails, faultSchedule, ...summary } = result;
  process.stdout.write(`${JSON.stringify({ ...summary, faultSchedule: formatSchedule(faultSchedule), speedup: speed, firstViolation: violationDetails[0] ?? null })}\n`);
}

/** What a compaction campaign wrote and cleaned, summed over its seeds. */
function compactionLines(results: ReadonlyArray<Pick<SimResult, 'workload' | 'cleaner'>>): string[] {
  const sum = (pick: (r: Pick<SimResult, 'workload' | 'cleaner'>) => number): number => results.reduce((n, r) => n + pick(r), 0);
  const crashedSeeds = results.filter((r) => r.cleaner.crashesDuringCleaning > 0).length;
  return [
    `updates acked      ${sum((r) => r.workload.compaction.updatesAcked)} (+ ${sum((r) => r.workload.compaction.tombstonesAcked)} tombstones)`,
    `consumer passes    ${sum((r) => r.workload.compaction.consumerPasses)} from offset 0 (${sum((r) => r.workload.compaction.recordsRead)} records read)`,
    `cleaning passes    ${sum((r) => r.cleaner.passes)}, ${sum((r) => r.cleaner.batchesCleaned)} batches cleaned, ${sum((r) => r.cleaner.bytesBefore)} -> ${sum((r) => r.cleaner.bytesAfter)} bytes, ${sum((r) => r.cleaner.tombstonesRemoved)} tombstones removed`,
    `crashes mid-clean  ${sum((r) => r.cleaner.crashesDuringCleaning)} (in ${crashedSeeds} seeds)`,
  ];
}

/** What a transactions campaign did, summed over its seeds. */
function transactionLines(results: ReadonlyArray<Pick<SimResult, 'workload' | 'cleaner'>>): string[] {
  const sum = (pick: (t: SimResult['workload']['transactions']) => number): number => results.reduce((n, r) => n + pick(r.workload.transactions), 0);
  const cleaned = (pick: (c: SimResult['cleaner']) => number): number => results.reduce((n, r) => n + pick(r.cleaner), 0);
  return [
    `cleaning passes    ${cleaned((c) => c.passes)} over the compacted topics, ${cleaned((c) => c.bytesBefore)} -> ${cleaned((c) => c.bytesAfter)} bytes, ${cleaned((c) => c.abortedBatchesRemoved)} aborted batches and ${cleaned((c) => c.markersRemoved)} markers removed`,
    `input records      ${sum((t) => t.inputRecordsAcked)} acknowledged`,
    `transactions       ${sum((t) => t.transactionsBegun)} begun, ${sum((t) => t.commitsAnswered)} committed, ${sum((t) => t.abortsAnswered)} aborted (${sum((t) => t.abortsChosen)} on purpose)`,
    `processor faults   ${sum((t) => t.processorCrashes)} crashes, ${sum((t) => t.zombies)} zombies (${sum((t) => t.zombieRequests)} zombie requests), ${sum((t) => t.restarts)} restarts after fatal answers`,
    `answers            ${sum((t) => t.fencedAnswers)} fenced, ${sum((t) => t.concurrentTransactions)} CONCURRENT_TRANSACTIONS, ${sum((t) => t.notCoordinator)} NOT_COORDINATOR, ${sum((t) => t.coordinatorLoading)} COORDINATOR_LOAD_IN_PROGRESS`,
    `output read        ${sum((t) => t.recordsReadCommitted)} read_committed (${sum((t) => t.abortedRecordsSkipped)} aborted records dropped, ${sum((t) => t.controlBatchesSeen)} control batches), ${sum((t) => t.recordsReadUncommitted)} read_uncommitted`,
  ];
}

async function campaignCommand(flags: SimFlags, bugName: string | undefined): Promise<void> {
  const [from, to] = flags.seeds!;
  const total = to - from + 1;
  const bar = flags.quiet === true ? null : new cliProgress.SingleBar({
    format: 'seeds {bar} {value}/{total} | {rate} seeds/s | violations {violations} | eta {eta_formatted}',
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  const started = performance.now();
  let failing = 0;
  bar?.start(total, 0, { rate: '0', violations: 0 });
  const summary = await runCampaign({
    seedFrom: from, seedTo: to, nodes: flags.nodes, durationMs: flags.duration, faults: flags.faults, workload: flags.workload,
    uncleanLeaderElection: flags.uncleanLeaderElection, bugs: flags.bug, workers: flags.workers,
    onResult: (result, done) => {
      if (result.violations > 0) failing += 1;
      bar?.update(done, { rate: (done / ((performance.now() - started) / 1000)).toFixed(1), violations: failing });
    },
  });
  bar?.stop();
  const lines = [
    `seeds run          ${summary.seeds} (${from}..${to}), ${flags.nodes} nodes, ${formatDuration(flags.duration)} each, faults ${flags.faults.join(',') || 'none'}, workload ${flags.workload}`,
    `failing seeds      ${summary.failedSeeds.length}`,
    `wall time          ${(summary.wallMs / 1000).toFixed(1)} s (${(summary.seeds / (summary.wallMs / 1000)).toFixed(1)} seeds/s)`,
    `virtual time       ${(summary.virtualMs / 1000).toFixed(0)} s (${Math.round(summary.virtualMs / summary.wallMs)}x real time)`,
    `events             ${summary.events}`,
    '',
    'fault class        injected',
    ...Object.entries(summary.faultsInjected).sort().map(([fault, count]) => `  ${fault.padEnd(17)} ${count}`),
    '',
    'checker            violations',
    ...Object.entries(summary.violationsByChecker).map(([checker, count]) => `  ${checker.padEnd(30)} ${count}`),
    ...(flags.workload === 'compaction' ? ['', ...compactionLines(summary.results)] : []),
    ...(flags.workload === 'transactions' ? ['', ...transactionLines(summary.results)] : []),
  ];
  for (const seed of summary.failedSeeds.slice(0, 20)) {
    const result = summary.results.find((r) => r.seed === seed)!;
    lines.push(`FAIL seed ${seed}: ${result.firstViolation?.checker}: ${result.firstViolation?.message}`);
    lines.push(`  reproduce: ${reproCommand(seed, flags, bugName)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = summary.failedSeeds.length > 0 ? 1 : 0;
}

program
  .command('node')
  .description('run one node process on the NATS mesh')
  .requiredOption('--config <file>', 'server.properties')
  .option('--override <key=value>', 'override a config key (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--record-inputs <dir>', 'write every message each actor receives, in order, to DIR/node-<id>-<n>.inputs.jsonl (logmesh replay --node-inputs DIR re-runs them)')
  .action(async (flags: { config: string; override: string[]; recordInputs?: string }) => {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (error) {
      throw new ConfigError(`${flags.config}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const config = parseConfig(text, flags.config, flags.override);
    const logger = createLogger({ name: `node-${config.nodeId}` });
    const registry = new Registry();
    const transport = await connectMesh(config, {
      nodeId: config.nodeId, logger, registry,
      onRefused: () => createKernelMetrics(registry).envelopeDropped(config.nodeId, 'unauthenticated'),
    });
    let host;
    try {
      host = await startNodeHost({
        config, transport, logger, registry,
        ...(flags.recordInputs === undefined ? {} : { recordInputsDir: resolve(flags.recordInputs) }),
        onFatal: (error) => {
          logger.fatal({ err: error }, `stopping: ${error.message}`);
          process.exit(70);
        },
      });
    } catch (error) {
      await transport.close();
      throw error;
    }
    logger.info({ voters: config.controllerQuorumVoters, nats: config.natsServers }, `node ${config.nodeId} started`);
    // SIGTERM: a controlled shutdown first (leadership moves away, this node leaves the ISRs),
    // then the logs are flushed and closed. SIGINT stops at once.
    const stop = async (signal: string): Promise<void> => {
      if (signal === 'SIGTERM') {
        logger.info(`SIGTERM: controlled shutdown of node ${config.nodeId}`);
        const moved = await host.controlledShutdown(controlledShutdownTimeoutMs);
        if (moved) logger.info('leadership moved away; stopping');
        else logger.warn(`the controller did not complete the controlled shutdown within ${controlledShutdownTimeoutMs} ms; stopping anyway`);
      } else {
        logger.info(`${signal}: stopping node ${config.nodeId}`);
      }
      await host.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('chaos')
  .description('a real-process nemesis: nats-server and three nodes on loopback, kafkajs clients, and kill -9, pauses, nats-server restarts, mesh cuts and full disks on a seeded schedule; then the simulator\'s checkers on the history')
  .option('--minutes <n>', 'how long the campaign runs', asInt('--minutes', 1, 24 * 60), 10)
  .option('--seed <n>', 'the schedule\'s seed (random if not given)', asInt('--seed', 0, 2 ** 31 - 1))
  .option('--port-base <port>', 'nats-server on this port, the mesh proxies and Kafka listeners on the next ones (up to +13)', asInt('--port-base', 1024, 65_000), 24200)
  .option('--faults <kinds>', `fault kinds, comma-separated (${chaosFaultKinds.join(', ')})`, asChaosKinds, [...chaosFaultKinds])
  .option('--history <file>', 'write the client history (every operation\'s invoke and ok/fail/info, with times) as JSON lines')
  .action(async (flags: { minutes: number; seed?: number; portBase: number; faults: ChaosFaultKind[]; history?: string }) => {
    const natsServer = findNatsServer();
    if (natsServer === null) throw new Error('nats-server not found (apt-get install nats-server, or set NATS_SERVER)');
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
    const durationMs = flags.minutes * 60_000;
    const bar = new cliProgress.SingleBar({
      format: 'chaos {bar} {percentage}% | {elapsed}/{minutes} min | faults {faults} | last {last}',
      stream: process.stderr, noTTYOutput: true, notTTYSchedule: 30_000,
    }, cliProgress.Presets.shades_classic);
    bar.start(durationMs, 0, { elapsed: '0.0', minutes: flags.minutes, faults: 0, last: '-' });
    const stopOnSignal = (): void => {
      bar.stop();
      process.stderr.write('logmesh chaos: interrupted; stopping every process it started\n');
      process.exit(130);
    };
    process.once('SIGINT', stopOnSignal);
    let report;
    try {
      report = await runChaos({
        durationMs, seed, natsServer, portBase: flags.portBase, kinds: flags.faults,
        ...(flags.history === undefined ? {} : { historyFile: resolve(flags.history) }),
        onProgress: (elapsedMs, faults) => {
          const last = faults[faults.length - 1];
          bar.update(Math.min(elapsedMs, durationMs), {
            elapsed: (elapsedMs / 60_000).toFixed(1), faults: faults.length,
            last: last === undefined ? '-' : `${last.kind} ${last.recoveryMs === null ? 'not recovered' : `recovered in ${Math.round(last.recoveryMs)} ms`}`,
          });
        },
      });
    } finally {
      bar.stop();
      process.off('SIGINT', stopOnSignal);
    }
    process.stdout.write(`${formatChaosReport(report).join('\n')}\n`);
    if (report.violations.length > 0) process.stdout.write(`reproduce the schedule with: logmesh chaos --minutes ${flags.minutes} --seed ${seed}\n`);
    process.exitCode = report.violations.length > 0 ? 1 : 0;
  });

function asChaosKinds(value: string): ChaosFaultKind[] {
  const kinds = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const kind of kinds) {
    if (!(chaosFaultKinds as readonly string[]).includes(kind)) throw new InvalidArgumentError(`--faults: unknown kind "${kind}" (${chaosFaultKinds.join(', ')})`);
  }
  if (kinds.length === 0) throw new InvalidArgumentError('--faults: at least one kind');
  return kinds as ChaosFaultKind[];
}

program
  .command('dev')
  .description('a development cluster of real processes on loopback: nats-server and three node processes, their lines prefixed by name')
  .requiredOption('--nats', 'run the nodes over a nats-server it starts (the only mode)')
  .option('--data <dir>', 'data directory (one sub-directory and server.properties per node)', './data-dev')
  .option('--nats-port <port>', 'nats-server port', asInt('--nats-port', 1, 65535), 4222)
  .option('--kafka-port <port>', 'Kafka listener of node 1 (the others take the next ports)', asInt('--kafka-port', 1, 65533), 9092)
  .option('--metrics-port <port>', 'metrics of node 1 (the others take the next ports); 0 turns metrics off', asInt('--metrics-port', 0, 65533), 9401)
  .action((flags: { data: string; natsPort: number; kafkaPort: number; metricsPort: number }) => {
    const cluster = startDevCluster({
      dataDir: resolve(flags.data), natsPort: flags.natsPort, kafkaPortBase: flags.kafkaPort, metricsPortBase: flags.metricsPort, nodes: 3,
      write: (line) => process.stdout.write(`${line}\n`),
    });
    process.once('SIGINT', () => cluster.stop());
    process.once('SIGTERM', () => cluster.stop());
    void cluster.exited.then(() => process.exit(0));
  });

program
  .command('embedded')
  .description('run the embedded 3-node cluster in this process (what npm start runs)')
  .option('--data <dir>', 'data directory', './data')
  .option('--kafka-port <port>', 'Kafka listener of node 1 (nodes 2 and 3 take the next two ports)', asInt('--kafka-port', 1, 65533), 9092)
  .option('--metrics-port <port>', 'metrics of node 1 (nodes 2 and 3 take the next two ports); 0 turns metrics off', asInt('--metrics-port', 0, 65533), 9401)
  .option('--record-inputs <dir>', 'write every message each actor receives, in order, one file per node (logmesh replay --node-inputs DIR re-runs them)')
  .action(async (flags: { data: string; kafkaPort: number; metricsPort: number; recordInputs?: string }) => {
    const logger = createLogger({ name: 'embedded' });
    const cluster = await startEmbeddedCluster(resolve(flags.data), logger, (error) => {
      logger.fatal({ err: error }, `stopping: ${error.message}`);
      process.exit(70);
    }, { kafkaPortBase: flags.kafkaPort, metricsPortBase: flags.metricsPort }, flags.recordInputs === undefined ? undefined : resolve(flags.recordInputs));
    logger.info({ data: resolve(flags.data) }, 'embedded 3-node cluster started; Ctrl-C stops it');
    const stop = (): void => {
      logger.info('stopping the embedded cluster');
      void cluster.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

interface MeshFlags {
  nats: string;
  cluster: string;
  voters: string;
  timeout: number;
  meshSecret?: string;
  natsUser?: string;
  natsPassword?: string;
}

function meshOptions(command: Command): Command {
  return command
    .option('--nats <url>', 'NATS server', 'nats://127.0.0.1:4222')
    .option('--cluster <id>', 'cluster id (the subject prefix)', 'logmesh')
    .option('--voters <ids>', 'controller node ids', '1,2,3')
    .option('--timeout <time>', 'how long to wait for answers', asDuration, 5000)
    .option('--nats-user <user>', 'user for nats-server, when it wants one (with --nats-password)')
    .option('--nats-password <password>', 'password for nats-server')
    .option('--mesh-secret <secret>', 'the cluster\'s mesh.secret, when it has one');
}

async function withMeshClient<T>(flags: MeshFlags, run: (client: MeshClient, voters: number[]) => Promise<T>): Promise<T> {
  const voters = flags.voters.split(',').map((v) => Number(v.trim()));
  if (voters.some((v) => !Number.isInteger(v) || v < 1)) throw new InvalidArgumentError(`--voters: expected node ids, got "${flags.voters}"`);
  const clientNode = 100_000 + Math.floor(Math.random() * 100_000);
  const logger = createLogger({ level: 'warn', toStderr: true });
  const transport = await connectMesh({
    ...openMesh, clusterId: flags.cluster, natsServers: [flags.nats],
    natsUser: flags.natsUser ?? null, natsPassword: flags.natsPassword ?? null, meshSecret: flags.meshSecret ?? null,
  }, { nodeId: clientNode, logger });
  const client = new MeshClient(clientNode, flags.cluster, transport);
  try {
    return await run(client, voters);
  } finally {
    await client.close();
  }
}

meshOptions(program.command('quorum').description('describe the controller quorum: each voter\'s role, term, leader and commit index'))
  .action(async (flags: MeshFlags) => {
    await withMeshClient(flags, async (client, voters) => {
      const answers = await Promise.all(voters.map((node) => client.request({ node, actor: controllerActorId }, 'DescribeQuorumRequest', { requestId: client.nextRequestId() }, 'DescribeQuorumResponse', flags.timeout)));
      answers.forEach((answer, i) => {
        const line = answer === null
          ? { nodeId: voters[i], role: 'unreachable' }
          : { nodeId: answer.nodeId, role: answer.role, term: answer.term, leaderId: answer.leaderId, commitIndex: answer.commitIndex, lastIndex: answer.lastIndex };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      });
    });
  });

meshOptions(program.command('create-topic').description('create a topic through the active controller').argument('<name>'))
  .option('--partitions <n>', 'partitions', asInt('--partitions', 1, 100_000), 1)
  .option('--replication-factor <n>', 'replicas per partition', asInt('--replication-factor', 1, 16), 1)
  .option('--config <key=value>', 'a topic config override (repeatable), e.g. min.insync.replicas=2', collectConfig, [])
  .action(async (name: string, flags: MeshFlags & { partitions: number; replicationFactor: number; config: ConfigEntry[] }) => {
    await withMeshClient(flags, async (client, voters) => {
      let target = voters[0]!;
      const deadline = Date.now() + flags.timeout;
      // One id for every attempt: a retry of a create that was written succeeds.
      const creationId = randomUUID();
      while (Date.now() < deadline) {
        const answer = await client.request({ node: target, actor: controllerActorId }, 'CreateTopicsRequest',
          { requestId: client.nextRequestId(), topics: [{ name, numPartitions: flags.partitions, replicationFactor: flags.replicationFactor, configs: flags.config, creationId }] },
          'CreateTopicsResponse', Math.max(1, deadline - Date.now()));
        if (answer !== null && answer.errorCode === 0) {
          const result = answer.results[0]!;
          process.stdout.write(`${JSON.stringify({ name, error: errorName(result.errorCode), topicId: result.topicId })}\n`);
          process.exitCode = result.errorCode === 0 ? 0 : 1;
          return;
        }
        target = answer !== null && answer.leaderHint > 0 ? answer.leaderHint : voters[(voters.indexOf(target) + 1) % voters.length]!;
      }
      throw new Error(`no controller answered within ${flags.timeout} ms`);
    });
  });

registerTopicsCommand(program);
registerProduceCommand(program);
registerConsumeCommand(program);
registerGroupsCommand(program);
registerClusterCommand(program);
registerUsersCommand(program);
registerAclsCommand(program);
registerReplayCommand(program);
registerTraceCommand(program);

program
  .command('proto')
  .description('print the protobuf schema of every message on the mesh')
  .action(() => {
    process.stdout.write(protoSource.trimStart());
  });

program.parseAsync(process.argv).catch((error: Error) => {
  process.stderr.write(`logmesh: ${error.message.split('\n')[0]}\n`);
  process.exitCode = error instanceof ConfigError ? 78 : 1;
});
