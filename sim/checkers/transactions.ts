// Transaction checkers, on the transactions workload's history (sim/workloads/transactions-history.ts):
// - read-committed-isolation: a read_committed consumer is handed a record only once the
//   EndTxn committing its transaction was sent, never one of a transaction that was aborted,
//   and what it reads at an offset is what read_uncommitted reads there;
// - txn-atomic-visibility: after the run settles, every transaction's output is visible whole
//   or not at all, across all its partitions, a transaction whose commit was acknowledged is
//   visible, and its input offsets were committed with it: the visible transactions of each
//   input partition follow one another without gap or overlap up to the group's committed
//   offset, and every committed offset a processor was told is the end of a visible one;
// - zombie-never-commits: once a newer epoch of a transactional id was granted, nothing of an
//   older epoch that had not asked to commit yet is accepted (AddPartitionsToTxn, EndTxn) or
//   becomes visible;
// - exactly-once-output: after the run settles, the output holds every input record exactly once.
import type { TxnHistory, TxnRecordOfWork, VisibleRecord } from '../workloads/transactions-history.js';
import { parseOutputValue } from '../workloads/transactions-history.js';
import type { ViolationLog } from './types.js';

export const readCommittedIsolation = 'read-committed-isolation';
export const txnAtomicVisibility = 'txn-atomic-visibility';
export const zombieNeverCommits = 'zombie-never-commits';
export const exactlyOnceOutput = 'exactly-once-output';

export const txnCheckerNames = [readCommittedIsolation, txnAtomicVisibility, zombieNeverCommits, exactlyOnceOutput] as const;

/** How many offsets a message lists before it says "and N more". */
const listedMax = 5;

function describeTxn(t: TxnRecordOfWork): string {
  return `transaction ${t.txn} (${t.transactionalId} epoch ${t.producerEpoch}, input ${t.inputPartition} [${t.fromOffset}, ${t.toOffset}))`;
}

function listed(offsets: number[]): string {
  const head = offsets.slice(0, listedMax).join(', ');
  return offsets.length > listedMax ? `${head} and ${offsets.length - listedMax} more` : head;
}

/** An EndTxn with this outcome was answered NONE: the coordinator decided it. */
function answeredNone(t: TxnRecordOfWork, commit: boolean): boolean {
  return t.endAnswers.some((a) => a.commit === commit && a.errorCode === 0);
}

/** Every record the read_committed consumers were handed, with the transaction its value names. */
function* committedReads(history: TxnHistory): Generator<{ record: VisibleRecord; txn: number | null }> {
  for (const records of history.readCommitted.values()) {
    for (const record of records) yield { record, txn: parseOutputValue(record.value)?.txn ?? null };
  }
}

export function checkReadCommittedIsolation(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  for (const { record, txn } of committedReads(history)) {
    const where = `read_committed consumer of ${record.key} got offset ${record.offset}`;
    const t = txn === null ? undefined : history.transactions.get(txn);
    if (t === undefined) {
      violations.report(readCommittedIsolation, atMs, `${where}, "${record.value}", which no transaction wrote`);
      continue;
    }
    if (answeredNone(t, false)) {
      violations.report(readCommittedIsolation, atMs, `${where} of ${describeTxn(t)}, which was aborted`);
    } else if (t.endSent === null || !t.endSent.commit) {
      violations.report(readCommittedIsolation, atMs, `${where} of ${describeTxn(t)}, which never asked to commit`);
    } else if (t.endSent.seq > record.receivedSeq) {
      violations.report(readCommittedIsolation, atMs, `${where} of ${describeTxn(t)} before its EndTxn was sent: an open transaction`);
    }
  }
  for (const [key, records] of history.readCommitted) {
    const uncommitted = new Map((history.readUncommitted.get(key) ?? []).map((r) => [r.offset, r.value]));
    for (const record of records) {
      const other = uncommitted.get(record.offset);
      if (other !== undefined && other !== record.value) {
        violations.report(readCommittedIsolation, atMs,
          `${key} offset ${record.offset}: read_committed got "${record.value}", read_uncommitted "${other}"`);
      }
    }
  }
  for (const anomaly of history.anomalies) {
    if (anomaly.checker === readCommittedIsolation) violations.report(readCommittedIsolation, atMs, anomaly.message);
  }
  if (history.final !== null && history.readCommittedLateDone) checkLateReads(history, violations, atMs);
}

/**
 * Once settled, the consumer that started from offset 0 after the faults (the cleaner had
 * removed aborted data and emptied transactions' markers by then) holds what the consumer that
 * read along was handed: the output's records have unique keys, so compaction removes none
 * of the committed ones, and aborted transactions listed without their markers would drop a
 * producer's later committed records.
 */
function checkLateReads(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  for (const [key, records] of history.readCommitted) {
    const late = new Map((history.readCommittedLate.get(key) ?? []).map((r) => [r.offset, r.value]));
    const missing = records.filter((r) => late.get(r.offset) !== r.value);
    if (missing.length > 0) {
      violations.report(readCommittedIsolation, atMs,
        `${key}: a read_committed consumer starting at 0 after the final cleaning was not handed ${missing.length} committed record(s) the one reading along got (offsets ${listed(missing.map((r) => r.offset))})`);
    }
  }
  for (const [key, records] of history.readCommittedLate) {
    const along = new Set((history.readCommitted.get(key) ?? []).map((r) => r.offset));
    const extra = records.filter((r) => !along.has(r.offset));
    if (extra.length > 0) {
      violations.report(readCommittedIsolation, atMs,
        `${key}: a read_committed consumer starting at 0 after the final cleaning was handed ${extra.length} record(s) the one reading along never got (offsets ${listed(extra.map((r) => r.offset))})`);
    }
  }
}

/** The first answered grant that made this transaction's epoch stale, or null. */
function fencedAtSeq(history: TxnHistory, t: TxnRecordOfWork): number | null {
  let at: number | null = null;
  for (const grant of history.grants) {
    if (grant.transactionalId !== t.transactionalId) continue;
    const newer = grant.producerId !== t.producerId || grant.producerEpoch > t.producerEpoch;
    if (newer && (at === null || grant.answeredSeq < at)) at = grant.answeredSeq;
  }
  return at;
}

/** Values of each transaction that the read_committed consumers were handed, with how often. */
function visibleByTxn(history: TxnHistory): Map<number, Map<string, number>> {
  const byTxn = new Map<number, Map<string, number>>();
  for (const { record, txn } of committedReads(history)) {
    if (txn === null) continue;
    let values = byTxn.get(txn);
    if (values === undefined) {
      values = new Map();
      byTxn.set(txn, values);
    }
    values.set(record.value, (values.get(record.value) ?? 0) + 1);
  }
  return byTxn;
}

export function checkZombies(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  const visible = visibleByTxn(history);
  for (const t of history.transactions.values()) {
    const fencedAt = fencedAtSeq(history, t);
    if (fencedAt === null) continue;
    for (const answer of t.addAnswers) {
      if (answer.errorCode === 0 && answer.sentSeq > fencedAt) {
        violations.report(zombieNeverCommits, atMs, `AddPartitionsToTxn of fenced ${describeTxn(t)} was accepted after a newer epoch was granted`);
      }
    }
    for (const answer of t.endAnswers) {
      if (answer.commit && answer.errorCode === 0 && answer.sentSeq > fencedAt) {
        violations.report(zombieNeverCommits, atMs, `EndTxn commit of fenced ${describeTxn(t)} was answered NONE after a newer epoch was granted`);
      }
    }
    const askedBeforeFence = t.endSent !== null && t.endSent.commit && t.endSent.seq < fencedAt;
    if (!askedBeforeFence && (visible.get(t.txn)?.size ?? 0) > 0) {
      violations.report(zombieNeverCommits, atMs, `records of fenced ${describeTxn(t)}, which asked to commit only after a newer epoch was granted, are visible to read_committed`);
    }
  }
}

/** Needs the final state: checks each transaction's output and offsets as the settled run shows them. */
export function checkAtomicVisibility(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  const final = history.final;
  if (final === null) return;
  const visible = visibleByTxn(history);
  const committedByInput = new Map<number, TxnRecordOfWork[]>();
  for (const t of history.transactions.values()) {
    const expected = [...t.outputs.values()].flat();
    const seen = visible.get(t.txn) ?? new Map<string, number>();
    const missing = expected.filter((value) => !seen.has(value));
    if (seen.size > 0 && missing.length > 0) {
      violations.report(txnAtomicVisibility, atMs, `${describeTxn(t)} is visible in part: ${seen.size} of ${expected.length} records, without ${missing.slice(0, listedMax).join(', ')}`);
    }
    if (seen.size === 0 && answeredNone(t, true) && expected.length > 0) {
      violations.report(txnAtomicVisibility, atMs, `${describeTxn(t)} was committed (EndTxn answered NONE) but none of its ${expected.length} records is visible`);
    }
    if (seen.size > 0) {
      const list = committedByInput.get(t.inputPartition) ?? [];
      list.push(t);
      committedByInput.set(t.inputPartition, list);
    }
  }
  for (const [inputPartition, committedOffset] of final.committedOffsets) {
    const chain = (committedByInput.get(inputPartition) ?? []).sort((a, b) => a.fromOffset - b.fromOffset || a.txn - b.txn);
    let end = 0;
    for (const t of chain) {
      if (t.fromOffset !== end) {
        violations.report(txnAtomicVisibility, atMs,
          `input ${inputPartition}: visible ${describeTxn(t)} read from ${t.fromOffset}, but the visible transactions before it end at ${end}: offsets not committed with their transaction`);
      }
      end = Math.max(end, t.toOffset);
    }
    if (Math.max(0, committedOffset) !== end) {
      violations.report(txnAtomicVisibility, atMs,
        `input ${inputPartition}: the group's committed offset is ${committedOffset}, but the visible transactions end at ${end}`);
    }
  }
  for (const fetched of history.fetchedOffsets) {
    if (fetched.offset <= 0) continue;
    const ends = (committedByInput.get(fetched.inputPartition) ?? []).some((t) => t.toOffset === fetched.offset);
    if (!ends) {
      violations.report(txnAtomicVisibility, atMs,
        `input ${fetched.inputPartition}: a processor was told the committed offset is ${fetched.offset}, the end of no visible transaction`);
    }
  }
}

/** Needs the final state: every input record is in the visible output exactly once. */
export function checkExactlyOnce(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  const final = history.final;
  if (final === null) return;
  const counts = new Map<number, Map<number, number>>();
  for (const { record } of committedReads(history)) {
    const parsed = parseOutputValue(record.value);
    if (parsed === null) continue;
    const perInput = counts.get(parsed.inputPartition) ?? new Map<number, number>();
    perInput.set(parsed.inputOffset, (perInput.get(parsed.inputOffset) ?? 0) + 1);
    counts.set(parsed.inputPartition, perInput);
  }
  for (const [inputPartition, inputEnd] of final.inputEnds) {
    const perInput = counts.get(inputPartition) ?? new Map<number, number>();
    const missing: number[] = [];
    const repeated: number[] = [];
    for (let offset = 0; offset < inputEnd; offset++) {
      const count = perInput.get(offset) ?? 0;
      if (count === 0) missing.push(offset);
      if (count > 1) repeated.push(offset);
    }
    const beyond = [...perInput.keys()].filter((offset) => offset >= inputEnd).sort((a, b) => a - b);
    if (missing.length > 0) {
      violations.report(exactlyOnceOutput, atMs, `input ${inputPartition}: ${missing.length} of ${inputEnd} input records are not in the output (offsets ${listed(missing)})`);
    }
    if (repeated.length > 0) {
      violations.report(exactlyOnceOutput, atMs, `input ${inputPartition}: ${repeated.length} input records are in the output more than once (offsets ${listed(repeated)})`);
    }
    if (beyond.length > 0) {
      violations.report(exactlyOnceOutput, atMs, `input ${inputPartition}: the output holds input offsets at or past its end ${inputEnd} (${listed(beyond)})`);
    }
  }
}

/**
 * Runs the transaction checks. Isolation and fencing hold at any point of a run; atomicity
 * and exactly-once need the settled run's final state (history.final).
 */
export function checkTransactions(history: TxnHistory, violations: ViolationLog, atMs: number): void {
  checkReadCommittedIsolation(history, violations, atMs);
  checkZombies(history, violations, atMs);
  checkAtomicVisibility(history, violations, atMs);
  checkExactlyOnce(history, violations, atMs);
  for (const anomaly of history.anomalies) {
    if (anomaly.checker !== readCommittedIsolation) violations.report(anomaly.checker, atMs, anomaly.message);
  }
}
