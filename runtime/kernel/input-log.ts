// The input log of a real node: every actor start (machine, input), every event an actor was
// handed (in the order it handled them) and every stop, as JSON Lines. Actors are pure, so
// these inputs alone bring a node's actors back to the same states in the simulator
// (`logmesh replay --node-inputs DIR`): an incident on a real cluster becomes a repeatable case.
import { createHash } from 'node:crypto';

export const inputLogVersion = 1;

/** The first line of every input log. */
export interface InputLogHeader {
  kind: '@node-inputs';
  version: number;
  node: number;
  clusterId: string;
  /** Wall-clock start, ISO 8601: only for people; replay does not use it. */
  started: string;
}

/** An actor started with this input; `state` and `effects` (a digest) are what it did. */
export interface StartLine {
  kind: 'start';
  t: number;
  actor: string;
  machine: string;
  input: unknown;
  state: string;
  effects: string;
}

/** The actor handled `event`, going from `before` to `after` and emitting effects with this digest. */
export interface EventLine {
  kind: 'event';
  actor: string;
  event: { type: string; atMs: number; [key: string]: unknown };
  id: string;
  parent: string;
  from: string;
  before: string;
  after: string;
  effects: string;
}

export interface StopLine {
  kind: 'stop';
  t: number;
  actor: string;
}

export type InputLine = StartLine | EventLine | StopLine;

/**
 * JSON for the values actors exchange, with what JSON cannot say tagged so that it comes back
 * as it was: bytes {"$b": base64}, bigints {"$n": digits}, Maps {"$m": entries}, Sets
 * {"$s": items}, non-finite numbers and -0 {"$f": "NaN"}, undefined {"$u": 1}; an object with a key
 * that starts with "$" is wrapped as {"$o": object} so it is never taken for a tag.
 */
export function toTagged(value: unknown): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    // JSON writes -0 as 0: it is tagged with the non-finite numbers.
    if (Object.is(value, -0)) return { $f: '-0' };
    return Number.isFinite(value) ? value : { $f: String(value) };
  }
  if (typeof value === 'bigint') return { $n: value.toString() };
  if (value === undefined) return { $u: 1 };
  if (typeof value === 'function' || typeof value === 'symbol') throw new Error(`cannot record a ${typeof value}`);
  if (ArrayBuffer.isView(value)) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(toTagged);
  if (value instanceof Map) return { $m: [...value.entries()].map(([k, v]) => [toTagged(k), toTagged(v)]) };
  if (value instanceof Set) return { $s: [...value].map(toTagged) };
  const out: Record<string, unknown> = {};
  let dollar = false;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key.startsWith('$')) dollar = true;
    setOwn(out, key, toTagged(item));
  }
  return dollar ? { $o: out } : out;
}

/** The inverse of toTagged. */
export function fromTagged(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromTagged);
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const tag = keys[0]!;
    const inner = object[tag];
    switch (tag) {
      case '$b': return Buffer.from(String(inner), 'base64');
      case '$n': return BigInt(String(inner));
      case '$m': return new Map((inner as unknown[][]).map(([k, v]) => [fromTagged(k), fromTagged(v)]));
      case '$s': return new Set((inner as unknown[]).map(fromTagged));
      case '$f': return Number(inner);
      case '$u': return undefined;
      case '$o': return fromPlainObject(inner as Record<string, unknown>);
    }
  }
  return fromPlainObject(object);
}

function fromPlainObject(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) setOwn(out, key, fromTagged(item));
  return out;
}

/** out[key] = value, also for the key "__proto__" (which would otherwise set the prototype). */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A short digest of what an actor emitted (sha1 of the tagged JSON, 16 hex digits); '' for nothing. */
export function effectsDigest(effects: readonly unknown[]): string {
  if (effects.length === 0) return '';
  return createHash('sha1').update(JSON.stringify(toTagged(effects))).digest('hex').slice(0, 16);
}

/** One line of an input log, values tagged. */
export function inputLine(line: InputLine): string {
  switch (line.kind) {
    case 'start':
      return JSON.stringify({ ...line, input: toTagged(line.input) });
    case 'event':
      return JSON.stringify({ ...line, event: toTagged(line.event) });
    case 'stop':
      return JSON.stringify(line);
  }
}

/** Reads one line back; throws with what is wrong (the caller names the file and line). */
export function parseInputLine(text: string): InputLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (truncated or edited?): ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  const line = value as Record<string, unknown>;
  const need = (key: string, type: 'string' | 'number'): void => {
    if (typeof line[key] !== type) throw new Error(`field "${key}" missing or not a ${type}`);
  };
  need('actor', 'string');
  switch (line.kind) {
    case 'start':
      need('t', 'number');
      need('machine', 'string');
      need('state', 'string');
      need('effects', 'string');
      return { ...(line as unknown as StartLine), input: fromTagged(line.input) };
    case 'event': {
      for (const key of ['id', 'parent', 'from', 'before', 'after', 'effects']) need(key, 'string');
      const event = fromTagged(line.event) as EventLine['event'];
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || typeof event.atMs !== 'number') {
        throw new Error('field "event" must be an event with a type and atMs');
      }
      return { ...(line as unknown as EventLine), event };
    }
    case 'stop':
      need('t', 'number');
      return line as unknown as StopLine;
    default:
      throw new Error(`unknown line kind ${JSON.stringify(line.kind)} (expected start, event or stop)`);
  }
}
