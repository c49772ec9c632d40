// Kernel counters, exported through prom-client. Hosts that do not serve /metrics (the
// simulator) pass `null` and pay nothing.
import { Counter, type Registry } from 'prom-client';

export type DropReason = 'malformed' | 'wrong_cluster' | 'wrong_node' | 'unknown_actor' | 'mailbox_full' | 'actor_failed';

export interface KernelMetrics {
  envelopeSent(nodeId: number): void;
  envelopeReceived(nodeId: number): void;
  envelopeDropped(nodeId: number, reason: DropReason): void;
}

const metricsByRegistry = new WeakMap<Registry, KernelMetrics>();

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
