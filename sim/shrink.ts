// Shrinking a failing run: the smallest fault schedule and the shortest fault phase that still
// make the same checker fire. The run is first cut where the checker fired, then delta
// debugging (Zeller's ddmin) removes faults, each remaining fault is made shorter, and then
// the fault phase. Every candidate is one whole run
// with the same seed and options and an explicit schedule (SimOptions.faultSchedule), so the
// result is reproduced by `logmesh sim ... --schedule <text>`.
import { type SimOptions, type SimResult, checkIntervalMs, runSimulation } from './run.js';
import type { FaultSchedule } from './schedule.js';

/** Candidate runs one shrink may make, the first (failing) run included. */
export const shrinkRunsMaxDefault = 200;
/** A fault is not made shorter than this. */
export const faultLastsMinMs = 100;
/** Halvings tried per fault when making faults shorter. */
const halvingsPerFaultMax = 4;

/** One candidate of a shrink: a schedule and a fault phase. */
export interface ShrinkCase {
  schedule: FaultSchedule;
  durationMs: number;
}

export interface ShrinkStep {
  /** Runs made so far, this one included. */
  run: number;
  /** What the candidate changed, e.g. "removed 3 of 8 faults". */
  change: string;
  /** Whether the candidate still failed the same checker, and so became the current case. */
  accepted: boolean;
  faults: number;
  durationMs: number;
}

export interface ShrinkOptions {
  runsMax?: number;
  /** Called after the first run, with its case and the checker to keep firing (null: it passed). */
  onOriginal?: (original: ShrinkCase, checker: string | null) => void;
  /** Called after every candidate run. */
  onStep?: (step: ShrinkStep) => void;
}

export interface ShrinkResult {
  /** The checker of the first run's first violation; null when the run passed (nothing to shrink). */
  checker: string | null;
  original: ShrinkCase;
  shrunk: ShrinkCase;
  /** The options that reproduce the shrunk case. */
  shrunkOptions: SimOptions;
  runs: number;
  /** The accepted steps, in order. */
  steps: ShrinkStep[];
  /** True when the run budget ended the shrink before every pass was done. */
  budgetSpent: boolean;
  firstResult: SimResult;
}

class RunBudgetSpent extends Error {}

export function shrinkRun(options: SimOptions, shrinkOptions: ShrinkOptions = {}): ShrinkResult {
  const runsMax = shrinkOptions.runsMax ?? shrinkRunsMaxDefault;
  const base: SimOptions = { ...options, tracePath: null, onProgress: undefined, onFinish: undefined };
  const firstResult = runSimulation(base);
  const original: ShrinkCase = { schedule: firstResult.faultSchedule, durationMs: options.durationMs };
  const checker = firstResult.violationDetails[0]?.checker ?? null;
  shrinkOptions.onOriginal?.(original, checker);
  const steps: ShrinkStep[] = [];
  let runs = 1;
  let current = original;
  const optionsFor = (c: ShrinkCase): SimOptions => ({ ...base, faultSchedule: c.schedule, durationMs: c.durationMs });
  const finish = (budgetSpent: boolean): ShrinkResult => ({
    checker, original, shrunk: current, shrunkOptions: { ...options, faultSchedule: current.schedule, durationMs: current.durationMs },
    runs, steps, budgetSpent, firstResult,
  });
  if (checker === null) return finish(false);

  /** Runs a candidate; it becomes the current case if the same checker fires. */
  const attempt = (candidate: ShrinkCase, change: string): boolean => {
    if (runs >= runsMax) throw new RunBudgetSpent();
    runs += 1;
    const result = runSimulation(optionsFor(candidate));
    const accepted = (result.checks[checker] ?? 0) > 0;
    const step = { run: runs, change, accepted, faults: candidate.schedule.length, durationMs: candidate.durationMs };
    if (accepted) {
      current = candidate;
      steps.push(step);
    }
    shrinkOptions.onStep?.(step);
    return accepted;
  };

  try {
    const firedAtMs = firstResult.violationDetails.find((v) => v.checker === checker)!.atMs;
    cutAfterViolation(() => current, attempt, firedAtMs);
    removeFaults(() => current, attempt);
    shortenFaults(() => current, attempt);
    shortenFaultPhase(() => current, attempt);
  } catch (error) {
    if (error instanceof RunBudgetSpent) return finish(true);
    throw error;
  }
  return finish(false);
}

type Attempt = (candidate: ShrinkCase, change: string) => boolean;

/** A fault phase in whole check intervals, at least one. */
function roundUpToCheck(ms: number): number {
  return Math.max(checkIntervalMs, Math.ceil(ms / checkIntervalMs) * checkIntervalMs);
}

/** The faults that start within the fault phase, each cut to end by its end (heal-all would end it then). */
function fitSchedule(schedule: FaultSchedule, durationMs: number): FaultSchedule {
  return schedule.filter((f) => f.atMs < durationMs).map((f) => (f.atMs + f.lastsMs <= durationMs ? f : { ...f, lastsMs: durationMs - f.atMs }));
}

/**
 * A checker that fires while the run goes (election safety, log matching, ...) saw nothing of
 * what came after: the fault phase can end at the next check after it, without the faults after.
 */
function cutAfterViolation(current: () => ShrinkCase, attempt: Attempt, firedAtMs: number): void {
  const durationMs = roundUpToCheck(firedAtMs);
  if (durationMs >= current().durationMs) return;
  const schedule = fitSchedule(current().schedule, durationMs);
  attempt({ schedule, durationMs }, `cut after the violation at ${firedAtMs.toFixed(0)} ms: fault phase ${durationMs} ms, ${schedule.length} faults`);
}

/** ddmin over the faults: first none at all, then ever smaller chunks removed. */
function removeFaults(current: () => ShrinkCase, attempt: Attempt): void {
  const total = current().schedule.length;
  if (total === 0) return;
  if (attempt({ ...current(), schedule: [] }, `removed all ${total} faults`)) return;
  let chunks = 2;
  while (current().schedule.length >= 2) {
    const schedule = current().schedule;
    const chunkSize = Math.ceil(schedule.length / chunks);
    let removed = false;
    for (let start = 0; start < schedule.length; start += chunkSize) {
      const kept = [...schedule.slice(0, start), ...schedule.slice(start + chunkSize)];
      const count = schedule.length - kept.length;
      if (attempt({ ...current(), schedule: kept }, `removed ${count} of ${schedule.length} faults`)) {
        removed = true;
        chunks = Math.max(chunks - 1, 2);
        break;
      }
    }
    if (removed) continue;
    if (chunkSize === 1) break;
    chunks = Math.min(schedule.length, chunks * 2);
  }
}

/** Each fault in turn is halved while the checker still fires (a few times at most). */
function shortenFaults(current: () => ShrinkCase, attempt: Attempt): void {
  for (let i = 0; i < current().schedule.length; i++) {
    for (let halving = 0; halving < halvingsPerFaultMax; halving++) {
      const schedule = current().schedule;
      const fault = schedule[i]!;
      const lastsMs = Math.max(faultLastsMinMs, Math.round(fault.lastsMs / 2));
      if (lastsMs >= fault.lastsMs) break;
      const shorter = schedule.map((f, j) => (j === i ? { ...f, lastsMs } : f));
      if (!attempt({ ...current(), schedule: shorter }, `${fault.kind} at ${fault.atMs} ms lasts ${lastsMs} ms instead of ${fault.lastsMs}`)) break;
    }
  }
}

/**
 * The fault phase, in whole check intervals, long enough for the last fault to start: first the
 * shortest, then a binary search between it and the current length. Faults that would outlast
 * the phase are cut to end with it.
 */
function shortenFaultPhase(current: () => ShrinkCase, attempt: Attempt): void {
  let failing = current().durationMs;
  let tooShort = roundUpToCheck(current().schedule.reduce((last, f) => Math.max(last, f.atMs + 1), 0));
  if (tooShort >= failing) return;
  const tryLength = (durationMs: number): boolean => attempt(
    { schedule: fitSchedule(current().schedule, durationMs), durationMs }, `fault phase ${durationMs} ms instead of ${current().durationMs}`);
  if (tryLength(tooShort)) return;
  while (failing - tooShort > checkIntervalMs) {
    const middle = roundUpToCheck((failing + tooShort) / 2 - checkIntervalMs / 2);
    if (middle <= tooShort || middle >= failing) break;
    if (tryLength(middle)) failing = middle;
    else tooShort = middle;
  }
}
