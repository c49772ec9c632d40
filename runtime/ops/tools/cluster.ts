// `logmesh cluster`: the brokers, the active controller, and the partitions that need an
// operator's eye (under-replicated: fewer in-sync replicas than replicas; offline: no leader),
// from DescribeCluster and the metadata of every topic, through kafkajs' admin client.
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { type ConnectionFlags, failingAs, withAdmin, withBootstrapOption } from './connection.js';
import { withSpinner } from './spinner.js';
import { type PartitionDescription, describeTopics } from './topics.js';

export interface ClusterOverview {
  clusterId: string;
  /** -1: no active controller known to the broker that answered. */
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  underReplicated: Array<PartitionDescription & { topic: string }>;
  offline: Array<PartitionDescription & { topic: string }>;
}

export function registerClusterCommand(program: Command): void {
  withBootstrapOption(program.command('cluster')
    .description('brokers, the active controller, and under-replicated and offline partitions'))
    .option('--json', 'print JSON instead of text')
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      const overview = await withAdmin(flags.bootstrapServer,
        (admin) => failingAs('cluster', () => withSpinner('reading the cluster metadata', () => describeClusterHealth(admin))));
      process.stdout.write(flags.json === true ? `${JSON.stringify(overview)}\n` : formatCluster(overview));
    });
}

export async function describeClusterHealth(admin: Admin): Promise<ClusterOverview> {
  const cluster = await admin.describeCluster();
  const partitions = (await describeTopics(admin, undefined, false)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p })));
  return {
    clusterId: cluster.clusterId,
    controllerId: cluster.controller ?? -1,
    brokers: [...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
    underReplicated: partitions.filter((p) => p.leader >= 0 && p.isr.length < p.replicas.length),
    offline: partitions.filter((p) => p.leader < 0),
  };
}

function partitionLine(p: PartitionDescription & { topic: string }): string {
  return `\tTopic: ${p.topic}\tPartition: ${p.partition}\tLeader: ${p.leader < 0 ? 'none' : p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\n`;
}

export function formatCluster(overview: ClusterOverview): string {
  const nodeWidth = Math.max(2, ...overview.brokers.map((b) => String(b.nodeId).length));
  let text = `Cluster ${overview.clusterId}: ${overview.brokers.length} brokers, active controller ${overview.controllerId < 0 ? 'none' : overview.controllerId}\n\n`;
  text += `${'ID'.padEnd(nodeWidth)} ADDRESS\n`;
  for (const b of overview.brokers) {
    text += `${String(b.nodeId).padEnd(nodeWidth)} ${b.host}:${b.port}${b.nodeId === overview.controllerId ? ' (controller)' : ''}\n`;
  }
  text += `\nUnder-replicated partitions: ${overview.underReplicated.length}\n${overview.underReplicated.map(partitionLine).join('')}`;
  text += `Offline partitions: ${overview.offline.length}\n${overview.offline.map(partitionLine).join('')}`;
  return text;
}
