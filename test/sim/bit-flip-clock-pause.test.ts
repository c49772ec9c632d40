// The bit-flip and clock-pause faults: their schedule text, what each does to a run, and that
// runs with them stay deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceEvent } from '../../runtime/kernel/ports.js';
import { parseFaults } from '../../sim/nemesis.js';
import { runSimulation } from '../../sim/run.js';
import { formatSchedule, parseSchedule } from '../../sim/schedule.js';

test('bit-flip and clock-pause faults round-trip through the schedule text', () => {
  const text = 'bit-flip@5120+0:2:events-1:37:90:3,clock-pause@8000+4500:3,bit-flip@9000+0:1:__consumer_offsets-2:0:21:7';
  const schedule = parseSchedule(text);
  assert.deepEqual(schedule[0], { kind: 'bit-flip', atMs: 5120, lastsMs: 0, node: 2, actorId: 'events-1', firstOffset: 37, byte: 90, bit: 3 });
  assert.deepEqual(schedule[1], { kind: 'clock-pause', atMs: 8000, lastsMs: 4500, node: 3 });
  assert.equal(formatSchedule(schedule), text);
  assert.throws(() => parseSchedule('bit-flip@1+0:2:events-1:37:90:8'), /a bit \(0-7\)/);
  assert.throws(() => parseSchedule('bit-flip@1+0:2:events-1:37:90'), /bit-flip takes 5 details/);
  assert.throws(() => parseSchedule('clock-pause@1+100'), /clock-pause takes 1 detail/);
  assert.deepEqual(parseFaults('bit-flip,clock-pause'), ['bit-flip', 'clock-pause']);
  assert.throws(() => parseFaults('bit-flop'), /unknown fault "bit-flop" \(known: .*bit-flip, clock-pause, power-loss\)/);
  assert.deepEqual(parseSchedule('power-loss@10688+1804'), [{ kind: 'power-loss', atMs: 10688, lastsMs: 1804 }]);
  assert.equal(formatSchedule(parseSchedule('power-loss@10688+1804')), 'power-loss@10688+1804');
  assert.throws(() => parseSchedule('power-loss@1+100:3'), /power-loss takes 0 details/);
});

test('a bit flipped in a follower\'s log is found by its scrub, cut in recovery, and the checkers stay silent', () => {
  const result = runSimulation({ seed: 3, nodes: 3, durationMs: 30_000, faults: ['bit-flip'], workload: 'produce-consume' });
  assert.ok((result.faults['bit-flip'] ?? 0) > 0, 'a bit was flipped');
  assert.ok(result.disk.bitFlips! > 0);
  // The scrub read failed its CRC check, the node halted, and recovery cut the batch.
  assert.ok(result.disk.corruptReads! > 0, 'the corrupt batch was read and refused');
  assert.ok(result.disk.batchesCutInRecovery! > 0, 'recovery cut the log at the corrupt batch');
  assert.ok(result.workload.recordsAcked > 0);
  assert.equal(result.violations, 0, JSON.stringify(result.violationDetails));
});

test('a replayed bit flip hits the batch and bit its schedule names', () => {
  const drawn = runSimulation({ seed: 3, nodes: 3, durationMs: 30_000, faults: ['bit-flip'], workload: 'produce-consume' });
  const replayed = runSimulation({
    seed: 3, nodes: 3, durationMs: 30_000, faults: ['bit-flip'], workload: 'produce-consume', faultSchedule: drawn.faultSchedule,
  });
  assert.equal(formatSchedule(replayed.faultSchedule), formatSchedule(drawn.faultSchedule));
  // The same run, line for line (the trace's header line names the schedule, so the hashes differ).
  assert.equal(replayed.traceLines, drawn.traceLines);
  assert.deepEqual(replayed.disk, drawn.disk);
  assert.equal(replayed.violations, 0);
});

test('a paused node handles nothing until it resumes, then what waited, while the others go on', () => {
  const pausedNode = 2;
  const fromMs = 12_000;
  const lastsMs = 4000;
  const events: TraceEvent[] = [];
  const result = runSimulation({
    seed: 5, nodes: 3, durationMs: 25_000, faults: ['clock-pause'], workload: 'produce-consume',
    faultSchedule: parseSchedule(`clock-pause@${fromMs}+${lastsMs}:${pausedNode}`),
    onTraceLine: (line) => {
      const event = JSON.parse(line) as TraceEvent;
      if (event.t >= fromMs - 1000 && event.t <= fromMs + lastsMs + 1000) events.push(event);
      return false;
    },
  });
  assert.equal(result.faults['clock-pause'], 1);
  const onNode = (e: TraceEvent): boolean => e.node === pausedNode && e.actor !== 'nemesis';
  const inside = events.filter((e) => onNode(e) && e.t > fromMs && e.t < fromMs + lastsMs);
  assert.deepEqual(inside, [], 'no actor on the paused node handled anything during the pause');
  assert.ok(events.some((e) => onNode(e) && e.t < fromMs), 'the node was busy before the pause');
  const atResume = events.filter((e) => onNode(e) && e.t === fromMs + lastsMs);
  assert.ok(atResume.some((e) => e.from !== undefined), 'messages sent to it during the pause are delivered at resume');
  assert.ok(atResume.some((e) => e.kind.endsWith('Fired') || e.kind.endsWith('Expired')), 'its timers fire late, at resume');
  assert.ok(events.some((e) => e.node !== pausedNode && e.node <= 3 && e.t > fromMs && e.t < fromMs + lastsMs), 'the other nodes went on');
  assert.equal(result.violations, 0, JSON.stringify(result.violationDetails));
});

test('runs with bit flips and clock pauses are deterministic: same seed, same trace hash', () => {
  const options = { seed: 4, nodes: 3, durationMs: 40_000, faults: ['bit-flip', 'clock-pause'] as const };
  const a = runSimulation({ ...options, faults: [...options.faults] });
  const b = runSimulation({ ...options, faults: [...options.faults] });
  assert.equal(a.traceHash, b.traceHash);
  assert.equal(a.events, b.events);
  assert.equal(formatSchedule(a.faultSchedule), formatSchedule(b.faultSchedule));
  assert.ok((a.faults['clock-pause'] ?? 0) > 0 && (a.faults['bit-flip'] ?? 0) > 0, `both kinds injected: ${JSON.stringify(a.faults)}`);
  assert.equal(a.violations, 0, JSON.stringify(a.violationDetails));
});
