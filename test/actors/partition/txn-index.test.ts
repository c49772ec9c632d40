// The partition's view of transactions: open ones, the last stable offset, aborted ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { controlTypes } from '../../../actors/protocol/record-batch.js';
import {
  type TxnHeader, abortedOverlapping, emptyTxns, lastStableOffset, noteTxnBatch, packAborted, pruneAborted, stabilizeTxns, truncateTxns,
  unpackAborted,
} from '../../../actors/partition/txn-index.js';

function data(producerId: number, baseOffset: number, records = 1): TxnHeader {
  return {
    producerId, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: records - 1, baseOffset, lastOffset: baseOffset + records - 1,
    isTransactional: true, isControl: false, controlType: -1,
  };
}

function marker(producerId: number, offset: number, commit: boolean): TxnHeader {
  return {
    producerId, producerEpoch: 0, baseSequence: -1, lastOffsetDelta: 0, baseOffset: offset, lastOffset: offset,
    isTransactional: true, isControl: true, controlType: commit ? controlTypes.commit : controlTypes.abort,
  };
}

test('the last stable offset stops at the first open transaction until its marker is below the high watermark', () => {
  const txns = emptyTxns();
  noteTxnBatch(txns, { ...data(1, 0), isTransactional: false }); // not transactional: nothing
  assert.equal(lastStableOffset(txns, 1), 1);
  noteTxnBatch(txns, data(7, 1, 2));
  noteTxnBatch(txns, data(8, 3));
  noteTxnBatch(txns, data(7, 4)); // the same transaction goes on
  assert.equal(lastStableOffset(txns, 10), 1);
  noteTxnBatch(txns, marker(7, 5, true));
  assert.equal(lastStableOffset(txns, 10), 1, 'a marker not yet below the high watermark may still be cut');
  stabilizeTxns(txns, 6);
  assert.equal(lastStableOffset(txns, 6), 3, 'producer 8 is still open');
  noteTxnBatch(txns, marker(8, 6, false));
  stabilizeTxns(txns, 7);
  assert.equal(lastStableOffset(txns, 7), 7);
  assert.deepEqual(txns.aborted, [{ producerId: 8, firstOffset: 3, lastOffset: 6 }]);
  assert.equal(lastStableOffset(txns, 5), 5, 'never above the high watermark');
});

test('a truncation reopens a transaction whose marker it cut and forgets one that began after it', () => {
  const txns = emptyTxns();
  noteTxnBatch(txns, data(1, 0));
  noteTxnBatch(txns, data(2, 1));
  noteTxnBatch(txns, marker(1, 2, false));
  noteTxnBatch(txns, data(3, 3));
  truncateTxns(txns, 2);
  assert.deepEqual(txns.unstable.map((t) => [t.producerId, t.firstOffset, t.markerOffset]), [[1, 0, -1], [2, 1, -1]]);
  assert.deepEqual(txns.aborted, []);
  noteTxnBatch(txns, marker(9, 2, true));
  assert.equal(txns.unstable.length, 2, 'a marker of a producer without data here closes nothing');
});

test('a read_committed fetch hears of the aborted transactions its range overlaps, and retention forgets old ones', () => {
  const txns = emptyTxns();
  for (const [pid, first] of [[1, 0], [2, 2], [3, 9]] as const) {
    noteTxnBatch(txns, data(pid, first));
  }
  noteTxnBatch(txns, marker(1, 3, false));
  noteTxnBatch(txns, marker(2, 8, false));
  noteTxnBatch(txns, marker(3, 10, false));
  assert.deepEqual(abortedOverlapping(txns, 4, 9).map((t) => t.producerId), [2]);
  assert.deepEqual(abortedOverlapping(txns, 0, 2).map((t) => t.producerId), [1]);
  assert.deepEqual(abortedOverlapping(txns, 0, 11).map((t) => t.producerId), [1, 2, 3]);
  assert.deepEqual(unpackAborted(packAborted(txns.aborted)), txns.aborted.map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset })));
  pruneAborted(txns, 4);
  assert.deepEqual(txns.aborted.map((t) => t.producerId), [2, 3]);
});

// A model: the log as a list of (producer, kind) entries; a transaction's state at the end of
// a prefix is what its entries say. The index, fed batches in order with truncations and
// high watermark moves in between, must agree with the model on the LSO and the aborted set.
test('property: the index agrees with a replay of the log it was fed, through truncations', () => {
  type Op = { kind: 'data'; producer: number } | { kind: 'marker'; producer: number; commit: boolean } | { kind: 'truncate'; back: number } | { kind: 'hw'; ahead: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('data' as const), producer: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('marker' as const), producer: fc.integer({ min: 1, max: 4 }), commit: fc.boolean() }),
    fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('hw' as const), ahead: fc.integer({ min: 0, max: 4 }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const txns = emptyTxns();
    const log: TxnHeader[] = [];
    let hw = 0;
    for (const o of ops) {
      if (o.kind === 'data' || o.kind === 'marker') {
        const h = o.kind === 'data' ? data(o.producer, log.length) : marker(o.producer, log.length, o.commit);
        log.push(h);
        noteTxnBatch(txns, h);
      } else if (o.kind === 'truncate') {
        const end = Math.max(hw, log.length - o.back); // truncations stay at or above the high watermark
        log.length = end;
        truncateTxns(txns, end);
      } else {
        hw = Math.min(log.length, hw + o.ahead);
        stabilizeTxns(txns, hw);
      }
    }
    // The model: replay the whole log.
    const open = new Map<number, number>();
    const unstableFirsts: number[] = [];
    const aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> = [];
    for (const h of log) {
      if (!h.isControl) {
        if (!open.has(h.producerId)) open.set(h.producerId, h.baseOffset);
        continue;
      }
      const first = open.get(h.producerId);
      if (first === undefined) continue;
      open.delete(h.producerId);
      if (h.baseOffset >= hw) unstableFirsts.push(first);
      if (h.controlType === controlTypes.abort) aborted.push({ producerId: h.producerId, firstOffset: first, lastOffset: h.baseOffset });
    }
    const expectedLso = Math.min(hw, ...open.values(), ...unstableFirsts);
    assert.equal(lastStableOffset(txns, hw), expectedLso);
    assert.deepEqual(txns.aborted, aborted);
  }), { numRuns: 2000 });
});
