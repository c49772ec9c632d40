// Kernel counters, exported through prom-client. Hosts that do not serve /metrics (the
// simulator) pass `null` and pay nothing.
import { Counter } from 'prom-client';
const metricsByRegistry = new WeakMap();
/** The kernel counters in this registry; nodes sharing a registry share them (labelled by node). */
export function createKernelMetrics(registry) {
    const existing = metricsByRegistry.get(registry);
    if (existing !== undefined)
        return existing;
    const sent = new Counter({ name: 'logmesh_mesh_envelopes_sent_total', help: 'Envelopes sent by actors on this node', labelNames: ['node'], registers: [registry] });
    const received = new Counter({ name: 'logmesh_mesh_envelopes_received_total', help: 'Envelopes delivered to actors on this node', labelNames: ['node'], registers: [registry] });
    const dropped = new Counter({ name: 'logmesh_mesh_envelopes_dropped_total', help: 'Envelopes dropped on arrival, by reason', labelNames: ['node', 'reason'], registers: [registry] });
    const metrics = {
        envelopeSent: (nodeId) => sent.inc({ node: String(nodeId) }),
        envelopeReceived: (nodeId) => received.inc({ node: String(nodeId) }),
        envelopeDropped: (nodeId, reason) => dropped.inc({ node: String(nodeId), reason }),
    };
    metricsByRegistry.set(registry, metrics);
    return metrics;
}
//# sourceMappingURL=metrics.js.map