import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../../runtime/ops/cli.js');

function logmesh(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('logmesh sim prints progress and one JSON line; the same seed gives the same hash', () => {
  const args = ['sim', '--seed', '42', '--nodes', '3', '--duration', '60s', '--faults', 'partition,crash,drop'];
  const first = logmesh(args);
  const second = logmesh(args);
  const other = logmesh(['sim', '--seed', '43', '--nodes', '3', '--duration', '60s', '--faults', 'partition,crash,drop']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /\[sim\] seed 42 faults t=10s\/60s/);
  const lines = first.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const result = JSON.parse(lines[0]!) as { seed: number; traceHash: string; violations: number };
  assert.equal(result.seed, 42);
  assert.equal(result.violations, 0);
  assert.match(result.traceHash, /^[0-9a-f]{64}$/);
  assert.equal((JSON.parse(second.stdout) as { traceHash: string }).traceHash, result.traceHash);
  assert.notEqual((JSON.parse(other.stdout) as { traceHash: string }).traceHash, result.traceHash);
});

test('a failing seed prints the command that reproduces it', () => {
  // With the leader committing without a quorum, most seeds break; find one among the first few.
  const failing = [1, 2, 3, 4, 5].map((seed) => ({ seed, run: logmesh(['sim', '--seed', String(seed), '--duration', '30s', '--quiet', '--bug', 'commit-without-quorum']) }))
    .find(({ run }) => run.status !== 0);
  assert.ok(failing !== undefined, 'none of seeds 1..5 failed with commit-without-quorum');
  assert.equal(failing.run.status, 1);
  assert.match(failing.run.stderr, /VIOLATION committed-agreement/);
  assert.ok(failing.run.stderr.includes(`reproduce with: npx logmesh sim --seed ${failing.seed} --nodes 3 --duration 30s --faults partition,crash,drop --workload mixed --bug commit-without-quorum`));
  assert.equal((JSON.parse(failing.run.stdout) as { violations: number }).violations > 0, true);
});

test('bad flags and bad config files end with one line and a non-zero exit', () => {
  const cases = [
    ['sim', '--bogus'],
    ['sim', '--faults', 'meteor'],
    ['sim', '--duration', 'soon'],
    ['sim', '--nodes', 'many'],
    ['sim', '--workload', 'everything'],
    ['frobnicate'],
  ];
  for (const args of cases) {
    const run = logmesh(args);
    assert.notEqual(run.status, 0, args.join(' '));
    assert.equal(run.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${run.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-cli-'));
  try {
    const file = join(dir, 'server.properties');
    writeFileSync(file, 'node.id=1\ncontroller.quorum.voters=1\nlog.dirs=/tmp/x\nlog.flush.sometimes=yes\n');
    const run = logmesh(['node', '--config', file]);
    assert.equal(run.status, 78);
    assert.equal(run.stderr.trim(), `logmesh: ${file}:4: unknown key "log.flush.sometimes"`);
    const missing = logmesh(['node', '--config', join(dir, 'nope.properties')]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr.trim(), /nope\.properties: cannot read \(ENOENT\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
