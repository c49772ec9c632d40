// Re-runs a trace's simulation to recover what the file does not hold: each event's payload,
// the actor's state before and after, and the effects it emitted. The kernel's input observer
// reports every start, delivery and stop just before its trace line; each report is kept
// until its line is written, and the line is compared with the file's as replay does.
import type { Effect } from '../../actors/protocol/effects.js';
import type { DeliveredInput, InputObserver } from '../../runtime/kernel/node-kernel.js';
import type { TraceEvent } from '../../runtime/kernel/ports.js';
import { type LineDivergence, type SafeJsonLimits, rerunTrace, safeJson } from '../replay.js';
import type { TraceFile } from '../trace-file.js';

/** What the re-run saw for one trace line. */
export interface EventDetails {
  /** safeJson of the delivered event without `type` and `atMs` (in the line already), or of a start's input. */
  payload: string;
  /** safeJson of the effects the actor emitted while handling it. */
  effects: string;
  /** The state before: null for a start. */
  stateBefore: string | null;
  stateAfter: string | null;
  /** The machine id, for a start (`controller`, `partition`, ...). */
  machine?: string;
}

/** Where the re-run stopped agreeing with the file. */
export interface Divergence extends LineDivergence {
  /** Set when the re-run threw instead of writing a different line. */
  error?: string;
}

export interface CollectedDetails {
  /** details[i] belongs to events[i] (trace line i + 2); null past a divergence or for lines without an observer report (faults, clients). */
  details: Array<EventDetails | null>;
  divergence: Divergence | null;
}

/**
 * Tight enough that a 100,000-event trace stays tens of MB of HTML: the panel shows the
 * shape of a message, not every record in it.
 */
export const viewerJsonLimits: SafeJsonLimits = { depthMax: 5, itemsMax: 8, stringCharsMax: 80, totalCharsMax: 400 };

/** Reports not yet matched by their trace line; a few at most (a start inside a delivery). */
const pendingReportsMax = 1000;

interface PendingReport {
  key: string;
  details: EventDetails;
}

function reportKey(node: number, actor: string, what: string): string {
  return `${node}\u0000${actor}\u0000${what}`;
}

/** The key of the report a trace line belongs to: `@start`, `@stop`, or the delivered message's id. */
function lineKey(event: TraceEvent): string {
  const what = event.kind === '@start' || event.kind === '@stop' ? event.kind : `msg:${event.id}`;
  return reportKey(event.node, event.actor, what);
}

function payloadOf(input: DeliveredInput): unknown {
  const { type: _type, atMs: _atMs, ...rest } = input.event;
  return rest;
}

/** Re-runs the trace's simulation and pairs each line with the observer's report for it. */
export function collectDetails(trace: TraceFile, limits: SafeJsonLimits = viewerJsonLimits): CollectedDetails {
  const { lines, events } = trace;
  const details: Array<EventDetails | null> = new Array<EventDetails | null>(events.length).fill(null);
  const pending: PendingReport[] = [];
  const push = (report: PendingReport): void => {
    pending.push(report);
    if (pending.length > pendingReportsMax) pending.shift();
  };
  const effectsJson = (effects: readonly Effect[]): string => safeJson(effects, limits);
  const inputObserver = (node: number): InputObserver => ({
    started(_t, actorId, machine, input, state, effects) {
      push({ key: reportKey(node, actorId, '@start'), details: { payload: safeJson(input, limits), effects: effectsJson(effects), stateBefore: null, stateAfter: state, machine } });
    },
    delivered(actorId, input) {
      push({
        key: reportKey(node, actorId, `msg:${input.msgId}`),
        details: { payload: safeJson(payloadOf(input), limits), effects: effectsJson(input.effects), stateBefore: input.stateBefore, stateAfter: input.stateAfter },
      });
    },
    stopped(_t, actorId) {
      push({ key: reportKey(node, actorId, '@stop'), details: { payload: '{}', effects: '[]', stateBefore: null, stateAfter: null } });
    },
  });
  let divergence: Divergence | null = null;
  let matchedLines = 0;
  const onMatched = (lineNumber: number): boolean => {
    matchedLines = lineNumber;
    if (lineNumber < 2) return false;
    const event = events[lineNumber - 2]!;
    const key = lineKey(event);
    const at = pending.findIndex((report) => report.key === key);
    if (at >= 0) {
      details[lineNumber - 2] = pending[at]!.details;
      pending.splice(at, 1);
    }
    return false;
  };
  try {
    divergence = rerunTrace(trace, onMatched, inputObserver).divergence;
  } catch (error) {
    divergence = { line: matchedLines + 1, fileLine: lines[matchedLines] ?? null, replayLine: null, error: (error as Error).message };
  }
  return { details, divergence };
}

/** The divergence as one line for stderr and the page's banner. */
export function describeDivergence(divergence: Divergence): string {
  const cause = divergence.error !== undefined
    ? `the re-run failed there (${divergence.error})`
    : divergence.replayLine === null
      ? 'the re-run ended before this line'
      : divergence.fileLine === null ? 'the re-run wrote more lines than the file has' : 'the re-run wrote a different line';
  return `the re-run diverges from the file at line ${divergence.line}: ${cause}; payloads and states are shown up to line ${divergence.line - 1} only (the code changed since the trace was recorded?)`;
}
