// The V8 settings of a node process (runtime/ops/node-flags.ts) are given wherever a node is
// started: the processes `logmesh dev`, the benches and the chaos runner start (they pass
// nodeV8Flags), `npm start` (package.json) and the `logmesh` command itself (its #! line).
// The last two cannot import the list, so this test holds them to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeV8Flags } from '../../../runtime/ops/node-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..', '..');
const cliPath = resolve(here, '..', '..', '..', 'runtime', 'ops', 'cli.js');

test('npm start and the logmesh command run node with the node flags', () => {
  const scripts = (JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const start = scripts.start!;
  const nodeCommand = start.slice(start.indexOf('node '));
  assert.ok(nodeCommand.startsWith(`node ${nodeV8Flags.join(' ')} dist/runtime/ops/cli.js embedded`), `npm start: ${start}`);
  const shebang = readFileSync(cliPath, 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S node ${nodeV8Flags.join(' ')}`);
  // The #! line works as written: env -S splits it, and node accepts every flag.
  const run = spawnSync('/usr/bin/env', ['-S', `${shebang.slice('#!/usr/bin/env -S '.length)} -e process.stdout.write(JSON.stringify(process.execArgv))`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  for (const flag of nodeV8Flags) assert.ok((JSON.parse(run.stdout) as string[]).includes(flag), run.stdout);
});
