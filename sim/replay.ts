// Replay: runs a trace's simulation again from its run header and compares the new trace with
// the file line by line as it is written, stopping at the first difference (or at --until).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stateName } from '../runtime/kernel/node-kernel.js';
import type { FaultKind } from './nemesis.js';
import { type SimOptions, type SimResult, type WorkloadKind, runSimulation } from './run.js';
import type { SimCluster } from './cluster.js';
import { parseSchedule } from './schedule.js';
import { type TraceFile, TraceFileError, readTraceFile } from './trace-file.js';
import type { RunHeaderOptions } from './trace.js';

/** One actor at the point where a replay stopped. */
export interface ActorState {
  node: number;
  actor: string;
  /** The xstate state value: its string, or its JSON for nested states. */
  state: string;
  /** safeJson of the actor's context. */
  context: string;
}

export type ReplayOutcome =
  | { kind: 'same'; hash: string; lines: number }
  | { kind: 'diverged'; line: number; fileLine: string | null; replayLine: string | null }
  | { kind: 'until'; line: number; replayLine: string; actors: ActorState[]; downNodes: number[] };

export interface ReplayOptions {
  /** Stop the re-run at this line and capture every actor's state there. */
  untilLine?: number;
  /** Context serializer limits (see safeJson). */
  limits?: Partial<SafeJsonLimits>;
}

/** The SimOptions a run header describes. */
export function simOptionsFromHeader(options: RunHeaderOptions): SimOptions {
  return {
    seed: options.seed,
    nodes: options.nodes,
    durationMs: options.durationMs,
    faults: options.faults as FaultKind[],
    workload: options.workload as WorkloadKind,
    uncleanLeaderElection: options.uncleanLeaderElection,
    settleMaxMs: options.settleMaxMs,
    eventsMax: options.eventsMax,
    bugs: options.bugs,
    ...(options.bug === null ? {} : { bugName: options.bug }),
    ...(options.schedule === undefined ? {} : { faultSchedule: parseSchedule(options.schedule) }),
  };
}

/** Replays a trace file. Throws TraceFileError for a file that is not a readable trace. */
export function replayTraceFile(path: string, options: ReplayOptions = {}): ReplayOutcome {
  const trace = readTraceFile(path);
  if (options.untilLine !== undefined && (options.untilLine < 1 || options.untilLine > trace.lines.length)) {
    throw new TraceFileError(path, trace.lines.length, `--until ${options.untilLine} is not a line of this trace (it has ${trace.lines.length})`);
  }
  return replayTrace(trace, options);
}

/** Where a re-run first differs from its trace file: the line (1 = the run header), and each side's text there (null where that side had ended). */
export interface LineDivergence {
  line: number;
  fileLine: string | null;
  replayLine: string | null;
}

/**
 * Runs a trace's simulation again from its run header and compares every line it writes
 * with the file's, stopping at the first that differs. `onMatched` sees each line that
 * matched, with the cluster in the state that line leaves it in, and stops the run by
 * returning true. The divergence is that line, or the file's next line when the re-run
 * ended (unstopped) before the file did. Errors of the run are thrown.
 */
export function rerunTrace(
  trace: TraceFile,
  onMatched: (lineNumber: number, line: string, cluster: SimCluster) => boolean,
  inputObserver?: SimOptions['inputObserver'],
): { divergence: LineDivergence | null; result: SimResult } {
  const { lines } = trace;
  let divergence: LineDivergence | null = null;
  const onTraceLine = (line: string, lineNumber: number, cluster: SimCluster): boolean => {
    const fileLine = lines[lineNumber - 1];
    if (fileLine !== line) {
      divergence = { line: lineNumber, fileLine: fileLine ?? null, replayLine: line };
      return true;
    }
    return onMatched(lineNumber, line, cluster);
  };
  const result = runSimulation({ ...simOptionsFromHeader(trace.header.options), onTraceLine, ...(inputObserver === undefined ? {} : { inputObserver }) });
  if (divergence === null && result.stoppedAtLine === undefined && result.traceLines < lines.length) {
    divergence = { line: result.traceLines + 1, fileLine: lines[result.traceLines]!, replayLine: null };
  }
  return { divergence, result };
}

export function replayTrace(trace: TraceFile, options: ReplayOptions = {}): ReplayOutcome {
  const { lines } = trace;
  let until: ReplayOutcome | null = null;
  const { divergence, result } = rerunTrace(trace, (lineNumber, line, cluster) => {
    if (lineNumber !== options.untilLine) return false;
    until = { kind: 'until', line: lineNumber, replayLine: line, ...actorStates(cluster, options.limits) };
    return true;
  });
  if (divergence !== null) return { kind: 'diverged', ...divergence };
  if (until !== null) return until;
  // Every line is the same; the bytes can still differ in the file's last newline.
  const fileHash = createHash('sha256').update(readFileSync(trace.path)).digest('hex');
  if (fileHash !== result.traceHash) {
    throw new TraceFileError(trace.path, lines.length, `every line replays the same, but the file's SHA-256 is ${fileHash}, not ${result.traceHash} (a missing final newline?)`);
  }
  return { kind: 'same', hash: result.traceHash, lines: result.traceLines };
}

function actorStates(cluster: SimCluster, limits: Partial<SafeJsonLimits> | undefined): { actors: ActorState[]; downNodes: number[] } {
  const actors = cluster.actors().map((view) => ({
    node: view.node,
    actor: view.actorId,
    state: stateName(view.value),
    context: safeJson(withoutConfig(view.context), limits),
  }));
  return { actors, downNodes: cluster.nodeIds.filter((id) => !cluster.isUp(id)) };
}

/** An actor's config never changes during a run and makes every row long: leave it out. */
export function withoutConfig(context: unknown): unknown {
  if (typeof context !== 'object' || context === null || !('config' in context)) return context;
  const { config: _config, ...rest } = context as Record<string, unknown>;
  return rest;
}

/** How much of a context safeJson writes. */
export interface SafeJsonLimits {
  /** Nesting below this depth prints as "…". */
  depthMax: number;
  /** Arrays, Maps and Sets show this many items, then a count of the rest. */
  itemsMax: number;
  /** Strings are cut to this many characters. */
  stringCharsMax: number;
  /** The whole text is cut to this many characters. */
  totalCharsMax: number;
}

export const safeJsonDefaults: SafeJsonLimits = { depthMax: 6, itemsMax: 16, stringCharsMax: 120, totalCharsMax: 4000 };

/**
 * Compact JSON of any value an actor context holds: Maps become objects (string or number
 * keys) or [key, value] lists, Sets lists, byte arrays {"bytes": length}, bigints strings;
 * functions and cycles are named, not followed; depth, item count and size are capped.
 */
export function safeJson(value: unknown, limits: Partial<SafeJsonLimits> = {}): string {
  const l = { ...safeJsonDefaults, ...limits };
  const seen = new Set<object>();
  const more = (n: number): string => `… ${n} more`;
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'string') return v.length > l.stringCharsMax ? `${v.slice(0, l.stringCharsMax)}…` : v;
    if (typeof v === 'bigint') return v.toString();
    if (v === undefined) return undefined;
    if (typeof v === 'function') return '[function]';
    if (typeof v === 'symbol') return v.toString();
    if (ArrayBuffer.isView(v)) return { bytes: v.byteLength };
    if (v instanceof ArrayBuffer) return { bytes: v.byteLength };
    const object = v as object;
    if (seen.has(object)) return '[cycle]';
    if (depth >= l.depthMax) return '…';
    seen.add(object);
    try {
      if (Array.isArray(object)) return list(object, depth);
      if (object instanceof Set) return list([...object], depth);
      if (object instanceof Map) {
        const entries = [...object.entries()];
        if (entries.every(([k]) => typeof k === 'string' || typeof k === 'number')) {
          const out: Record<string, unknown> = {};
          for (const [k, item] of entries.slice(0, l.itemsMax)) out[String(k)] = walk(item, depth + 1);
          if (entries.length > l.itemsMax) out['…'] = more(entries.length - l.itemsMax);
          return out;
        }
        return list(entries, depth);
      }
      if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(object)) {
        const shown = walk(item, depth + 1);
        if (shown !== undefined) out[k] = shown;
      }
      return out;
    } finally {
      seen.delete(object);
    }
  };
  const list = (items: unknown[], depth: number): unknown[] => {
    const out = items.slice(0, l.itemsMax).map((item) => walk(item, depth + 1) ?? null);
    if (items.length > l.itemsMax) out.push(more(items.length - l.itemsMax));
    return out;
  };
  const text = JSON.stringify(walk(value, 0)) ?? 'undefined';
  return text.length > l.totalCharsMax ? `${text.slice(0, l.totalCharsMax)}… (${text.length} chars)` : text;
}

/** The replay report as the CLI prints it, and its exit status. */
export function formatReplay(outcome: ReplayOutcome): { text: string; exitCode: number } {
  switch (outcome.kind) {
    case 'same':
      return { text: `same trace: ${outcome.hash} (${outcome.lines} lines)\n`, exitCode: 0 };
    case 'diverged':
      return {
        text: [
          `diverged at line ${outcome.line}:`,
          `  file:   ${outcome.fileLine ?? '(the file ends before this line)'}`,
          `  replay: ${outcome.replayLine ?? '(the re-run ended before this line)'}`,
        ].join('\n') + '\n',
        exitCode: 1,
      };
    case 'until': {
      const rows = outcome.actors.map((a) => `node ${a.node} ${a.actor} ${a.state} ${a.context}`);
      const down = outcome.downNodes.map((n) => `node ${n} down`);
      return { text: [`same trace up to line ${outcome.line}: ${outcome.replayLine}`, ...rows, ...down].join('\n') + '\n', exitCode: 0 };
    }
  }
}
