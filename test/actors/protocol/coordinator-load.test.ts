// The load walk that coordinators share (readLoadedBatches): records with their batch's offset,
// producer and transactional bit, and transaction markers for a loader that asks for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LoadedMarker, type LoadedRecord, readLoadedBatches } from '../../../actors/protocol/coordinator-load.js';
import { encodeRecordBatch } from '../../../actors/protocol/records.js';

const bytes = (...values: number[]) => new Uint8Array(values);

/** A control batch at `offset` whose key is version 0 and `type` (0 abort, 1 commit; 2 and up other kinds). */
function controlBatch(offset: number, producerId: number, type: number): Uint8Array {
  return encodeRecordBatch([{ key: bytes(0, 0, 0, type), value: bytes(0, 0, 0, 0, 0, 0), timestamp: 0 }], {
    baseOffset: offset, producerId, producerEpoch: 3, baseSequence: -1, transactional: true, control: true,
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const log = concat(
  encodeRecordBatch([{ key: bytes(1), value: bytes(10), timestamp: 0 }, { key: bytes(2), value: bytes(20), timestamp: 0 }], { baseOffset: 0 }),
  encodeRecordBatch([{ key: bytes(3), value: bytes(30), timestamp: 0 }], { baseOffset: 2, producerId: 77, producerEpoch: 3, baseSequence: -1, transactional: true }),
  controlBatch(3, 77, 1),
  controlBatch(4, 78, 0),
  controlBatch(5, 79, 2), // a control record of another kind (KRaft's leader change): no marker
);

test('records carry their batch offset, producer and transactional bit; markers go to the loader that asks', () => {
  const records: LoadedRecord[] = [];
  const markers: LoadedMarker[] = [];
  const loaded = readLoadedBatches(log, 0, (r) => records.push(r), (m) => markers.push(m));
  assert.deepEqual(loaded, { nextOffset: 6, problems: [] });
  assert.deepEqual(records.map((r) => [r.offset, r.batchOffset, r.producerId, r.transactional]), [[0, 0, -1, false], [1, 0, -1, false], [2, 2, 77, true]]);
  assert.deepEqual(markers, [
    { offset: 3, producerId: 77, producerEpoch: 3, commit: true },
    { offset: 4, producerId: 78, producerEpoch: 3, commit: false },
  ]);
});

test('a loader that does not ask skips markers; records and markers below the offset asked for are skipped', () => {
  const records: LoadedRecord[] = [];
  assert.deepEqual(readLoadedBatches(log, 0, (r) => records.push(r)), { nextOffset: 6, problems: [] });
  assert.equal(records.length, 3);
  const markers: LoadedMarker[] = [];
  const later: LoadedRecord[] = [];
  readLoadedBatches(log, 4, (r) => later.push(r), (m) => markers.push(m));
  assert.deepEqual(later, []);
  assert.deepEqual(markers.map((m) => m.offset), [4]);
});

test('a control record without its version and type is named in problems and skipped', () => {
  const broken = encodeRecordBatch([{ key: bytes(0), value: null, timestamp: 0 }], {
    baseOffset: 0, producerId: 5, producerEpoch: 0, baseSequence: -1, transactional: true, control: true,
  });
  const markers: LoadedMarker[] = [];
  const loaded = readLoadedBatches(broken, 0, () => {}, (m) => markers.push(m));
  assert.equal(loaded.nextOffset, 1);
  assert.equal(loaded.problems.length, 1);
  assert.match(loaded.problems[0]!, /control record/);
  assert.deepEqual(markers, []);
});
