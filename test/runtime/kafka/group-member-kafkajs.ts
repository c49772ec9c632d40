// One kafkajs consumer-group member for groups-e2e.test.ts, run as its own process so that the
// test can SIGKILL it. Usage:
//
//   node group-member-kafkajs.js <bootstrap> <groupId> <topic> <name> <sessionTimeoutMs>
//
// It writes one JSON line to stdout per fact the test checks, each with `t` (Date.now(), the
// same wall clock as the test and the other members) and `member` (<name>):
//   {"event":"assign","memberId","isLeader","partitions":[...]}   a SyncGroup completed (GROUP_JOIN)
//   {"event":"revoke","reason"}     it stopped fetching to rejoin (REBALANCING) or crashed (CRASH)
//   {"event":"message","partition","offset","value"}   eachMessage, before kafkajs resolves the offset
//   {"event":"commit","generation","offsets":{partition:offset}}   an OffsetCommit succeeded
//   {"event":"closed"}             after SIGTERM: the consumer disconnected (committed, left the group)
// kafkajs' own warnings and errors go to stderr as JSON lines, for the test's failure dump.
//
// Auto-commit: kafkajs commits the offsets resolved after each eachMessage at the end of every
// batch and before it rejoins a rebalancing group, so a message is committed only after its
// line is written (at-least-once).
//
// `node --test dist/test/` runs every .js file under a test/ folder as a test: without
// arguments this file does nothing.
import { Kafka, PartitionAssigners, logLevel, type PartitionAssigner } from 'kafkajs';

/** librdkafka's and the Java client's name for round robin; kafkajs calls the same assignor "RoundRobinAssigner". */
const roundRobinProtocolName = 'roundrobin';

/**
 * kafkajs' round-robin assignor under the name librdkafka uses, so that kafkajs and
 * confluent-kafka members agree on a protocol (a group needs one that every member offers).
 * Both encode the standard ConsumerProtocol subscription and assignment (version 0).
 */
const roundRobinAssigner: PartitionAssigner = (config) => ({ ...PartitionAssigners.roundRobin(config), name: roundRobinProtocolName });

const heartbeatIntervalMs = 1000;
const fetchMaxWaitMs = 500;
const rebalanceTimeoutMs = 20_000;
const disconnectTimeoutMs = 15_000;

function emit(member: string, event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: Date.now(), member, ...fields })}\n`);
}

async function runMember(bootstrap: string, groupId: string, topic: string, member: string, sessionTimeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: member,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, label, namespace, log }) => {
      process.stderr.write(`${JSON.stringify({ level, label, namespace, ...log })}\n`);
    },
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: sessionTimeoutMs,
    rebalanceTimeout: rebalanceTimeoutMs,
    heartbeatInterval: heartbeatIntervalMs,
    maxWaitTimeInMs: fetchMaxWaitMs,
    partitionAssigners: [roundRobinAssigner],
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    emit(member, 'assign', { memberId: payload.memberId, isLeader: payload.isLeader, partitions: [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b) });
  });
  consumer.on(consumer.events.REBALANCING, () => emit(member, 'revoke', { reason: 'rebalancing' }));
  consumer.on(consumer.events.CRASH, ({ payload }) => emit(member, 'revoke', { reason: `crash: ${payload.error.message}`, restart: payload.restart }));
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    const offsets: Record<string, string> = {};
    for (const t of payload.topics) for (const p of t.partitions) offsets[p.partition] = p.offset;
    emit(member, 'commit', { generation: payload.groupGenerationId, offsets });
  });

  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
    const timer = setTimeout(() => {
      process.stderr.write(`${member}: disconnect took over ${disconnectTimeoutMs} ms\n`);
      process.exit(1);
    }, disconnectTimeoutMs);
    consumer.disconnect().then(() => {
      clearTimeout(timer);
      emit(member, 'closed');
      process.exit(0);
    }, (error: unknown) => {
      process.stderr.write(`${member}: disconnect failed: ${String(error)}\n`);
      process.exit(1);
    });
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  if (stopping) return;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      emit(member, 'message', { partition, offset: Number(message.offset), value: message.value?.toString('utf8') ?? null });
    },
  });
}

const [bootstrap, groupId, topic, member, sessionTimeout] = process.argv.slice(2);
if (bootstrap !== undefined) {
  if (groupId === undefined || topic === undefined || member === undefined || sessionTimeout === undefined) {
    process.stderr.write('usage: group-member-kafkajs.js <bootstrap> <groupId> <topic> <name> <sessionTimeoutMs>\n');
    process.exit(2);
  }
  runMember(bootstrap, groupId, topic, member, Number(sessionTimeout)).catch((error: unknown) => {
    process.stderr.write(`${member}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
