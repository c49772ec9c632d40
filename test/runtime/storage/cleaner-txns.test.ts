// The log cleaner and transactions: the shared decisions (cleaner-txns.ts) on batch headers,
// the checkpoint rows of empty commit markers, and a real log written with transactional
// batches and markers, cleaned, reopened, rebuilt, and crashed at each step of a swap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type BatchHeader, readBatchHeader, scanBatches, setBaseOffset } from '../../../actors/protocol/record-batch.js';
import { lastStableOffset } from '../../../actors/partition/txn-index.js';
import {
  type CleanerCheckpoint, type CleanerStep, CleanerStoppedError, afterPass, clampCheckpoint, readCleanerCheckpoint, writeCleanerCheckpoint,
} from '../../../runtime/storage/cleaner.js';
import { type TxnCleaningRules, TxnPass, emptyMarkersAfterPass, isAbortedBatch, abortedByProducer, withoutRemovedAborts } from '../../../runtime/storage/cleaner-txns.js';
import { PartitionLog, defaultLogConfig, type LogConfig } from '../../../runtime/storage/partition-log.js';
import { crc32c, decodeRecords, encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

const logger = pino({ level: 'silent' });
const t0 = 1_000_000;

function data(producerId: number, epoch: number, key: string, value: string, sequence = 0): Uint8Array {
  return encodeRecordBatch([{ key: Buffer.from(key), value: Buffer.from(value), timestamp: t0 }], {
    baseTimestamp: t0, producerId, producerEpoch: epoch, baseSequence: sequence, transactional: true,
  });
}

function marker(producerId: number, epoch: number, commit: boolean): Uint8Array {
  return encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array(6), timestamp: t0 }], {
    baseTimestamp: t0, producerId, producerEpoch: epoch, baseSequence: -1, transactional: true, control: true,
  });
}

function plain(key: string, value: string): Uint8Array {
  return encodeRecordBatch([{ key: Buffer.from(key), value: Buffer.from(value), timestamp: t0 }], { baseTimestamp: t0 });
}

/** The header of `bytes` placed at `offset`. */
function at(offset: number, bytes: Uint8Array): BatchHeader {
  const copy = bytes.slice();
  setBaseOffset(copy, 0, offset);
  return readBatchHeader(copy, 0);
}

function rules(overrides: Partial<TxnCleaningRules> = {}): TxnCleaningRules {
  return { now: t0, deleteRetentionMs: 10_000, tombstoneHorizon: Infinity, emptyMarkers: [], judgeMarkers: true, ...overrides };
}

// ---------------------------------------------------------------------------------------
// The decisions.

test('a data batch of an aborted transaction goes whole and is not mapped; a committed one is judged record by record', () => {
  const aborted = [{ producerId: 7, firstOffset: 0, lastOffset: 2 }];
  const pass = new TxnPass(aborted, rules());
  assert.equal(pass.mapsRecords(at(0, data(7, 0, 'a', 'x'))), false);
  assert.equal(pass.next(at(0, data(7, 0, 'a', 'x')), false), 'remove');
  assert.equal(pass.next(at(1, data(8, 0, 'b', 'y')), false), 'records', 'producer 8 committed');
  assert.equal(pass.mapsRecords(at(1, data(8, 0, 'b', 'y'))), true);
  assert.equal(pass.next(at(2, marker(7, 0, false)), false), 'keep', 'an abort marker stays while this pass read data of it');
  assert.equal(pass.next(at(3, data(7, 0, 'a', 'z', 1)), false), 'records', 'after its abort marker the producer writes committed data again');
  assert.equal(pass.next(at(4, plain('c', 'w')), false), 'records');
  assert.equal(pass.mapsRecords(at(5, marker(8, 0, true))), false, 'markers never enter the map');
});

test('the aborted index finds a batch inside one of its producer\'s ranges only', () => {
  const index = abortedByProducer([{ producerId: 7, firstOffset: 10, lastOffset: 20 }, { producerId: 7, firstOffset: 0, lastOffset: 5 }, { producerId: 8, firstOffset: 6, lastOffset: 30 }]);
  const aborted = (offset: number, producerId: number): boolean => isAbortedBatch(index, at(offset, data(producerId, 0, 'k', 'v')));
  assert.deepEqual([0, 4, 5, 7, 10, 19, 20, 25].map((o) => aborted(o, 7)), [true, true, false, false, true, true, false, false]);
  assert.deepEqual([5, 6, 29, 30].map((o) => aborted(o, 8)), [false, true, true, false]);
  assert.equal(aborted(3, 9), false);
});

test('a commit marker stays while data of its transaction is left, then delete.retention.ms after a pass first found none, once every replica has fetched past it', () => {
  // Pass 1: the data is read (and superseded in this pass): the marker stays.
  let pass = new TxnPass([], rules());
  pass.next(at(0, data(8, 0, 'b', 'x')), false);
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'keep');
  assert.deepEqual(pass.emptyMarkers, []);
  // Pass 2: no data before it: found empty now, kept for delete.retention.ms.
  pass = new TxnPass([], rules({ now: t0 + 100 }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'keep');
  assert.deepEqual(pass.emptyMarkers, [{ offset: 1, sinceMs: t0 + 100 }]);
  const known = pass.emptyMarkers;
  pass = new TxnPass([], rules({ now: t0 + 10_099, emptyMarkers: known }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'keep', 'delete.retention.ms has not passed');
  assert.deepEqual(pass.emptyMarkers, known, 'the first time is kept');
  pass = new TxnPass([], rules({ now: t0 + 10_100, emptyMarkers: known, tombstoneHorizon: 1 }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'keep', 'a replica has not fetched it');
  pass = new TxnPass([], rules({ now: t0 + 10_100, emptyMarkers: known, tombstoneHorizon: 2 }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), true), 'keep', 'producer state needs it');
  pass = new TxnPass([], rules({ now: t0 + 10_100, emptyMarkers: known, tombstoneHorizon: 2, judgeMarkers: false }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'keep', 'a round that does not see the whole log judges no marker');
  pass = new TxnPass([], rules({ now: t0 + 10_100, emptyMarkers: known, tombstoneHorizon: 2 }));
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'remove');
  assert.deepEqual(pass.emptyMarkers, []);
});

test('an abort marker goes as a commit marker does, and is reported for the aborted index; data of another producer does not hold a marker', () => {
  const pass = new TxnPass([], rules({ deleteRetentionMs: 0 }));
  pass.next(at(0, data(9, 0, 'x', '1')), false);
  assert.equal(pass.next(at(1, marker(8, 0, true)), false), 'remove', 'producer 8 has no data before it');
  assert.equal(pass.next(at(2, marker(8, 0, false)), false), 'remove', 'nor before its abort marker');
  assert.equal(pass.next(at(3, marker(9, 0, false)), false), 'keep', 'producer 9 has');
  assert.equal(pass.next(at(4, marker(8, 1, false)), true), 'keep', 'producer state keeps it');
  assert.deepEqual(pass.abortMarkersRemoved, [2], 'only the abort marker removed leaves the index');

  const waiting = new TxnPass([], rules({ deleteRetentionMs: 100, tombstoneHorizon: 10 }));
  assert.equal(waiting.next(at(5, marker(8, 0, false)), false), 'keep', 'delete.retention.ms has not passed');
  assert.deepEqual(waiting.emptyMarkers, [{ offset: 5, sinceMs: rules().now }]);
  assert.deepEqual(waiting.abortMarkersRemoved, []);
  assert.deepEqual(withoutRemovedAborts([{ producerId: 8, firstOffset: 0, lastOffset: 2 }, { producerId: 9, firstOffset: 0, lastOffset: 3 }], [2]),
    [{ producerId: 9, firstOffset: 0, lastOffset: 3 }]);
});

test('the bug switches: markers dropped with data left, aborted data kept as committed', () => {
  const early = new TxnPass([], rules({ deleteRetentionMs: 0 }), { dropMarkersEarly: true });
  early.next(at(0, data(8, 0, 'b', 'x')), false);
  assert.equal(early.next(at(1, marker(8, 0, true)), false), 'remove');
  const asCommitted = new TxnPass([{ producerId: 7, firstOffset: 0, lastOffset: 1 }], rules(), { keepAbortedAsCommitted: true });
  assert.equal(asCommitted.next(at(0, data(7, 0, 'a', 'x')), false), 'records');
});

test('compressed batches stay as they are, except aborted data, which goes whole', () => {
  const compressed = (header: BatchHeader): BatchHeader => ({ ...header, compression: 1 });
  const pass = new TxnPass([{ producerId: 7, firstOffset: 0, lastOffset: 1 }], rules());
  assert.equal(pass.next(compressed(at(0, data(7, 0, 'a', 'x'))), false), 'remove');
  assert.equal(pass.next(compressed(at(2, data(8, 0, 'b', 'y'))), false), 'keep');
  assert.equal(pass.next(compressed(at(3, plain('c', 'z'))), false), 'keep');
  assert.equal(pass.mapsRecords(compressed(at(3, plain('c', 'z')))), false);
});

test('the checkpoint keeps empty commit markers: merged after a pass, clamped by truncation, written and read back', async () => {
  assert.deepEqual(emptyMarkersAfterPass([{ offset: 3, sinceMs: 1 }, { offset: 40, sinceMs: 2 }], [{ offset: 5, sinceMs: 9 }], 20), [{ offset: 5, sinceMs: 9 }, { offset: 40, sinceMs: 2 }]);
  let checkpoint: CleanerCheckpoint = { firstDirtyOffset: 0, cleaned: [] };
  checkpoint = afterPass(checkpoint, 20, 1_000, 5_000, [{ offset: 4, sinceMs: 1_000 }, { offset: 12, sinceMs: 1_000 }]);
  assert.deepEqual(checkpoint.emptyMarkers, [{ offset: 4, sinceMs: 1_000 }, { offset: 12, sinceMs: 1_000 }]);
  assert.deepEqual(afterPass(checkpoint, 30, 2_000, 5_000).emptyMarkers, checkpoint.emptyMarkers, 'a pass that judges no marker keeps them');
  assert.deepEqual(clampCheckpoint(checkpoint, 5, 12).emptyMarkers, undefined, 'none left in [5, 12)');
  assert.deepEqual(clampCheckpoint(checkpoint, 0, 13).emptyMarkers, checkpoint.emptyMarkers);
  assert.equal('emptyMarkers' in afterPass({ firstDirtyOffset: 0, cleaned: [] }, 10, 1, 5), false, 'no field without markers');
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-cleaner-txns-'));
  try {
    await writeCleanerCheckpoint(dir, 'orders', 0, checkpoint);
    assert.deepEqual(await readCleanerCheckpoint(dir, 'orders', 0, logger), checkpoint);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// A real log.

function harness() {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-cleaner-txns-'));
  const clock = { now: t0 };
  const config: LogConfig = { ...defaultLogConfig, segmentBytes: 300, indexIntervalBytes: 100, retentionMs: -1, compact: true, deleteRetentionMs: 10_000 };
  return {
    dir, clock,
    open: () => PartitionLog.open(dir, '__consumer_offsets', 0, config, logger, () => clock.now),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Batch { baseOffset: number; lastOffset: number; producerId: number; control: boolean; records: Array<{ offset: number; key: string; value: string }> }

async function batchesOf(log: PartitionLog): Promise<Batch[]> {
  const batches: Batch[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 1 << 20);
    const scan = scanBatches(result.bytes, 0, result.bytes.length, crc32c);
    assert.equal(scan.error, null);
    for (const h of scan.headers) {
      if (h.lastOffset < offset) continue;
      batches.push({
        baseOffset: h.baseOffset, lastOffset: h.lastOffset, producerId: h.producerId, control: h.isControl,
        records: h.isControl ? [] : decodeRecords(result.bytes, h).map((r) => ({ offset: r.offset, key: Buffer.from(r.key!).toString(), value: Buffer.from(r.value!).toString() })),
      });
    }
    assert.ok(result.nextOffset > offset, `read at ${offset} made no progress`);
    offset = result.nextOffset;
  }
  return batches;
}

function recordsOf(batches: readonly Batch[]): string[] {
  return batches.flatMap((b) => b.records.map((r) => `${r.offset}:${r.key}=${r.value}`));
}

/**
 * Producer 7 aborts (0-1), then commits in a new epoch (10-11); producer 8 commits b (3-4),
 * superseded by a plain b (5), then commits in a new epoch (6-7); producer 9 aborts (8-9) and
 * its data stays, emptied, as its producer state's last batch. Offset 12 is in the active segment.
 */
async function writeTransactions(log: PartitionLog): Promise<void> {
  for (const bytes of [
    data(7, 0, 'a', 'a-aborted'), marker(7, 0, false), plain('a', 'a1'),
    data(8, 0, 'b', 'b-txn'), marker(8, 0, true), plain('b', 'b2'),
    data(8, 1, 'c', 'c-txn'), marker(8, 1, true),
    data(9, 0, 'd', 'd-aborted'), marker(9, 0, false),
    data(7, 1, 'e', 'e-txn'), marker(7, 1, true),
  ]) await log.append(bytes, 1);
  await log.rollSegment();
  await log.append(plain('z', 'z1'), 1);
  await log.flush();
  log.setHighWatermark(log.logEndOffset, log.logEndOffset);
}

const afterFirstPass = ['2:a=a1', '5:b=b2', '6:c=c-txn', '10:e=e-txn', '12:z=z1'];

const abortedAsWritten = [{ producerId: 7, firstOffset: 0, lastOffset: 1 }, { producerId: 9, firstOffset: 8, lastOffset: 9 }];

/** What every reopening must give: the aborted index (as written, or without the transactions the cleaner removed), nothing left open, the LSO at the high watermark. */
function assertTxnState(log: PartitionLog, what: string, aborted = abortedAsWritten): void {
  const txns = log.txnSnapshot();
  assert.deepEqual(txns.aborted, aborted, `${what}: aborted index`);
  log.setHighWatermark(log.logEndOffset, log.logEndOffset);
  assert.equal(lastStableOffset(log.txnSnapshot(), log.logEndOffset), log.logEndOffset, `${what}: nothing open`);
}

/** Rebuilt from the batches alone (no transaction checkpoint): no transaction is left open, the LSO is not stuck. */
async function assertRebuildResolves(h: ReturnType<typeof harness>, what: string): Promise<void> {
  rmSync(join(h.dir, 'transaction-state-checkpoint'), { force: true });
  rmSync(join(h.dir, 'recovery-point-offset-checkpoint'), { force: true });
  const rebuilt = await h.open();
  const txns = rebuilt.txnSnapshot();
  assert.deepEqual(txns.unstable.filter((t) => t.markerOffset < 0), [], `${what}: no transaction open after a rebuild`);
  assert.deepEqual(txns.aborted.filter((t) => t.producerId === 8), [], `${what}: producer 8 never aborted`);
  await rebuilt.close();
}

test('a real log: aborted data goes, committed data is compacted, a marker goes only once its data is gone, retention has passed and replicas fetched it, an abort marker with its index entry', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await writeTransactions(log);
    const before = await batchesOf(log);
    let stats = await log.clean(t0);
    assert.equal(stats.abandoned, false);
    assert.ok(stats.segmentsSwapped > 1, 'the transactions spanned several segments');
    let batches = await batchesOf(log);
    assert.deepEqual(recordsOf(batches), afterFirstPass);
    assert.deepEqual(batches.filter((b) => b.control).map((b) => b.baseOffset), [1, 4, 7, 9, 11], 'markers stay: data was read in this pass');
    assert.ok(batches.some((b) => b.baseOffset === 8 && b.records.length === 0), 'producer 9\'s aborted batch stays, emptied, for its producer state');
    assert.ok(!batches.some((b) => b.baseOffset === 0 || b.baseOffset === 3), 'aborted data and emptied committed data go');
    assert.equal(stats.abortedBatchesRemoved, 2, 'offset 0 removed, offset 8 emptied');
    assert.ok(stats.recordsRemoved >= 3);
    assertTxnState(log, 'after the first pass');

    h.clock.now = t0 + 1;
    stats = await log.clean(h.clock.now);
    assert.equal(stats.markersRemoved, 0, 'no data left before offsets 1 and 4 now: their delete.retention.ms starts');
    h.clock.now = t0 + 1 + 10_000;
    log.setHighWatermark(log.logEndOffset, 4);
    stats = await log.clean(h.clock.now);
    assert.equal(stats.markersRemoved, 1, 'the abort marker at 1 goes; a replica has not fetched offset 4');
    assert.deepEqual(log.txnSnapshot().aborted, [{ producerId: 9, firstOffset: 8, lastOffset: 9 }], 'producer 7\'s aborted transaction left the index with its marker');
    log.setHighWatermark(log.logEndOffset, log.logEndOffset);
    stats = await log.clean(h.clock.now);
    assert.equal(stats.markersRemoved, 1);
    batches = await batchesOf(log);
    assert.deepEqual(recordsOf(batches), afterFirstPass);
    assert.deepEqual(batches.filter((b) => b.control).map((b) => b.baseOffset), [7, 9, 11], 'the abort marker at 1 and the commit marker at 4 went; those with data stay');
    assert.ok(before.length > batches.length);
    await log.close();

    const reopened = await h.open();
    assert.deepEqual(recordsOf(await batchesOf(reopened)), afterFirstPass);
    assertTxnState(reopened, 'reopened', [{ producerId: 9, firstOffset: 8, lastOffset: 9 }]);
    await reopened.close();
    await assertRebuildResolves(h, 'after cleaning');
  } finally {
    h.cleanup();
  }
});

test('the empty markers survive a restart in the cleaner checkpoint: the marker goes delete.retention.ms after it was first found, not after the restart', async () => {
  const h = harness();
  try {
    const log = await h.open();
    await writeTransactions(log);
    await log.clean(t0);
    await log.clean(t0 + 1);
    await log.close();
    const reopened = await h.open();
    reopened.setHighWatermark(reopened.logEndOffset, reopened.logEndOffset);
    const stats = await reopened.clean(t0 + 1 + 10_000);
    assert.equal(stats.markersRemoved, 2, 'the abort marker at 1 and the commit marker at 4');
    await reopened.close();
  } finally {
    h.cleanup();
  }
});

for (const step of ['cleaned', 'swap', 'deleted'] as CleanerStep[]) {
  test(`a crash after the cleaner's "${step}" step in a log of transactions: reads, the aborted index and the LSO stay right`, async () => {
    const h = harness();
    try {
      const log = await h.open();
      await writeTransactions(log);
      const before = recordsOf(await batchesOf(log));
      await assert.rejects(log.clean(t0, { stopAt: step }), CleanerStoppedError);
      await log.abandon();
      const reopened = await h.open();
      const rows = recordsOf(await batchesOf(reopened));
      if (step === 'cleaned') assert.deepEqual(rows, before);
      assert.ok(rows.every((r) => before.includes(r)), 'records keep their offsets and values');
      assert.ok(afterFirstPass.every((r) => rows.includes(r)), 'every committed latest value is there');
      assert.deepEqual(readdirSync(h.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), []);
      assertTxnState(reopened, `after a crash at "${step}"`);
      await reopened.clean(t0);
      assert.deepEqual(recordsOf(await batchesOf(reopened)), afterFirstPass);
      await reopened.close();
      await assertRebuildResolves(h, `after a crash at "${step}"`);
    } finally {
      h.cleanup();
    }
  });
}
