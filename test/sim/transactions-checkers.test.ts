// The transaction checkers on hand-made histories: a clean pipeline passes, and each kind of
// broken history trips the checker that owns it (and the message says what broke). Then the
// verifying consumers' read_committed filter on hand-made fetches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkTransactions, exactlyOnceOutput, readCommittedIsolation, txnAtomicVisibility, zombieNeverCommits,
} from '../../sim/checkers/transactions.js';
import { ViolationLog } from '../../sim/checkers/types.js';
import { type TxnHistory, type TxnRecordOfWork, newTxnHistory, outputValue, parseOutputValue } from '../../sim/workloads/transactions-history.js';
import { controlType, filterFetched } from '../../sim/workloads/transactions.js';
import { readCommitted, readUncommitted } from '../../actors/protocol/messages.js';
import { setBaseOffset } from '../../actors/protocol/record-batch.js';
import { encodeRecordBatch } from '../../runtime/storage/record-batch.js';

const tid = 'processor-0';

/** A history being written: a sequence counter, transactions, grants and reads. */
class Builder {
  readonly history: TxnHistory = newTxnHistory();
  private seq = 0;
  private readonly offsets = new Map<string, number>();

  next(): number {
    this.seq += 1;
    return this.seq;
  }

  grant(epoch: number, producerId = 7, transactionalId = tid): void {
    this.history.grants.push({ transactionalId, producerId, producerEpoch: epoch, answeredSeq: this.next() });
  }

  /** A transaction reading input [from, to) of partition 0, writing each record to out/(offset % 2). */
  begin(txn: number, from: number, to: number, epoch = 0): TxnRecordOfWork {
    const outputs = new Map<string, string[]>();
    for (let offset = from; offset < to; offset++) {
      const key = `out/${offset % 2}`;
      outputs.set(key, [...(outputs.get(key) ?? []), outputValue(txn, 0, offset)]);
    }
    const t: TxnRecordOfWork = {
      txn, transactionalId: tid, instance: 1, producerId: 7, producerEpoch: epoch, inputPartition: 0, fromOffset: from, toOffset: to,
      outputs, beganSeq: this.next(), endSent: null, endAnswers: [], addAnswers: [],
    };
    this.history.transactions.set(txn, t);
    this.history.stats.transactionsBegun += 1;
    return t;
  }

  add(t: TxnRecordOfWork, errorCode = 0): void {
    const sentSeq = this.next();
    t.addAnswers.push({ errorCode, sentSeq, answeredSeq: this.next() });
  }

  end(t: TxnRecordOfWork, commit: boolean, errorCode = 0): void {
    const sentSeq = this.next();
    t.endSent ??= { commit, seq: sentSeq };
    t.endAnswers.push({ commit, errorCode, sentSeq, answeredSeq: this.next() });
  }

  /** Both consumers read the transaction's records (read_committed only when `committed`). */
  read(t: TxnRecordOfWork, committed = true, only?: string): void {
    for (const [key, values] of t.outputs) {
      if (only !== undefined && key !== only) continue;
      for (const value of values) {
        const offset = this.offsets.get(key) ?? 0;
        this.offsets.set(key, offset + 1);
        const fetchSentSeq = this.next();
        const record = { key, offset, value, fetchSentSeq, receivedSeq: this.next() };
        push(this.history.readUncommitted, key, record);
        if (committed) push(this.history.readCommitted, key, { ...record });
      }
    }
  }

  settle(inputEnd: number, committedOffset: number): void {
    this.history.final = { inputEnds: new Map([[0, inputEnd]]), committedOffsets: new Map([[0, committedOffset]]) };
  }
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function check(history: TxnHistory): ViolationLog {
  const violations = new ViolationLog();
  checkTransactions(history, violations, 0);
  return violations;
}

/** A clean pipeline: 0..3 committed, 3..5 aborted on purpose, read again and committed as 3..6. */
function cleanPipeline(): { b: Builder; first: TxnRecordOfWork; aborted: TxnRecordOfWork; second: TxnRecordOfWork } {
  const b = new Builder();
  b.grant(0);
  const first = b.begin(1, 0, 3);
  b.add(first);
  b.end(first, true);
  b.read(first);
  const aborted = b.begin(2, 3, 5);
  b.add(aborted);
  b.end(aborted, false);
  b.read(aborted, false);
  const second = b.begin(3, 3, 6);
  b.add(second);
  b.end(second, true);
  b.read(second);
  b.history.fetchedOffsets.push({ inputPartition: 0, offset: 3, sentSeq: b.next(), answeredSeq: b.next() });
  b.settle(6, 6);
  return { b, first, aborted, second };
}

test('output values name their transaction and input record', () => {
  assert.deepEqual(parseOutputValue(outputValue(12, 1, 40)), { txn: 12, inputPartition: 1, inputOffset: 40 });
  assert.equal(parseOutputValue('p0-3'), null);
});

test('a clean read-process-write history passes every transaction checker', () => {
  const { b } = cleanPipeline();
  assert.deepEqual(check(b.history).violations, []);
});

test('read-committed-isolation: a record of an aborted transaction', () => {
  const { b, aborted } = cleanPipeline();
  for (const record of b.history.readUncommitted.get('out/1')!) {
    if (parseOutputValue(record.value)?.txn === aborted.txn) push(b.history.readCommitted, 'out/1', record);
  }
  const found = check(b.history).violations.filter((v) => v.checker === readCommittedIsolation);
  assert.ok(found.some((v) => v.message.includes('which was aborted')), JSON.stringify(found));
});

test('read-committed-isolation: the late consumer of the cleaned output must be handed what the one reading along was', () => {
  const { b } = cleanPipeline();
  for (const [key, records] of b.history.readCommitted) b.history.readCommittedLate.set(key, records.map((r) => ({ ...r })));
  b.history.readCommittedLateDone = true;
  assert.deepEqual(check(b.history).violations, [], 'the same records');
  const late = b.history.readCommittedLate.get('out/0')!;
  const dropped = late.pop()!;
  const missing = check(b.history).violations.filter((v) => v.checker === readCommittedIsolation);
  assert.equal(missing.length, 1, JSON.stringify(missing));
  assert.match(missing[0]!.message, new RegExp(`^out/0: a read_committed consumer starting at 0 after the final cleaning was not handed 1 committed record\\(s\\) .*offsets ${dropped.offset}\\)`));
  b.history.readCommittedLateDone = false;
  assert.deepEqual(check(b.history).violations, [], 'not checked when the late consumers did not finish');
});

test('read-committed-isolation: a record of a transaction still open', () => {
  const b = new Builder();
  b.grant(0);
  const t = b.begin(1, 0, 2);
  b.add(t);
  b.read(t); // before its EndTxn
  b.end(t, true);
  const found = check(b.history).violations.filter((v) => v.checker === readCommittedIsolation);
  assert.ok(found.some((v) => v.message.includes('an open transaction')), JSON.stringify(found));
});

test('read-committed-isolation: read_committed and read_uncommitted disagree at an offset', () => {
  const { b } = cleanPipeline();
  b.history.readUncommitted.get('out/0')![0]!.value = outputValue(99, 0, 0);
  const found = check(b.history).violations.filter((v) => v.checker === readCommittedIsolation);
  assert.ok(found.some((v) => v.message.includes('read_uncommitted')), JSON.stringify(found));
});

test('txn-atomic-visibility: a transaction visible on one partition only', () => {
  const b = new Builder();
  b.grant(0);
  const t = b.begin(1, 0, 4);
  b.add(t);
  b.end(t, true);
  b.read(t, true, 'out/0');
  b.settle(4, 4);
  const found = check(b.history).violations.filter((v) => v.checker === txnAtomicVisibility);
  assert.ok(found.some((v) => v.message.includes('visible in part: 2 of 4')), JSON.stringify(found));
});

test('txn-atomic-visibility: a committed transaction whose records never show', () => {
  const b = new Builder();
  b.grant(0);
  const t = b.begin(1, 0, 2);
  b.add(t);
  b.end(t, true);
  b.settle(2, 2);
  const found = check(b.history).violations.filter((v) => v.checker === txnAtomicVisibility);
  assert.ok(found.some((v) => v.message.includes('none of its 2 records')), JSON.stringify(found));
});

test('txn-atomic-visibility: offsets that did not commit with their transaction', () => {
  // The offsets of transaction 1 were lost: transaction 2 read the same input again.
  const b = new Builder();
  b.grant(0);
  const first = b.begin(1, 0, 2);
  b.add(first);
  b.end(first, true);
  b.read(first);
  const again = b.begin(2, 0, 3);
  b.add(again);
  b.end(again, true);
  b.read(again);
  b.settle(3, 3);
  const violations = check(b.history).violations;
  assert.ok(violations.some((v) => v.checker === txnAtomicVisibility && v.message.includes('offsets not committed with their transaction')), JSON.stringify(violations));
  assert.ok(violations.some((v) => v.checker === exactlyOnceOutput && v.message.includes('more than once (offsets 0, 1)')), JSON.stringify(violations));
});

test('txn-atomic-visibility: a committed offset from an aborted transaction', () => {
  const { b } = cleanPipeline();
  b.history.fetchedOffsets.push({ inputPartition: 0, offset: 5, sentSeq: b.next(), answeredSeq: b.next() });
  const found = check(b.history).violations.filter((v) => v.checker === txnAtomicVisibility);
  assert.ok(found.some((v) => v.message.includes('the end of no visible transaction')), JSON.stringify(found));
  b.history.final!.committedOffsets.set(0, 5);
  assert.ok(check(b.history).violations.some((v) => v.message.includes("the group's committed offset is 5, but the visible transactions end at 6")));
});

test('zombie-never-commits: a fenced epoch commits, is accepted, or shows', () => {
  const b = new Builder();
  b.grant(0);
  const zombie = b.begin(1, 0, 2, 0);
  b.add(zombie);
  b.grant(1); // a new instance of the same transactional id
  b.add(zombie);
  b.end(zombie, true);
  b.read(zombie);
  const messages = check(b.history).violations.filter((v) => v.checker === zombieNeverCommits).map((v) => v.message);
  assert.equal(messages.length, 3, messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('AddPartitionsToTxn of fenced')));
  assert.ok(messages.some((m) => m.startsWith('EndTxn commit of fenced')));
  assert.ok(messages.some((m) => m.startsWith('records of fenced')));
});

test('zombie-never-commits: a commit asked for before the fence may complete', () => {
  const b = new Builder();
  b.grant(0);
  const t = b.begin(1, 0, 2, 0);
  b.add(t);
  b.end(t, true, 51); // CONCURRENT_TRANSACTIONS: the answer is not in yet
  b.grant(1);
  b.read(t);
  b.settle(2, 2);
  assert.deepEqual(check(b.history).violations.filter((v) => v.checker === zombieNeverCommits), []);
});

test('exactly-once-output: input records missing from the output', () => {
  const { b } = cleanPipeline();
  b.history.final!.inputEnds.set(0, 8);
  b.history.final!.committedOffsets.set(0, 6);
  const found = check(b.history).violations.filter((v) => v.checker === exactlyOnceOutput);
  assert.ok(found.some((v) => v.message === 'input 0: 2 of 8 input records are not in the output (offsets 6, 7)'), JSON.stringify(found));
});

test('the end-of-run checks wait for the settled state', () => {
  const b = new Builder();
  b.grant(0);
  const t = b.begin(1, 0, 2);
  b.add(t);
  b.end(t, true);
  assert.deepEqual(check(b.history).violations, []);
});

// ---- The read_committed filter of the verifying consumers (Kafka's consumer, as it drops aborted transactions)

/** One batch at `baseOffset`: transactional data of `producerId`, or a control batch (commit or abort marker). */
function batch(baseOffset: number, producerId: number, values: string[] | 'commit' | 'abort'): Uint8Array {
  const control = typeof values === 'string';
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, values === 'commit' ? 1 : 0);
  const records = control ? [{ key, value: new Uint8Array(6), timestamp: 0 }] : values.map((v) => ({ key: null, value: new TextEncoder().encode(v), timestamp: 0 }));
  const bytes = encodeRecordBatch(records, { producerId, producerEpoch: 0, baseSequence: control ? -1 : 0, transactional: true, control });
  setBaseOffset(bytes, 0, baseOffset);
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function abortedList(entries: Array<[number, number]>): Uint8Array {
  const bytes = new Uint8Array(entries.length * 16);
  const view = new DataView(bytes.buffer);
  entries.forEach(([producerId, firstOffset], i) => {
    view.setBigInt64(i * 16, BigInt(producerId));
    view.setBigInt64(i * 16 + 8, BigInt(firstOffset));
  });
  return bytes;
}

test('read_committed drops the aborted transaction of a producer until its abort marker, and every control batch', () => {
  // Producer 7 aborts [0, 1] (marker at 3), producer 8 commits [2] (marker at 5); producer 7 then commits [4] (marker at 6).
  const records = concat([
    batch(0, 7, ['a', 'b']), batch(2, 8, ['c']), batch(3, 7, 'abort'), batch(4, 7, ['d']), batch(5, 8, 'commit'), batch(6, 7, 'commit'),
  ]);
  const committed = filterFetched({ records, abortedTransactions: abortedList([[7, 0]]) }, 0, readCommitted);
  assert.deepEqual(committed.records.map((r) => `${r.offset}:${r.value}`), ['2:c', '4:d']);
  assert.equal(committed.next, 7);
  assert.equal(committed.abortedSkipped, 2);
  assert.equal(committed.controlBatches, 3);
  const uncommitted = filterFetched({ records, abortedTransactions: abortedList([[7, 0]]) }, 0, readUncommitted);
  assert.deepEqual(uncommitted.records.map((r) => `${r.offset}:${r.value}`), ['0:a', '1:b', '2:c', '4:d']);
  // From offset 3 on, the batches before it are skipped, not handed over again.
  assert.deepEqual(filterFetched({ records, abortedTransactions: new Uint8Array(0) }, 3, readCommitted).records.map((r) => r.offset), [4]);
  assert.equal(controlType(null), -1);
});
