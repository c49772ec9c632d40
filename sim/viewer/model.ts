// The trace viewer's data: a trace's events as compact columns (numbers, and indexes into
// string tables) that the page can draw 100,000 of without building an object per event.
import type { TraceEvent } from '../../runtime/kernel/ports.js';
import { isGroupCoordinatorActorId } from '../../actors/group/offsets-topic.js';
import { parentIndexes } from '../export/causality.js';
import type { RunHeader } from '../trace.js';
import type { Divergence, EventDetails } from './collect.js';

/** One node/actor: a lane of the diagram. */
export interface ViewerLane {
  node: number;
  actor: string;
}

/** A fault the nemesis recorded: a marker at its event, and a band up to the event that ends it, when the trace has one. */
export interface ViewerFault {
  /** The `@fault:` line's event index. */
  event: number;
  /** The event that ends it (the restart of a crashed node, the partition's heal), or -1. */
  endEvent: number;
  /** When it ends in virtual ms, if the trace says (slow-disk: "for N ms"), or -1. */
  endT: number;
  /** The node it hits, 0 for the whole cluster. */
  node: number;
  kind: string;
  description: string;
}

/** A partition replica's actor id and what it encodes (`partitionActorId` in actors/partition/partition-machine.ts). */
export interface ViewerPartition {
  actor: string;
  topic: string;
  partition: number;
}

/** Everything the page shows, as columns: column[i] belongs to event i (trace line i + 2). */
export interface ViewerData {
  title: string;
  header: RunHeader['options'];
  lanes: ViewerLane[];
  /** Shared table for kinds, states, `from` addresses and ids. */
  strings: string[];
  /** Virtual time, ms. */
  t: number[];
  lane: number[];
  kind: number[];
  id: number[];
  /** The parent event's index, or -1 (see parentIndexes). */
  parent: number[];
  /** The `parent` field where it names no event of the trace (a client's request): event index → string index. */
  parentUnresolved: Record<number, number>;
  /** String index of `from`, -1 when absent. */
  from: number[];
  /** String index of `state` (for faults: the nemesis's description), -1 when absent. */
  state: number[];
  /** Lamport clocks: 1 + the larger of the lane's previous clock and the parent's. */
  lamport: number[];
  /** From the re-run; -1 (or null) where it has nothing. */
  stateBefore: number[];
  stateAfter: number[];
  payload: Array<string | null>;
  effects: Array<string | null>;
  /** The machine id of each lane's actor, from its start in the re-run ('' if unseen). */
  laneMachine: string[];
  faults: ViewerFault[];
  partitions: ViewerPartition[];
  divergence: (Divergence & { message: string }) | null;
}

class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  of(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(text);
      this.index.set(text, i);
    }
    return i;
  }
}

/** Node 0 (the simulator's nemesis) first, then the cluster's nodes, then clients; within a node the controller, the broker, then by first event. */
function laneOrder(a: ViewerLane & { first: number }, b: ViewerLane & { first: number }): number {
  if (a.node !== b.node) return a.node - b.node;
  const rank = (actor: string): number => (actor === 'nemesis' ? 0 : actor === 'controller' ? 1 : actor === 'broker' ? 2 : 3);
  return rank(a.actor) - rank(b.actor) || a.first - b.first;
}

/**
 * Lamport clocks for events in trace order, where every parent comes before its children:
 * 1 + the larger of the lane's previous clock and the parent's. An event flagged in
 * `afterAllBefore` (a nemesis fault: no causal parent, yet it acts on the whole cluster at
 * that instant) gets 1 + the largest clock so far, so that it sits after everything the
 * trace wrote before it instead of at the start of the diagram.
 */
export function lamportClocks(laneOf: ArrayLike<number>, parents: Int32Array, laneCount: number, afterAllBefore?: Uint8Array): Int32Array {
  const clocks = new Int32Array(parents.length);
  const laneClock = new Int32Array(laneCount);
  let largest = 0;
  for (let i = 0; i < parents.length; i++) {
    const lane = laneOf[i]!;
    const parent = parents[i]!;
    const before = afterAllBefore?.[i] === 1 ? largest : Math.max(laneClock[lane]!, parent >= 0 ? clocks[parent]! : 0);
    const clock = before + 1;
    clocks[i] = clock;
    laneClock[lane] = clock;
    if (clock > largest) largest = clock;
  }
  return clocks;
}

/** Inverse of partitionActorId for the replicas of the cluster's nodes: the topic is everything before the last '-'. */
export function partitionOf(lane: ViewerLane, clusterNodes: number): ViewerPartition | null {
  if (lane.node < 1 || lane.node > clusterNodes || isGroupCoordinatorActorId(lane.actor)) return null;
  const match = /^(.+)-(\d+)$/.exec(lane.actor);
  return match === null ? null : { actor: lane.actor, topic: match[1]!, partition: Number(match[2]) };
}

const slowDiskLasts = /for (\d+) ms$/;

/** The nemesis's `@fault:` lines, each paired with the line that ends it. */
export function faultsOf(events: readonly TraceEvent[]): ViewerFault[] {
  const faults: ViewerFault[] = [];
  const openCrash = new Map<number, ViewerFault>();
  const openPartitions: ViewerFault[] = [];
  events.forEach((event, i) => {
    if (!event.kind.startsWith('@fault:')) return;
    const kind = event.kind.slice('@fault:'.length);
    const fault: ViewerFault = { event: i, endEvent: -1, endT: -1, node: event.node, kind, description: event.state ?? '' };
    if (kind === 'restart') {
      const crash = openCrash.get(event.node);
      if (crash !== undefined) crash.endEvent = i;
      openCrash.delete(event.node);
    } else if (kind === 'partition-healed') {
      const partition = openPartitions.shift();
      if (partition !== undefined) partition.endEvent = i;
    } else if (kind === 'heal-all') {
      for (const open of [...openCrash.values(), ...openPartitions]) if (open.endEvent < 0) open.endEvent = i;
    }
    if (kind === 'crash') openCrash.set(event.node, fault);
    if (kind === 'partition') openPartitions.push(fault);
    const lasts = kind === 'slow-disk' ? slowDiskLasts.exec(fault.description) : null;
    if (lasts !== null) fault.endT = event.t + Number(lasts[1]);
    faults.push(fault);
  });
  return faults;
}

/** The columns for a trace's events, with the re-run's details where it has them. */
export function buildViewerData(
  title: string,
  header: RunHeader,
  events: readonly TraceEvent[],
  details: ReadonlyArray<EventDetails | null>,
  divergence: (Divergence & { message: string }) | null,
): ViewerData {
  const firstByLane = new Map<string, ViewerLane & { first: number }>();
  events.forEach((event, i) => {
    const key = `${event.node}/${event.actor}`;
    if (!firstByLane.has(key)) firstByLane.set(key, { node: event.node, actor: event.actor, first: i });
  });
  const sorted = [...firstByLane.entries()].sort((a, b) => laneOrder(a[1], b[1]));
  const laneIndex = new Map(sorted.map(([key], i) => [key, i]));
  const lanes = sorted.map(([, lane]) => ({ node: lane.node, actor: lane.actor }));
  const strings = new StringTable();
  const parents = parentIndexes(events);
  const laneOf = events.map((event) => laneIndex.get(`${event.node}/${event.actor}`)!);
  const laneMachine = lanes.map(() => '');
  const parentUnresolved: Record<number, number> = {};
  const stateIndex = (state: string | null | undefined): number => (state === null || state === undefined ? -1 : strings.of(state));
  events.forEach((event, i) => {
    if (parents[i]! < 0 && event.parent !== '') parentUnresolved[i] = strings.of(event.parent);
    const machine = details[i]?.machine;
    if (machine !== undefined) laneMachine[laneOf[i]!] = machine;
  });
  const partitions = lanes
    .map((lane) => partitionOf(lane, header.options.nodes))
    .filter((partition): partition is ViewerPartition => partition !== null);
  const uniquePartitions = [...new Map(partitions.map((p) => [p.actor, p])).values()]
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    title,
    header: header.options,
    lanes,
    strings: strings.strings,
    t: events.map((event) => event.t),
    lane: laneOf,
    kind: events.map((event) => strings.of(event.kind)),
    id: events.map((event) => strings.of(event.id)),
    parent: Array.from(parents),
    parentUnresolved,
    from: events.map((event) => (event.from === undefined ? -1 : strings.of(event.from))),
    state: events.map((event) => stateIndex(event.state)),
    lamport: Array.from(lamportClocks(laneOf, parents, lanes.length, Uint8Array.from(events, (event) => (event.kind.startsWith('@fault:') ? 1 : 0)))),
    stateBefore: details.map((d) => stateIndex(d?.stateBefore)),
    stateAfter: details.map((d) => stateIndex(d?.stateAfter)),
    payload: details.map((d) => d?.payload ?? null),
    effects: details.map((d) => d?.effects ?? null),
    laneMachine,
    faults: faultsOf(events),
    partitions: uniquePartitions,
    divergence,
  };
}
