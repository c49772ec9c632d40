// Three real node processes on a real nats-server: they elect a controller leader; after
// `kill -9` of the leader the survivors elect a new one in a higher term, and every metadata
// record committed before the kill is still in the new leader's committed log.
//
// Needs `nats-server` on the PATH (or at /usr/sbin/nats-server, or in $NATS_SERVER); the test
// is skipped when none is found, except under CI (CI=true), where .ci/run installs it and a
// missing server is a failure. Loopback only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealCluster, assertPrerequisites, exitedWithin, natsSkip, signal, waitFor } from './real-cluster-harness.js';

const voters = [1, 2, 3];
const cluster = new RealCluster(voters, 'logmesh-real-quorum-');
let passed = false;

// Failed, threw or timed out: show what the processes said; then stop every child by PID.
after(() => cluster.tearDown(passed));

test('three node processes on a real nats-server survive kill -9 of the controller leader', {
  timeout: 120_000, skip: natsSkip,
}, async (t) => {
  const natsServer = assertPrerequisites();
  const started = Date.now();

  // -- nats-server on a free loopback port, three node processes, the test's own mesh client
  await cluster.setUp(natsServer);
  cluster.startNodes();
  const client = await cluster.connectClient();
  const nodes = cluster.nodes;

  // -- 1. a leader is elected
  const first = await client.waitForLeader('a stable controller leader among nodes 1, 2, 3', voters, 20_000);
  const oldLeader = first.nodeId;
  const oldTerm = first.term;

  // -- 2. all three brokers registered and unfenced (placement needs them for replication factor 3)
  await client.waitForLiveBrokers(oldLeader, 3, 15_000);

  // -- 3. topics created through the leader
  client.leaderGuess = oldLeader;
  const acked = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    const name = `before-kill-${i}`;
    acked.set(name, await client.createTopic(name, 1 + (i % 3), 1 + (i % 3), 15_000));
  }
  assert.equal(acked.size, 5, 'all five topics acknowledged before the kill');

  // The committed log as the old leader serves it, to compare entry by entry afterwards.
  const before = await client.fetchCommitted(oldLeader);
  for (const [name, topicId] of acked) {
    assert.equal(before.image.topicsByName.get(name)?.topicId, topicId, `topic ${name} committed on the old leader`);
  }

  // -- 4. kill -9 the leader
  const victim = nodes.get(oldLeader)!;
  signal(victim, 'SIGKILL');
  assert.ok(await exitedWithin(victim, 5000), `node ${oldLeader} did not die on SIGKILL`);
  const killedAt = Date.now();
  const survivors = voters.filter((id) => id !== oldLeader);

  const second = await client.waitForLeader(`a new leader among nodes ${survivors.join(', ')} in a term above ${oldTerm}`, survivors, 20_000,
    (leader) => leader.term > oldTerm);
  const newLeader = second.nodeId;
  const failoverMs = Date.now() - killedAt;
  assert.notEqual(newLeader, oldLeader);
  assert.ok(second.term > oldTerm);

  // -- 5. nothing committed was lost
  const afterKill = await client.fetchCommitted(newLeader);
  for (const [name, topicId] of acked) {
    const topic = afterKill.image.topicsByName.get(name);
    assert.ok(topic !== undefined, `acknowledged topic ${name} is missing on the new leader ${newLeader}`);
    assert.equal(topic.topicId, topicId, `topic ${name} changed its id on the new leader`);
    assert.deepEqual(topic, before.image.topicsByName.get(name), `topic ${name} as the new leader has it`);
  }
  assert.ok(afterKill.image.offset >= before.image.offset, `new leader's commit ${afterKill.image.offset} is behind ${before.image.offset}`);
  if (!before.sawSnapshot && !afterKill.sawSnapshot) {
    // Log matching: every entry committed before the kill is in the new leader's log, unchanged.
    for (const entry of before.entries) {
      assert.deepEqual(afterKill.entries[entry.index - 1], entry, `committed entry ${entry.index} differs on the new leader`);
    }
  }

  // -- 6. the new leader takes writes
  client.leaderGuess = newLeader;
  const extraId = await client.createTopic('after-kill', 2, 2, 15_000);
  acked.set('after-kill', extraId);

  // -- 7. the killed node comes back as a follower of the new leader and catches up
  const target = (await client.fetchCommitted(newLeader)).image.offset;
  cluster.startNode(oldLeader);
  let lastRejoin = '';
  const rejoined = await waitFor(`node ${oldLeader} to rejoin as a follower of node ${newLeader}`, 20_000, async () => {
    const leader = await client.stableLeader(voters, (l) => l.nodeId === newLeader);
    if (leader === undefined) return undefined;
    const restarted = await client.describe(oldLeader);
    lastRejoin = JSON.stringify(restarted);
    return restarted !== null && restarted.commitIndex >= target ? { leader, restarted } : undefined;
  }, () => `${client.lastQuorum} ${lastRejoin}`);
  assert.equal(rejoined.leader.term, second.term, 'the restarted node disturbed the leader (term changed)');
  assert.equal(rejoined.restarted.role, 'follower');

  const final = await client.fetchCommitted(newLeader);
  for (const [name, topicId] of acked) {
    assert.equal(final.image.topicsByName.get(name)?.topicId, topicId, `topic ${name} after the restart`);
  }
  t.diagnostic(`leader ${oldLeader} (term ${oldTerm}) -> ${newLeader} (term ${second.term}) in ${failoverMs} ms after kill -9; `
    + `${acked.size} topics kept; total ${Date.now() - started} ms`);
  passed = true;
});
