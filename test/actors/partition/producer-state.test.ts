import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import {
  type ProducerHeader, type ProducerStates, checkSequence, producersFromSnapshot, recordBatch, replayBatch, snapshotProducers,
  truncateProducers,
} from '../../../actors/partition/producer-state.js';

function header(producerId: number, producerEpoch: number, baseSequence: number, records: number, baseOffset = 0): ProducerHeader {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, baseOffset, lastOffset: baseOffset + records - 1 };
}

test('sequences: in order appends, a retry is a duplicate with the first offsets, a gap or an old epoch is refused', () => {
  const states: ProducerStates = new Map();
  assert.equal(checkSequence(states, header(7, 0, 0, 3)).kind, 'append');
  recordBatch(states, header(7, 0, 0, 3), 10, 12);
  const retry = checkSequence(states, header(7, 0, 0, 3));
  assert.equal(retry.kind, 'duplicate');
  assert.deepEqual(retry.kind === 'duplicate' ? [retry.batch.firstOffset, retry.batch.lastOffset] : [], [10, 12]);
  assert.equal(checkSequence(states, header(7, 0, 3, 2)).kind, 'append');
  const gap = checkSequence(states, header(7, 0, 5, 1));
  assert.deepEqual(gap.kind === 'refuse' ? gap.errorCode : null, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const unknown = checkSequence(states, header(8, 0, 4, 1));
  assert.deepEqual(unknown.kind === 'refuse' ? unknown.errorCode : null, ErrorCode.UNKNOWN_PRODUCER_ID);
  recordBatch(states, header(7, 1, 0, 1), 13, 13);
  const stale = checkSequence(states, header(7, 0, 3, 1));
  assert.deepEqual(stale.kind === 'refuse' ? stale.errorCode : null, ErrorCode.INVALID_PRODUCER_EPOCH);
  const newEpochMidway = checkSequence(states, header(7, 2, 4, 1));
  assert.deepEqual(newEpochMidway.kind === 'refuse' ? newEpochMidway.errorCode : null, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(checkSequence(states, header(-1, -1, -1, 5)).kind, 'append', 'batches without a producer id are never checked');
});

test('only the last five batches are kept; a truncation forgets what it cut but not the epoch', () => {
  const states: ProducerStates = new Map();
  for (let i = 0; i < 7; i++) recordBatch(states, header(1, 0, i, 1), i, i);
  assert.equal(states.get(1)!.batches.length, 5);
  assert.equal(checkSequence(states, header(1, 0, 0, 1)).kind, 'refuse', 'too old to be recognised as a retry');
  truncateProducers(states, 5);
  assert.deepEqual(states.get(1)!.batches.map((b) => b.firstOffset), [2, 3, 4]);
  truncateProducers(states, 0);
  assert.deepEqual(states.get(1)!.batches, []);
  assert.equal(checkSequence(states, header(1, -1, 0, 1)).kind, 'refuse', 'an older epoch stays fenced');
  assert.equal(checkSequence(states, header(1, 0, 0, 1)).kind, 'append', 'with no batch left, the same epoch appends');
});

test('replaying a log rebuilds the same state, whatever is replayed twice', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })), { maxLength: 40 }), fc.nat(), (batches, cut) => {
    const live: ProducerStates = new Map();
    const log: ProducerHeader[] = [];
    const next = new Map<number, number>();
    let offset = 0;
    for (const [producerId, records] of batches) {
      const h = header(producerId, 0, next.get(producerId) ?? 0, records, offset);
      assert.equal(checkSequence(live, h).kind, 'append');
      recordBatch(live, h, h.baseOffset, h.lastOffset);
      next.set(producerId, h.baseSequence + records);
      log.push(h);
      offset += records;
    }
    // Recovery: a snapshot taken part way, then the whole log replayed on top of it.
    const snapshotState: ProducerStates = new Map();
    for (const h of log.slice(0, cut % (log.length + 1))) replayBatch(snapshotState, h);
    const recovered = producersFromSnapshot(snapshotProducers(snapshotState));
    for (const h of log) replayBatch(recovered, h);
    assert.deepEqual(snapshotProducers(recovered), snapshotProducers(live));
  }));
});
