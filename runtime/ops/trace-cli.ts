// `logmesh trace export TRACE --format perfetto|shiviz [--out FILE]`: converts a simulation
// trace for Perfetto (ui.perfetto.dev, chrome://tracing) or ShiViz.
// `logmesh trace view TRACE [--out FILE.html]`: writes the self-contained HTML trace viewer.
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { toPerfetto } from '../../sim/export/perfetto.js';
import { toShiviz } from '../../sim/export/shiviz.js';
import { readTraceFile } from '../../sim/trace-file.js';
import { defaultViewerPath, writeTraceViewer } from '../../sim/viewer/view.js';

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
  trace
    .command('view')
    .description('write one self-contained HTML page: a space-time diagram of the trace (lanes per node/actor, message arrows, faults), with filters and, from a re-run of the simulation, each event\'s payload and the actor\'s states')
    .argument('<trace>', 'a JSON Lines trace written by logmesh sim --trace')
    .option('--out <file>', 'the HTML file to write (default: the trace\'s name with .html)')
    .action((path: string, flags: { out?: string }) => {
      const result = writeTraceViewer(path, flags.out ?? defaultViewerPath(path));
      if (result.divergence !== null) process.stderr.write(`logmesh: ${result.divergence}\n`);
      process.stdout.write(`wrote ${result.outPath}: ${result.events} events, ${(result.bytes / 1e6).toFixed(1)} MB\n`);
    });
}
