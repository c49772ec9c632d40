// A fault schedule: the faults a nemesis injected, with every choice it made resolved (which
// node, which partition shape and sides, how long, how bad), so that a run can inject exactly
// these faults again instead of drawing them. Shrinking edits schedules; `--schedule` carries
// one on the command line in the short text form below.
import type { FaultKind } from './nemesis.js';

export const partitionShapes = ['isolate-one', 'isolate-leader', 'halves', 'asymmetric', 'bridge', 'leader-cut-from-controller'] as const;
export type PartitionShape = (typeof partitionShapes)[number];

export type PartitionFault =
  /** `node` ↔ every other node. */
  | { shape: 'isolate-one' | 'isolate-leader'; node: number }
  /** No link between the groups. */
  | { shape: 'halves'; groups: number[][] }
  /** `node` cannot send to any other node. */
  | { shape: 'asymmetric'; node: number }
  /** The two groups cannot reach each other; `node`, the bridge, reaches both. */
  | { shape: 'bridge'; node: number; groups: number[][] }
  /** `node` and `controller` cannot reach each other (`node` isolated when they are the same). */
  | { shape: 'leader-cut-from-controller'; node: number; controller: number };

interface Timed {
  /** Virtual time of the injection. */
  atMs: number;
  /** How long the fault lasts. */
  lastsMs: number;
}

export type ScheduledFault = Timed & (
  | ({ kind: 'partition' } & PartitionFault)
  | { kind: 'crash'; node: number }
  | { kind: 'drop' | 'duplicate'; probability: number }
  | { kind: 'delay' | 'reorder'; probability: number; maxMs: number }
  | { kind: 'slow-disk'; node: number; factor: number }
  /** Bit `bit` of byte `byte` (from the batch's start) of the batch at `firstOffset` in replica `actorId`'s log on `node`. */
  | { kind: 'bit-flip'; node: number; actorId: string; firstOffset: number; byte: number; bit: number }
  /** `node` handles nothing for `lastsMs` (SIGSTOP, a long GC pause). */
  | { kind: 'clock-pause'; node: number }
  /** Every node that is up crashes at once (unsynced writes lost) and restarts after `lastsMs`. */
  | { kind: 'power-loss' }
);

export type FaultSchedule = ScheduledFault[];

/** The node lists of a group: `1.2-3` is [[1, 2], [3]]. */
function formatGroups(groups: number[][]): string {
  return groups.map((g) => g.join('.')).join('-');
}

function parseGroups(text: string): number[][] {
  return text.split('-').map((g) => g.split('.').map((n) => parseNode(n)));
}

function parseNode(text: string): number {
  const node = Number(text);
  if (!Number.isInteger(node) || node < 1) throw new Error(`expected a node id, got "${text}"`);
  return node;
}

/** A replica's actor id (`<topic>-<partition>`): Kafka topic names hold neither `:` nor `,`. */
function parseActorId(text: string | undefined): string {
  if (text === undefined || !/^[A-Za-z0-9._-]+$/.test(text)) throw new Error(`expected a replica actor id, got "${text ?? ''}"`);
  return text;
}

function parseInteger(text: string | undefined, what: string): number {
  const value = parseNumber(text, what);
  if (!Number.isInteger(value)) throw new Error(`expected ${what}, got "${text ?? ''}"`);
  return value;
}

function parseNumber(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value) || value < 0) throw new Error(`expected ${what}, got "${text ?? ''}"`);
  return value;
}

/**
 * One fault as `<kind>@<atMs>+<lastsMs>:<details>`, e.g. `crash@3745+1780:1`, `partition@2186+4000:halves:1.3-2`,
 * `bit-flip@5120+0:2:events-1:37:90:3` (node, replica, batch offset, byte, bit), `clock-pause@8000+4500:3`.
 */
export function formatFault(fault: ScheduledFault): string {
  const head = `${fault.kind}@${fault.atMs}+${fault.lastsMs}`;
  switch (fault.kind) {
    case 'crash':
      return `${head}:${fault.node}`;
    case 'drop':
    case 'duplicate':
      return `${head}:${fault.probability}`;
    case 'delay':
    case 'reorder':
      return `${head}:${fault.probability}:${fault.maxMs}`;
    case 'slow-disk':
      return `${head}:${fault.node}:${fault.factor}`;
    case 'bit-flip':
      return `${head}:${fault.node}:${fault.actorId}:${fault.firstOffset}:${fault.byte}:${fault.bit}`;
    case 'clock-pause':
      return `${head}:${fault.node}`;
    case 'power-loss':
      return head;
    case 'partition':
      switch (fault.shape) {
        case 'isolate-one':
        case 'isolate-leader':
        case 'asymmetric':
          return `${head}:${fault.shape}:${fault.node}`;
        case 'halves':
          return `${head}:${fault.shape}:${formatGroups(fault.groups)}`;
        case 'bridge':
          return `${head}:${fault.shape}:${fault.node}:${formatGroups(fault.groups)}`;
        case 'leader-cut-from-controller':
          return `${head}:${fault.shape}:${fault.node}:${fault.controller}`;
      }
  }
}

/** A schedule as faults joined by commas; `none` for the empty schedule. */
export function formatSchedule(schedule: FaultSchedule): string {
  return schedule.length === 0 ? 'none' : schedule.map(formatFault).join(',');
}

export function parseFault(text: string): ScheduledFault {
  const match = /^([a-z-]+)@([0-9.]+)\+([0-9.]+)(?::(.*))?$/.exec(text.trim());
  if (match === null) throw new Error(`fault "${text}": expected <kind>@<atMs>+<lastsMs>:<details>`);
  const kind = match[1] as FaultKind;
  const atMs = parseNumber(match[2], 'a time in ms');
  const lastsMs = parseNumber(match[3], 'a duration in ms');
  const details = match[4] === undefined ? [] : match[4].split(':');
  const arity = (n: number): void => {
    if (details.length !== n) throw new Error(`fault "${text}": ${kind} takes ${n} detail${n === 1 ? '' : 's'}`);
  };
  try {
    switch (kind) {
      case 'crash':
        arity(1);
        return { kind, atMs, lastsMs, node: parseNode(details[0]!) };
      case 'drop':
      case 'duplicate':
        arity(1);
        return { kind, atMs, lastsMs, probability: parseNumber(details[0], 'a probability') };
      case 'delay':
      case 'reorder':
        arity(2);
        return { kind, atMs, lastsMs, probability: parseNumber(details[0], 'a probability'), maxMs: parseNumber(details[1], 'a time in ms') };
      case 'slow-disk':
        arity(2);
        return { kind, atMs, lastsMs, node: parseNode(details[0]!), factor: parseNumber(details[1], 'a slowdown factor') };
      case 'bit-flip': {
        arity(5);
        const bit = parseInteger(details[4], 'a bit (0-7)');
        if (bit > 7) throw new Error(`expected a bit (0-7), got "${details[4]!}"`);
        return {
          kind, atMs, lastsMs, node: parseNode(details[0]!), actorId: parseActorId(details[1]),
          firstOffset: parseInteger(details[2], 'a batch offset'), byte: parseInteger(details[3], 'a byte position'), bit,
        };
      }
      case 'clock-pause':
        arity(1);
        return { kind, atMs, lastsMs, node: parseNode(details[0]!) };
      case 'power-loss':
        arity(0);
        return { kind, atMs, lastsMs };
      case 'partition': {
        const shape = details[0] as PartitionShape;
        if (!(partitionShapes as readonly string[]).includes(shape)) throw new Error(`unknown partition shape "${details[0] ?? ''}" (known: ${partitionShapes.join(', ')})`);
        switch (shape) {
          case 'isolate-one':
          case 'isolate-leader':
          case 'asymmetric':
            arity(2);
            return { kind, atMs, lastsMs, shape, node: parseNode(details[1]!) };
          case 'halves':
            arity(2);
            return { kind, atMs, lastsMs, shape, groups: parseGroups(details[1]!) };
          case 'bridge':
            arity(3);
            return { kind, atMs, lastsMs, shape, node: parseNode(details[1]!), groups: parseGroups(details[2]!) };
          case 'leader-cut-from-controller':
            arity(3);
            return { kind, atMs, lastsMs, shape, node: parseNode(details[1]!), controller: parseNode(details[2]!) };
        }
      }
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith('fault "') ? message : `fault "${text}": ${message}`);
  }
  throw new Error(`fault "${text}": unknown kind "${kind}"`);
}

/** Parses what `formatSchedule` prints. */
export function parseSchedule(text: string): FaultSchedule {
  if (text.trim() === '' || text.trim() === 'none') return [];
  return text.split(',').map(parseFault);
}
