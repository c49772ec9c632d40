// Shrinking: a run's recorded fault schedule replays it, a failing run with a deliberate bug
// shrinks to fewer faults and a shorter fault phase that still fail the same checker, and the
// printed command reproduces the shrunk case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bugSwitches } from '../../runtime/ops/bugs.js';
import { type SimOptions, runSimulation } from '../../sim/run.js';
import { formatSchedule, parseSchedule } from '../../sim/schedule.js';
import { shrinkRun } from '../../sim/shrink.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../runtime/ops/cli.js');

// Seed 5 with a leader that commits without a quorum fails leader-completeness after 7
// faults in 20 s; without faults it passes, so the shrunk case needs at least one fault.
const failing: SimOptions = {
  seed: 5, nodes: 3, durationMs: 20_000, faults: ['partition', 'crash', 'drop'], bugs: bugSwitches['commit-without-quorum'], eventsMax: 200_000,
};
const failingChecker = 'leader-completeness';

test('a schedule survives its text form', () => {
  const text = 'partition@2186+4000:halves:1.3-2,crash@3745+1780:1,drop@2934+3000:0.18,delay@5000+1000:0.3:200,'
    + 'reorder@6000+1000:0.5:10,duplicate@7000+1000:0.1,slow-disk@8000+2000:2:50,partition@9000+1000:bridge:3:1-2,'
    + 'partition@12000+1000:leader-cut-from-controller:2:1,partition@14000+1000:asymmetric:3,partition@16000+1000:isolate-leader:1';
  assert.equal(formatSchedule(parseSchedule(text)), text);
  assert.deepEqual(parseSchedule('none'), []);
  assert.equal(formatSchedule([]), 'none');
  assert.throws(() => parseSchedule('crash@100'), /expected <kind>@<atMs>\+<lastsMs>/);
  assert.throws(() => parseSchedule('crash@100+5'), /crash takes 1 detail/);
  assert.throws(() => parseSchedule('flood@100+5:1'), /unknown kind "flood"/);
  assert.throws(() => parseSchedule('partition@100+5:ring:1'), /unknown partition shape "ring"/);
  assert.throws(() => runSimulation({ seed: 1, nodes: 3, durationMs: 1000, faults: [], faultSchedule: parseSchedule('crash@100+5:4') }), /node 4/);
});

test('replaying a run\'s recorded schedule reproduces the run and its violation', () => {
  const drawn = runSimulation(failing);
  assert.ok(drawn.faultSchedule.length > 0);
  assert.equal(drawn.violationDetails[0]?.checker, failingChecker);
  const schedule = parseSchedule(formatSchedule(drawn.faultSchedule));
  assert.deepEqual(schedule, drawn.faultSchedule);
  const replayed = runSimulation({ ...failing, faultSchedule: schedule });
  assert.deepEqual(replayed.violationDetails, drawn.violationDetails);
  assert.deepEqual(replayed.faultSchedule, drawn.faultSchedule);
  assert.deepEqual(replayed.faults, drawn.faults);
  assert.equal(replayed.traceLines, drawn.traceLines);
  // The same faults of a passing run replay too, with the other kinds given or not.
  const clean = runSimulation({ seed: 3, nodes: 3, durationMs: 10_000, faults: ['partition', 'crash', 'drop', 'slow-disk'] });
  const again = runSimulation({ seed: 3, nodes: 3, durationMs: 10_000, faults: [], faultSchedule: clean.faultSchedule });
  assert.deepEqual(again.faultSchedule, clean.faultSchedule);
  assert.equal(again.violations, 0);
});

test('a failing run shrinks to fewer faults and a shorter fault phase that still fail the same checker', { timeout: 120_000 }, () => {
  const accepted: string[] = [];
  const shrunk = shrinkRun(failing, { runsMax: 60, onStep: (step) => { if (step.accepted) accepted.push(step.change); } });
  assert.equal(shrunk.checker, failingChecker);
  assert.ok(shrunk.original.schedule.length >= 5, `original has ${shrunk.original.schedule.length} faults`);
  assert.ok(shrunk.shrunk.schedule.length >= 1, 'the bug needs a fault to show');
  assert.ok(shrunk.shrunk.schedule.length < shrunk.original.schedule.length, `${shrunk.shrunk.schedule.length} faults after shrinking`);
  assert.ok(shrunk.shrunk.durationMs < shrunk.original.durationMs, `${shrunk.shrunk.durationMs} ms after shrinking`);
  assert.ok(shrunk.runs <= 60);
  assert.deepEqual(shrunk.steps.map((s) => s.change), accepted);
  // The shrunk case, as the repro command carries it, fails the same checker.
  const rerun = runSimulation({ ...failing, durationMs: shrunk.shrunk.durationMs, faultSchedule: parseSchedule(formatSchedule(shrunk.shrunk.schedule)) });
  assert.ok((rerun.checks[failingChecker] ?? 0) > 0, JSON.stringify(rerun.violationDetails.slice(0, 2)));
});

test('a passing run has nothing to shrink', () => {
  const result = shrinkRun({ seed: 5, nodes: 3, durationMs: 10_000, faults: ['partition', 'crash', 'drop'] });
  assert.equal(result.checker, null);
  assert.equal(result.runs, 1);
  assert.deepEqual(result.shrunk, result.original);
});

test('logmesh sim --shrink prints each step and a command that reproduces the shrunk case', { timeout: 120_000 }, () => {
  const run = spawnSync(process.execPath, [cli, 'sim', '--seed', '5', '--duration', '20s', '--bug', 'commit-without-quorum', '--shrink', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stdout, /\[shrink\] original: 7 faults, fault phase 20s, checker leader-completeness/);
  assert.match(run.stdout, /\[shrink\] run 2: cut after the violation at \d+ ms: fault phase \d+ ms, \d+ faults: still fails/);
  assert.match(run.stdout, /\[shrink\] run \d+: removed \d+ of \d+ faults: still fails/);
  const shrunk = /\[shrink\] shrunk: (\d+) faults?, fault phase (\d+)s/.exec(run.stdout);
  assert.ok(shrunk !== null, run.stdout);
  assert.ok(Number(shrunk[1]) < 7 && Number(shrunk[2]) < 20);
  const command = /\[shrink\] reproduce with: npx logmesh (sim .*)$/m.exec(run.stdout)?.[1];
  assert.ok(command !== undefined, run.stdout);
  assert.match(command, / --schedule \S+/);
  const again = spawnSync(process.execPath, [cli, ...command.split(' '), '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /VIOLATION leader-completeness/);

  const passing = spawnSync(process.execPath, [cli, 'sim', '--seed', '5', '--duration', '10s', '--shrink', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(passing.status, 0, passing.stderr);
  assert.match(passing.stdout, /\[shrink\] seed 5 passed: nothing to shrink/);
});
