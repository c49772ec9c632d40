// Hosts one node's actors for real: the kernel with the real clock, a transport (NATS or
// in-process), the file storage port, pino logs and prom-client counters.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { brokerActorId, brokerMachine, defaultBrokerTimings } from '../../actors/broker/broker-machine.js';
import { controllerActorId, controllerMachine, defaultControllerTimings } from '../../actors/controller/controller-machine.js';
import { defaultPartitionTimings, partitionMachine, partitionMachineName } from '../../actors/partition/partition-machine.js';
import {
  type GroupCoordinatorSettings, defaultGroupCoordinatorSettings, groupCoordinatorMachine, groupCoordinatorMachineName,
} from '../../actors/group/coordinator-machine.js';
import { txnCoordinatorMachine, txnCoordinatorMachineName } from '../../actors/txn/coordinator-machine.js';
import { NodeKernel } from '../kernel/node-kernel.js';
import type { Transport } from '../kernel/ports.js';
import { realClock } from '../kernel/real-clock.js';
import { PlacementTable } from '../kernel/placement.js';
import { FileStoragePort } from '../storage/raft-store.js';
import { NodeStorage } from '../storage/node-storage.js';
import { type NodeConfig, cleanerConfigOf, listenerHostPort, logConfigOf, splitHostPort } from './config.js';

function listenerAddress(listeners: string): { host: string; port: number } {
  const { host, port } = splitHostPort(listenerHostPort(listeners));
  return { host: host || '0.0.0.0', port };
}
import { type MetricsServer, startMetricsServer } from './metrics-server.js';
import { type KafkaListener, startKafkaListener } from '../kafka/listener.js';
import { loadListenerSecurity } from '../kafka/security.js';
import { registerGroupLagMetrics } from '../kafka/group-lag-metrics.js';
import { MeshPort } from '../kafka/mesh-port.js';
import { createNodeMetrics } from './node-metrics.js';
import { InputRecorder } from './input-recorder.js';

export const metadataDirName = '__cluster_metadata';

export interface NodeHost {
  kernel: NodeKernel;
  config: NodeConfig;
  /** The node's logs and its cleaner (DescribeLogDirs and tests read their status). */
  storage: NodeStorage;
  /** The port the Kafka listener is bound to (useful with port 0), or null without a broker. */
  kafkaPort: number | null;
  /**
   * Kafka's controlled shutdown: asks the controller (through this node's broker) to move
   * this node's partition leadership away and take it out of every ISR; resolves true once
   * that is committed, false if it did not happen within `timeoutMs`.
   */
  controlledShutdown(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface NodeHostOptions {
  config: NodeConfig;
  transport: Transport;
  logger: Logger;
  registry: Registry | null;
  /** Shared by the nodes of one process (the embedded cluster); a node process has its own. */
  placement?: PlacementTable;
  /** Called when storage fails: the node cannot go on safely. */
  onFatal: (error: Error) => void;
  /** Write the node's input log here (`--record-inputs DIR`, runtime/ops/input-recorder.ts). */
  recordInputsDir?: string;
}

export async function startNodeHost(options: NodeHostOptions): Promise<NodeHost> {
  const { config, transport } = options;
  const logger = options.logger.child({ node: config.nodeId }, config.logLevel === null ? {} : { level: config.logLevel });
  const metadataDir = join(config.logDirs[0]!, metadataDirName);
  mkdirSync(metadataDir, { recursive: true });
  // Raft stores under __cluster_metadata; partition logs beside it, one directory each.
  const storage = new NodeStorage(new FileStoragePort(metadataDir, logger, options.onFatal), config.logDirs[0]!, logger, options.onFatal, logConfigOf(config), config.logTailCacheBytes);
  // Stopped by storage.close() on every way out, including the failed starts below.
  storage.startCleaner(cleanerConfigOf(config));
  const metrics = options.registry === null ? null : createNodeMetrics(options.registry, config.nodeId);
  const recorder = options.recordInputsDir === undefined ? null : new InputRecorder(options.recordInputsDir, config.nodeId, config.clusterId);
  if (recorder !== null) logger.info({ inputs: recorder.path }, `recording every actor input to ${recorder.path}`);
  const kernel = new NodeKernel({
    nodeId: config.nodeId,
    clusterId: config.clusterId,
    clock: realClock,
    random: () => randomInt(0, 1 << 30) / (1 << 30),
    transport: metrics?.meter(transport) ?? transport,
    storage,
    logger,
    metrics: metrics?.kernel ?? null,
    tracer: metrics?.stepObserver ?? null,
    placement: options.placement ?? new PlacementTable(),
    onStateChange: (actor, state) => logger.info({ actor, state }, `${actor} is now ${state}`),
    onActorFailure: (actor, error) => options.onFatal(new Error(`actor ${actor} failed: ${error.message}`)),
    machines: { [partitionMachineName]: partitionMachine, [groupCoordinatorMachineName]: groupCoordinatorMachine, [txnCoordinatorMachineName]: txnCoordinatorMachine },
    fallbackActor: brokerActorId,
    ...(recorder === null ? {} : { inputs: recorder }),
  });
  let kafkaListener: KafkaListener | null = null;
  metrics?.observe(kernel, () => kafkaListener?.connections() ?? null, () => storage.logStatuses());
  if (metrics !== null) storage.observeCleaner(metrics.cleaner);
  if (config.processRoles.includes('controller')) {
    kernel.spawn(controllerActorId, controllerMachine, {
      config: {
        ...defaultControllerTimings,
        clusterId: config.clusterId,
        nodeId: config.nodeId,
        voters: config.controllerQuorumVoters,
        electionTimeoutMs: config.electionTimeoutMs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
        snapshotThresholdEntries: config.metadataSnapshotEntries,
        uncleanLeaderElectionEnable: config.uncleanLeaderElectionEnable,
        leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
        bugs: {},
      },
      durable: storage.load(controllerActorId),
    });
  }
  if (config.processRoles.includes('broker')) {
    kernel.spawn(brokerActorId, brokerMachine, {
      config: {
        ...defaultBrokerTimings,
        heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
        clusterId: config.clusterId,
        brokerId: config.nodeId,
        voters: config.controllerQuorumVoters,
        listener: listenerHostPort(config.advertisedListeners),
        incarnationId: randomBytes(8).toString('hex'),
        defaultMinInsyncReplicas: config.minInsyncReplicas,
        groupCoordinator: groupCoordinatorSettings(config),
        partition: {
          ...defaultPartitionTimings,
          replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
          replicaFetchMaxBytes: config.replicaFetchMaxBytes,
          replicaFetchWaitMaxMs: config.replicaFetchWaitMaxMs,
          replicaFetchBackoffMs: config.replicaFetchBackoffMs,
        },
        bugs: {},
      },
    });
  }
  if (config.processRoles.includes('broker')) {
    const { host, port } = listenerAddress(config.listeners);
    try {
      kafkaListener = await startKafkaListener({
        security: loadListenerSecurity(config),
        kernel, clusterId: config.clusterId, logger: logger.child({ component: 'kafka' }), host, port,
        autoCreateTopics: config.autoCreateTopicsEnable, numPartitions: config.numPartitions,
        defaultReplicationFactor: config.defaultReplicationFactor, meshTimeoutMarginMs: 5000,
        requestBytesMax: config.socketRequestMaxBytes, idleTimeoutMs: config.connectionsMaxIdleMs,
        offsetsTopicPartitions: config.offsetsTopicNumPartitions, offsetsTopicReplicationFactor: config.offsetsTopicReplicationFactor,
        transactionStatePartitions: config.transactionStateLogNumPartitions,
        transactionStateReplicationFactor: config.transactionStateLogReplicationFactor, transactionStateMinIsr: config.transactionStateLogMinIsr,
        metrics: metrics?.kafka ?? null,
        logDirs: { logDir: config.logDirs[0]!, logs: () => storage.logStatuses() },
      });
    } catch (error) {
      metrics?.detach();
      kernel.stop();
      recorder?.close();
      await storage.close();
      throw new Error(`cannot listen for Kafka clients on ${host}:${port} (listeners): ${(error as Error).message}`);
    }
  }
  let metricsServer: MetricsServer | null = null;
  if (options.registry !== null && config.metricsPort > 0) {
    const host = listenerHostPort(config.listeners).replace(/:\d+$/, '') || '127.0.0.1';
    try {
      metricsServer = await startMetricsServer(options.registry, host, config.metricsPort);
    } catch (error) {
      await kafkaListener?.close();
      metrics?.detach();
      kernel.stop();
      recorder?.close();
      await storage.close();
      throw error;
    }
    logger.info({ metrics: `http://${host}:${metricsServer.port}/metrics` }, 'serving metrics');
  }
  const detachLagMetrics = options.registry === null ? null : registerGroupLagMetrics(kernel, options.registry);
  return {
    kernel,
    config,
    storage,
    kafkaPort: kafkaListener?.port ?? null,
    controlledShutdown: async (timeoutMs: number) => {
      if (!config.processRoles.includes('broker')) return true;
      const mesh = new MeshPort(kernel, 'controlled-shutdown');
      try {
        const answer = await mesh.request({ node: config.nodeId, actor: brokerActorId }, 'ControlledShutdownRequest', { requestId: mesh.nextRequestId() },
          'ControlledShutdownResponse', timeoutMs);
        return answer !== null && answer.errorCode === 0;
      } finally {
        mesh.close();
      }
    },
    stop: async () => {
      await kafkaListener?.close();
      await metricsServer?.close();
      detachLagMetrics?.();
      metrics?.detach();
      kernel.stop();
      recorder?.close();
      await storage.stopCleaner();
      await storage.close();
      await transport.close();
    },
  };
}

/** The group coordinator's settings from server.properties. */
export function groupCoordinatorSettings(config: NodeConfig): GroupCoordinatorSettings {
  return {
    ...defaultGroupCoordinatorSettings,
    offsetsTopicPartitions: config.offsetsTopicNumPartitions,
    group: { minSessionTimeoutMs: config.groupMinSessionTimeoutMs, maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs, groupMaxSize: config.groupMaxSize },
    offsetsRetentionMs: config.offsetsRetentionMs,
    offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
    offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
    offsetsCommitTimeoutMs: config.offsetsCommitTimeoutMs,
  };
}
