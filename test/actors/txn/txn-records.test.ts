// __transaction_state keys and values: bytes written out by hand from Kafka's declarations
// (TransactionLogKey/Value.json, TransactionLog.valueToBytes), so a wrong field order, width
// or version fails; version 1 (flexible, tagged producer ids) is read; random and cut input
// only ever throws TxnRecordError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type TxnLogValue, type TxnStatusName, TxnRecordError, TxnStatus, decodeTxnKey, decodeTxnRecord, decodeTxnValue, encodeTxnKey,
  encodeTxnValue,
} from '../../../actors/txn/txn-records.js';

function fromHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  assert.match(digits, /^([0-9a-f]{2})*$/);
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const ongoing: TxnLogValue = {
  producerId: 4000, previousProducerId: -1, nextProducerId: -1, producerEpoch: 3, transactionTimeoutMs: 60_000, status: 'Ongoing',
  partitions: [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }, { topic: 'b', partition: 1 }],
  lastUpdateTimestampMs: 1_700_000_060_000, startTimestampMs: 1_700_000_000_000,
};
const ongoingHex = `
  0000                    # value version 0
  0000000000000fa0        # producer id 4000
  0003                    # epoch
  0000ea60                # timeout 60000
  01                      # Ongoing
  00000002                # two topics
  0001 61  00000002 00000000 00000002
  0001 62  00000001 00000001
  0000018bcfe65260        # last update
  0000018bcfe56800        # start`;

test('a key is version 0 and the transactional id', () => {
  assert.equal(toHex(encodeTxnKey('tx')), '00000002' + '7478');
  assert.equal(decodeTxnKey(fromHex('0000 0002 7478')), 'tx');
});

test('a value is written as version 0, partitions grouped by topic', () => {
  assert.equal(toHex(encodeTxnValue(ongoing)), toHex(fromHex(ongoingHex)));
  assert.deepEqual(decodeTxnValue(fromHex(ongoingHex)), ongoing);
});

test('an Empty value has a null partition array, as Kafka writes it', () => {
  const empty: TxnLogValue = { ...ongoing, status: 'Empty', partitions: [], startTimestampMs: -1 };
  const bytes = encodeTxnValue(empty);
  assert.equal(toHex(bytes.subarray(16, 21)), '00' + 'ffffffff');
  assert.deepEqual(decodeTxnValue(bytes), empty);
});

test('version 1 is read: compact fields, the tagged previous and next producer ids, unknown tags skipped', () => {
  const v1 = fromHex(`
    0001 0000000000000fa0 0003 0000ea60 04
    02                    # one topic (compact: n+1)
    02 61 02 00000005 00  # 'a', [5], no tags
    0000018bcfe65260 0000018bcfe56800
    03                    # three tagged fields
    00 08 0000000000000064    # tag 0: previous producer id 100
    01 08 00000000000000c8    # tag 1: next producer id 200
    02 02 0002                # tag 2: client transaction version (not kept)
  `);
  assert.deepEqual(decodeTxnValue(v1), {
    producerId: 4000, previousProducerId: 100, nextProducerId: 200, producerEpoch: 3, transactionTimeoutMs: 60_000,
    status: 'CompleteCommit', partitions: [{ topic: 'a', partition: 5 }],
    lastUpdateTimestampMs: 1_700_000_060_000, startTimestampMs: 1_700_000_000_000,
  });
});

test('a tombstone is an expired id; a record without key, an unknown status or version is refused', () => {
  assert.deepEqual(decodeTxnRecord(encodeTxnKey('tx'), null), { transactionalId: 'tx', value: null });
  assert.throws(() => decodeTxnRecord(null, encodeTxnValue(ongoing)), TxnRecordError);
  const badStatus = fromHex(ongoingHex);
  badStatus[16] = 9;
  assert.throws(() => decodeTxnValue(badStatus), /unknown status 9/);
  assert.throws(() => decodeTxnValue(fromHex('0002')), /unknown version 2/);
  assert.throws(() => decodeTxnKey(fromHex('0001 0002 7478')), /unknown version 1/);
  assert.throws(() => encodeTxnValue({ ...ongoing, status: 'PrepareEpochFence' }), TxnRecordError);
});

test('every cut of a valid value throws TxnRecordError, and so does one byte more', () => {
  const valid = fromHex(ongoingHex);
  for (let length = 0; length < valid.length; length++) assert.throws(() => decodeTxnValue(valid.slice(0, length)), TxnRecordError);
  assert.throws(() => decodeTxnValue(Uint8Array.from([...valid, 0])), /left over/);
});

const writtenStatuses = (Object.keys(TxnStatus) as TxnStatusName[]).filter((s) => s !== 'PrepareEpochFence');

test('any value round-trips (partitions sorted by topic, none when Empty)', () => {
  const partition = fc.record({ topic: fc.constantFrom('a', 'b', 'orders'), partition: fc.integer({ min: 0, max: 99 }) });
  fc.assert(fc.property(
    fc.record({
      producerId: fc.maxSafeNat(), producerEpoch: fc.integer({ min: -1, max: 0x7fff }), transactionTimeoutMs: fc.integer({ min: 1, max: 0x7fffffff }),
      status: fc.constantFrom(...writtenStatuses), partitions: fc.uniqueArray(partition, { selector: (p) => `${p.topic}/${p.partition}` }),
      lastUpdateTimestampMs: fc.maxSafeNat(), startTimestampMs: fc.integer({ min: -1, max: 2 ** 50 }),
    }),
    (drawn) => {
      const partitions = drawn.status === 'Empty' ? [] : [...drawn.partitions].sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : 0));
      const value: TxnLogValue = { ...drawn, partitions, previousProducerId: -1, nextProducerId: -1 };
      const decoded = decodeTxnValue(encodeTxnValue(value));
      // Within a topic the order is the order written; compare as sets per topic.
      const key = (v: TxnLogValue): string[] => v.partitions.map((p) => `${p.topic}/${p.partition}`).sort();
      assert.deepEqual(key(decoded), key(value));
      assert.deepEqual({ ...decoded, partitions: [] }, { ...value, partitions: [] });
    },
  ), { numRuns: 300 });
});

test('random bytes only ever throw TxnRecordError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    for (const decode of [decodeTxnKey, decodeTxnValue]) {
      try {
        decode(bytes);
      } catch (error) {
        if (!(error instanceof TxnRecordError)) assert.fail(`${toHex(bytes)}: ${String(error)}`);
      }
    }
  }), { numRuns: 2000 });
});
