// `logmesh dev --nats`: nats-server and three node processes on loopback, every line prefixed
// by its process, a working cluster behind the Kafka port, and Ctrl-C stopping all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaClient } from '../../../runtime/kafka/client.js';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { cliPath, dumpOutputs, exitedWithin, freePort, natsSkip, signal, startChild, waitFor } from '../real-cluster-harness.js';

// Below the kernel's ephemeral range (32768-60999), so no outgoing connection holds it; unique among the tests.
const kafkaPort = 25092;

test('logmesh dev --nats runs nats-server and three nodes, prefixes their lines, and stops them on SIGINT', { skip: natsSkip, timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logmesh-dev-'));
  const natsPort = await freePort();
  const dev = startChild('dev', process.execPath, [cliPath, 'dev', '--nats', '--data', dataDir, '--nats-port', String(natsPort),
    '--kafka-port', String(kafkaPort), '--metrics-port', '0']);
  let passed = false;
  try {
    await waitFor('three brokers behind the Kafka port', 40_000, async () => {
      const client = await KafkaClient.connect(kafkaPort).catch(() => null);
      if (client === null) return undefined;
      try {
        const metadata = await client.request(ApiKeys.Metadata, 1, { topics: [] }, 2000);
        return metadata.brokers.length === 3 ? true : undefined;
      } catch {
        return undefined;
      } finally {
        client.close();
      }
    });
    const lines = dev.output.join('\n');
    for (const name of ['nats', 'node-1', 'node-2', 'node-3']) assert.match(lines, new RegExp(`^\\[${name}\\] `, 'm'), `lines of ${name} are prefixed`);
    signal(dev, 'SIGINT');
    assert.ok(await exitedWithin(dev, 30_000), 'dev stops on SIGINT');
    assert.equal(dev.exitInfo, 'code 0');
    const after = dev.output.join('\n');
    for (const name of ['node-1', 'node-2', 'node-3', 'nats']) assert.match(after, new RegExp(`^\\[${name}\\] exited`, 'm'), `${name} stopped`);
    passed = true;
  } finally {
    // SIGINT first, so that dev stops the processes it started; SIGKILL only if it will not.
    if (!(await exitedWithin(dev, 0))) {
      signal(dev, 'SIGINT');
      if (!(await exitedWithin(dev, 20_000))) signal(dev, 'SIGKILL');
    }
    if (!passed) dumpOutputs([dev]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
