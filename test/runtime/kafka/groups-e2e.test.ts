// Issue 7, end to end: a consumer group of real clients on the embedded cluster (started here
// as a child process on its own ports). Three kafkajs consumers and one confluent-kafka
// consumer, each its own OS process (group-member-kafkajs.ts, group-member-confluent.py), share
// a 6-partition RF 3 topic that the test keeps producing to (kafkajs, idempotent, acks=-1).
// One kafkajs member is killed with SIGKILL; the survivors must take over its partitions
// within the session timeout plus a bounded slack, every message must be processed, and no
// partition may be owned or processed by two live members at once. Then the survivors stop
// cleanly, more messages are produced, and a fresh member of the same group (fromBeginning)
// must read exactly the new ones: it resumed from the committed offsets. Along the way, what
// the members read must match what was sent: every record once in the log, at one offset.
//
// Members report what they do as JSON lines on stdout (see the member scripts); the checks
// below read only those lines, the producer's own record of what it sent, and the group's
// committed offsets. Timestamps are the one wall clock of this machine, shared by all processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin, Producer } from 'kafkajs';
import {
  type Child, cliPath, exitedWithin, isRunning, pause, repoRoot, signal, startChild, waitFor,
} from '../real-cluster-harness.js';
import { type EmbeddedCluster, ci, hasPythonModule, python, startEmbeddedCluster } from './real-clients.js';

const confluentFound = hasPythonModule('confluent_kafka');

// Ports apart from clients-e2e (9092) and embedded.test (19092): npm test runs two files at once.
const kafkaPortBase = 29092;
const metricsPortBase = 29401;
const bootstrap = `127.0.0.1:${kafkaPortBase}`;
const topic = 'groups-e2e';
const groupId = 'e2e-group';
const partitionCount = 6;
const replicationFactor = 3;

/** Above the broker's group.min.session.timeout.ms (6000 by default). */
const sessionTimeoutMs = 10_000;
/**
 * Takeover must come within sessionTimeoutMs + this. The victim's session runs out at most
 * sessionTimeoutMs after the kill (its last heartbeat was before it); then survivors learn of
 * the rebalance at their next heartbeat (1 s interval, kafkajs only between fetches of up to
 * 0.5 s), all rejoin and sync, and fetch the next record (a round of six every 150 ms plus
 * the sends); that is about 1 s on an idle machine, 2-4 s with a simulation campaign running
 * beside it on two CPUs (npm test runs two files at once).
 */
const takeoverSlackMs = 10_000;
const produceIntervalMs = 150;
/** How long production goes on after the takeover, so the new owners process a steady stream. */
const produceAfterTakeoverMs = 2_000;
const restartMessagesPerPartition = 10;
const groupStableTimeoutMs = 45_000;
const drainTimeoutMs = 30_000;
const commitTimeoutMs = 20_000;
const memberExitTimeoutMs = 20_000;
const restartSettleMs = 1_500;
const clientLogLinesMax = 2_000;

// dist/test/runtime/kafka/<this>.js; the Python member is not compiled, it stays in the source tree.
const here = dirname(fileURLToPath(import.meta.url));
const kafkajsMemberPath = join(here, 'group-member-kafkajs.js');
const confluentMemberPath = resolve(repoRoot, 'test', 'runtime', 'kafka', 'group-member-confluent.py');

// ---- what members report -------------------------------------------------------------------

type MemberEvent =
  | { event: 'assign'; t: number; member: string; memberId: string | null; isLeader: boolean | null; partitions: number[] }
  | { event: 'revoke'; t: number; member: string; reason: string }
  | { event: 'message'; t: number; member: string; partition: number; offset: number; value: string }
  | { event: 'commit' | 'commit-failed' | 'closed'; t: number; member: string };

interface MemberLog {
  name: string;
  /** In the order the member wrote them. */
  events: MemberEvent[];
  /** When the test SIGKILLed or SIGTERMed it: the end of its ownership for the checks. */
  stoppedAt: number | null;
}

interface Member extends MemberLog {
  client: 'kafkajs' | 'confluent-kafka';
  child: Child;
}

function startMember(name: string, client: Member['client']): Member {
  const args = [bootstrap, groupId, topic, name, String(sessionTimeoutMs)];
  const child = client === 'kafkajs'
    ? startChild(name, process.execPath, [kafkajsMemberPath, ...args])
    : startChild(name, python, [confluentMemberPath, ...args]);
  const member: Member = { name, client, child, events: [], stoppedAt: null };
  child.lineListeners.push((line) => {
    if (!line.startsWith('{"event"')) return;
    member.events.push(JSON.parse(line) as MemberEvent);
  });
  return member;
}

function messagesOf(member: MemberLog): Array<Extract<MemberEvent, { event: 'message' }>> {
  return member.events.filter((e): e is Extract<MemberEvent, { event: 'message' }> => e.event === 'message');
}

/** The member's partitions now: its last assignment, or null after a revoke (or before any assignment). */
function currentAssignment(member: MemberLog): { t: number; partitions: number[] } | null {
  for (let i = member.events.length - 1; i >= 0; i--) {
    const e = member.events[i]!;
    if (e.event === 'assign') return { t: e.t, partitions: e.partitions };
    if (e.event === 'revoke' || e.event === 'closed') return null;
  }
  return null;
}

/**
 * The members' current assignments when they are disjoint, cover every partition, and every
 * member has processed a record since its assignment; undefined otherwise.
 */
function stableAssignments(members: readonly Member[]): Map<string, number[]> | undefined {
  const owners = new Map<number, string>();
  const assignments = new Map<string, number[]>();
  for (const member of members) {
    const current = currentAssignment(member);
    if (current === null || current.partitions.length === 0) return undefined;
    if (!messagesOf(member).some((m) => m.t >= current.t)) return undefined;
    for (const p of current.partitions) {
      if (owners.has(p)) return undefined;
      owners.set(p, member.name);
    }
    assignments.set(member.name, current.partitions);
  }
  return owners.size === partitionCount ? assignments : undefined;
}

function describeAssignments(members: readonly Member[]): string {
  return members.map((m) => `${m.name}: ${JSON.stringify(currentAssignment(m)?.partitions ?? null)} (${messagesOf(m).length} processed)`).join('; ');
}

// ---- the checks on the members' reports -----------------------------------------------------

/** A stretch of one member's stream between an assignment and its end (revoke, next assign, close, or the test stopping it). */
interface Epoch {
  member: string;
  start: number;
  end: number;
  partitions: number[];
  messages: Array<Extract<MemberEvent, { event: 'message' }>>;
}

/**
 * Splits each member's stream into epochs. A message outside every epoch (before the first
 * assignment, after a revoke) or on a partition its epoch does not hold is a violation.
 */
function epochsOf(member: MemberLog, violations: string[]): Epoch[] {
  const epochs: Epoch[] = [];
  let current: Epoch | null = null;
  const close = (t: number): void => {
    if (current !== null) current.end = Math.min(t, member.stoppedAt ?? t);
    current = null;
  };
  for (const e of member.events) {
    if (e.event === 'assign') {
      close(e.t);
      current = { member: member.name, start: e.t, end: Number.POSITIVE_INFINITY, partitions: e.partitions, messages: [] };
      epochs.push(current);
    } else if (e.event === 'revoke' || e.event === 'closed') {
      close(e.t);
    } else if (e.event === 'message') {
      const epoch: Epoch | null = current;
      if (epoch === null) violations.push(`${member.name} processed p${e.partition}@${e.offset} without an assignment (at ${e.t})`);
      else if (!epoch.partitions.includes(e.partition)) violations.push(`${member.name} processed p${e.partition}@${e.offset} outside its assignment ${JSON.stringify(epoch.partitions)} (at ${e.t})`);
      else epoch.messages.push(e);
    }
  }
  if (current !== null) (current as Epoch).end = member.stoppedAt ?? Number.POSITIVE_INFINITY;
  return epochs;
}

/** Within one epoch a member reads each partition forward: offsets strictly increase. */
function checkForwardWithinEpochs(epochs: readonly Epoch[], violations: string[]): void {
  for (const epoch of epochs) {
    const last = new Map<number, number>();
    for (const m of epoch.messages) {
      const before = last.get(m.partition);
      if (before !== undefined && m.offset <= before) {
        violations.push(`${epoch.member} read p${m.partition}@${m.offset} after @${before} in its epoch from ${epoch.start}`);
      }
      last.set(m.partition, m.offset);
    }
  }
}

/**
 * No partition in two members' assignments at once. A member's ownership ends when it
 * revokes (librdkafka's on_revoke, kafkajs' REBALANCING: both come before the member's
 * JoinGroup, so before any new assignment of the round) or when the test killed or stopped it.
 */
function checkNoSharedAssignments(epochs: readonly Epoch[], violations: string[]): void {
  for (let i = 0; i < epochs.length; i++) {
    for (let j = i + 1; j < epochs.length; j++) {
      const a = epochs[i]!;
      const b = epochs[j]!;
      if (a.member === b.member || !(a.start < b.end && b.start < a.end)) continue;
      const shared = a.partitions.filter((p) => b.partitions.includes(p));
      if (shared.length > 0) {
        violations.push(`partitions ${JSON.stringify(shared)} owned by ${a.member} [${a.start}, ${a.end}] and ${b.member} [${b.start}, ${b.end}] at once`);
      }
    }
  }
}

/**
 * A message processed twice: the later processing belongs to an assignment that began after
 * the earlier processing (a rebalance came between them), whoever the two members are.
 */
function checkReprocessingFollowsRebalance(epochs: readonly Epoch[], violations: string[]): number {
  const byValue = new Map<string, Array<{ t: number; member: string; epochStart: number }>>();
  for (const epoch of epochs) {
    for (const m of epoch.messages) {
      const list = byValue.get(m.value) ?? [];
      byValue.set(m.value, list);
      list.push({ t: m.t, member: m.member, epochStart: epoch.start });
    }
  }
  let repeated = 0;
  for (const [value, list] of byValue) {
    if (list.length === 1) continue;
    repeated += 1;
    list.sort((x, y) => x.t - y.t);
    for (let i = 1; i < list.length; i++) {
      const first = list[i - 1]!;
      const again = list[i]!;
      if (again.epochStart < first.t) {
        violations.push(`${value}: processed by ${first.member} at ${first.t} and again by ${again.member} at ${again.t} in an assignment from ${again.epochStart}, before the first processing`);
      }
    }
  }
  return repeated;
}

/** Any two members' processing of one partition: the later owner's assignment began after the earlier owner's last record. */
function checkNoConcurrentProcessing(epochs: readonly Epoch[], violations: string[]): void {
  for (let p = 0; p < partitionCount; p++) {
    const spans = epochs
      .map((e) => ({ member: e.member, start: e.start, times: e.messages.filter((m) => m.partition === p).map((m) => m.t) }))
      .filter((s) => s.times.length > 0)
      .map((s) => ({ member: s.member, start: s.start, first: Math.min(...s.times), last: Math.max(...s.times) }));
    for (const a of spans) {
      for (const b of spans) {
        if (a.member !== b.member && a.start <= b.start && a.last > b.start) {
          violations.push(`p${p}: ${a.member} processed until ${a.last}, after ${b.member}'s assignment from ${b.start} (its records ${b.first}..${b.last})`);
        }
      }
    }
  }
}

/**
 * What the members read matches what was sent: one value per (partition, offset), whoever read
 * it; every value read was sent, to that partition, and sits at one offset only (a value at two
 * offsets is a record the log holds twice).
 */
function checkLogContents(members: readonly MemberLog[], sent: ReadonlyMap<string, number>, violations: string[]): void {
  const valueAt = new Map<string, string>();
  const offsetsOf = new Map<string, Set<string>>();
  for (const member of members) {
    for (const m of messagesOf(member)) {
      const at = `p${m.partition}@${m.offset}`;
      const seen = valueAt.get(at);
      if (seen !== undefined && seen !== m.value) violations.push(`${at} read as ${seen} and as ${m.value} (by ${member.name})`);
      valueAt.set(at, m.value);
      const offsets = offsetsOf.get(m.value) ?? new Set<string>();
      offsetsOf.set(m.value, offsets);
      offsets.add(at);
      const sentTo = sent.get(m.value);
      if (sentTo === undefined) violations.push(`${m.value} at ${at} was never sent`);
      else if (sentTo !== m.partition) violations.push(`${m.value} was sent to p${sentTo}, read at ${at}`);
    }
  }
  for (const [value, offsets] of offsetsOf) {
    if (offsets.size > 1) violations.push(`${value} is in the log ${offsets.size} times: ${[...offsets].join(', ')}`);
  }
}

/** Every check above over the members' reports; `sent` maps every value produced to its partition. */
function groupViolations(logs: readonly MemberLog[], sent: ReadonlyMap<string, number>): { violations: string[]; epochs: number; repeated: number } {
  const violations: string[] = [];
  const epochs = logs.flatMap((m) => epochsOf(m, violations));
  checkForwardWithinEpochs(epochs, violations);
  checkNoSharedAssignments(epochs, violations);
  checkNoConcurrentProcessing(epochs, violations);
  const repeated = checkReprocessingFollowsRebalance(epochs, violations);
  checkLogContents(logs, sent, violations);
  return { violations, epochs: epochs.length, repeated };
}

// ---- producing ---------------------------------------------------------------------------

interface Production {
  sent: Array<{ value: string; partition: number }>;
  stop(): Promise<void>;
}

/**
 * Sends `messages` with one send() per partition. kafkajs 2.2.4 retries a send that spans
 * several brokers by sending again to every broker that has not answered yet, including those
 * whose first request is still in flight, and with the next sequence numbers, so the broker
 * cannot tell the copy from a new record: seen here under load as duplicated records (offsets 0
 * and 1 of the partitions of two brokers) after a third broker answered NOT_LEADER_OR_FOLLOWER
 * because it had not yet taken up its leadership of a just-created partition. A send to one
 * partition has one broker, which kafkajs retries with the same sequence numbers.
 */
async function sendByPartition(producer: Producer, messages: ReadonlyArray<{ partition: number; value: string }>): Promise<void> {
  for (let partition = 0; partition < partitionCount; partition++) {
    const forPartition = messages.filter((m) => m.partition === partition);
    if (forPartition.length > 0) await producer.send({ topic, acks: -1, messages: forPartition });
  }
}

/** One record per partition every produceIntervalMs until stopped; a failed send fails stop(). */
function startProducing(producer: Producer, prefix: string): Production {
  const sent: Production['sent'] = [];
  let running = true;
  const loop = (async () => {
    for (let round = 0; running; round++) {
      const messages = Array.from({ length: partitionCount }, (_, partition) => ({ partition, value: `${prefix}-${round}-p${partition}` }));
      await sendByPartition(producer, messages);
      sent.push(...messages);
      await pause(produceIntervalMs);
    }
  })();
  loop.catch(() => {}); // reported by stop()
  return {
    sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function highWatermarks(admin: Admin): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const marks = new Array<number>(partitionCount).fill(-1);
  for (const o of offsets) marks[o.partition] = Number(o.high);
  return marks;
}

/** Waits until the group's committed offsets are the high watermarks (everything read was committed). */
async function waitForCommittedToReach(admin: Admin, marks: readonly number[], what: string): Promise<void> {
  let last = '';
  await waitFor(what, commitTimeoutMs, async () => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Array<number>(partitionCount).fill(-1);
    for (const p of committed!.partitions) byPartition[p.partition] = Number(p.offset);
    last = `committed ${JSON.stringify(byPartition)}, high watermarks ${JSON.stringify(marks)}`;
    return byPartition.every((offset, p) => offset === marks[p]) ? true : undefined;
  }, () => last);
}

/** A member's failure dump: what it reported except records and commits, and its stderr. */
function dumpMember(member: Member): void {
  process.stderr.write(`\n===== ${member.name} (pid ${member.child.proc.pid}, ${member.child.exitInfo ?? 'running'}) =====\n`);
  for (const e of member.events) if (e.event !== 'message' && e.event !== 'commit') process.stderr.write(`${JSON.stringify(e)}\n`);
  process.stderr.write(`${messagesOf(member).length} records processed\n`);
  for (const chunk of member.child.output) if (chunk.startsWith('[stderr] ')) process.stderr.write(chunk);
}

async function stopMember(member: Member): Promise<void> {
  member.stoppedAt ??= Date.now();
  signal(member.child, 'SIGTERM');
  if (await exitedWithin(member.child, memberExitTimeoutMs)) return;
  signal(member.child, 'SIGKILL');
  await exitedWithin(member.child, 5_000);
}

/** A waitFor probe's first step: a child that died ends the wait at once. */
function assertRunning(children: readonly Child[]): void {
  for (const child of children) if (!isRunning(child)) throw new Error(`${child.name} exited (${child.exitInfo})`);
}

// ---- the test ---------------------------------------------------------------------------

test('a consumer group of kafkajs and confluent-kafka members survives a SIGKILLed member and resumes from committed offsets',
  { timeout: 240_000 }, async (t) => {
    assert.ok(existsSync(cliPath), `${cliPath} is missing: build with tsc first`);
    assert.ok(existsSync(kafkajsMemberPath), `${kafkajsMemberPath} is missing`);
    if (!confluentFound) {
      assert.ok(!ci, 'python3 confluent_kafka is missing (.ci/run installs python3-confluent-kafka)');
      t.diagnostic('python3 confluent_kafka not installed: the group is the three kafkajs members only');
    }
    let cluster: EmbeddedCluster | null = null;
    const members: Member[] = [];
    let producer: Producer | null = null;
    let production: Production | null = null;
    const clientLog: string[] = [];
    let passed = false;
    const testStart = Date.now();
    const elapsed = (): string => `${((Date.now() - testStart) / 1000).toFixed(1)} s`;
    try {
      cluster = await startEmbeddedCluster({
        clientId: 'groups-e2e', kafkaPortBase, extraArgs: ['--metrics-port', String(metricsPortBase)],
        // The producer's and admin's warnings (retries, errors), for the failure dump.
        clientLog: (line) => {
          if (clientLog.length < clientLogLinesMax) clientLog.push(line);
        },
      });
      const { kafka, admin: adminClient, child: embedded } = cluster;
      assert.equal(await adminClient.createTopics({ topics: [{ topic, numPartitions: partitionCount, replicationFactor }], waitForLeaders: true }), true);
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      t.diagnostic(`cluster up, topic created: ${elapsed()}`);

      // Phase 1: four members join while records flow.
      production = startProducing(producer, 'm');
      const memberPlan: Array<[string, Member['client']]> = [['kafkajs-1', 'kafkajs'], ['kafkajs-2', 'kafkajs'], ['kafkajs-3', 'kafkajs']];
      if (confluentFound) memberPlan.push(['confluent-1', 'confluent-kafka']);
      for (const [name, client] of memberPlan) {
        const member = startMember(name, client);
        members.push(member);
      }
      const before = await waitFor(`all ${members.length} members to hold disjoint assignments covering ${partitionCount} partitions and consume`,
        groupStableTimeoutMs, async () => {
          assertRunning([embedded, ...members.map((m) => m.child)]);
          return stableAssignments(members);
        }, () => describeAssignments(members));
      t.diagnostic(`group stable with ${members.length} members at ${elapsed()}: ${JSON.stringify(Object.fromEntries(before))}`);

      // Phase 2: SIGKILL a kafkajs member (the group leader if a kafkajs member leads, so that a
      // new leader has to compute the assignment).
      const kafkajsMembers = members.filter((m) => m.client === 'kafkajs');
      const leads = (m: Member): boolean => {
        const current = [...m.events].reverse().find((e) => e.event === 'assign');
        return current?.event === 'assign' && current.isLeader === true;
      };
      const victim = kafkajsMembers.find(leads) ?? kafkajsMembers[0]!;
      const survivors = members.filter((m) => m !== victim);
      const orphaned = before.get(victim.name)!;
      const killedAt = Date.now();
      victim.stoppedAt = killedAt;
      signal(victim.child, 'SIGKILL');
      assert.ok(await exitedWithin(victim.child, 5_000), `${victim.name} did not die of SIGKILL`);
      t.diagnostic(`killed ${victim.name}${leads(victim) ? ' (the leader)' : ''} owning ${JSON.stringify(orphaned)} at ${elapsed()}`);

      // Survivors own every partition again and have processed records of each orphaned one.
      const takeover = await waitFor(`the survivors to take over ${JSON.stringify(orphaned)}`, sessionTimeoutMs + takeoverSlackMs + 15_000, async () => {
        assertRunning([embedded, ...survivors.map((m) => m.child)]);
        const after = stableAssignments(survivors);
        if (after === undefined) return undefined;
        let assignedAt = 0;
        let processedAt = 0;
        for (const p of orphaned) {
          const owner = survivors.find((m) => after.get(m.name)!.includes(p))!;
          const current = currentAssignment(owner)!;
          const first = messagesOf(owner).find((e) => e.partition === p && e.t >= current.t && e.t > killedAt);
          if (first === undefined) return undefined;
          assignedAt = Math.max(assignedAt, current.t);
          processedAt = Math.max(processedAt, first.t);
        }
        return { assignedMs: Math.round(assignedAt - killedAt), processedMs: Math.round(processedAt - killedAt), after };
      }, () => describeAssignments(survivors));
      t.diagnostic(`takeover: assigned ${takeover.assignedMs} ms, first records processed ${takeover.processedMs} ms after the kill; ${JSON.stringify(Object.fromEntries(takeover.after))}`);
      assert.ok(takeover.processedMs <= sessionTimeoutMs + takeoverSlackMs,
        `the survivors processed the orphaned partitions ${takeover.processedMs} ms after the kill, over ${sessionTimeoutMs} + ${takeoverSlackMs} ms`);

      await pause(produceAfterTakeoverMs);
      await production.stop();
      const sent = production.sent;
      production = null;
      const marks = await highWatermarks(adminClient);

      // Every record sent and every offset below the high watermarks is processed (at least once), and committed.
      const unread = (): string[] => {
        const processed = new Set(members.flatMap((m) => messagesOf(m).map((e) => e.value)));
        const offsets = new Set(members.flatMap((m) => messagesOf(m).map((e) => `p${e.partition}@${e.offset}`)));
        const missing = sent.filter((s) => !processed.has(s.value)).map((s) => s.value);
        for (let p = 0; p < partitionCount; p++) for (let o = 0; o < marks[p]!; o++) if (!offsets.has(`p${p}@${o}`)) missing.push(`p${p}@${o}`);
        return missing;
      };
      await waitFor(`the group to process all ${sent.length} records sent, high watermarks ${JSON.stringify(marks)}`, drainTimeoutMs, async () => {
        assertRunning([embedded, ...survivors.map((m) => m.child)]);
        return unread().length === 0 ? true : undefined;
      }, () => `unread: ${unread().slice(0, 20).join(', ')}`);
      await waitForCommittedToReach(adminClient, marks, 'the survivors to commit every record they processed');
      t.diagnostic(`${sent.length} records processed and committed at ${elapsed()}`);

      // Phase 3: the survivors stop cleanly (commit, leave the group).
      const stopAt = Date.now();
      for (const m of survivors) m.stoppedAt = stopAt;
      await Promise.all(survivors.map(stopMember));
      for (const m of survivors) {
        assert.equal(m.child.exitInfo, 'code 0', `${m.name} stopped with ${m.child.exitInfo}`);
        assert.ok(m.events.some((e) => e.event === 'closed'), `${m.name} did not report that it closed`);
      }
      await waitForCommittedToReach(adminClient, marks, 'the committed offsets to stay at the high watermarks after the survivors left');
      t.diagnostic(`survivors stopped in ${Date.now() - stopAt} ms`);

      // The checks on everything the four members reported.
      const { violations, epochs, repeated } = groupViolations(members, new Map(sent.map((s) => [s.value, s.partition])));
      assert.deepEqual(violations, [], 'group invariants');
      assert.equal(marks.reduce((a, b) => a + b, 0), sent.length, 'the high watermarks add up to what was sent');
      t.diagnostic(`${epochs} assignment epochs over ${members.length} members; ${repeated} records processed twice (after the victim's uncommitted reads or a rebalance)`);

      // Phase 4: more records, then a fresh member of the same group reads from the committed offsets.
      const newRecords = Array.from({ length: partitionCount * restartMessagesPerPartition }, (_, i) => ({ partition: i % partitionCount, value: `r-${i}` }));
      await sendByPartition(producer, newRecords);
      const fresh = startMember('kafkajs-fresh', 'kafkajs');
      members.push(fresh);
      await waitFor(`the fresh member to process ${newRecords.length} records`, groupStableTimeoutMs, async () => {
        assertRunning([embedded, fresh.child]);
        return messagesOf(fresh).length >= newRecords.length ? true : undefined;
      }, () => `${messagesOf(fresh).length} processed, assignment ${JSON.stringify(currentAssignment(fresh))}`);
      await pause(restartSettleMs); // anything read beyond the new records would show up by now
      const freshRead = messagesOf(fresh);
      assert.deepEqual(freshRead.map((m) => m.value).sort(), newRecords.map((r) => r.value).sort(),
        'the restarted group reads exactly the records produced after it stopped');
      for (let p = 0; p < partitionCount; p++) {
        const offsets = freshRead.filter((m) => m.partition === p).map((m) => m.offset);
        assert.equal(offsets[0], marks[p], `p${p}: the fresh member starts at the committed offset`);
      }
      await stopMember(fresh);
      assert.equal(fresh.child.exitInfo, 'code 0', `${fresh.name} stopped with ${fresh.child.exitInfo}`);
      t.diagnostic(`the fresh member resumed at the committed offsets ${JSON.stringify(marks)}; total ${elapsed()}`);
      passed = true;
    } finally {
      await production?.stop().catch(() => {});
      await producer?.disconnect().catch(() => {});
      for (const m of members) signal(m.child, 'SIGKILL');
      await Promise.all(members.map((m) => exitedWithin(m.child, 5_000)));
      await cluster?.stop(passed); // SIGINT (it stops its nodes), its output unless passed, its data
      if (!passed) for (const m of members) dumpMember(m);
      if (!passed) process.stderr.write(`\n===== the test's producer and admin =====\n${clientLog.join('\n')}\n`);
    }
  });

test('the group checks flag shared partitions, concurrent and backward reads, and reads without an assignment', () => {
  const assign = (member: string, t: number, partitions: number[]): MemberEvent => ({ event: 'assign', t, member, memberId: member, isLeader: false, partitions });
  const revoke = (member: string, t: number): MemberEvent => ({ event: 'revoke', t, member, reason: 'rebalancing' });
  const read = (member: string, t: number, partition: number, offset: number): MemberEvent => ({ event: 'message', t, member, partition, offset, value: `v${partition}-${offset}` });
  const log = (name: string, events: MemberEvent[], stoppedAt: number | null = null): MemberLog => ({ name, events, stoppedAt });
  const sent = new Map(Array.from({ length: partitionCount * 10 }, (_, i) => [`v${i % partitionCount}-${Math.floor(i / partitionCount)}`, i % partitionCount]));

  // A clean handoff: d reads p4, revokes; e is assigned p4 after and rereads what d did not commit.
  // f is killed holding p5; g takes p5 over after the kill.
  const clean = [
    log('d', [assign('d', 100, [4]), read('d', 110, 4, 0), read('d', 120, 4, 1), revoke('d', 130)]),
    log('e', [assign('e', 140, [4]), read('e', 150, 4, 1), read('e', 160, 4, 2)]),
    log('f', [assign('f', 100, [5]), read('f', 110, 5, 0)], 115),
    log('g', [assign('g', 200, [5]), read('g', 210, 5, 0)]),
  ];
  const ok = groupViolations(clean, sent);
  assert.deepEqual(ok.violations, []);
  assert.equal(ok.repeated, 2);

  const broken = [
    // b is given p1 while a still holds it, and both read p1@5.
    log('a', [assign('a', 100, [0, 1]), read('a', 160, 1, 5)]),
    log('b', [assign('b', 150, [1]), read('b', 170, 1, 5)]),
    // c reads p2 backwards in one epoch, then p3 which it does not hold, then p2 after revoking.
    log('c', [assign('c', 100, [2]), read('c', 110, 2, 3), read('c', 120, 2, 2), read('c', 130, 3, 0), revoke('c', 140), read('c', 150, 2, 4)]),
    // h reads one value at two offsets, a value sent to another partition, and one never sent.
    log('h', [assign('h', 100, [3]), ...[[6, 'v3-6'], [7, 'v3-6'], [8, 'v4-8'], [9, 'zzz']].map(([offset, value]) =>
      ({ event: 'message', t: 110, member: 'h', partition: 3, offset, value } as MemberEvent))]),
  ];
  const { violations } = groupViolations(broken, sent);
  const expected = [/owned by a .* and b .* at once/, /p1: a processed until 160, after b's assignment from 150/, /v1-5: processed by a at 160 and again by b/,
    /c read p2@2 after @3/, /c processed p3@0 outside its assignment/, /c processed p2@4 without an assignment/,
    /v3-6 is in the log 2 times: p3@6, p3@7/, /v3-6: processed by h at 110 and again by h/, /v4-8 was sent to p4, read at p3@8/, /zzz at p3@9 was never sent/];
  for (const pattern of expected) assert.ok(violations.some((v) => pattern.test(v)), `no violation matches ${pattern}: ${JSON.stringify(violations)}`);
  assert.equal(violations.length, expected.length, JSON.stringify(violations));
});
