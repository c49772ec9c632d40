// Consumer lag as Prometheus gauges, from the node that coordinates each group: for every
// committed offset of every group a coordinator here serves, the partition's high watermark
// (asked of its leader over the mesh when scraped) minus the committed offset.
import { Gauge, type Registry } from 'prom-client';
import { brokerActorId, type BrokerContext } from '../../actors/broker/broker-machine.js';
import type { CoordinatorContext } from '../../actors/group/coordinator-machine.js';
import { isGroupCoordinatorActorId } from '../../actors/group/offsets-topic.js';
import { latestTimestamp } from '../../actors/protocol/messages.js';
import { ErrorCode } from '../../actors/protocol/errors.js';
import { partitionActorId } from '../../actors/partition/partition-machine.js';
import type { NodeKernel } from '../kernel/node-kernel.js';
import { MeshPort } from './mesh-port.js';

const committedName = 'logmesh_consumer_group_committed_offset';
const lagName = 'logmesh_consumer_group_lag';

/** How long a scrape waits for a partition leader's answer. */
const leaderAnswerMs = 2000;

export interface CommittedOffsetView { group: string; topic: string; partition: number; offset: number }

/** The committed offsets of the groups that active coordinators on this node serve. */
export function coordinatedOffsets(kernel: NodeKernel): CommittedOffsetView[] {
  const views: CommittedOffsetView[] = [];
  for (const actorId of kernel.actorIds()) {
    if (!isGroupCoordinatorActorId(actorId)) continue;
    const snapshot = kernel.snapshotOf(actorId);
    if (snapshot === undefined || snapshot.value !== 'active') continue;
    const ctx = snapshot.context as CoordinatorContext;
    for (const [group, entry] of ctx.groups) {
      for (const { topic, partition, value } of entry.offsets.values()) views.push({ group, topic, partition, offset: value.offset });
    }
  }
  return views;
}

/** Registers the lag gauges of this node's coordinators; returns a function that detaches the mesh endpoint. */
export function registerGroupLagMetrics(kernel: NodeKernel, registry: Registry): () => void {
  const mesh = new MeshPort(kernel, 'group-lag-metrics');
  const highWatermark = async (topic: string, partition: number): Promise<number | null> => {
    const broker = kernel.snapshotOf(brokerActorId)?.context as BrokerContext | undefined;
    const leader = broker?.image.topicsByName.get(topic)?.partitions[partition]?.leader ?? -1;
    if (leader < 0) return null;
    const answer = await mesh.request({ node: leader, actor: partitionActorId(topic, partition) }, 'ListOffsetsRequest', {
      requestId: mesh.nextRequestId(), topic, partition, timestamp: latestTimestamp, currentLeaderEpoch: -1, isolationLevel: 0,
    }, 'ListOffsetsResponse', leaderAnswerMs);
    return answer !== null && answer.errorCode === ErrorCode.NONE ? answer.offset : null;
  };
  new Gauge({
    name: committedName,
    help: 'The offset a consumer group committed for a partition (groups coordinated by this node)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const o of coordinatedOffsets(kernel)) this.set({ group: o.group, topic: o.topic, partition: String(o.partition) }, o.offset);
    },
  });
  new Gauge({
    name: lagName,
    help: 'High watermark minus committed offset, per group and partition (groups coordinated by this node)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      const offsets = coordinatedOffsets(kernel);
      const ends = new Map<string, Promise<number | null>>();
      for (const o of offsets) {
        const key = `${o.topic}/${o.partition}`;
        if (!ends.has(key)) ends.set(key, highWatermark(o.topic, o.partition));
      }
      for (const o of offsets) {
        const end = await ends.get(`${o.topic}/${o.partition}`)!;
        if (end !== null) this.set({ group: o.group, topic: o.topic, partition: String(o.partition) }, Math.max(0, end - o.offset));
      }
    },
  });
  return () => {
    for (const name of [committedName, lagName]) registry.removeSingleMetric(name);
    mesh.close();
  };
}
