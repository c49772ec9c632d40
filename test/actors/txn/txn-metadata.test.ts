// The transaction coordinator's decisions for one transactional id: Kafka's answers for each
// state (tables), the epoch bumps and fencing of InitProducerId, producer-id rotation when
// the epoch is used up, and a property over random interleavings of two producers' calls,
// timeouts, completions and failed writes: prepared ends are never reversed, an old epoch
// never gets a write, epochs never go back, and every state survives its log record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import {
  type TxnDecision, type TxnMetadata, type TxnTransit, completeTransit, completion, decideAddPartitions, decideEndTxn,
  decideInitProducerId, fencingAbort, hasExpired, hasTimedOut, newTxnMetadata, txnLogValue, txnMetadataFromLog,
} from '../../../actors/txn/txn-metadata.js';
import { type TxnStatusName, decodeTxnValue, encodeTxnValue } from '../../../actors/txn/txn-records.js';

const p = (topic: string, partition: number) => ({ topic, partition });

function expectWrite(decision: TxnDecision): TxnTransit {
  assert.equal(decision.kind, 'write', `expected a write, got ${JSON.stringify(decision)}`);
  return (decision as Extract<TxnDecision, { kind: 'write' }>).transit;
}

function expectAnswer(decision: TxnDecision, errorCode: number): void {
  assert.deepEqual(decision, { kind: 'answer', errorCode });
}

/** Applies a decision as a coordinator whose writes succeed. */
function apply(meta: TxnMetadata, decision: TxnDecision): TxnMetadata {
  if (decision.kind === 'write') completeTransit(meta, decision.transit);
  return meta;
}

function initialized(nowMs = 0): TxnMetadata {
  const meta = newTxnMetadata('tx', 1000, 60_000, nowMs);
  return apply(meta, decideInitProducerId(meta, { timeoutMs: 60_000, expected: null }, nowMs, () => assert.fail('no new producer id')));
}

test('InitProducerId: a new id gets epoch 0, each next call one more, in state Empty', () => {
  const meta = initialized();
  assert.equal(meta.producerEpoch, 0);
  assert.equal(meta.state, 'Empty');
  apply(meta, decideInitProducerId(meta, { timeoutMs: 30_000, expected: null }, 5, () => 0));
  assert.deepEqual([meta.producerId, meta.producerEpoch, meta.timeoutMs, meta.lastUpdateMs], [1000, 1, 30_000, 5]);
});

test('InitProducerId over an open transaction writes a fencing PrepareAbort; the old producer is fenced', () => {
  const meta = initialized();
  apply(meta, decideAddPartitions(meta, 1000, 0, [p('a', 0)], 10));
  const fence = expectWrite(decideInitProducerId(meta, { timeoutMs: 60_000, expected: null }, 20, () => 0));
  assert.deepEqual([fence.state, fence.producerEpoch, fence.partitions], ['PrepareAbort', 1, [p('a', 0)]]);
  completeTransit(meta, fence);
  // The old producer (epoch 0) can neither add nor end; the new one is told to retry until the abort completes.
  expectAnswer(decideAddPartitions(meta, 1000, 0, [p('a', 1)], 21), ErrorCode.PRODUCER_FENCED);
  expectAnswer(decideEndTxn(meta, 1000, 0, true, 21), ErrorCode.PRODUCER_FENCED);
  expectAnswer(decideInitProducerId(meta, { timeoutMs: 60_000, expected: null }, 22, () => 0), ErrorCode.CONCURRENT_TRANSACTIONS);
  completeTransit(meta, completion(meta, 30));
  assert.equal(meta.state, 'CompleteAbort');
  apply(meta, decideInitProducerId(meta, { timeoutMs: 60_000, expected: null }, 31, () => 0));
  assert.deepEqual([meta.state, meta.producerEpoch], ['Empty', 2]);
});

test('InitProducerId at the last epoch rotates to a new producer id', () => {
  const meta = initialized();
  meta.producerEpoch = 0x7ffe;
  const rotation = expectWrite(decideInitProducerId(meta, { timeoutMs: 60_000, expected: null }, 1, () => 2000));
  assert.deepEqual([rotation.producerId, rotation.lastProducerId, rotation.producerEpoch], [2000, 1000, 0]);
  // A fence at Short.MaxValue does not overflow.
  meta.producerEpoch = 0x7fff;
  assert.equal(fencingAbort(meta, 2).producerEpoch, 0x7fff);
});

test('InitProducerId with the producer\'s id and epoch (KIP-360): current bumps, a retry repeats, others are fenced', () => {
  const meta = initialized();
  apply(meta, decideInitProducerId(meta, { timeoutMs: 60_000, expected: { producerId: 1000, producerEpoch: 0 } }, 1, () => 0));
  assert.deepEqual([meta.producerEpoch, meta.lastProducerEpoch], [1, 0]);
  const retry = expectWrite(decideInitProducerId(meta, { timeoutMs: 60_000, expected: { producerId: 1000, producerEpoch: 0 } }, 2, () => 0));
  assert.equal(retry.producerEpoch, 1);
  expectAnswer(decideInitProducerId(meta, { timeoutMs: 60_000, expected: { producerId: 1000, producerEpoch: 7 } }, 3, () => 0), ErrorCode.PRODUCER_FENCED);
  expectAnswer(decideInitProducerId(meta, { timeoutMs: 60_000, expected: { producerId: 55, producerEpoch: 1 } }, 3, () => 0), ErrorCode.PRODUCER_FENCED);
});

test('AddPartitionsToTxn: unknown id or producer, old epoch, ends in progress, and partitions already added', () => {
  const meta = initialized();
  expectAnswer(decideAddPartitions(undefined, 1000, 0, [p('a', 0)], 1), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  expectAnswer(decideAddPartitions(meta, 999, 0, [p('a', 0)], 1), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  expectAnswer(decideAddPartitions(meta, 1000, 1, [p('a', 0)], 1), ErrorCode.PRODUCER_FENCED);
  const open = expectWrite(decideAddPartitions(meta, 1000, 0, [p('b', 1), p('a', 0)], 7));
  assert.deepEqual([open.state, open.partitions, open.startMs], ['Ongoing', [p('a', 0), p('b', 1)], 7]);
  meta.pending = open;
  expectAnswer(decideAddPartitions(meta, 1000, 0, [p('a', 0)], 8), ErrorCode.CONCURRENT_TRANSACTIONS);
  completeTransit(meta, open);
  expectAnswer(decideAddPartitions(meta, 1000, 0, [p('a', 0)], 9), ErrorCode.NONE);
  const more = expectWrite(decideAddPartitions(meta, 1000, 0, [p('a', 1)], 9));
  assert.deepEqual([more.partitions, more.startMs], [[p('a', 0), p('a', 1), p('b', 1)], 7]);
  completeTransit(meta, more);
  completeTransit(meta, expectWrite(decideEndTxn(meta, 1000, 0, true, 10)));
  expectAnswer(decideAddPartitions(meta, 1000, 0, [p('c', 0)], 11), ErrorCode.CONCURRENT_TRANSACTIONS);
});

test('EndTxn: Kafka\'s answer in every state', () => {
  const cases: Array<[TxnStatusName, boolean, number | 'write']> = [
    ['Ongoing', true, 'write'], ['Ongoing', false, 'write'],
    ['CompleteCommit', true, ErrorCode.NONE], ['CompleteCommit', false, ErrorCode.INVALID_TXN_STATE],
    ['CompleteAbort', false, ErrorCode.NONE], ['CompleteAbort', true, ErrorCode.INVALID_TXN_STATE],
    ['PrepareCommit', true, ErrorCode.CONCURRENT_TRANSACTIONS], ['PrepareCommit', false, ErrorCode.INVALID_TXN_STATE],
    ['PrepareAbort', false, ErrorCode.CONCURRENT_TRANSACTIONS], ['PrepareAbort', true, ErrorCode.INVALID_TXN_STATE],
    ['Empty', true, ErrorCode.INVALID_TXN_STATE], ['Empty', false, ErrorCode.INVALID_TXN_STATE],
  ];
  for (const [state, commit, expected] of cases) {
    const meta = { ...initialized(), state, partitions: state === 'Empty' ? [] : [p('a', 0)] };
    const decision = decideEndTxn(meta, 1000, 0, commit, 5);
    if (expected === 'write') assert.equal(expectWrite(decision).state, commit ? 'PrepareCommit' : 'PrepareAbort', state);
    else assert.deepEqual(decision, { kind: 'answer', errorCode: expected }, `${state} ${commit ? 'commit' : 'abort'}`);
  }
  expectAnswer(decideEndTxn(undefined, 1000, 0, true, 5), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('timeouts and expiry: only an open transaction times out, only an idle id expires', () => {
  const meta = initialized();
  assert.equal(hasTimedOut(meta, 1e12), false);
  assert.equal(hasExpired(meta, 100, 100), true);
  completeTransit(meta, expectWrite(decideAddPartitions(meta, 1000, 0, [p('a', 0)], 1000)));
  assert.equal(hasTimedOut(meta, 1000 + 59_999), false);
  assert.equal(hasTimedOut(meta, 1000 + 60_000), true);
  assert.equal(hasExpired(meta, 1e12, 100), false);
});

// ---- The property ----

type Step =
  | { op: 'init'; who: 0 | 1 }
  | { op: 'add'; who: 0 | 1; partition: number }
  | { op: 'end'; who: 0 | 1; commit: boolean }
  | { op: 'complete' }
  | { op: 'timeout' }
  | { op: 'writeFails'; next: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('init' as const), who: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ op: fc.constant('add' as const), who: fc.constantFrom(0 as const, 1 as const), partition: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('end' as const), who: fc.constantFrom(0 as const, 1 as const), commit: fc.boolean() }),
  fc.record({ op: fc.constant('complete' as const) }),
  fc.record({ op: fc.constant('timeout' as const) }),
  fc.record({ op: fc.constant('writeFails' as const), next: fc.boolean() }),
);

test('random calls of two producers: prepared ends hold, old epochs never write, epochs never go back, the log restores every state', () => {
  fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
    let nextPid = 1000;
    const meta = newTxnMetadata('tx', nextPid, 100, 0);
    const held: Array<{ producerId: number; producerEpoch: number } | null> = [null, null];
    let failNext = false;
    let nowMs = 0;
    for (const s of steps) {
      nowMs += 10;
      if (s.op === 'writeFails') {
        failNext = s.next;
        continue;
      }
      let decision: TxnDecision | null = null;
      let asker: 0 | 1 | null = null;
      if (s.op === 'init') {
        asker = s.who;
        decision = decideInitProducerId(meta, { timeoutMs: 100, expected: null }, nowMs, () => ++nextPid);
      } else if (s.op === 'add' || s.op === 'end') {
        const mine = held[s.who];
        if (mine === null) continue;
        decision = s.op === 'add'
          ? decideAddPartitions(meta, mine.producerId, mine.producerEpoch, [p('t', s.partition)], nowMs)
          : decideEndTxn(meta, mine.producerId, mine.producerEpoch, s.commit, nowMs);
        const stale = mine.producerId !== meta.producerId || mine.producerEpoch !== meta.producerEpoch;
        if (stale) assert.equal(decision.kind, 'answer', 'a producer with an old id or epoch got a write');
      } else if (s.op === 'complete') {
        if (meta.pending !== null || (meta.state !== 'PrepareCommit' && meta.state !== 'PrepareAbort')) continue;
        decision = { kind: 'write', transit: completion(meta, nowMs) };
      } else {
        if (!hasTimedOut(meta, nowMs)) continue;
        decision = { kind: 'write', transit: fencingAbort(meta, nowMs) };
      }
      if (decision.kind === 'answer') continue;
      const before = { state: meta.state, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
      if (failNext) {
        failNext = false;
        continue; // the write failed: nothing changes, and a later call may try again
      }
      completeTransit(meta, decision.transit);
      if (s.op === 'init' && asker !== null && meta.state === 'Empty') held[asker] = { producerId: meta.producerId, producerEpoch: meta.producerEpoch };
      // Prepared ends are only ever completed, the same way.
      if (before.state === 'PrepareCommit') assert.equal(meta.state, 'CompleteCommit');
      if (before.state === 'PrepareAbort') assert.equal(meta.state, 'CompleteAbort');
      if (meta.producerId === before.producerId) assert.ok(meta.producerEpoch >= before.producerEpoch, 'the epoch went back');
      // What is written restores the same state.
      const restored = txnMetadataFromLog('tx', decodeTxnValue(encodeTxnValue(txnLogValue(decision.transit))));
      assert.deepEqual({ ...restored, lastProducerEpoch: 0 }, { ...meta, lastProducerEpoch: 0 });
    }
  }), { numRuns: 500 });
});
