// The embedded cluster: three nodes in one process over the in-process transport, data
// under ./data/node-N. What `npm start` runs.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { InProcessHub } from '../transport/in-process.js';
import { PlacementTable } from '../kernel/placement.js';
import { parseConfig } from './config.js';
import { startNodeHost } from './node-host.js';
export const embeddedNodeCount = 3;
export const embeddedClusterId = 'logmesh-embedded';
export function embeddedNodeConfig(nodeId, dataDir) {
    const voters = Array.from({ length: embeddedNodeCount }, (_, i) => i + 1).join(',');
    return parseConfig([
        `node.id=${nodeId}`,
        `controller.quorum.voters=${voters}`,
        `cluster.id=${embeddedClusterId}`,
        `log.dirs=${join(dataDir, `node-${nodeId}`)}`,
        `listeners=PLAINTEXT://127.0.0.1:${9091 + nodeId}`,
        `metrics.port=${9400 + nodeId}`,
    ].join('\n'), 'embedded defaults');
}
export function startEmbeddedCluster(dataDir, logger, onFatal) {
    const hub = new InProcessHub();
    const registry = new Registry();
    const placement = new PlacementTable();
    const hosts = [];
    for (let nodeId = 1; nodeId <= embeddedNodeCount; nodeId++) {
        hosts.push(startNodeHost({
            config: embeddedNodeConfig(nodeId, dataDir),
            transport: hub.transportFor(nodeId),
            logger,
            registry,
            placement,
            onFatal,
        }));
    }
    return {
        hosts,
        hub,
        registry,
        placement,
        stop: async () => {
            for (const host of hosts)
                await host.stop();
        },
    };
}
//# sourceMappingURL=embedded.js.map