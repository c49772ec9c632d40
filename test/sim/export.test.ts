import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../sim/run.js';
import { readTraceFile } from '../../sim/trace-file.js';
import { parentIndexes } from '../../sim/export/causality.js';
import type { PerfettoEvent } from '../../sim/export/perfetto.js';
import { shivizRegex } from '../../sim/export/shiviz.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../runtime/ops/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'logmesh-export-'));
const tracePath = join(dir, 'run.jsonl');
runSimulation({ seed: 7, nodes: 3, durationMs: 10_000, faults: ['crash', 'duplicate'], tracePath });
const trace = readTraceFile(tracePath);
const events = trace.events;

function exportTrace(format: string): string {
  const out = join(dir, `out.${format}`);
  const run = spawnSync(process.execPath, [cli, 'trace', 'export', tracePath, '--format', format, '--out', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
  return readFileSync(out, 'utf8');
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('perfetto: the JSON parses, has an instant per trace line, matching flow pairs and per-thread time order', () => {
  const doc = JSON.parse(exportTrace('perfetto')) as { traceEvents: PerfettoEvent[]; metadata: { logmeshRun: { seed: number } } };
  assert.equal(doc.metadata.logmeshRun.seed, 7);
  const all = doc.traceEvents;
  const instants = all.filter((e) => e.ph === 'i');
  assert.equal(instants.length, events.length);
  assert.deepEqual(instants.map((e) => (e.args as { line: number }).line), events.map((_, i) => i + 2));
  // Names of processes and threads: a process per node, a thread per node/actor.
  const threadNames = new Map(all.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}/${e.tid}`, (e.args as { name: string }).name]));
  instants.forEach((e, i) => {
    assert.equal(e.pid, events[i]!.node);
    assert.equal(threadNames.get(`${e.pid}/${e.tid}`), events[i]!.actor);
    assert.equal(e.ts, Math.round(events[i]!.t * 1_000_000) / 1000);
  });
  assert.ok(all.some((e) => e.name === 'process_name' && (e.args as { name: string }).name === 'node 1'));
  // Flows: every start has exactly one finish with the same id, on the parent's and the child's threads.
  const starts = new Map(all.filter((e) => e.ph === 's').map((e) => [e.id!, e]));
  const finishes = all.filter((e) => e.ph === 'f');
  assert.equal(starts.size, all.filter((e) => e.ph === 's').length, 'flow ids are unique');
  assert.equal(finishes.length, starts.size);
  const parents = parentIndexes(events);
  assert.equal(finishes.length, [...parents].filter((p) => p >= 0).length);
  assert.ok(finishes.length > events.length / 2, 'most events have a parent in the trace');
  for (const finish of finishes) {
    const start = starts.get(finish.id!);
    assert.ok(start, `flow ${finish.id} starts`);
    const child = finish.id! - 2;
    const parent = events[parents[child]!]!;
    assert.equal(start.pid, parent.node);
    assert.equal(threadNames.get(`${start.pid}/${start.tid}`), parent.actor);
    assert.equal(finish.pid, events[child]!.node);
    assert.ok(start.ts! <= finish.ts!, 'a message arrives after it is sent');
    // Each flow end sits exactly on an instant (same cat, pid, tid, ts): the parent's and the child's.
    const sent = instants[parents[child]!]!;
    const received = instants[child]!;
    assert.deepEqual([start.cat, start.pid, start.tid, start.ts], [sent.cat, sent.pid, sent.tid, sent.ts]);
    assert.deepEqual([finish.cat, finish.pid, finish.tid, finish.ts], [received.cat, received.pid, received.tid, received.ts]);
  }
  const lastTs = new Map<string, number>();
  for (const e of all) {
    if (e.ts === undefined) continue;
    const key = `${e.pid}/${e.tid}`;
    assert.ok((lastTs.get(key) ?? 0) <= e.ts, `timestamps on ${key} never go back`);
    lastTs.set(key, e.ts);
  }
});

test('shiviz: the regex line, then an event and a clock line per trace line; clocks respect causality', () => {
  const text = exportTrace('shiviz');
  const out = text.split('\n');
  assert.equal(out[0], shivizRegex);
  assert.equal(out[1], '');
  assert.equal(out.pop(), '');
  const body = out.slice(2);
  assert.equal(body.length, 2 * events.length);
  // The file parses with ShiViz's default regex (its named groups are JavaScript's).
  const regex = new RegExp(shivizRegex.replace('\\n', '\n'), 'g');
  const matches = [...body.join('\n').matchAll(regex)];
  assert.equal(matches.length, events.length);
  const clocks = matches.map((m) => JSON.parse(m.groups!.clock!) as Record<string, number>);
  const hosts = matches.map((m) => m.groups!.host!);
  const parents = parentIndexes(events);
  const counts = new Map<string, number>();
  let checked = 0;
  events.forEach((event, i) => {
    const host = `${event.node}/${event.actor}`;
    assert.equal(hosts[i], host);
    // A host's own entry counts its events 1, 2, 3, ...
    const own = (counts.get(host) ?? 0) + 1;
    counts.set(host, own);
    assert.equal(clocks[i]![host], own);
    const parent = parents[i]!;
    if (parent < 0) return;
    // A delivery's clock dominates its parent's, strictly.
    for (const [other, count] of Object.entries(clocks[parent]!)) assert.ok((clocks[i]![other] ?? 0) >= count, `line ${i + 2} knows ${other}:${count}`);
    assert.ok(clocks[i]![hosts[parent]!]! >= clocks[parent]![hosts[parent]!]!);
    checked += 1;
  });
  assert.ok(checked > events.length / 2, `${checked} deliveries checked`);
  // Concurrency survives: some pair of events on different nodes is unordered.
  const first2 = events.findIndex((e) => e.node === 2 && e.actor === 'controller');
  const first3 = events.findIndex((e) => e.node === 3 && e.actor === 'controller');
  assert.equal(clocks[first2]!['3/controller'] ?? 0, 0);
  assert.equal(clocks[first3]!['2/controller'] ?? 0, 0);
});

test('export of a broken trace is one error line naming the line', () => {
  const run = spawnSync(process.execPath, [cli, 'trace', 'export', join(dir, 'missing.jsonl'), '--format', 'shiviz'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /^logmesh: .*missing\.jsonl: cannot read \(ENOENT\)\n$/);
  const garbled = join(dir, 'garbled.jsonl');
  writeFileSync(garbled, `${trace.lines.slice(0, 2).join('\n')}\n{"t":1,"node":1,\n`);
  const bad = spawnSync(process.execPath, [cli, 'trace', 'export', garbled, '--format', 'perfetto'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /^logmesh: .*garbled\.jsonl:3: not JSON/);
  assert.equal(bad.stderr.split('\n').length, 2);
});
