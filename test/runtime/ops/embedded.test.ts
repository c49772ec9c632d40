// `npm start` runs the embedded cluster: three nodes in one process elect a controller
// leader, register their brokers, keep data under the data directory, and stop cleanly on
// Ctrl-C (SIGINT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../../../runtime/ops/cli.js');

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the embedded cluster elects a leader, registers three brokers and stops on SIGINT', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-embedded-'));
  // Ports apart from the defaults, which the end-to-end client test uses at the same time.
  const child = spawn(process.execPath, [cli, 'embedded', '--data', dataDir, '--kafka-port', '19092', '--metrics-port', '19401'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += String(chunk); });
  child.stderr.on('data', (chunk) => { output += String(chunk); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => /controller is now leader/.test(output), 20_000, 'a controller leader');
    await waitFor(() => (output.match(/broker is now running/g) ?? []).length === 3, 20_000, 'three registered brokers');
    for (const node of [1, 2, 3]) {
      assert.ok(existsSync(join(dataDir, `node-${node}`, '__cluster_metadata', 'controller', 'quorum-state')), `node ${node} persisted its quorum state`);
    }
    // Each node serves its own Prometheus metrics on its own port (127.0.0.1:9400+N by default).
    for (const node of [1, 2, 3]) {
      const response = await fetch(`http://127.0.0.1:${19400 + node}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, new RegExp(`logmesh_mesh_envelopes_sent_total\\{node="${node}"\\} [1-9]`));
    }
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000))]);
    assert.equal(code, 0, output.slice(-2000));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
