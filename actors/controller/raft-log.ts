// The in-memory Raft log of one controller: entries after the last snapshot.
import type { LogEntry } from '../protocol/messages.js';

export interface RaftLog {
  /** Index and term of the last entry covered by the snapshot (0, 0 when none). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** entries[i].index === snapshotIndex + 1 + i */
  entries: LogEntry[];
}

export function lastIndex(log: RaftLog): number {
  return log.snapshotIndex + log.entries.length;
}

export function lastTerm(log: RaftLog): number {
  return log.entries.length === 0 ? log.snapshotTerm : log.entries[log.entries.length - 1]!.term;
}

/** The term of the entry at `index`, or undefined when the log does not hold it. */
export function termAt(log: RaftLog, index: number): number | undefined {
  if (index === log.snapshotIndex) return log.snapshotTerm;
  if (index < log.snapshotIndex || index > lastIndex(log)) return undefined;
  return log.entries[index - log.snapshotIndex - 1]!.term;
}

export function entryAt(log: RaftLog, index: number): LogEntry | undefined {
  if (index <= log.snapshotIndex || index > lastIndex(log)) return undefined;
  return log.entries[index - log.snapshotIndex - 1];
}

/** Entries in (afterIndex, afterIndex + countMax], limited to what the log holds. */
export function entriesAfter(log: RaftLog, afterIndex: number, countMax: number, uptoIndex = lastIndex(log)): LogEntry[] {
  const start = afterIndex - log.snapshotIndex;
  const end = Math.min(uptoIndex - log.snapshotIndex, start + countMax);
  return start < 0 || end <= start ? [] : log.entries.slice(start, end);
}

/** Drops every entry with index >= fromIndex. */
export function truncateFrom(log: RaftLog, fromIndex: number): void {
  if (fromIndex <= log.snapshotIndex) throw new Error(`cannot truncate into the snapshot (${fromIndex} <= ${log.snapshotIndex})`);
  log.entries.length = Math.max(0, fromIndex - log.snapshotIndex - 1);
}

/** Raft's election restriction: is a candidate's log at least as up to date as ours? */
export function isUpToDate(log: RaftLog, candidateLastIndex: number, candidateLastTerm: number): boolean {
  const ourTerm = lastTerm(log);
  return candidateLastTerm > ourTerm || (candidateLastTerm === ourTerm && candidateLastIndex >= lastIndex(log));
}

/** Drops entries up to and including `index` once a snapshot covers them. */
export function compactThrough(log: RaftLog, index: number, term: number): void {
  const keep = index < lastIndex(log) && termAt(log, index) === term;
  log.entries = keep ? log.entries.slice(index - log.snapshotIndex) : [];
  log.snapshotIndex = index;
  log.snapshotTerm = term;
}
