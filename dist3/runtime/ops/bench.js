// `npm run bench [-- SCENARIO ...] [--json FILE]`: measures, prints a table, optionally
// writes the figures as JSON. Scenarios start what they measure themselves.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import cliProgress from 'cli-progress';
import { runSimulation } from '../../sim/run.js';
const simSeeds = 20;
function simCase(name, nodes, faults, progress) {
    // One warm-up run so that JIT compilation is not billed to the first seed.
    runSimulation({ seed: 1_000_000, nodes, durationMs: 10_000, faults });
    let virtualMs = 0;
    let wallMs = 0;
    let events = 0;
    let violations = 0;
    for (let seed = 1; seed <= simSeeds; seed++) {
        const started = performance.now();
        const result = runSimulation({ seed, nodes, durationMs: 60_000, faults });
        wallMs += performance.now() - started;
        virtualMs += result.virtualMs;
        events += result.events;
        violations += result.violations;
        progress(seed);
    }
    return {
        scenario: 'sim',
        case: name,
        figures: {
            seeds: simSeeds,
            'virtual s': Math.round(virtualMs / 1000),
            'wall s': Number((wallMs / 1000).toFixed(2)),
            'speed (virtual/wall)': Math.round(virtualMs / wallMs),
            'events/s (wall)': Math.round(events / (wallMs / 1000)),
            'us/event': Number(((wallMs * 1000) / events).toFixed(1)),
            violations,
        },
    };
}
const scenarios = {
    sim: {
        describe: 'simulator speed: virtual seconds per wall second, one thread, 60 s runs with the admin workload',
        run(progress) {
            const cases = [
                ['3 nodes, partition+crash+drop', 3, ['partition', 'crash', 'drop']],
                ['3 nodes, all faults', 3, ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder']],
                ['3 nodes, no faults', 3, []],
                ['5 nodes, partition+crash+drop', 5, ['partition', 'crash', 'drop']],
            ];
            const total = cases.length * simSeeds;
            return cases.map(([name, nodes, faults], i) => simCase(name, nodes, faults, (seed) => progress(i * simSeeds + seed, total)));
        },
    },
};
function main() {
    const args = process.argv.slice(2);
    const jsonAt = args.indexOf('--json');
    const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    if (jsonAt >= 0 && jsonPath === undefined)
        throw new Error('--json needs a file name');
    const names = args.filter((a, i) => !a.startsWith('--') && i !== jsonAt + 1);
    const chosen = names.length === 0 ? Object.keys(scenarios) : names;
    for (const name of chosen) {
        if (scenarios[name] === undefined)
            throw new Error(`unknown scenario "${name}" (known: ${Object.keys(scenarios).join(', ')})`);
    }
    const rows = [];
    for (const name of chosen) {
        const bar = new cliProgress.SingleBar({ format: `${name} {bar} {value}/{total}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
        bar.start(1, 0);
        rows.push(...scenarios[name].run((done, total) => {
            bar.setTotal(total);
            bar.update(done);
        }));
        bar.stop();
    }
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
    process.stdout.write(`machine: ${machine}\n`);
    for (const row of rows) {
        process.stdout.write(`\n${row.scenario} | ${row.case}\n`);
        for (const [key, value] of Object.entries(row.figures))
            process.stdout.write(`  ${key.padEnd(22)} ${value}\n`);
    }
    if (jsonPath !== undefined)
        writeFileSync(jsonPath, `${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
}
try {
    main();
}
catch (error) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = 1;
}
//# sourceMappingURL=bench.js.map