// Controlled shutdown on SIGTERM, with three real node processes on a real nats-server: the
// node that leads partitions is sent SIGTERM; before it exits (with status 0) the committed
// metadata must show it leading nothing, out of every ISR and fenced, and the other nodes
// lead every partition. Loopback only; every process is stopped by PID in `after`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealCluster, assertPrerequisites, exitedWithin, natsSkip, signal, waitFor } from './real-cluster-harness.js';

const voters = [1, 2, 3];
const topic = 'shutdown-orders';
const cluster = new RealCluster(voters, 'logmesh-real-shutdown-');
let passed = false;

after(async () => {
  await cluster.tearDown(passed);
});

test('SIGTERM moves a node\'s leadership away and out of the ISRs before it exits 0', { skip: natsSkip, timeout: 120_000 }, async () => {
  const natsServer = assertPrerequisites();
  await cluster.setUp(natsServer);
  cluster.startNodes();
  const client = await cluster.connectClient();
  const controller = await client.waitForLeader('a stable controller leader', voters, 20_000);
  await client.waitForLiveBrokers(controller.nodeId, 3, 15_000);
  client.leaderGuess = controller.nodeId;
  await client.createTopic(topic, 6, 3, 15_000);

  // A victim that leads partitions and is not the controller (so the controller stays put).
  const { victim } = await waitFor('every partition led, with a full ISR', 20_000, async () => {
    const { image } = await client.fetchCommitted(controller.nodeId);
    const partitions = image.topicsByName.get(topic)?.partitions ?? [];
    if (partitions.length !== 6 || partitions.some((p) => p.leader < 0 || p.isr.length !== 3)) return undefined;
    const leaders = new Set(partitions.map((p) => p.leader));
    const candidate = voters.find((id) => id !== controller.nodeId && leaders.has(id));
    return candidate === undefined ? undefined : { victim: candidate };
  });
  const child = cluster.nodes.get(victim)!;
  signal(child, 'SIGTERM');
  assert.ok(await exitedWithin(child, 40_000), `node ${victim} exited after SIGTERM`);
  assert.equal(child.exitInfo, 'code 0', `node ${victim} exited with status 0`);
  assert.match(child.output.join('\n'), /leadership moved away/);

  const survivor = await client.waitForLeader('the controller still leading', voters.filter((id) => id !== victim), 20_000);
  const { image } = await client.fetchCommitted(survivor.nodeId);
  const partitions = image.topicsByName.get(topic)!.partitions;
  for (const p of partitions) {
    assert.notEqual(p.leader, victim, `partition ${p.partition} is not led by the stopped node`);
    assert.ok(p.leader >= 0, `partition ${p.partition} has a leader`);
    assert.ok(!p.isr.includes(victim), `partition ${p.partition}: the stopped node left the ISR (${p.isr.join(',')})`);
  }
  assert.equal(image.brokers.get(victim)?.fenced, true, 'the stopped node is fenced');
  passed = true;
});
