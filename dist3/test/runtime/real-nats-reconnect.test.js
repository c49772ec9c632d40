// Three real node processes on a real nats-server that goes away for a while: after the
// server is stopped and a new one started on the same port, the nodes reconnect, agree on a
// controller leader again, take new writes, and every topic acknowledged before the outage is
// still in the committed metadata. The nodes' logs show the mesh reconnecting.
//
// Needs `nats-server` on the PATH (or at /usr/sbin/nats-server, or in $NATS_SERVER); the test
// is skipped when none is found, except under CI (CI=true), where .ci/run installs it and a
// missing server is a failure. Loopback only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealCluster, assertPrerequisites, exitedWithin, natsSkip, pause, stopChild, watchLogMessages } from './real-cluster-harness.js';
const voters = [1, 2, 3];
const cluster = new RealCluster(voters, 'logmesh-real-reconnect-');
const outageMs = 2000;
const recoveryMs = 20_000;
let passed = false;
// Failed, threw or timed out: show what the processes said; then stop every child by PID.
after(() => cluster.tearDown(passed));
test('three node processes recover after nats-server is stopped and restarted on the same port', {
    timeout: 120_000, skip: natsSkip,
}, async (t) => {
    const natsServer = assertPrerequisites();
    const started = Date.now();
    await cluster.setUp(natsServer);
    cluster.startNodes();
    const client = await cluster.connectClient();
    // -- 1. a leader, three live brokers, three acknowledged topics
    const first = await client.waitForLeader('a stable controller leader among nodes 1, 2, 3', voters, 20_000);
    await client.waitForLiveBrokers(first.nodeId, 3, 15_000);
    client.leaderGuess = first.nodeId;
    const acked = new Map();
    for (let i = 0; i < 3; i++) {
        const name = `before-outage-${i}`;
        acked.set(name, await client.createTopic(name, 1 + i, 1 + i, 15_000));
    }
    const before = await client.fetchCommitted(first.nodeId);
    for (const [name, topicId] of acked) {
        assert.equal(before.image.topicsByName.get(name)?.topicId, topicId, `topic ${name} committed before the outage`);
    }
    // -- 2. the mesh goes away: stop nats-server, keep it down for a while
    const meshEvents = new Map();
    for (const id of voters) {
        meshEvents.set(id, watchLogMessages(cluster.nodes.get(id), (msg) => msg === 'mesh reconnect' || msg === 'mesh disconnect'));
    }
    const oldNats = cluster.nats;
    await stopChild(oldNats);
    assert.ok(await exitedWithin(oldNats, 0), `nats-server (pid ${oldNats.proc.pid}) did not exit`);
    await pause(outageMs);
    cluster.assertNodesAlive(voters);
    // -- 3. a new nats-server on the same port; everything recovers within a bounded time
    await cluster.restartNats(natsServer);
    const restartedAt = Date.now();
    const recoveryDeadline = restartedAt + recoveryMs;
    const remaining = () => Math.max(1, recoveryDeadline - Date.now());
    const again = await client.waitForLeader('one agreed controller leader among nodes 1, 2, 3 after the restart', voters, remaining());
    const leaderMs = Date.now() - restartedAt;
    client.leaderGuess = again.nodeId;
    const afterId = await client.createTopic('after-outage', 2, 3, remaining());
    acked.set('after-outage', afterId);
    const writeMs = Date.now() - restartedAt;
    const leaderNow = client.leaderGuess;
    const afterOutage = await client.fetchCommitted(leaderNow, remaining());
    for (const [name, topicId] of acked) {
        const topic = afterOutage.image.topicsByName.get(name);
        assert.ok(topic !== undefined, `acknowledged topic ${name} is missing on leader ${leaderNow} after the outage`);
        assert.equal(topic.topicId, topicId, `topic ${name} changed its id after the outage`);
        const earlier = before.image.topicsByName.get(name);
        if (earlier !== undefined)
            assert.deepEqual(topic, earlier, `topic ${name} as leader ${leaderNow} has it after the outage`);
    }
    assert.ok(afterOutage.image.offset >= before.image.offset, `commit ${afterOutage.image.offset} after the outage is behind ${before.image.offset}`);
    assert.ok(Date.now() <= recoveryDeadline, `recovery took longer than ${recoveryMs} ms`);
    // -- 4. the nodes' logs show the mesh going away and coming back
    const summary = voters.map((id) => `node ${id}: ${meshEvents.get(id).map((e) => e.msg).join(', ') || 'nothing'}`).join('; ');
    const reconnected = voters.filter((id) => meshEvents.get(id).some((e) => e.msg === 'mesh reconnect'));
    assert.ok(reconnected.length >= 1, `no node logged 'mesh reconnect' (${summary})`);
    t.diagnostic(`leader ${first.nodeId} (term ${first.term}) -> ${again.nodeId} (term ${again.term}); after restarting nats-server: `
        + `leader agreed in ${leaderMs} ms, new topic acked in ${writeMs} ms; ${acked.size} topics kept; ${summary}; total ${Date.now() - started} ms`);
    passed = true;
});
//# sourceMappingURL=real-nats-reconnect.test.js.map