// Chrome / Perfetto trace-event JSON (open it in ui.perfetto.dev or chrome://tracing): one
// process per node, one thread per actor, an instant event per trace line, and a flow arrow
// from each message's send (its parent event) to its delivery. Timestamps are microseconds
// of virtual time.
import type { TraceEvent } from '../../runtime/kernel/ports.js';
import { parentIndexes } from './causality.js';

export interface PerfettoEvent {
  name: string;
  ph: 'i' | 's' | 'f' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  cat?: string;
  s?: 't';
  id?: number;
  bp?: 'e';
  args?: Record<string, unknown>;
}

/** Virtual ms to µs, rounded to the nanosecond (trace times carry float noise). */
function micros(ms: number): number {
  return Math.round(ms * 1_000_000) / 1000;
}

function category(event: TraceEvent): string {
  if (event.kind.startsWith('@fault')) return 'fault';
  if (event.kind.startsWith('@')) return 'lifecycle';
  return event.state === undefined ? 'delivery' : 'state';
}

/** The trace-event document for a trace's event lines (the run header goes into metadata). */
export function toPerfetto(events: readonly TraceEvent[], metadata: Record<string, unknown> = {}): { traceEvents: PerfettoEvent[]; displayTimeUnit: 'ms'; metadata: Record<string, unknown> } {
  const threads = new Map<string, number>();
  const out: PerfettoEvent[] = [];
  const seenNodes = new Set<number>();
  const threadOf = (event: TraceEvent): number => {
    const key = `${event.node}/${event.actor}`;
    let tid = threads.get(key);
    if (tid === undefined) {
      tid = threads.size + 1;
      threads.set(key, tid);
      if (!seenNodes.has(event.node)) {
        seenNodes.add(event.node);
        const name = event.node >= 1000 ? `client ${event.node}` : event.node === 0 ? 'simulator' : `node ${event.node}`;
        out.push({ name: 'process_name', ph: 'M', pid: event.node, tid: 0, args: { name } });
        out.push({ name: 'process_sort_index', ph: 'M', pid: event.node, tid: 0, args: { sort_index: event.node } });
      }
      out.push({ name: 'thread_name', ph: 'M', pid: event.node, tid, args: { name: event.actor } });
    }
    return tid;
  };
  const parents = parentIndexes(events);
  // Children by parent, so each flow starts right after its send: per-thread order stays by time.
  const children = new Map<number, number[]>();
  parents.forEach((parent, child) => {
    if (parent < 0) return;
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [child]);
    else list.push(child);
  });
  const tids = events.map(threadOf);
  events.forEach((event, i) => {
    const pid = event.node;
    const tid = tids[i]!;
    const ts = micros(event.t);
    const args: Record<string, unknown> = { line: i + 2, id: event.id, parent: event.parent };
    if (event.from !== undefined) args.from = event.from;
    if (event.state !== undefined) args.state = event.state;
    // A flow event binds to the event with the same (cat, pid, tid, ts), as Chrome's viewers match them.
    const cat = category(event);
    out.push({ name: event.state === undefined ? event.kind : `${event.kind} → ${event.state}`, ph: 'i', s: 't', cat, pid, tid, ts, args });
    for (const child of children.get(i) ?? []) {
      out.push({ name: events[child]!.kind, ph: 's', cat, id: child + 2, pid, tid, ts });
    }
    if (parents[i]! >= 0) out.push({ name: event.kind, ph: 'f', bp: 'e', cat, id: i + 2, pid, tid, ts });
  });
  return { traceEvents: out, displayTimeUnit: 'ms', metadata };
}
