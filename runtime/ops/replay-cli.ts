// `logmesh replay TRACE`: runs a trace's simulation again from its run header and reports
// whether it gives the same trace, or where it first differs; `--until N` shows every actor
// at line N.
import type { Command } from 'commander';
import { formatReplay, replayTraceFile } from '../../sim/replay.js';
import { asInt } from './tools/options.js';

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('run a trace\'s simulation again (from its run header) and compare it with the file line by line')
    .argument('<trace>', 'a JSON Lines trace written by logmesh sim --trace')
    .option('--until <line>', 'stop at this line of the trace and print every actor\'s state and context there', asInt('--until', 1, Number.MAX_SAFE_INTEGER))
    .action((trace: string, flags: { until?: number }) => {
      const outcome = replayTraceFile(trace, flags.until === undefined ? {} : { untilLine: flags.until });
      const { text, exitCode } = formatReplay(outcome);
      process.stdout.write(text);
      process.exitCode = exitCode;
    });
}
