// Mesh security: the envelope seal (mesh.secret), nats-server credentials and TLS.
// - A node started with a wrong NATS password exits non-zero with one line naming the keys.
// - A node with credentials and a mesh.secret answers a member; envelopes published on its
//   subject by a process that is not a member (no seal, or another secret) are refused,
//   counted in logmesh_mesh_envelopes_dropped_total{reason="unauthenticated"} and logged once.
// - A client reaches a TLS nats-server that wants an nkey only with the CA and the right seed.
//
// Needs nats-server (skipped without it outside CI) and, for TLS, openssl. Loopback only, ports
// 24090-24099; every process started is stopped by PID in `after`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from 'nats';
import pino from 'pino';
import { controllerActorId } from '../../actors/controller/controller-machine.js';
import { encodeEnvelope, encodePayload } from '../../actors/protocol/codec.js';
import { ConfigError, parseConfig } from '../../runtime/ops/config.js';
import { silentLogger } from '../../runtime/ops/logger.js';
import { MeshClient } from '../../runtime/ops/mesh-client.js';
import { type MeshConfig, connectMesh, openMesh } from '../../runtime/ops/mesh-connect.js';
import { MeshAuthenticator, authenticatedTransport, refusalLogIntervalMs } from '../../runtime/transport/mesh-auth.js';
import type { Transport } from '../../runtime/kernel/ports.js';
import {
  type Child, assertPrerequisites, dumpOutputs, exitedWithin, natsSkip, startChild, startNatsServer, stopChild,
  waitFor, watchLogMessages, cliPath, writeServerProperties,
} from './real-cluster-harness.js';

const natsPort = 24090;
const tlsNatsPort = 24093;
const listenerPort = 24091;
const metricsPort = 24092;
const secret = 'a-cluster-secret-of-some-length';
const children: Child[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'logmesh-mesh-security-'));
let failed = false;

after(async () => {
  if (failed) dumpOutputs(children);
  await Promise.all(children.filter((c) => !c.name.startsWith('nats')).map(stopChild));
  await Promise.all(children.filter((c) => c.name.startsWith('nats')).map(stopChild));
  rmSync(tmp, { recursive: true, force: true });
});

function track(child: Child): Child {
  children.push(child);
  return child;
}

const envelope = (clusterId: string) => encodeEnvelope({
  clusterId, from: { node: 7, actor: 'x' }, to: { node: 1, actor: controllerActorId }, kind: 'DescribeQuorumRequest',
  payload: encodePayload('DescribeQuorumRequest', { requestId: 'r' }), msgId: '7:1', parentId: '',
});

test('the seal: the same secret and cluster open a frame; another secret, another cluster, a flipped bit or no seal do not', () => {
  const member = new MeshAuthenticator(secret, 'c1');
  const bytes = envelope('c1');
  const frame = member.seal(bytes);
  const opened = new MeshAuthenticator(secret, 'c1').open(frame);
  assert.ok('envelope' in opened && Buffer.from(opened.envelope).equals(bytes), 'the envelope comes out as it went in');
  assert.deepEqual(new MeshAuthenticator('another-secret-0123456789', 'c1').open(frame), { refused: 'bad_tag' });
  assert.deepEqual(new MeshAuthenticator(secret, 'c2').open(frame), { refused: 'bad_tag' }, 'the key depends on the cluster id');
  const flipped = frame.slice();
  flipped[flipped.length - 1]! ^= 1;
  assert.deepEqual(member.open(flipped), { refused: 'bad_tag' });
  assert.deepEqual(member.open(bytes), { refused: 'untagged' }, 'a bare envelope');
  assert.deepEqual(member.open(new Uint8Array(5)), { refused: 'untagged' }, 'too short for a tag');
  assert.throws(() => new MeshAuthenticator('short', 'c1'), /at least 16 bytes/);
});

test('refused frames are all counted but logged at most once per interval', () => {
  let handler: (bytes: Uint8Array) => void = () => {};
  const inner: Transport = { send: () => {}, onReceive: (h) => { handler = h; }, close: async () => {} };
  const lines: unknown[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(JSON.parse(line)); } });
  let now = 0;
  const reasons: string[] = [];
  const delivered: Uint8Array[] = [];
  const transport = authenticatedTransport(inner, {
    authenticator: new MeshAuthenticator(secret, 'c1'), logger, onRefused: (reason) => reasons.push(reason), now: () => now,
  });
  transport.onReceive((bytes) => delivered.push(bytes));
  for (let i = 0; i < 50; i++) handler(envelope('c1'));
  now += refusalLogIntervalMs;
  handler(envelope('c1'));
  handler(new MeshAuthenticator(secret, 'c1').seal(envelope('c1')));
  assert.equal(reasons.length, 51);
  assert.equal(delivered.length, 1, 'only the sealed frame goes on');
  assert.equal(lines.length, 2, 'one line at the first refusal, one after the interval');
  assert.equal((lines[1] as { refused: number }).refused, 50, 'the second line says how many since the first');
});

test('mesh security keys: parsed, paired, and the secret long enough', () => {
  const base = 'node.id=1\ncontroller.quorum.voters=1\nlog.dirs=/tmp/x\n';
  const config = parseConfig(`${base}nats.user=u\nnats.password=p\nmesh.secret=${secret}\nnats.tls.ca.file=/ca.pem\n`, 'f');
  assert.deepEqual([config.natsUser, config.natsPassword, config.meshSecret, config.natsTlsCaFile, config.natsNkeySeedFile], ['u', 'p', secret, '/ca.pem', null]);
  assert.throws(() => parseConfig(`${base}nats.password=p\n`, 'f'), (e: Error) => e instanceof ConfigError && /nats\.password is set without nats\.user/.test(e.message));
  assert.throws(() => parseConfig(`${base}nats.tls.cert.file=/c\n`, 'f'), /nats\.tls\.cert\.file is set without nats\.tls\.key\.file/);
  assert.throws(() => parseConfig(`${base}mesh.secret=short\n`, 'f'), /f:4: mesh\.secret: expected at least 16 bytes/);
});

test('a node with a wrong NATS password stops with one line naming the keys; a sealed cluster refuses and counts forged envelopes', {
  timeout: 90_000, skip: natsSkip,
}, async () => {
  failed = true;
  const binary = assertPrerequisites();
  track(await startNatsServer(binary, natsPort, 'nats-server (user/password)', startChild, ['--user', 'logmesh', '--pass', 'right-password']));
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const clusterId = 'sealed';
  const writeConfig = (file: string, password: string) => writeServerProperties(file, {
    nodeId: 1, voters: [1], clusterId, logDir: join(tmp, 'node-1'), natsUrl, listenerPort,
    extraLines: ['nats.user=logmesh', `nats.password=${password}`, `mesh.secret=${secret}`, `metrics.port=${metricsPort}`, 'offsets.topic.replication.factor=1'],
  });

  // -- 1. the wrong password: a non-zero exit and one line on stderr naming the keys
  writeConfig(join(tmp, 'wrong.properties'), 'wrong-password');
  const wrong = track(startChild('node-1 (wrong password)', process.execPath, [cliPath, 'node', '--config', join(tmp, 'wrong.properties')]));
  assert.ok(await exitedWithin(wrong, 20_000), 'the node with the wrong password exits');
  assert.equal(wrong.exitInfo, 'code 78', 'a configuration error');
  const stderr = wrong.output.filter((o) => o.startsWith('[stderr] ')).join('').replaceAll('[stderr] ', '').trim().split('\n');
  assert.equal(stderr.length, 1, `one line: ${JSON.stringify(stderr)}`);
  assert.match(stderr[0]!, /^logmesh: nats\.user\/nats\.password: nats-server at nats:\/\/127\.0\.0\.1:24090 refused the credentials/);
  assert.doesNotMatch(stderr[0]!, /wrong-password/, 'the password is not printed');

  // -- 2. the right password: a member (sealed) is answered, non-members are refused and counted
  writeConfig(join(tmp, 'right.properties'), 'right-password');
  const node = track(startChild('node-1', process.execPath, [cliPath, 'node', '--config', join(tmp, 'right.properties')]));
  const refusedLines = watchLogMessages(node, (msg) => msg.startsWith('refused '));
  const mesh = (meshSecret: string | null): MeshConfig => ({
    ...openMesh, clusterId, natsServers: [natsUrl], natsUser: 'logmesh', natsPassword: 'right-password', meshSecret,
  });
  const client = (nodeId: number, meshSecret: string | null) => connectMesh(mesh(meshSecret), { nodeId, logger: silentLogger })
    .then((transport) => new MeshClient(nodeId, clusterId, transport));
  const member = await client(900_001, secret);
  const outsider = await client(900_002, null);
  const otherSecret = await client(900_003, 'not-the-cluster-secret-at-all');
  try {
    const describe = (c: MeshClient, timeoutMs: number) => c.request({ node: 1, actor: controllerActorId }, 'DescribeQuorumRequest',
      { requestId: c.nextRequestId() }, 'DescribeQuorumResponse', timeoutMs);
    await waitFor('node 1 to answer a member', 20_000, async () => {
      if (node.exitInfo !== null) throw new Error(`node 1 exited (${node.exitInfo})`);
      return (await describe(member, 500)) ?? undefined;
    });
    assert.equal(await describe(outsider, 1500), null, 'an unsealed envelope gets no answer');
    assert.equal(await describe(otherSecret, 1500), null, 'an envelope sealed with another secret gets no answer');
    const counted = await waitFor('the refusals in /metrics', 10_000, async () => {
      const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
      const match = /^logmesh_mesh_envelopes_dropped_total\{node="1",reason="unauthenticated"\} (\d+)$/m.exec(text);
      return match !== null && Number(match[1]) >= 2 ? Number(match[1]) : undefined;
    });
    assert.equal(counted, 2, 'each forged envelope counted once');
    assert.equal(refusedLines.length, 1, 'two refusals within the interval: one log line');
    assert.ok((await describe(member, 2000)) !== null, 'the member is still answered');
  } finally {
    await Promise.all([member.close(), outsider.close(), otherSecret.close()]);
  }
  failed = false;
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tlsSkip = natsSkip !== false ? natsSkip : (!hasOpenssl() && process.env.CI !== 'true' ? 'openssl not found' : false);

test('TLS and nkeys towards nats-server: the CA and the right seed connect; no CA or another seed is one ConfigError line', {
  timeout: 60_000, skip: tlsSkip,
}, async () => {
  failed = true;
  const binary = assertPrerequisites();
  const file = (name: string) => join(tmp, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', '/CN=logmesh test CA');
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '1', '-extfile', file('san.ext'));
  const user = nkeys.createUser();
  writeFileSync(file('user.nk'), new TextDecoder().decode(user.getSeed()));
  writeFileSync(file('other.nk'), new TextDecoder().decode(nkeys.createUser().getSeed()));
  writeFileSync(file('nats.conf'), [
    `tls { cert_file: "${file('server.crt')}", key_file: "${file('server.key')}" }`,
    `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }`,
  ].join('\n'));
  track(await startNatsServer(binary, tlsNatsPort, 'nats-server (tls, nkey)', startChild, ['-c', file('nats.conf')]));
  const mesh = (overrides: Partial<MeshConfig>): MeshConfig => ({
    ...openMesh, clusterId: 'tls', natsServers: [`nats://127.0.0.1:${tlsNatsPort}`], natsNkeySeedFile: file('user.nk'), natsTlsCaFile: file('ca.crt'), ...overrides,
  });
  const transport = await connectMesh(mesh({}), { nodeId: 1, logger: silentLogger });
  await transport.close();
  await assert.rejects(connectMesh(mesh({ natsTlsCaFile: null }), { nodeId: 1, logger: silentLogger }),
    (e: Error) => e instanceof ConfigError && /^nats\.tls\.ca\.file\/nats\.tls\.cert\.file: TLS to nats-server at nats:\/\/127\.0\.0\.1:24093 failed/.test(e.message) && !e.message.includes('\n'));
  await assert.rejects(connectMesh(mesh({ natsNkeySeedFile: file('other.nk') }), { nodeId: 1, logger: silentLogger }),
    (e: Error) => e instanceof ConfigError && /^nats\.nkey\.seed\.file: nats-server at .* refused the credentials/.test(e.message));
  failed = false;
});

