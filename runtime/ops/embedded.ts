// The embedded cluster: three nodes in one process over the in-process transport, data
// under ./data/node-N. What `npm start` runs.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { InProcessHub } from '../transport/in-process.js';
import { PlacementTable } from '../kernel/placement.js';
import { type NodeConfig, parseConfig } from './config.js';
import { type NodeHost, startNodeHost } from './node-host.js';

export const embeddedNodeCount = 3;
export const embeddedClusterId = 'logmesh-embedded';

export interface EmbeddedCluster {
  hosts: NodeHost[];
  hub: InProcessHub;
  /** One registry per node, each served on its node's metrics port. */
  registries: Registry[];
  placement: PlacementTable;
  stop(): Promise<void>;
}

/** Where the embedded nodes listen: node N on kafkaPortBase + N - 1 and metricsPortBase + N - 1 (0: metrics off). */
export interface EmbeddedPorts {
  kafkaPortBase: number;
  metricsPortBase: number;
}

export const embeddedPortsDefault: EmbeddedPorts = { kafkaPortBase: 9092, metricsPortBase: 9401 };

export function embeddedNodeConfig(nodeId: number, dataDir: string, ports: EmbeddedPorts = embeddedPortsDefault): NodeConfig {
  const voters = Array.from({ length: embeddedNodeCount }, (_, i) => i + 1).join(',');
  return parseConfig([
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters}`,
    `cluster.id=${embeddedClusterId}`,
    `log.dirs=${join(dataDir, `node-${nodeId}`)}`,
    `listeners=PLAINTEXT://127.0.0.1:${ports.kafkaPortBase + nodeId - 1}`,
    `metrics.port=${ports.metricsPortBase === 0 ? 0 : ports.metricsPortBase + nodeId - 1}`,
  ].join('\n'), 'embedded defaults');
}

export async function startEmbeddedCluster(
  dataDir: string, logger: Logger, onFatal: (error: Error) => void, ports: EmbeddedPorts = embeddedPortsDefault,
  /** Record every node's actor inputs here (one file per node). */
  recordInputsDir?: string,
): Promise<EmbeddedCluster> {
  const hub = new InProcessHub();
  const placement = new PlacementTable();
  const hosts: NodeHost[] = [];
  const registries: Registry[] = [];
  try {
    for (let nodeId = 1; nodeId <= embeddedNodeCount; nodeId++) {
      const registry = new Registry();
      registries.push(registry);
      hosts.push(await startNodeHost({
        config: embeddedNodeConfig(nodeId, dataDir, ports),
        transport: hub.transportFor(nodeId),
        logger,
        registry,
        placement,
        onFatal,
        ...(recordInputsDir === undefined ? {} : { recordInputsDir }),
      }));
    }
  } catch (error) {
    for (const host of hosts) await host.stop();
    throw error;
  }
  return {
    hosts,
    hub,
    registries,
    placement,
    stop: async () => {
      for (const host of hosts) await host.stop();
    },
  };
}
