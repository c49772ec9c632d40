import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../sim/run.js';
import { replayTraceFile, safeJson } from '../../sim/replay.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../runtime/ops/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'logmesh-replay-'));
const tracePath = join(dir, 'run.jsonl');
const recorded = runSimulation({ seed: 7, nodes: 3, durationMs: 10_000, faults: ['crash'], tracePath, bugs: { controller: { voteTwiceInTerm: true }, broker: {} }, bugName: 'vote-twice' });
const text = readFileSync(tracePath, 'utf8');
const lines = text.trimEnd().split('\n');

function logmesh(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function writeTrace(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the first line is the run header, hashed with the rest', () => {
  const header = JSON.parse(lines[0]!) as { t: number; kind: string; version: number; options: Record<string, unknown> };
  assert.equal(header.t, 0);
  assert.equal(header.kind, '@run');
  assert.equal(header.version, 1);
  assert.deepEqual(header.options, {
    seed: 7, nodes: 3, durationMs: 10_000, faults: ['crash'], workload: 'mixed', uncleanLeaderElection: false,
    settleMaxMs: 60_000, eventsMax: 1_000_000, bug: 'vote-twice', bugs: { controller: { voteTwiceInTerm: true }, broker: {} },
  });
  assert.equal(createHash('sha256').update(text).digest('hex'), recorded.traceHash);
  assert.equal(lines.length, recorded.traceLines);
});

test('replaying a recorded trace gives the same hash (logmesh replay)', () => {
  const outcome = replayTraceFile(tracePath);
  assert.deepEqual(outcome, { kind: 'same', hash: recorded.traceHash, lines: recorded.traceLines });
  const run = logmesh(['replay', tracePath]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `same trace: ${recorded.traceHash} (${recorded.traceLines} lines)\n`);
});

test('a run given a fault schedule carries it in the header and replays the same', () => {
  const path = join(dir, 'scheduled.jsonl');
  const schedule = recorded.faultSchedule.slice(0, 1);
  assert.equal(schedule.length, 1);
  const scheduled = runSimulation({ seed: 7, nodes: 3, durationMs: 10_000, faults: ['crash'], tracePath: path, faultSchedule: schedule });
  const header = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!) as { options: { schedule?: string } };
  assert.equal(typeof header.options.schedule, 'string');
  assert.deepEqual(replayTraceFile(path), { kind: 'same', hash: scheduled.traceHash, lines: scheduled.traceLines });
  assert.equal('schedule' in (JSON.parse(lines[0]!) as { options: object }).options, false, 'no schedule key when faults were drawn');
});

test('an edited trace reports the divergence at the edited line', () => {
  const at = 400;
  const edited = lines.map((line, i) => (i === at - 1 ? line.replace(/"kind":"[^"]*"/, '"kind":"EditedByHand"') : line));
  assert.notEqual(edited[at - 1], lines[at - 1]);
  const path = writeTrace('edited.jsonl', `${edited.join('\n')}\n`);
  const run = logmesh(['replay', path]);
  assert.equal(run.status, 1);
  const out = run.stdout.split('\n');
  assert.equal(out[0], `diverged at line ${at}:`);
  assert.equal(out[1], `  file:   ${edited[at - 1]}`);
  assert.equal(out[2], `  replay: ${lines[at - 1]}`);
});

test('a trace cut at a line boundary diverges where the file ends', () => {
  const path = writeTrace('short.jsonl', `${lines.slice(0, 300).join('\n')}\n`);
  const outcome = replayTraceFile(path);
  assert.equal(outcome.kind, 'diverged');
  assert.equal(outcome.kind === 'diverged' && outcome.line, 301);
  assert.equal(outcome.kind === 'diverged' && outcome.fileLine, null);
});

test('a truncated, garbled or headless file is one error line naming the line', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['truncated.jsonl', text.slice(0, text.indexOf('\n', 20_000) + 40), /^logmesh: .*truncated\.jsonl:\d+: not JSON/],
    ['missing-field.jsonl', [...lines.slice(0, 9), lines[9]!.replace(/"id":"[^"]*",/, ''), ...lines.slice(10)].join('\n') + '\n', /^logmesh: .*missing-field\.jsonl:10: field "id" missing or not a string\n$/],
    ['headless.jsonl', `${lines.slice(1).join('\n')}\n`, /^logmesh: .*headless\.jsonl:1: no run header/],
    ['version.jsonl', `${lines[0]!.replace('"version":1', '"version":99')}\n${lines.slice(1).join('\n')}\n`, /^logmesh: .*version\.jsonl:1: unknown trace version 99/],
    ['empty.jsonl', '', /^logmesh: .*empty\.jsonl:1: empty file/],
  ];
  const truncatedLine = text.slice(0, text.indexOf('\n', 20_000) + 40).split('\n').length;
  for (const [name, content, pattern] of cases) {
    const run = logmesh(['replay', writeTrace(name, content)]);
    assert.notEqual(run.status, 0, name);
    assert.equal(run.stdout, '', name);
    assert.equal(run.stderr.split('\n').length, 2, `${name}: one line: ${run.stderr}`);
    assert.match(run.stderr, pattern, name);
  }
  assert.match(logmesh(['replay', join(dir, 'truncated.jsonl')]).stderr, new RegExp(`:${truncatedLine}: not JSON`));
});

test('--until stops at a line and prints every actor, a controller in state leader among them', () => {
  const leaderLine = lines.findIndex((line) => line.includes('"actor":"controller"') && line.includes('"state":"leader"')) + 1;
  assert.ok(leaderLine > 1);
  const run = logmesh(['replay', tracePath, '--until', String(leaderLine)]);
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout.trimEnd().split('\n');
  assert.equal(out[0], `same trace up to line ${leaderLine}: ${lines[leaderLine - 1]}`);
  const leader = JSON.parse(lines[leaderLine - 1]!) as { node: number };
  const row = out.find((line) => line.startsWith(`node ${leader.node} controller leader {`));
  assert.ok(row, run.stdout);
  const context = JSON.parse(row.slice(row.indexOf('{'))) as { leaderId: number };
  assert.equal(context.leaderId, leader.node);
  for (const id of [1, 2, 3]) assert.ok(out.some((line) => line.startsWith(`node ${id} broker `)), `node ${id}'s broker is listed`);
  const past = logmesh(['replay', tracePath, '--until', String(lines.length + 1)]);
  assert.notEqual(past.status, 0);
  assert.match(past.stderr, /^logmesh: .*:\d+: --until \d+ is not a line of this trace/);
});

test('safeJson turns Maps, Sets and bytes into JSON and caps depth and size', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const value = {
    byName: new Map([['x', 1], ['y', 2]]),
    byPair: new Map([[[1, 2], 'p']]),
    set: new Set([3, 4]),
    bytes: new Uint8Array(10),
    deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } },
    long: Array.from({ length: 40 }, (_, i) => i),
    big: 10n,
    fn: () => 1,
    cyclic,
  };
  const parsed = JSON.parse(safeJson(value)) as Record<string, unknown>;
  assert.deepEqual(parsed.byName, { x: 1, y: 2 });
  assert.deepEqual(parsed.byPair, [[[1, 2], 'p']]);
  assert.deepEqual(parsed.set, [3, 4]);
  assert.deepEqual(parsed.bytes, { bytes: 10 });
  assert.equal(JSON.stringify(parsed.deep), '{"a":{"b":{"c":{"d":{"e":"…"}}}}}');
  assert.equal((parsed.long as unknown[]).length, 17);
  assert.equal(parsed.big, '10');
  assert.equal(parsed.fn, '[function]');
  assert.deepEqual(parsed.cyclic, { a: 1, self: '[cycle]' });
  assert.ok(safeJson({ s: 'x'.repeat(10_000), t: Array.from({ length: 100 }, () => 'y'.repeat(100)) }).length < 4100);
});
