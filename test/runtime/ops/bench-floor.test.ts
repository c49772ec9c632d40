// The replication floor of `npm run bench -- floor`: the leader's bookkeeping (what is
// acknowledged when, what a follower's fetch gets), the client's framing, the table, and the
// three processes over a real nats-server moving a few batches. Loopback only, ports
// 24270-24271; needs nats-server (skipped without it outside CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloorLeaderLog, FloorSystem, FrameReader, floorFrame } from '../../../runtime/ops/bench-floor.js';
import { floorLayout } from '../../../runtime/ops/bench-floor-run.js';
import { formatTable, lineFromFigures, figuresOf } from '../../../runtime/ops/bench-kafka-report.js';
import { recordsPerBatch } from '../../../runtime/ops/bench-logmesh.js';
import { natsSkip } from '../real-cluster-harness.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

test('the floor leader acknowledges a batch only once it and every follower have it on disk, in order', () => {
  const log = new FloorLeaderLog(2);
  const acked: string[] = [];
  log.append(bytes(10, 1), () => acked.push('a'));
  log.append(bytes(5, 2), () => acked.push('b'));
  log.noteDurable(null, 15);
  log.noteDurable(0, 15);
  assert.equal(acked.length, 0, 'follower 1 has nothing on disk yet');
  log.noteDurable(1, 10);
  assert.deepEqual(acked, ['a']);
  log.noteDurable(1, 15);
  assert.deepEqual(acked, ['a', 'b']);
  log.append(bytes(3, 3), () => acked.push('c'));
  log.noteDurable(0, 18);
  log.noteDurable(1, 18);
  assert.deepEqual(acked, ['a', 'b'], 'the leader has not synced the third batch');
  log.noteDurable(null, 18);
  assert.deepEqual(acked, ['a', 'b', 'c']);
  assert.equal(log.committed, 18);
  log.noteDurable(0, 4);
  assert.equal(log.committed, 18, 'a durable end never goes back');
});

test('a follower\'s fetch gets whole batches from the one holding its offset, at least one, up to the limit', () => {
  const log = new FloorLeaderLog(2);
  log.append(bytes(10, 1), () => {});
  log.append(bytes(10, 2), () => {});
  log.append(bytes(10, 3), () => {});
  assert.equal(log.readFrom(30, 100), null, 'nothing new at the end');
  const fromMiddle = log.readFrom(15, 100)!;
  assert.equal(fromMiddle.start, 10);
  assert.deepEqual(fromMiddle.parts.map((p) => p[0]), [2, 3]);
  assert.deepEqual(log.readFrom(0, 15)!.parts.map((p) => p[0]), [1], 'the second batch would pass the limit');
  assert.deepEqual(log.readFrom(0, 5)!.parts.map((p) => p[0]), [1], 'one batch even when it is larger than the limit');
  // Below both followers' durable ends nothing is read again, so it is let go.
  log.noteDurable(0, 20);
  log.noteDurable(1, 20);
  assert.equal(log.readFrom(25, 100)!.start, 20);
  assert.equal(log.readFrom(0, 100)!.start, 20, 'the first two batches are gone');
});

test('the client\'s frames are found across chunk boundaries and several in one chunk', () => {
  const stream = Buffer.concat([floorFrame(1, bytes(3, 7)), floorFrame(2), floorFrame(3, bytes(1000, 9))]);
  for (const cut of [1, 5, 8, 11, 12, 20, stream.length - 1]) {
    const reader = new FrameReader();
    const frames: Array<[number, number]> = [];
    reader.push(stream.subarray(0, cut), (id, body) => frames.push([id, body.length]));
    reader.push(stream.subarray(cut), (id, body) => frames.push([id, body.length]));
    assert.deepEqual(frames, [[1, 3], [2, 0], [3, 1000]], `cut at ${cut}`);
  }
});

test('the floor table: its four columns, then logmesh ÷ floor and each ÷ JetStream', () => {
  const line = lineFromFigures('produce 1 KiB, MB/s', { 'logmesh R3': 10, 'JetStream R3': 20, 'floor R3': 40, 'floor R3 no fsync': 'failed: start: no nats-server' }, floorLayout);
  const figures = figuresOf(line, floorLayout);
  assert.equal(figures['logmesh R3 ÷ floor R3'], 0.25);
  assert.equal(figures['logmesh R3 ÷ JetStream R3'], 0.5);
  assert.equal(figures['floor R3 ÷ JetStream R3'], 2);
  assert.equal(figures['floor R3 no fsync ÷ JetStream R3'], undefined);
  const table = formatTable([line], floorLayout).split('\n');
  assert.match(table[0]!, /\| metric +\| logmesh R3 \| JetStream R3 \| floor R3 \| floor R3 no fsync \| logmesh R3 ÷ floor R3 \|/);
  assert.match(table[2]!, /\| +10\.0 \| +20\.0 \| +40\.0 \| +failed \[1\] \| +0\.25 \| +0\.50 \| +2\.00 \| +- \|$/);
  assert.equal(table[4], '[1] floor R3 no fsync: start: no nats-server');
});

test('the floor\'s three processes move batches to both followers\' files and acknowledge each', { skip: natsSkip, timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-floor-test-'));
  const system = await FloorSystem.start({ dataDir, natsPort: 24270, leaderPort: 24271, sync: true });
  try {
    const sender = await system.sender(1024, 3);
    const perBatch = recordsPerBatch(1024);
    await Promise.all([sender.send(new Array(perBatch).fill(0)), sender.send(new Array(5).fill(0)), sender.send([0])]);
    await sender.send(new Array(perBatch).fill(0));
    const leader = readFileSync(join(dataDir, 'leader.log'));
    assert.ok(leader.length > 2 * perBatch * 1024, `the leader's file holds ${leader.length} bytes`);
    // Acknowledged means on disk at both followers: their files are the leader's, byte for byte.
    for (const follower of [0, 1]) assert.ok(readFileSync(join(dataDir, `follower-${follower}.log`)).equals(leader), `follower ${follower}`);
  } finally {
    await system.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
