// Prometheus metrics of one node, observed from the host; the actors know nothing of them.
//
// - Counters the host bumps as things happen: Kafka requests and their latency per API, and
//   records and bytes in and out per topic (kafka-api.ts calls the KafkaApiMetrics hooks);
//   transport envelopes and bytes (a wrapper around the transport port, kernel/metrics.ts);
//   ISR shrinks and expands (a step observer, below); log cleaner passes, errors and bytes
//   (NodeStorage's cleaner observer).
// - Gauges computed when Prometheus scrapes, from the actors' snapshots (as the simulator's
//   checkers read them): replicas and leaders, under-replicated, under-min-ISR and offline
//   partitions, ISR sizes, the controller's role, term, commit index and lag, the broker's
//   metadata offset, and consumer groups by state; from the node's storage, the dirty ratio
//   and cleaner lag of compacted logs.
//
// Every series carries a `node` label, so that nodes sharing a registry stay apart.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { brokerActorId, type BrokerContext } from '../../actors/broker/broker-machine.js';
import { controllerActorId, type ControllerContext } from '../../actors/controller/controller-machine.js';
import { lastIndex } from '../../actors/controller/raft-log.js';
import type { CoordinatorContext } from '../../actors/group/coordinator-machine.js';
import { isGroupCoordinatorActorId } from '../../actors/group/offsets-topic.js';
import type { PartitionContext } from '../../actors/partition/partition-machine.js';
import { scanBatches } from '../../actors/protocol/record-batch.js';
import { topicConfigInt } from '../../actors/protocol/topic-configs.js';
import type { KafkaApiMetrics } from '../kafka/kafka-api.js';
import { type KernelMetrics, createKernelMetrics, meteredTransport } from '../kernel/metrics.js';
import type { NodeKernel } from '../kernel/node-kernel.js';
import type { TraceEvent, Tracer, Transport } from '../kernel/ports.js';
import type { CleanerObserver, LogStatus } from '../storage/node-storage.js';

/** Compacted logs per node that get their own dirty-ratio and cleaner-lag series: the dirtiest ones (bounds the label cardinality). */
export const cleanerSeriesPartitionsMax = 100;

/** Request latency buckets, seconds: from a cached Metadata answer to a produce or fetch held for its full wait. */
export const requestDurationBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Everything the node host wires: hand `kernel`, `stepObserver` and `meter(...)` to the kernel, `kafka` to the listener. */
export interface NodeMetrics {
  kernel: KernelMetrics;
  /** The kernel's tracer port: sees every step, counts ISR changes. */
  stepObserver: Tracer;
  kafka: KafkaApiMetrics;
  /** Hand to NodeStorage.observeCleaner: counts cleaner passes, errors and bytes. */
  cleaner: CleanerObserver;
  meter(transport: Transport): Transport;
  /**
   * Starts the scrape-time gauges and ISR counting over this node's kernel; `connections` is
   * null without a Kafka listener; `logs` gives the node's open logs (NodeStorage.logStatuses).
   */
  observe(kernel: NodeKernel, connections: () => number | null, logs?: () => LogStatus[]): void;
  /** Stops observing: this node's gauges disappear (its counters stay, as counters do). */
  detach(): void;
}

export function createNodeMetrics(registry: Registry, nodeId: number): NodeMetrics {
  const counters = countersOf(registry);
  const node = String(nodeId);
  const isr = new IsrChangeCounter(nodeId, counters);
  const source: GaugeSource = { nodeId, kernel: null, connections: () => null, logs: () => [] };
  const gauges = gaugesOf(registry);
  return {
    kernel: createKernelMetrics(registry),
    stepObserver: isr,
    kafka: {
      requestStarted: (api) => counters.requests.inc({ node, api }),
      requestDone: (api, durationSeconds, failed) => {
        counters.requestDuration.observe({ node, api }, durationSeconds);
        if (failed) counters.requestErrors.inc({ node, api });
      },
      produced: (topic, records) => {
        counters.messagesIn.inc({ node, topic }, recordCount(records));
        counters.bytesIn.inc({ node, topic }, records.byteLength);
      },
      fetched: (topic, records) => {
        counters.messagesOut.inc({ node, topic }, recordCount(records));
        counters.bytesOut.inc({ node, topic }, records.byteLength);
      },
    },
    cleaner: {
      passed: (pass) => {
        counters.cleanerPasses.inc({ node });
        counters.cleanerBytesRead.inc({ node }, pass.stats.bytesRead);
        counters.cleanerBytesWritten.inc({ node }, pass.stats.bytesWritten);
        counters.cleanerRecordsRemoved.inc({ node }, pass.stats.recordsRemoved);
      },
      failed: () => counters.cleanerErrors.inc({ node }),
    },
    meter: (transport) => meteredTransport(transport, nodeId, registry),
    observe: (kernel, connections, logs = () => []) => {
      isr.kernel = kernel;
      source.kernel = kernel;
      source.connections = connections;
      source.logs = logs;
      gauges.sources.add(source);
    },
    detach: () => {
      isr.kernel = null;
      gauges.sources.delete(source);
      if (gauges.sources.size === 0) {
        for (const name of gauges.names) registry.removeSingleMetric(name);
        gaugesByRegistry.delete(registry);
      }
    },
  };
}

/** Records in a run of v2 batches, from their headers (no record is decoded); a torn or foreign tail counts nothing. */
export function recordCount(records: Uint8Array): number {
  let count = 0;
  for (const header of scanBatches(records).headers) count += header.recordCount;
  return count;
}

// ---------------------------------------------------------------------------------------
// Counters.

interface NodeCounters {
  requests: Counter<'node' | 'api'>;
  requestErrors: Counter<'node' | 'api'>;
  requestDuration: Histogram<'node' | 'api'>;
  messagesIn: Counter<'node' | 'topic'>;
  bytesIn: Counter<'node' | 'topic'>;
  messagesOut: Counter<'node' | 'topic'>;
  bytesOut: Counter<'node' | 'topic'>;
  isrShrinks: Counter<'node' | 'topic'>;
  isrExpands: Counter<'node' | 'topic'>;
  cleanerPasses: Counter<'node'>;
  cleanerErrors: Counter<'node'>;
  cleanerBytesRead: Counter<'node'>;
  cleanerBytesWritten: Counter<'node'>;
  cleanerRecordsRemoved: Counter<'node'>;
}

const countersByRegistry = new WeakMap<Registry, NodeCounters>();

function countersOf(registry: Registry): NodeCounters {
  const existing = countersByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const perApi = ['node', 'api'] as const;
  const perTopic = ['node', 'topic'] as const;
  const perNode = ['node'] as const;
  const counters: NodeCounters = {
    requests: new Counter({ name: 'logmesh_kafka_requests_total', help: 'Kafka requests received by this node\'s listener, by API', labelNames: perApi, registers }),
    requestErrors: new Counter({
      name: 'logmesh_kafka_request_errors_total',
      help: 'Kafka requests that could not be read or served (the connection is closed), by API; error codes inside answers are not counted',
      labelNames: perApi, registers,
    }),
    requestDuration: new Histogram({
      name: 'logmesh_kafka_request_duration_seconds',
      help: 'Time from a request frame arriving to its answer being ready, by API (fetches include their wait for data)',
      labelNames: perApi, buckets: requestDurationBucketsSeconds, registers,
    }),
    messagesIn: new Counter({ name: 'logmesh_topic_messages_in_total', help: 'Records produced to partitions this node leads (acknowledged, or sent with acks=0), by topic', labelNames: perTopic, registers }),
    bytesIn: new Counter({ name: 'logmesh_topic_bytes_in_total', help: 'Record batch bytes produced to partitions this node leads, by topic', labelNames: perTopic, registers }),
    messagesOut: new Counter({ name: 'logmesh_topic_messages_out_total', help: 'Records fetched by consumers from this node, by topic', labelNames: perTopic, registers }),
    bytesOut: new Counter({ name: 'logmesh_topic_bytes_out_total', help: 'Record batch bytes fetched by consumers from this node, by topic', labelNames: perTopic, registers }),
    isrShrinks: new Counter({ name: 'logmesh_isr_shrinks_total', help: 'ISR changes that removed replicas from a partition this node leads, by topic', labelNames: perTopic, registers }),
    isrExpands: new Counter({ name: 'logmesh_isr_expands_total', help: 'ISR changes that added replicas to a partition this node leads, by topic', labelNames: perTopic, registers }),
    cleanerPasses: new Counter({ name: 'logmesh_log_cleaner_passes_total', help: 'Log cleaner passes over a compacted log that needed cleaning', labelNames: perNode, registers }),
    cleanerErrors: new Counter({ name: 'logmesh_log_cleaner_errors_total', help: 'Log cleaner passes that failed (the log is left as it was)', labelNames: perNode, registers }),
    cleanerBytesRead: new Counter({
      name: 'logmesh_log_cleaner_bytes_cleaned_total', help: 'Bytes of log the cleaner went through: offset-map builds plus segment rewrites', labelNames: perNode, registers,
    }),
    cleanerBytesWritten: new Counter({ name: 'logmesh_log_cleaner_bytes_written_total', help: 'Bytes of cleaned segments the cleaner swapped in', labelNames: perNode, registers }),
    cleanerRecordsRemoved: new Counter({
      name: 'logmesh_log_cleaner_records_removed_total', help: 'Records the cleaner removed: superseded by a later record with the same key, or expired tombstones', labelNames: perNode, registers,
    }),
  };
  countersByRegistry.set(registry, counters);
  return counters;
}

/**
 * Counts ISR shrinks and expands as the leader sees them. The kernel hands its tracer every
 * event an actor has just handled; after a replica handled a metadata change or an
 * AlterPartition answer (the only events that set its ISR), its snapshot is compared with the
 * ISR it had before. Only changes within one leadership (same topic id and leader epoch) count,
 * as in Kafka: a new leader's ISR is where it starts, not a change. This sees every committed
 * change, whether the leader proposed it (replica.lag.time.max.ms) or the controller made it
 * (fencing a broker), without touching the kernel or the actors.
 */
class IsrChangeCounter implements Tracer {
  kernel: NodeKernel | null = null;
  private readonly led = new Map<string, { topicId: string; leaderEpoch: number; isr: number[] }>();

  constructor(private readonly nodeId: number, private readonly counters: NodeCounters) {}

  record(event: TraceEvent): void {
    if (event.kind === '@stop') {
      this.led.delete(event.actor);
      return;
    }
    if (event.kind !== 'PartitionStateChange' && event.kind !== 'AlterPartitionResponse') return;
    const ctx = this.kernel?.snapshotOf(event.actor)?.context;
    if (!isPartitionContext(ctx)) return;
    if (ctx.leader !== this.nodeId || ctx.goal === 'deleting') {
      this.led.delete(event.actor);
      return;
    }
    const before = this.led.get(event.actor);
    if (before !== undefined && before.topicId === ctx.topicId && before.leaderEpoch === ctx.leaderEpoch) {
      const labels = { node: String(this.nodeId), topic: ctx.topic };
      if (before.isr.some((id) => !ctx.isr.includes(id))) this.counters.isrShrinks.inc(labels);
      if (ctx.isr.some((id) => !before.isr.includes(id))) this.counters.isrExpands.inc(labels);
    }
    this.led.set(event.actor, { topicId: ctx.topicId, leaderEpoch: ctx.leaderEpoch, isr: [...ctx.isr] });
  }
}

function isPartitionContext(ctx: unknown): ctx is PartitionContext {
  const c = ctx as Partial<PartitionContext> | undefined;
  return c !== undefined && c !== null && typeof c.topicId === 'string' && Array.isArray(c.isr) && Array.isArray(c.replicas) && typeof c.highWatermark === 'number';
}

// ---------------------------------------------------------------------------------------
// Gauges, computed at scrape time.

interface GaugeSource {
  nodeId: number;
  kernel: NodeKernel | null;
  connections: () => number | null;
  logs: () => LogStatus[];
}

/** A compacted log as the cleaner gauges show it. */
interface CompactedLogView {
  topic: string;
  partition: string;
  dirtyRatio: number;
  cleanerLagSeconds: number;
}

/** What one node's actors (and its compacted logs) say right now. */
interface NodeView {
  hostedPartitions: number;
  leaderPartitions: number;
  underReplicated: number;
  underMinIsr: number;
  led: Array<{ topic: string; partition: number; isr: number; replicas: number }>;
  controller: null | {
    active: boolean; term: number; commitIndex: number; lastIndex: number;
    /** Only on the active controller: from its committed metadata image. */
    offlinePartitions: number; activeBrokers: number; fencedBrokers: number;
  };
  brokerMetadataOffset: number | null;
  groupsByState: Map<string, number>;
  /** The dirtiest compacted logs, at most cleanerSeriesPartitionsMax. */
  compacted: CompactedLogView[];
  /** Over every compacted log of the node (Kafka's max-dirty-percent and max-compaction-delay-secs). */
  maxDirtyRatio: number;
  maxCleanerLagSeconds: number;
}

/** The compacted logs among `logs`, the dirtiest first, at most cleanerSeriesPartitionsMax. */
export function compactedLogsView(logs: readonly LogStatus[]): Pick<NodeView, 'compacted' | 'maxDirtyRatio' | 'maxCleanerLagSeconds'> {
  const compacted = logs.filter((log) => log.compacted).map((log) => {
    // The store is the partition actor's id, `<topic>-<partition>`; topic names may hold '-'.
    const cut = log.store.lastIndexOf('-');
    return {
      topic: log.store.slice(0, cut), partition: log.store.slice(cut + 1),
      dirtyRatio: log.cleaner.dirtyRatio, cleanerLagSeconds: log.cleaner.cleanerLagMs / 1000,
    };
  });
  return {
    compacted: compacted.sort((a, b) => b.dirtyRatio - a.dirtyRatio).slice(0, cleanerSeriesPartitionsMax),
    maxDirtyRatio: compacted.reduce((max, log) => Math.max(max, log.dirtyRatio), 0),
    maxCleanerLagSeconds: compacted.reduce((max, log) => Math.max(max, log.cleanerLagSeconds), 0),
  };
}

function viewOf(kernel: NodeKernel, logs: readonly LogStatus[]): NodeView {
  const view: NodeView = {
    hostedPartitions: 0, leaderPartitions: 0, underReplicated: 0, underMinIsr: 0, led: [],
    controller: null, brokerMetadataOffset: null, groupsByState: new Map(), ...compactedLogsView(logs),
  };
  for (const actorId of kernel.actorIds()) {
    const snapshot = kernel.snapshotOf(actorId);
    if (snapshot === undefined) continue;
    if (actorId === controllerActorId) {
      view.controller = controllerView(snapshot.value, snapshot.context as ControllerContext);
    } else if (actorId === brokerActorId) {
      view.brokerMetadataOffset = (snapshot.context as BrokerContext).image.offset;
    } else if (isPartitionContext(snapshot.context)) {
      const ctx = snapshot.context;
      if (ctx.goal === 'deleting') continue;
      view.hostedPartitions += 1;
      if (ctx.leader !== kernel.nodeId) continue;
      view.leaderPartitions += 1;
      if (ctx.isr.length < ctx.replicas.length) view.underReplicated += 1;
      if (ctx.isr.length < topicConfigInt(ctx.configs, 'min.insync.replicas', ctx.config.defaultMinInsyncReplicas)) view.underMinIsr += 1;
      view.led.push({ topic: ctx.topic, partition: ctx.partition, isr: ctx.isr.length, replicas: ctx.replicas.length });
    } else if (isGroupCoordinatorActorId(actorId) && snapshot.value === 'active') {
      for (const entry of (snapshot.context as CoordinatorContext).groups.values()) {
        view.groupsByState.set(entry.group.state, (view.groupsByState.get(entry.group.state) ?? 0) + 1);
      }
    }
  }
  return view;
}

function controllerView(state: unknown, ctx: ControllerContext): NonNullable<NodeView['controller']> {
  const active = state === 'leader';
  let offlinePartitions = 0;
  let activeBrokers = 0;
  let fencedBrokers = 0;
  if (active) {
    for (const topic of ctx.image.topicsByName.values()) {
      for (const partition of topic.partitions) if (partition !== undefined && partition.leader < 0) offlinePartitions += 1;
    }
    for (const broker of ctx.image.brokers.values()) {
      if (broker.fenced) fencedBrokers += 1;
      else activeBrokers += 1;
    }
  }
  return { active, term: ctx.term, commitIndex: ctx.commitIndex, lastIndex: lastIndex(ctx.log), offlinePartitions, activeBrokers, fencedBrokers };
}

interface GaugeSpec {
  name: string;
  help: string;
  labelNames: string[];
  /** The series of one node: extra label values (after `node`) and the value. */
  series(view: NodeView, source: GaugeSource): Array<[Record<string, string>, number]>;
}

const one = (value: number | null | undefined): Array<[Record<string, string>, number]> => (value === null || value === undefined ? [] : [[{}, value]]);

const gaugeSpecs: GaugeSpec[] = [
  { name: 'logmesh_hosted_partitions', help: 'Partition replicas hosted on this node', labelNames: [], series: (v) => one(v.hostedPartitions) },
  { name: 'logmesh_leader_partitions', help: 'Partitions this node leads', labelNames: [], series: (v) => one(v.leaderPartitions) },
  {
    name: 'logmesh_under_replicated_partitions', help: 'Partitions this node leads whose ISR is smaller than their replica set', labelNames: [],
    series: (v) => one(v.underReplicated),
  },
  {
    name: 'logmesh_under_min_isr_partitions', help: 'Partitions this node leads whose ISR is below min.insync.replicas (acks=all produces fail)', labelNames: [],
    series: (v) => one(v.underMinIsr),
  },
  {
    name: 'logmesh_partition_isr_size', help: 'In-sync replicas of each partition this node leads', labelNames: ['topic', 'partition'],
    series: (v) => v.led.map((p) => [{ topic: p.topic, partition: String(p.partition) }, p.isr]),
  },
  {
    name: 'logmesh_partition_replicas', help: 'Assigned replicas of each partition this node leads', labelNames: ['topic', 'partition'],
    series: (v) => v.led.map((p) => [{ topic: p.topic, partition: String(p.partition) }, p.replicas]),
  },
  {
    name: 'logmesh_offline_partitions',
    help: 'Partitions without a leader, from the committed metadata; reported by the active controller, 0 on every other controller',
    labelNames: [], series: (v) => one(v.controller?.offlinePartitions),
  },
  { name: 'logmesh_active_controller', help: '1 on the node whose controller leads the metadata quorum, else 0', labelNames: [], series: (v) => one(v.controller === null ? null : Number(v.controller.active)) },
  { name: 'logmesh_raft_term', help: 'The controller\'s current Raft term', labelNames: [], series: (v) => one(v.controller?.term) },
  { name: 'logmesh_raft_commit_index', help: 'The highest metadata log index the controller knows committed', labelNames: [], series: (v) => one(v.controller?.commitIndex) },
  { name: 'logmesh_raft_last_index', help: 'The last index in the controller\'s metadata log', labelNames: [], series: (v) => one(v.controller?.lastIndex) },
  {
    name: 'logmesh_raft_commit_lag', help: 'Metadata log entries this controller holds that are not known committed (last index - commit index)', labelNames: [],
    series: (v) => one(v.controller === null ? null : v.controller.lastIndex - v.controller.commitIndex),
  },
  {
    name: 'logmesh_active_brokers', help: 'Registered, unfenced brokers; reported by the active controller, 0 on every other controller', labelNames: [],
    series: (v) => one(v.controller?.activeBrokers),
  },
  {
    name: 'logmesh_fenced_brokers', help: 'Registered brokers that are fenced; reported by the active controller, 0 on every other controller', labelNames: [],
    series: (v) => one(v.controller?.fencedBrokers),
  },
  { name: 'logmesh_broker_metadata_offset', help: 'The last metadata log index this node\'s broker has applied', labelNames: [], series: (v) => one(v.brokerMetadataOffset) },
  {
    name: 'logmesh_consumer_groups', help: 'Consumer groups coordinated by this node, by state', labelNames: ['state'],
    series: (v) => [...v.groupsByState].map(([state, count]) => [{ state }, count]),
  },
  { name: 'logmesh_kafka_connections', help: 'Open Kafka client connections to this node', labelNames: [], series: (_v, s) => one(s.connections()) },
  {
    name: 'logmesh_log_dirty_ratio',
    help: `Dirty bytes over cleanable bytes of each compacted log on this node (the ${cleanerSeriesPartitionsMax} dirtiest)`,
    labelNames: ['topic', 'partition'], series: (v) => v.compacted.map((log) => [{ topic: log.topic, partition: log.partition }, log.dirtyRatio]),
  },
  {
    name: 'logmesh_log_cleaner_lag_seconds',
    help: `How long the oldest uncleaned record of a closed segment has waited, per compacted log on this node (the ${cleanerSeriesPartitionsMax} dirtiest)`,
    labelNames: ['topic', 'partition'], series: (v) => v.compacted.map((log) => [{ topic: log.topic, partition: log.partition }, log.cleanerLagSeconds]),
  },
  { name: 'logmesh_log_cleaner_max_dirty_ratio', help: 'The highest dirty ratio of the compacted logs on this node', labelNames: [], series: (v) => one(v.maxDirtyRatio) },
  {
    name: 'logmesh_log_cleaner_max_lag_seconds', help: 'The longest any uncleaned record of a compacted log on this node has waited (Kafka\'s max-compaction-delay-secs)',
    labelNames: [], series: (v) => one(v.maxCleanerLagSeconds),
  },
];

interface RegistryGauges {
  sources: Set<GaugeSource>;
  names: string[];
}

const gaugesByRegistry = new WeakMap<Registry, RegistryGauges>();

function gaugesOf(registry: Registry): RegistryGauges {
  const existing = gaugesByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const gauges: RegistryGauges = { sources: new Set(), names: gaugeSpecs.map((spec) => spec.name) };
  // One view per node per scrape: prom-client collects the gauges one after another, and the
  // first one's collect computes the views the others read.
  let views: Map<GaugeSource, NodeView> | null = null;
  const viewsNow = (): Map<GaugeSource, NodeView> => {
    if (views === null) {
      views = new Map();
      for (const source of gauges.sources) if (source.kernel !== null) views.set(source, viewOf(source.kernel, source.logs()));
      queueMicrotask(() => { views = null; });
    }
    return views;
  };
  for (const spec of gaugeSpecs) {
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: ['node', ...spec.labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const [source, view] of viewsNow()) {
          for (const [labels, value] of spec.series(view, source)) this.set({ node: String(source.nodeId), ...labels }, value);
        }
      },
    });
  }
  gaugesByRegistry.set(registry, gauges);
  return gauges;
}
