// Kernel counters, exported through prom-client. Hosts that do not serve /metrics (the
// simulator) pass `null` and pay nothing.
import { Counter, type Registry } from 'prom-client';
import type { Transport } from './ports.js';

/** `unauthenticated` is counted by the mesh seal (runtime/transport/mesh-auth.ts), before the kernel sees the bytes. */
export type DropReason = 'malformed' | 'wrong_cluster' | 'wrong_node' | 'unknown_actor' | 'mailbox_full' | 'actor_failed' | 'unauthenticated';

export interface KernelMetrics {
  envelopeSent(nodeId: number): void;
  envelopeReceived(nodeId: number): void;
  envelopeDropped(nodeId: number, reason: DropReason): void;
}

/** What crosses the transport between nodes (envelopes between actors of one node never do). */
interface TransportCounters {
  envelopesSent: Counter<'node'>;
  bytesSent: Counter<'node'>;
  envelopesReceived: Counter<'node'>;
  bytesReceived: Counter<'node'>;
}

/** NATS messages, next to the envelopes they carry (runtime/transport/nats.ts puts several envelopes in one). */
export interface NatsMetrics {
  messagePublished(nodeId: number): void;
  messageReceived(nodeId: number): void;
}

const metricsByRegistry = new WeakMap<Registry, KernelMetrics>();
const transportCountersByRegistry = new WeakMap<Registry, TransportCounters>();
const natsMetricsByRegistry = new WeakMap<Registry, NatsMetrics>();

/** The kernel counters in this registry; nodes sharing a registry share them (labelled by node). */
export function createKernelMetrics(registry: Registry): KernelMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const sent = new Counter({ name: 'logmesh_mesh_envelopes_sent_total', help: 'Envelopes sent by actors on this node', labelNames: ['node'], registers: [registry] });
  const received = new Counter({ name: 'logmesh_mesh_envelopes_received_total', help: 'Envelopes delivered to actors on this node', labelNames: ['node'], registers: [registry] });
  const dropped = new Counter({ name: 'logmesh_mesh_envelopes_dropped_total', help: 'Envelopes dropped on arrival, by reason', labelNames: ['node', 'reason'], registers: [registry] });
  const metrics: KernelMetrics = {
    envelopeSent: (nodeId) => sent.inc({ node: String(nodeId) }),
    envelopeReceived: (nodeId) => received.inc({ node: String(nodeId) }),
    envelopeDropped: (nodeId, reason) => dropped.inc({ node: String(nodeId), reason }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/** The NATS message counters in this registry; nodes sharing a registry share them (labelled by node). */
export function createNatsMetrics(registry: Registry): NatsMetrics {
  const existing = natsMetricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const published = new Counter({ name: 'logmesh_nats_messages_published_total', help: 'NATS messages this node published to other nodes (each carries one or more envelopes)', labelNames: ['node'], registers: [registry] });
  const received = new Counter({ name: 'logmesh_nats_messages_received_total', help: 'NATS messages this node received on its subject (each carries one or more envelopes)', labelNames: ['node'], registers: [registry] });
  const metrics: NatsMetrics = {
    messagePublished: (nodeId) => published.inc({ node: String(nodeId) }),
    messageReceived: (nodeId) => received.inc({ node: String(nodeId) }),
  };
  natsMetricsByRegistry.set(registry, metrics);
  return metrics;
}

function transportCounters(registry: Registry): TransportCounters {
  const existing = transportCountersByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['node'], registers: [registry] });
  const counters: TransportCounters = {
    envelopesSent: counter('logmesh_transport_envelopes_sent_total', 'Envelopes this node handed to the transport for other nodes'),
    bytesSent: counter('logmesh_transport_bytes_sent_total', 'Encoded envelope bytes this node handed to the transport for other nodes'),
    envelopesReceived: counter('logmesh_transport_envelopes_received_total', 'Envelopes the transport brought to this node from other nodes (before any check)'),
    bytesReceived: counter('logmesh_transport_bytes_received_total', 'Encoded envelope bytes the transport brought to this node from other nodes'),
  };
  transportCountersByRegistry.set(registry, counters);
  return counters;
}

/**
 * Wraps a node's transport so that what it carries is counted: envelopes and their encoded
 * bytes, each way. Wrapping the port keeps the kernel as it is and counts exactly the bytes on
 * the wire (NATS payloads, or the in-process hub's buffers).
 */
export function meteredTransport(transport: Transport, nodeId: number, registry: Registry): Transport {
  const counters = transportCounters(registry);
  const labels = { node: String(nodeId) };
  return {
    send(toNode, bytes) {
      counters.envelopesSent.inc(labels);
      counters.bytesSent.inc(labels, bytes.byteLength);
      transport.send(toNode, bytes);
    },
    onReceive(handler) {
      transport.onReceive((bytes) => {
        counters.envelopesReceived.inc(labels);
        counters.bytesReceived.inc(labels, bytes.byteLength);
        handler(bytes);
      });
    },
    close: () => transport.close(),
  };
}
