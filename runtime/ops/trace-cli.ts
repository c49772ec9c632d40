// `logmesh trace export TRACE --format perfetto|shiviz [--out FILE]`: converts a simulation
// trace for Perfetto (ui.perfetto.dev, chrome://tracing) or ShiViz.
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { toPerfetto } from '../../sim/export/perfetto.js';
import { toShiviz } from '../../sim/export/shiviz.js';
import { readTraceFile } from '../../sim/trace-file.js';

export const traceExportFormats = ['perfetto', 'shiviz'] as const;

export function registerTraceCommand(program: Command): void {
  const trace = program.command('trace').description('work with simulation traces (logmesh sim --trace)');
  trace
    .command('export')
    .description('convert a trace: perfetto (Chrome trace-event JSON: a process per node, a thread per actor, message flows) or shiviz (a vector-clock log)')
    .argument('<trace>', 'a JSON Lines trace written by logmesh sim --trace')
    .addOption(new Option('--format <format>', 'output format').choices(traceExportFormats).makeOptionMandatory())
    .option('--out <file>', 'write here instead of stdout')
    .action((path: string, flags: { format: (typeof traceExportFormats)[number]; out?: string }) => {
      const file = readTraceFile(path);
      const text = flags.format === 'perfetto'
        ? `${JSON.stringify(toPerfetto(file.events, { logmeshRun: file.header.options }))}\n`
        : toShiviz(file.events);
      if (flags.out === undefined) process.stdout.write(text);
      else writeFileSync(flags.out, text);
    });
}
