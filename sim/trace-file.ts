// Reads a trace file back: the run header and the event lines, checked field by field so that
// a truncated or edited file fails with one message naming its line (`FILE:LINE: what`).
import { readFileSync } from 'node:fs';
import type { TraceEvent } from '../runtime/kernel/ports.js';
import { parseFaults } from './nemesis.js';
import { parseWorkload } from './run.js';
import { parseSchedule } from './schedule.js';
import { type RunHeader, type RunHeaderOptions, traceVersion } from './trace.js';

/** A trace file that cannot be read as one; the message is `FILE:LINE: what is wrong`. */
export class TraceFileError extends Error {
  constructor(readonly path: string, readonly lineNumber: number, what: string) {
    super(lineNumber > 0 ? `${path}:${lineNumber}: ${what}` : `${path}: ${what}`);
  }
}

export interface TraceFile {
  path: string;
  header: RunHeader;
  /** Every line as written, the header first (line n is lines[n - 1]). */
  lines: string[];
  /** The parsed event lines: events[i] is line i + 2. */
  events: TraceEvent[];
  /** True when the last line ends with a newline, as the recorder writes it. */
  endsWithNewline: boolean;
}

/** Reads and checks a whole trace file. Throws TraceFileError. */
export function readTraceFile(path: string): TraceFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TraceFileError(path, 0, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const endsWithNewline = text.endsWith('\n');
  const lines = text.split('\n');
  if (endsWithNewline) lines.pop();
  if (lines.length === 0 || (lines.length === 1 && lines[0] === '')) throw new TraceFileError(path, 1, 'empty file: no run header');
  const header = parseHeader(path, lines[0]!);
  const events: TraceEvent[] = [];
  for (let i = 1; i < lines.length; i++) events.push(parseEventLine(path, i + 1, lines[i]!));
  return { path, header, lines, events, endsWithNewline };
}

function parseJson(path: string, lineNumber: number, line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    const shown = line.length > 60 ? `${line.slice(0, 60)}…` : line;
    throw new TraceFileError(path, lineNumber, `not JSON (truncated or edited?): ${JSON.stringify(shown)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TraceFileError(path, lineNumber, 'not a JSON object');
  return value as Record<string, unknown>;
}

function parseHeader(path: string, line: string): RunHeader {
  const fail = (what: string): never => {
    throw new TraceFileError(path, 1, what);
  };
  const header = parseJson(path, 1, line);
  if (header.kind !== '@run') fail('no run header: the first line must be {"t":0,"kind":"@run","version":1,"options":{...}} (a trace written before run headers existed cannot be replayed)');
  if (header.version !== traceVersion) fail(`unknown trace version ${JSON.stringify(header.version)} (this logmesh reads version ${traceVersion})`);
  const options = header.options;
  if (typeof options !== 'object' || options === null) fail('run header without options');
  const o = options as Record<string, unknown>;
  const integer = (key: string, min: number, max: number): number => {
    const value = o[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`run header: options.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return value as number;
  };
  const seed = integer('seed', 0, 2 ** 31 - 1);
  const nodes = integer('nodes', 1, 9);
  const durationMs = o.durationMs;
  if (typeof durationMs !== 'number' || !(durationMs >= 0)) fail(`run header: options.durationMs must be a number of ms, got ${JSON.stringify(durationMs)}`);
  const faults = o.faults;
  if (!Array.isArray(faults) || faults.some((f) => typeof f !== 'string')) fail('run header: options.faults must be a list of fault kinds');
  try {
    parseFaults((faults as string[]).length === 0 ? 'none' : (faults as string[]).join(','));
    parseWorkload(String(o.workload));
  } catch (error) {
    fail(`run header: ${(error as Error).message}`);
  }
  if (typeof o.uncleanLeaderElection !== 'boolean') fail('run header: options.uncleanLeaderElection must be true or false');
  const settleMaxMs = integer('settleMaxMs', 0, Number.MAX_SAFE_INTEGER);
  const eventsMax = integer('eventsMax', 1, Number.MAX_SAFE_INTEGER);
  if (o.bug !== null && typeof o.bug !== 'string') fail('run header: options.bug must be a bug name or null');
  const bugs = o.bugs as Record<string, unknown> | undefined;
  if (typeof bugs !== 'object' || bugs === null || typeof bugs.controller !== 'object' || bugs.controller === null
    || typeof bugs.broker !== 'object' || bugs.broker === null) fail('run header: options.bugs must be {"controller":{...},"broker":{...}}');
  if (o.schedule !== undefined) {
    if (typeof o.schedule !== 'string') fail('run header: options.schedule must be a fault schedule in text form');
    try {
      parseSchedule(o.schedule as string);
    } catch (error) {
      fail(`run header: options.schedule: ${(error as Error).message}`);
    }
  }
  const checked: RunHeaderOptions = {
    seed, nodes, durationMs: durationMs as number, faults: faults as string[], workload: o.workload as string,
    uncleanLeaderElection: o.uncleanLeaderElection as boolean, settleMaxMs, eventsMax, bug: o.bug as string | null,
    bugs: bugs as unknown as RunHeaderOptions['bugs'],
    ...(o.schedule === undefined ? {} : { schedule: o.schedule as string }),
  };
  return { t: 0, kind: '@run', version: traceVersion, options: checked };
}

const stringFields = ['actor', 'kind', 'id', 'parent'] as const;

/** One event line, with the fields every line carries checked. */
export function parseEventLine(path: string, lineNumber: number, line: string): TraceEvent {
  const value = parseJson(path, lineNumber, line);
  const fail = (what: string): never => {
    throw new TraceFileError(path, lineNumber, what);
  };
  if (value.kind === '@run') fail('a second run header (two traces joined?)');
  if (typeof value.t !== 'number' || !Number.isFinite(value.t)) fail('field "t" missing or not a number');
  if (typeof value.node !== 'number' || !Number.isInteger(value.node)) fail('field "node" missing or not an integer');
  for (const key of stringFields) if (typeof value[key] !== 'string') fail(`field "${key}" missing or not a string`);
  for (const key of ['from', 'state'] as const) if (key in value && typeof value[key] !== 'string') fail(`field "${key}" is not a string`);
  return value as unknown as TraceEvent;
}
