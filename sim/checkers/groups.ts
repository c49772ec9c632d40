// Consumer-group checkers, on the group workload's history (sim/workloads/groups.ts):
// - group-exclusive-assignment: within one (group, generation) no partition is assigned to two members;
// - committed-offsets-monotonic: an OffsetFetch sent after a commit was acknowledged answers at
//   least that commit's offset (the workload never moves a committed offset back on purpose);
// - acked-commits-durable: after the run settles, the workload's own OffsetFetch gives, for every
//   partition, at least the highest commit acknowledged before it was sent;
// - resume-from-commit: a member starting on a partition begins where its OffsetFetch said, and
//   that is at least the highest commit acknowledged before the OffsetFetch was sent.
// Order is the workload's own sequence numbers, not virtual time: an acknowledgement and a
// request in the same virtual millisecond are still ordered as they happened.
import type { AckedCommit, GroupHistory } from '../workloads/groups.js';
import type { ViolationLog } from './types.js';

export const groupExclusiveAssignment = 'group-exclusive-assignment';
export const committedOffsetsMonotonic = 'committed-offsets-monotonic';
export const ackedCommitsDurable = 'acked-commits-durable';
export const resumeFromCommit = 'resume-from-commit';

export const groupCheckerNames = [groupExclusiveAssignment, committedOffsetsMonotonic, ackedCommitsDurable, resumeFromCommit] as const;

/**
 * The highest acknowledged commit of each (group, partition) as of a point in the workload's
 * sequence: the commits sorted by acknowledgement, with a running maximum.
 */
export class AckedCommitIndex {
  private readonly byKey = new Map<string, { ackedSeqs: number[]; best: AckedCommit[] }>();

  constructor(commits: readonly AckedCommit[]) {
    const sorted = [...commits].sort((a, b) => a.ackedSeq - b.ackedSeq);
    for (const commit of sorted) {
      const id = `${commit.group}\u0000${commit.key}`;
      let entry = this.byKey.get(id);
      if (entry === undefined) {
        entry = { ackedSeqs: [], best: [] };
        this.byKey.set(id, entry);
      }
      const previous = entry.best[entry.best.length - 1];
      entry.ackedSeqs.push(commit.ackedSeq);
      entry.best.push(previous !== undefined && previous.offset >= commit.offset ? previous : commit);
    }
  }

  /** The highest commit of the partition acknowledged before `seq`, or null. */
  highestBefore(group: string, key: string, seq: number): AckedCommit | null {
    const entry = this.byKey.get(`${group}\u0000${key}`);
    if (entry === undefined) return null;
    let low = 0;
    let high = entry.ackedSeqs.length; // first index with ackedSeq >= seq
    while (low < high) {
      const mid = (low + high) >> 1;
      if (entry.ackedSeqs[mid]! < seq) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? null : entry.best[low - 1]!;
  }
}

function describe(commit: AckedCommit): string {
  return `offset ${commit.offset} (member ${commit.memberId}, generation ${commit.generation}, acknowledged at ${commit.ackedAtMs.toFixed(1)} ms)`;
}

/** Within a generation of a group, every partition has at most one owner. */
export function checkExclusiveAssignment(history: GroupHistory, violations: ViolationLog, atMs: number): void {
  const owners = new Map<string, string>();
  for (const sync of history.syncs) {
    for (const key of sync.partitions) {
      const id = `${sync.group} generation ${sync.generation}: ${key}`;
      const owner = owners.get(id);
      if (owner !== undefined && owner !== sync.memberId) {
        violations.report(groupExclusiveAssignment, sync.atMs, `group ${id} is assigned to both ${owner} and ${sync.memberId}`);
      }
      if (owner === undefined) owners.set(id, sync.memberId);
    }
  }
  for (const anomaly of history.anomalies) {
    if (anomaly.checker === groupExclusiveAssignment) violations.report(groupExclusiveAssignment, atMs, anomaly.message);
  }
}

/**
 * Every OffsetFetch answer is at least every commit acknowledged before it was sent. One report
 * per (partition, commit, answer): a lost commit tends to be fetched many times.
 */
export function checkCommittedMonotonic(history: GroupHistory, index: AckedCommitIndex, violations: ViolationLog): void {
  const reported = new Set<string>();
  for (const fetched of history.fetchedOffsets) {
    const commit = index.highestBefore(fetched.group, fetched.key, fetched.sentSeq);
    if (commit === null || fetched.offset >= commit.offset) continue;
    const id = `${fetched.group}/${fetched.key}/${commit.ackedSeq}/${fetched.offset}`;
    if (reported.has(id)) continue;
    reported.add(id);
    const who = fetched.memberId === '' ? 'the lag monitor' : `member ${fetched.memberId}`;
    violations.report(committedOffsetsMonotonic, fetched.answeredAtMs,
      `group ${fetched.group} ${fetched.key}: OffsetFetch by ${who} sent at ${fetched.sentAtMs.toFixed(1)} ms answered ${fetched.offset}, below the acknowledged commit of ${describe(commit)}`);
  }
}

/** After settling: the final OffsetFetch holds every acknowledged commit. */
export function checkAckedCommitsDurable(history: GroupHistory, index: AckedCommitIndex, violations: ViolationLog, atMs: number): void {
  const final = history.finalFetch;
  if (final === null) return;
  const partitions = new Map<string, { group: string; key: string }>();
  for (const { group, key } of history.commits) partitions.set(`${group}\u0000${key}`, { group, key });
  for (const { group, key } of partitions.values()) {
    const commit = index.highestBefore(group, key, final.sentSeq);
    if (commit === null) continue;
    const offset = final.offsets.get(key);
    if (offset === undefined || offset < commit.offset) {
      violations.report(ackedCommitsDurable, atMs,
        `group ${group} ${key}: after settling the committed offset is ${offset ?? 'missing'}, but ${describe(commit)} was acknowledged`);
    }
  }
}

/** Members start where the committed offset says, and it holds every commit acknowledged before they asked. */
export function checkResumeFromCommit(history: GroupHistory, index: AckedCommitIndex, violations: ViolationLog, atMs: number): void {
  for (const start of history.starts) {
    const expected = Math.max(0, start.fetchedOffset);
    if (start.startOffset !== expected) {
      violations.report(resumeFromCommit, start.atMs,
        `group ${start.group} ${start.key}: member ${start.memberId} (generation ${start.generation}) started at ${start.startOffset}, but the committed offset was ${start.fetchedOffset}`);
    }
    const commit = index.highestBefore(start.group, start.key, start.fetchSentSeq);
    if (commit !== null && start.fetchedOffset < commit.offset) {
      violations.report(resumeFromCommit, start.atMs,
        `group ${start.group} ${start.key}: member ${start.memberId} (generation ${start.generation}) resumed at ${start.startOffset} from committed offset ${start.fetchedOffset}, below ${describe(commit)}`);
    }
  }
  for (const anomaly of history.anomalies) {
    if (anomaly.checker === resumeFromCommit) violations.report(resumeFromCommit, atMs, anomaly.message);
  }
}

/**
 * Runs the group checks. The durability check needs the final OffsetFetch, which exists only
 * once the run settled; the others hold at any point of a run.
 */
export function checkGroups(history: GroupHistory, violations: ViolationLog, atMs: number): void {
  const index = new AckedCommitIndex(history.commits);
  checkExclusiveAssignment(history, violations, atMs);
  checkCommittedMonotonic(history, index, violations);
  checkResumeFromCommit(history, index, violations, atMs);
  checkAckedCommitsDurable(history, index, violations, atMs);
}
