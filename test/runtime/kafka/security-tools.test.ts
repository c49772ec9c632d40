// `logmesh users` and `logmesh acls` as child processes against a one-node cluster in this
// process with a SASL_SSL listener and the authorizer on (port 22110): the bootstrap admin
// adds a user and ACLs, the user can then log in and write, and the tools' mistakes are one
// line each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { cliPath } from '../real-cluster-harness.js';
import { startSingleNode, waitUntil } from './single-node.js';
import { makeTestCertificates } from './tls-fixtures.js';

const port = 22110;
const bootstrap = `127.0.0.1:${port}`;

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs `logmesh <args>`; killed (by PID) if it outlives the limit. */
function logmesh(args: string[], running: Set<ChildProcess>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGMESH_LOG_LEVEL: 'warn' } });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ status: code, stdout, stderr });
    });
  });
}

test('logmesh users and acls: the bootstrap admin creates a user and her ACLs; she logs in and writes', { timeout: 180_000 }, async () => {
  const certs = makeTestCertificates();
  const running = new Set<ChildProcess>();
  const node = await startSingleNode([
    `ssl.certificate.location=${certs.certPath}`, `ssl.key.location=${certs.keyPath}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users=User:admin', 'sasl.bootstrap.users=admin:admin-secret',
  ], null, { port, protocol: 'SASL_SSL', clientSecurity: { tls: { ca: readFileSync(certs.caPath) }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'admin-secret' } } });
  const adminConfig = join(certs.dir, 'admin.properties');
  writeFileSync(adminConfig, [
    'security.protocol=SASL_SSL', 'sasl.mechanisms=SCRAM-SHA-256', 'sasl.username=admin', 'sasl.password=admin-secret', `ssl.ca.location=${certs.caPath}`,
  ].join('\n'));
  const aliceConfig = join(certs.dir, 'alice.properties');
  writeFileSync(aliceConfig, ['security.protocol=SASL_SSL', 'sasl.mechanism=PLAIN', 'sasl.username=alice', 'sasl.password=wonder', `ssl.ca.location=${certs.caPath}`].join('\n'));
  const as = (config: string, toolArgs: string[]) => logmesh([...toolArgs, '--bootstrap-server', bootstrap, '--command-config', config], running);
  const ok = async (config: string, toolArgs: string[]): Promise<string> => {
    const run = await as(config, toolArgs);
    assert.equal(run.status, 0, `logmesh ${toolArgs.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  try {
    const admin = await node.connect();
    const created = await admin.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'payments', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, 0);

    assert.match(await ok(adminConfig, ['users', '--add', 'alice', '--mechanism', 'SCRAM-SHA-512', '--password', 'wonder', '--iterations', '8192']), /Added SCRAM-SHA-512 credential for alice/);
    assert.deepEqual(JSON.parse(await ok(adminConfig, ['users', '--list', '--json'])), [{ user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }] }]);

    // Alice authenticates (PLAIN checks against her SCRAM credential) but may not list ACLs yet.
    const refused = await as(aliceConfig, ['acls', '--list']);
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr.trim(), 'logmesh: acls --list: CLUSTER_AUTHORIZATION_FAILED: Cluster authorization failed.');

    await ok(adminConfig, ['acls', '--add', '--allow-principal', 'User:alice', '--operation', 'WRITE', '--operation', 'DESCRIBE', '--topic', 'pay', '--resource-pattern-type', 'prefixed']);
    const listed = JSON.parse(await ok(adminConfig, ['acls', '--list', '--json'])) as Array<Record<string, string>>;
    assert.deepEqual(listed.map((a) => [a.resourceType, a.resourceName, a.patternType, a.principal, a.operation, a.permissionType]), [
      ['TOPIC', 'pay', 'PREFIXED', 'User:alice', 'WRITE', 'ALLOW'], ['TOPIC', 'pay', 'PREFIXED', 'User:alice', 'DESCRIBE', 'ALLOW'],
    ]);
    const alice = await node.connect({ tls: { ca: readFileSync(certs.caPath) }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'wonder' } });
    const records = encodeRecordBatch([{ key: null, value: new TextEncoder().encode('paid') }]);
    const produce = async () => (await alice.request(ApiKeys.Produce, 7, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'payments', partitionData: [{ index: 0, records }] }] }))
      .responses[0]!.partitionResponses[0]!.errorCode;
    await waitUntil('alice to write payments', 10_000, async () => ((await produce()) === ErrorCode.NONE ? true : undefined));

    assert.match(await ok(adminConfig, ['acls', '--remove', '--allow-principal', 'User:alice', '--operation', 'WRITE', '--topic', 'pay', '--resource-pattern-type', 'prefixed']), /WRITE/);
    assert.equal(await produce(), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.match(await ok(adminConfig, ['users', '--remove', 'alice', '--mechanism', 'SCRAM-SHA-512']), /Removed/);
    const gone = await as(aliceConfig, ['users', '--list']);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /^logmesh: cannot authenticate to 127\.0\.0\.1:22110: SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password\n$/);

    // Usage mistakes: one line each, before connecting.
    const both = await as(adminConfig, ['acls', '--add', '--list']);
    assert.equal(both.stderr, 'logmesh: acls: give exactly one of --add, --list, --remove\n');
    const noPassword = await as(adminConfig, ['users', '--add', 'bob']);
    assert.equal(noPassword.stderr, 'logmesh: users --add: --password is required\n');
    const badKey = join(certs.dir, 'bad.properties');
    writeFileSync(badKey, 'sasl.jaas.config=x\n');
    const bad = await as(badKey, ['users', '--list']);
    assert.match(bad.stderr, /^logmesh: .*bad\.properties:1: unknown key "sasl\.jaas\.config"/);
    assert.equal(node.fatal(), null);
  } finally {
    for (const child of running) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await node.stop();
    certs.remove();
  }
});
