// `logmesh groups`, in the spirit of kafka-consumer-groups.sh, through kafkajs' admin client:
// list the groups, describe one (state, members, and per partition the committed offset, the
// log end and the lag between them, with the member that owns it), reset a group's offsets
// (a dry run unless --execute; the group must be empty), delete a group.
import type { Command } from 'commander';
import { type Admin, AssignerProtocol, type GroupDescription } from 'kafkajs';
import { type ConnectionFlags, ToolError, failingAs, withAdmin, withBootstrapOption } from './connection.js';
import { asInt } from './options.js';
import { withSpinner } from './spinner.js';

export interface ListedGroup { groupId: string; protocolType: string; state: string }

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1: nothing committed. */
  committedOffset: number;
  /** The high watermark (what a consumer can read); -1: unknown (the topic is gone or its leader did not answer). */
  logEndOffset: number;
  /** Log end minus committed; null when either is unknown. */
  lag: number | null;
  consumerId: string;
  host: string;
  clientId: string;
}

export interface GroupMember {
  consumerId: string;
  host: string;
  clientId: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface GroupLag {
  groupId: string;
  state: string;
  members: GroupMember[];
  partitions: PartitionLag[];
}

export interface OffsetReset {
  topic: string;
  partition: number;
  /** -1: nothing committed. */
  currentOffset: number;
  newOffset: number;
}

type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number };

interface GroupsFlags extends ConnectionFlags {
  list?: boolean;
  describe?: boolean;
  resetOffsets?: boolean;
  delete?: boolean;
  group?: string;
  topic?: string;
  members?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  execute?: boolean;
  json?: boolean;
}

const modes = ['list', 'describe', 'resetOffsets', 'delete'] as const;
type Mode = (typeof modes)[number];
const modeFlag: Record<Mode, string> = { list: '--list', describe: '--describe', resetOffsets: '--reset-offsets', delete: '--delete' };

export function registerGroupsCommand(program: Command): void {
  withBootstrapOption(program.command('groups')
    .alias('consumer-groups')
    .description('list, describe (members, committed offsets, log end and lag), reset the offsets of, or delete consumer groups (like kafka-consumer-groups.sh)'))
    .option('--list', 'list every group with its state')
    .option('--describe', 'committed offset, log end and lag per partition of --group, and who owns each partition')
    .option('--reset-offsets', 'move the committed offsets of --group on --topic (dry run unless --execute; the group must be empty)')
    .option('--delete', 'delete --group (it must be empty)')
    .option('--group <id>', 'the group')
    .option('--topic <name>', 'with --reset-offsets: the topic whose offsets move')
    .option('--members', 'with --describe: also list each member and its assigned partitions')
    .option('--to-earliest', 'with --reset-offsets: to the log start')
    .option('--to-latest', 'with --reset-offsets: to the log end')
    .option('--to-offset <n>', 'with --reset-offsets: to this offset (clamped to the log start and end)', asInt('--to-offset', 0))
    .option('--execute', 'with --reset-offsets: commit the new offsets (without it, only show them)')
    .option('--json', 'print JSON instead of tables')
    .action(async (flags: GroupsFlags) => {
      const mode = chosenMode(flags);
      await withAdmin(flags.bootstrapServer, (admin) => runGroups(admin, mode, flags));
    });
}

function chosenMode(flags: GroupsFlags): Mode {
  const chosen = modes.filter((mode) => flags[mode] === true);
  if (chosen.length !== 1) throw new ToolError(`groups: give exactly one of ${modes.map((m) => modeFlag[m]).join(', ')}`);
  const mode = chosen[0]!;
  if (mode !== 'list' && flags.group === undefined) throw new ToolError(`groups ${modeFlag[mode]}: --group is required`);
  if (mode === 'resetOffsets') {
    if (flags.topic === undefined) throw new ToolError('groups --reset-offsets: --topic is required');
    const targets = [flags.toEarliest === true, flags.toLatest === true, flags.toOffset !== undefined].filter(Boolean).length;
    if (targets !== 1) throw new ToolError('groups --reset-offsets: give exactly one of --to-earliest, --to-latest, --to-offset <n>');
  }
  return mode;
}

async function runGroups(admin: Admin, mode: Mode, flags: GroupsFlags): Promise<void> {
  const groupId = flags.group ?? '';
  switch (mode) {
    case 'list': {
      const groups = await failingAs('groups --list', () => listConsumerGroups(admin));
      process.stdout.write(flags.json === true ? `${JSON.stringify(groups)}\n` : formatGroupList(groups));
      return;
    }
    case 'describe': {
      const described = await failingAs(`groups --describe: group ${groupId}`, () => withSpinner(`describing group ${groupId}`, () => describeConsumerGroup(admin, groupId)));
      if (flags.json === true) process.stdout.write(`${JSON.stringify(described)}\n`);
      else process.stdout.write(`${formatGroupLag(described)}\n${flags.members === true ? `\n${formatMembers(described)}\n` : ''}`);
      return;
    }
    case 'resetOffsets': {
      const target: ResetTarget = flags.toEarliest === true ? { kind: 'earliest' } : flags.toLatest === true ? { kind: 'latest' } : { kind: 'offset', offset: flags.toOffset! };
      const what = `groups --reset-offsets: group ${groupId}, topic ${flags.topic}`;
      const plan = await failingAs(what, () => planOffsetReset(admin, groupId, flags.topic!, target));
      if (flags.execute === true) {
        await failingAs(what, () => withSpinner(`committing new offsets for group ${groupId}`, () => admin.setOffsets({
          groupId, topic: flags.topic!, partitions: plan.map((p) => ({ partition: p.partition, offset: String(p.newOffset) })),
        })));
      }
      process.stdout.write(flags.json === true ? `${JSON.stringify({ groupId, executed: flags.execute === true, partitions: plan })}\n` : formatReset(groupId, plan));
      if (flags.execute !== true) process.stderr.write('Dry run: nothing was committed; add --execute to commit these offsets.\n');
      return;
    }
    case 'delete': {
      await failingAs(`groups --delete: group ${groupId}`, () => admin.deleteGroups([groupId]));
      process.stdout.write(`Deleted group ${groupId}.\n`);
      return;
    }
  }
}

/** How long a listing waits for coordinators still loading their groups. */
const listLoadingWaitMs = 15_000;

/**
 * ListGroups asks every broker, and a broker with a coordinator still loading its partition of
 * __consumer_offsets answers COORDINATOR_LOAD_IN_PROGRESS (retriable). Kafka's admin client
 * asks again; kafkajs's listGroups does not, so this does, with a growing pause, for at most
 * listLoadingWaitMs.
 */
async function listGroupsOnceLoaded(admin: Admin): ReturnType<Admin['listGroups']> {
  const deadline = Date.now() + listLoadingWaitMs;
  for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
    try {
      return await admin.listGroups();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || Date.now() + pauseMs > deadline) throw error;
      await new Promise((resolvePause) => setTimeout(resolvePause, pauseMs));
    }
  }
}

/** Every group any broker coordinates, with its state (ListGroups is per broker; kafkajs asks each). */
export async function listConsumerGroups(admin: Admin): Promise<ListedGroup[]> {
  const { groups } = await listGroupsOnceLoaded(admin);
  if (groups.length === 0) return [];
  const described = await admin.describeGroups(groups.map((g) => g.groupId));
  const states = new Map(described.groups.map((g) => [g.groupId, g.state as string]));
  return groups
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: states.get(g.groupId) ?? 'Unknown' }))
    .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

async function describeExisting(admin: Admin, groupId: string): Promise<GroupDescription> {
  const described = (await admin.describeGroups([groupId])).groups.find((g) => g.groupId === groupId);
  // A coordinator describes a group it does not know as Dead, without an error.
  if (described === undefined || described.state === 'Dead') throw new ToolError(`group ${groupId} does not exist`);
  return described;
}

function membersOf(description: GroupDescription): GroupMember[] {
  return description.members.map((m) => {
    // A member of a non-consumer protocol (Connect, say) has an assignment kafkajs cannot read.
    let assignment: Record<string, number[]> = {};
    try {
      assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {};
    } catch {
      assignment = {};
    }
    return {
      consumerId: m.memberId, host: m.clientHost, clientId: m.clientId,
      assignment: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) })),
    };
  });
}

/** The high watermark of every partition of `topic`; empty when the topic is unknown. */
async function logEnds(admin: Admin, topic: string): Promise<Map<number, number>> {
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } catch {
    return new Map();
  }
}

/** One group's committed offsets against the partitions' log ends, with the member that owns each partition. */
export async function describeConsumerGroup(admin: Admin, groupId: string): Promise<GroupLag> {
  const description = await describeExisting(admin, groupId);
  const members = membersOf(description);
  const committed = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId })) {
    for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(`${t.topic}/${p.partition}`, Number(p.offset));
  }
  const owners = new Map<string, GroupMember>();
  for (const member of members) {
    for (const a of member.assignment) for (const p of a.partitions) owners.set(`${a.topic}/${p}`, member);
  }
  const keys = new Set([...committed.keys(), ...owners.keys()]);
  const topics = [...new Set([...keys].map((key) => key.slice(0, key.lastIndexOf('/'))))];
  const ends = new Map(await Promise.all(topics.map(async (topic) => [topic, await logEnds(admin, topic)] as const)));
  const partitions = [...keys].map((key): PartitionLag => {
    const at = key.lastIndexOf('/');
    const topic = key.slice(0, at);
    const partition = Number(key.slice(at + 1));
    const committedOffset = committed.get(key) ?? -1;
    const logEndOffset = ends.get(topic)?.get(partition) ?? -1;
    const owner = owners.get(key);
    return {
      topic, partition, committedOffset, logEndOffset,
      lag: committedOffset >= 0 && logEndOffset >= 0 ? Math.max(0, logEndOffset - committedOffset) : null,
      consumerId: owner?.consumerId ?? '-', host: owner?.host ?? '-', clientId: owner?.clientId ?? '-',
    };
  }).sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return { groupId, state: description.state, members, partitions };
}

/** The offsets a reset would commit, per partition of `topic`; refuses a group with members, as Kafka's tool does. */
export async function planOffsetReset(admin: Admin, groupId: string, topic: string, target: ResetTarget): Promise<OffsetReset[]> {
  const described = (await admin.describeGroups([groupId])).groups.find((g) => g.groupId === groupId);
  const state = described?.state ?? 'Dead';
  if (state !== 'Empty' && state !== 'Dead') {
    throw new ToolError(`groups --reset-offsets: group ${groupId} must have no running consumers, but it is ${state}`);
  }
  const bounds = await admin.fetchTopicOffsets(topic);
  const current = new Map<number, number>();
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) current.set(p.partition, Number(p.offset));
  }
  return bounds
    .map((b) => {
      const low = Number(b.low);
      const high = Number(b.high);
      const newOffset = target.kind === 'earliest' ? low : target.kind === 'latest' ? high : Math.min(high, Math.max(low, target.offset));
      return { topic, partition: b.partition, currentOffset: current.get(b.partition) ?? -1, newOffset };
    })
    .sort((a, b) => a.partition - b.partition);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatGroupList(groups: ListedGroup[]): string {
  if (groups.length === 0) return '';
  return `${table(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.groupId, g.state, g.protocolType || '-']))}\n`;
}

/** The describe output as kafka-consumer-groups.sh prints it. */
export function formatGroupLag(group: GroupLag): string {
  const header = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
  const rows = group.partitions.map((p) => [
    group.groupId, p.topic, String(p.partition), p.committedOffset < 0 ? '-' : String(p.committedOffset),
    p.logEndOffset < 0 ? '-' : String(p.logEndOffset), p.lag === null ? '-' : String(p.lag), p.consumerId, p.host, p.clientId,
  ]);
  const count = group.members.length;
  return [`Consumer group '${group.groupId}' is ${group.state} with ${count} member${count === 1 ? '' : 's'}.`, '', table(header, rows)].join('\n');
}

export function formatMembers(group: GroupLag): string {
  if (group.members.length === 0) return `Consumer group '${group.groupId}' has no active members.`;
  const rows = group.members.map((m) => [
    group.groupId, m.consumerId, m.host, m.clientId, String(m.assignment.reduce((n, a) => n + a.partitions.length, 0)),
    m.assignment.map((a) => `${a.topic}(${a.partitions.join(',')})`).join(' ') || '-',
  ]);
  return table(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'], rows);
}

export function formatReset(groupId: string, plan: OffsetReset[]): string {
  const rows = plan.map((p) => [groupId, p.topic, String(p.partition), p.currentOffset < 0 ? '-' : String(p.currentOffset), String(p.newOffset)]);
  return `${table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], rows)}\n`;
}
