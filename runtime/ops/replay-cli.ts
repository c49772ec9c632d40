// `logmesh replay TRACE`: runs a trace's simulation again from its run header and reports
// whether it gives the same trace, or where it first differs; `--until N` shows every actor
// at line N. `logmesh replay --node-inputs DIR`: re-runs a real node's actors from the input
// log that `logmesh node --record-inputs DIR` wrote, and reports whether they reach the same
// states.
import { type Command, InvalidArgumentError } from 'commander';
import { formatNodeReplay, inputLogFiles, replayInputLog } from '../../sim/node-replay.js';
import { formatReplay, replayTraceFile } from '../../sim/replay.js';
import { asInt } from './tools/options.js';

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('run a trace\'s simulation again (from its run header) and compare it with the file line by line; or, with --node-inputs, re-run a real node\'s actors from their recorded inputs')
    .argument('[trace]', 'a JSON Lines trace written by logmesh sim --trace')
    .option('--node-inputs <dir>', 'a directory (or one file) of input logs written by logmesh node --record-inputs')
    .option('--until <line>', 'stop at this line and print every actor\'s state and context there', asInt('--until', 1, Number.MAX_SAFE_INTEGER))
    .action((trace: string | undefined, flags: { until?: number; nodeInputs?: string }) => {
      if ((trace === undefined) === (flags.nodeInputs === undefined)) throw new InvalidArgumentError('give a trace file or --node-inputs DIR (one of the two)');
      if (flags.nodeInputs !== undefined) {
        const files = inputLogFiles(flags.nodeInputs);
        if (flags.until !== undefined && files.length !== 1) throw new InvalidArgumentError(`--until needs one input log; ${flags.nodeInputs} holds ${files.length} (name one file)`);
        const outcomes = files.map((file) => replayInputLog(file, flags.until === undefined ? {} : { untilLine: flags.until }));
        const { text, exitCode } = formatNodeReplay(outcomes);
        process.stdout.write(text);
        process.exitCode = exitCode;
        return;
      }
      const outcome = replayTraceFile(trace!, flags.until === undefined ? {} : { untilLine: flags.until });
      const { text, exitCode } = formatReplay(outcome);
      process.stdout.write(text);
      process.exitCode = exitCode;
    });
}
