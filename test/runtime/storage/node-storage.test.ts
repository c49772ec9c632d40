// The node's storage port runs partition-log operations in order per log and maps the log's
// errors to the results actors act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { LogOp, LogResult } from '../../../actors/protocol/effects.js';
import { NodeStorage } from '../../../runtime/storage/node-storage.js';
import { FileStoragePort } from '../../../runtime/storage/raft-store.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';

test('log operations complete in submission order with their results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-node-storage-'));
  const logger = pino({ level: 'silent' });
  const fatal: Error[] = [];
  const storage = new NodeStorage(new FileStoragePort(join(dir, '__cluster_metadata'), logger, (e) => fatal.push(e)), dir, logger, (e) => fatal.push(e));
  try {
    const results: LogResult[] = [];
    // Results by position in the list below: a flush completes out of band, after the appends before it.
    let next = 0;
    const submit = (op: LogOp) => { const i = next++; return new Promise<void>((resolve) => storage.submitLog('orders-0', op, (r) => { results[i] = r; resolve(); })); };
    const flush = (offset: number) => { const i = next++; return new Promise<void>((resolve) => storage.flushLog('orders-0', offset, (r) => { results[i] = r; resolve(); })); };
    const batch = () => encodeRecordBatch([{ key: null, value: Buffer.from('v') }, { key: null, value: Buffer.from('w') }]);
    const all = [
      submit({ kind: 'logAppend', bytes: batch(), leaderEpoch: 1 }),
      submit({ kind: 'logAppend', bytes: batch(), leaderEpoch: 1 }),
      flush(4),
      submit({ kind: 'logRead', offset: 2, maxBytes: 10_000, maxOffset: 4 }),
      submit({ kind: 'logRead', offset: 9, maxBytes: 10_000, maxOffset: 4 }),
      submit({ kind: 'logAppend', bytes: new Uint8Array([1, 2, 3]), leaderEpoch: 1 }),
      submit({ kind: 'logTruncate', offset: 2 }),
    ];
    await Promise.all(all);
    assert.deepEqual(results.map((r) => r.kind), ['appended', 'appended', 'flushed', 'read', 'failed', 'failed', 'truncated']);
    assert.deepEqual(results[1], { kind: 'appended', firstOffset: 2, lastOffset: 3, logEndOffset: 4 });
    assert.equal((results[2] as { flushedOffset: number }).flushedOffset, 4);
    assert.equal((results[3] as { firstOffset: number }).firstOffset, 2);
    assert.equal((results[4] as { code: string }).code, 'out_of_range');
    assert.equal((results[5] as { code: string }).code, 'invalid');
    assert.equal((results[6] as { logEndOffset: number }).logEndOffset, 2);
    const bad = await new Promise<LogResult>((resolve) => storage.flushLog('../escape', 0, resolve));
    assert.equal(bad.kind, 'failed');
    assert.deepEqual(fatal, []);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
