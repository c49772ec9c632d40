// `logmesh sim --seed S ... --shrink`: shrinks a failing run (sim/shrink.ts) and prints the
// original case, each accepted step, the shrunk case and the command that reproduces it.
import type { SimOptions } from '../../sim/run.js';
import { type ShrinkCase, shrinkRun, shrinkRunsMaxDefault } from '../../sim/shrink.js';
import { formatDuration } from './duration.js';

function describe(faults: number, durationMs: number): string {
  return `${faults} fault${faults === 1 ? '' : 's'}, fault phase ${formatDuration(durationMs)}`;
}

/** Returns the exit code: 1 when the run failed (shrunk or not), 0 when it passed. */
export function shrinkCommand(options: SimOptions, reproCommand: (shrunk: ShrinkCase) => string, quiet: boolean): number {
  const out = (line: string): void => {
    process.stdout.write(`[shrink] ${line}\n`);
  };
  const result = shrinkRun(options, {
    onOriginal: (original, checker) => {
      if (checker !== null) out(`original: ${describe(original.schedule.length, original.durationMs)}, checker ${checker}`);
    },
    onStep: (step) => {
      if (step.accepted) out(`run ${step.run}: ${step.change}: still fails -> ${describe(step.faults, step.durationMs)}`);
      else if (!quiet) process.stderr.write(`[shrink] run ${step.run}/${shrinkRunsMaxDefault}: ${step.change}: passes\n`);
    },
  });
  if (result.checker === null) {
    out(`seed ${options.seed} passed: nothing to shrink`);
    return 0;
  }
  const budget = result.budgetSpent ? `, stopped at the budget of ${shrinkRunsMaxDefault} runs` : '';
  out(`shrunk: ${describe(result.shrunk.schedule.length, result.shrunk.durationMs)} (${result.runs} runs${budget}), checker ${result.checker}`);
  out(`reproduce with: ${reproCommand(result.shrunk)}`);
  return 1;
}
