// ShiViz log (https://bestchai.bitbucket.io/shiviz/): per event a line of text, then a line
// `host {"host": n, ...}` with the event's vector clock. Hosts are `node/actor`. The file
// starts as ShiViz expects an uploaded log to: the parsing regex, an empty line (no
// multiple-execution delimiter), then the log.
import type { TraceEvent } from '../../runtime/kernel/ports.js';
import { hostOf, parentIndexes } from './causality.js';

/** ShiViz's default parsing regex, written as the file's first line. */
export const shivizRegex = String.raw`(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`;

/** Vector clocks, one per event: entry h counts the events of hosts[h] that happened before (and including) it. */
export interface VectorClocks {
  hosts: string[];
  clocks: Int32Array[];
}

/**
 * Every event's vector clock: the host's previous clock merged (entry-wise max) with the
 * parent event's clock, then the host's own entry incremented, so that it counts the host's
 * events 1, 2, 3, ... as ShiViz requires.
 */
export function vectorClocks(events: readonly TraceEvent[]): VectorClocks {
  const hostIndex = new Map<string, number>();
  const hostOfEvent = events.map((event) => {
    const host = hostOf(event);
    let index = hostIndex.get(host);
    if (index === undefined) {
      index = hostIndex.size;
      hostIndex.set(host, index);
    }
    return index;
  });
  const width = hostIndex.size;
  const parents = parentIndexes(events);
  const current: Array<Int32Array | undefined> = [];
  const clocks: Int32Array[] = [];
  for (let i = 0; i < events.length; i++) {
    const host = hostOfEvent[i]!;
    const clock = current[host] === undefined ? new Int32Array(width) : Int32Array.from(current[host]!);
    const parent = parents[i]!;
    if (parent >= 0) {
      const sent = clocks[parent]!;
      for (let h = 0; h < width; h++) if (sent[h]! > clock[h]!) clock[h] = sent[h]!;
    }
    clock[host] = (current[host]?.[host] ?? 0) + 1;
    current[host] = clock;
    clocks.push(clock);
  }
  return { hosts: [...hostIndex.keys()], clocks };
}

/** A clock as ShiViz reads it: a JSON object of the non-zero entries. */
export function clockJson(hosts: readonly string[], clock: Int32Array): string {
  const entries: Record<string, number> = {};
  clock.forEach((count, h) => {
    if (count > 0) entries[hosts[h]!] = count;
  });
  return JSON.stringify(entries);
}

function describe(event: TraceEvent, lineNumber: number): string {
  const parts = [event.kind];
  if (event.from !== undefined) parts.push(`from ${event.from}`);
  if (event.state !== undefined) parts.push(`-> ${event.state}`);
  parts.push(`t=${event.t}`, `id=${event.id}`, `line=${lineNumber}`);
  return parts.join(' ').replace(/[\r\n]+/g, ' ');
}

/** The ShiViz log text for a trace's event lines (event i is trace line i + 2). */
export function toShiviz(events: readonly TraceEvent[]): string {
  const { hosts, clocks } = vectorClocks(events);
  const out = [shivizRegex, ''];
  events.forEach((event, i) => {
    out.push(describe(event, i + 2));
    out.push(`${hostOf(event)} ${clockJson(hosts, clocks[i]!)}`);
  });
  return `${out.join('\n')}\n`;
}
