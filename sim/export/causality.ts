// The causal links of a trace: every delivered message names the event that sent it
// (`parent`), and every timer firing names the event that set the timer.
import type { TraceEvent } from '../../runtime/kernel/ports.js';

/**
 * For each event, the index of its parent event, or -1 when the parent is not in the trace
 * (a client's own request, a start). Ids repeat (a node's counter starts again after a
 * restart, a duplicated message is delivered twice), so a parent is the latest earlier event
 * with that id. `@stop` lines reuse the id of the event being handled and are not parents.
 */
export function parentIndexes(events: readonly TraceEvent[]): Int32Array {
  const parents = new Int32Array(events.length).fill(-1);
  const latest = new Map<string, number>();
  events.forEach((event, i) => {
    if (event.parent !== '') parents[i] = latest.get(event.parent) ?? -1;
    if (event.kind !== '@stop') latest.set(event.id, i);
  });
  return parents;
}

/** Where an event happened: `node/actor`. */
export function hostOf(event: TraceEvent): string {
  return `${event.node}/${event.actor}`;
}
