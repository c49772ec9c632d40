import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { FileStoragePort, crc32c } from '../../../runtime/storage/raft-store.js';
import type { StorageOp } from '../../../actors/protocol/effects.js';
import type { LogEntry, MetadataImageMessage, MetadataRecord } from '../../../actors/protocol/messages.js';

const STORE = 'controller';

let tmp: string;
let logLines: string[];
let fatals: Error[];

function logger() {
  return pino({ level: 'debug' }, { write: (line: string) => { logLines.push(line); } });
}

function newPort(): FileStoragePort {
  return new FileStoragePort(tmp, logger(), (err) => { fatals.push(err); });
}

function submit(port: FileStoragePort, op: StorageOp, store = STORE): Promise<void> {
  return new Promise((resolve) => port.submit(store, op, resolve));
}

function record(i: number): MetadataRecord {
  switch (i % 4) {
    case 0: return { topic: { name: `t${i}`, topicId: `id-${i}`, configs: [], creationId: `c-${i}` } };
    case 1: return { partition: { topicId: `id-${i}`, partition: i, replicas: [1, 2, 3], isr: [1, 2], leader: -1, leaderEpoch: 3, partitionEpoch: 4 } };
    case 2: return { leaderChange: { leaderId: i % 3, term: i } };
    default: return { registerBroker: { brokerId: i, incarnationId: `inc-${i}`, listener: 'localhost:9092' } };
  }
}

function entries(from: number, to: number, term: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, records: i % 5 === 0 ? [record(i), record(i + 1)] : [record(i)] });
  return out;
}

const image: MetadataImageMessage = {
  offset: 7,
  brokers: [{ brokerId: 1, brokerEpoch: 2, incarnationId: 'abc', listener: 'h:1', fenced: true }],
  topics: [{
    name: 'orders', topicId: 'tid', configs: [], creationId: 'create-1',
    partitions: [{ topicId: 'tid', partition: 0, replicas: [1, 2], isr: [2], leader: 2, leaderEpoch: 1, partitionEpoch: 5 }],
  }],
  nextProducerId: 3000,
  scramCredentials: [{
    name: 'alice', mechanism: 1, salt: Buffer.from([1, 2, 3]), storedKey: Buffer.alloc(32, 7), serverKey: Buffer.alloc(32, 9), iterations: 4096,
  }],
  acls: [{ resourceType: 2, resourceName: 'orders', patternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }],
};

const logPath = () => path.join(tmp, STORE, 'log');

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-store-test-'));
  logLines = [];
  fatals = [];
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('FileStoragePort', () => {
  test('crc32c matches the Castagnoli check value', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  test('a missing store loads as empty; bad names are rejected', async () => {
    const port = newPort();
    assert.deepEqual(port.load(STORE), { term: 0, votedFor: -1, snapshot: null, entries: [] });
    for (const bad of ['a/b', '..', '', 'x\\y']) assert.throws(() => port.load(bad), /invalid raft store name/);
    await port.close();
  });

  test('hard state, appends and truncate survive a restart', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'hardState', term: 3, votedFor: 2 });
    await submit(port, { kind: 'append', entries: entries(1, 5, 1) });
    await submit(port, { kind: 'append', entries: entries(6, 10, 2) });
    await submit(port, { kind: 'truncate', fromIndex: 8 });
    await submit(port, { kind: 'append', entries: entries(8, 9, 3) });
    await submit(port, { kind: 'hardState', term: 4, votedFor: -1 });
    await port.close();

    const again = newPort();
    const state = again.load(STORE);
    assert.equal(state.term, 4);
    assert.equal(state.votedFor, -1);
    assert.equal(state.snapshot, null);
    assert.deepEqual(state.entries, [...entries(1, 5, 1), ...entries(6, 7, 2), ...entries(8, 9, 3)]);
    // Exact shape: only the set oneof member appears.
    assert.deepEqual(state.entries.slice(0, 4).map((e) => Object.keys(e.records[0]!)), [['partition'], ['leaderChange'], ['registerBroker'], ['topic']]);
    assert.deepEqual(Object.keys(state.entries[0]!).sort(), ['index', 'records', 'term']);
    // Appending after a restart continues the log.
    await submit(again, { kind: 'append', entries: entries(10, 10, 3) });
    await again.close();
    assert.deepEqual(newPort().load(STORE).entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(fatals, []);
  });

  test('truncating everything, then appending afresh', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'append', entries: entries(1, 3, 1) });
    await submit(port, { kind: 'truncate', fromIndex: 1 });
    await submit(port, { kind: 'truncate', fromIndex: 50 }); // beyond the end: no-op
    await submit(port, { kind: 'append', entries: entries(1, 2, 2) });
    await port.close();
    assert.deepEqual(newPort().load(STORE).entries, entries(1, 2, 2));
  });

  test('snapshot without discardLog keeps the suffix; with discardLog drops the log', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'append', entries: entries(1, 10, 1) });
    await submit(port, { kind: 'snapshot', lastIndex: 6, lastTerm: 1, image, discardLog: false });
    await port.close();

    let state = newPort().load(STORE);
    assert.deepEqual(state.snapshot, { lastIndex: 6, lastTerm: 1, image });
    assert.deepEqual(state.entries, entries(7, 10, 1));

    const port2 = newPort();
    port2.load(STORE);
    await submit(port2, { kind: 'append', entries: entries(11, 12, 2) });
    await submit(port2, { kind: 'truncate', fromIndex: 12 });
    const image2 = { ...image, offset: 20, topics: [] };
    await submit(port2, { kind: 'snapshot', lastIndex: 20, lastTerm: 5, image: image2, discardLog: true });
    await submit(port2, { kind: 'append', entries: entries(21, 22, 5) });
    await port2.close();

    state = newPort().load(STORE);
    assert.deepEqual(state.snapshot, { lastIndex: 20, lastTerm: 5, image: image2 });
    assert.deepEqual(state.entries, entries(21, 22, 5));

    const port3 = newPort();
    port3.load(STORE);
    await submit(port3, { kind: 'append', entries: entries(23, 25, 6) });
    await submit(port3, { kind: 'snapshot', lastIndex: 23, lastTerm: 9, image, discardLog: true });
    await port3.close();
    state = newPort().load(STORE);
    assert.equal(state.snapshot?.lastIndex, 23);
    assert.deepEqual(state.entries, []);
    assert.deepEqual(fatals, []);
  });

  test('group commit: ops queued during a write complete together, in order', async () => {
    const port = newPort();
    port.load(STORE);
    const order: number[] = [];
    let jobs = 0;
    let inJob = false;
    const all: Promise<void>[] = [];
    const n = 40;
    for (let i = 1; i <= n; i++) {
      const op: StorageOp = i % 10 === 0
        ? { kind: 'hardState', term: i, votedFor: 1 }
        : { kind: 'append', entries: entries(i - Math.floor(i / 10), i - Math.floor(i / 10), 1) };
      all.push(new Promise((resolve) => port.submit(STORE, op, () => {
        if (!inJob) {
          inJob = true;
          jobs += 1;
          queueMicrotask(() => { inJob = false; });
        }
        order.push(i);
        resolve();
      })));
    }
    assert.deepEqual(order, [], 'nothing completes synchronously');
    await Promise.all(all);
    assert.deepEqual(order, Array.from({ length: n }, (_, k) => k + 1));
    assert.ok(jobs <= 2, `expected the queued ops to complete as one group, saw ${jobs} completion groups`);
    await port.close();
    const state = newPort().load(STORE);
    assert.equal(state.term, 40);
    assert.deepEqual(state.entries.map((e) => e.index), Array.from({ length: n - 4 }, (_, k) => k + 1));
  });

  test('close waits for in-flight operations', async () => {
    const port = newPort();
    port.load(STORE);
    let completed = 0;
    for (let i = 1; i <= 5; i++) port.submit(STORE, { kind: 'append', entries: entries(i, i, 1) }, () => { completed += 1; });
    await port.close();
    assert.equal(completed, 5);
    assert.equal(newPort().load(STORE).entries.length, 5);
  });

  async function writeTen(): Promise<number[]> {
    const port = newPort();
    port.load(STORE);
    const sizes: number[] = [];
    for (let i = 1; i <= 10; i++) {
      await submit(port, { kind: 'append', entries: entries(i, i, 1) });
      sizes.push(fs.statSync(logPath()).size);
    }
    await port.close();
    return sizes;
  }

  async function assertRecovered(goodSize: number, goodEntries: number): Promise<void> {
    const port = newPort();
    const state = port.load(STORE);
    assert.deepEqual(state.entries, entries(1, goodEntries, 1));
    assert.equal(fs.statSync(logPath()).size, goodSize, 'torn tail truncated away');
    const warn = logLines.map((l) => JSON.parse(l) as { level: number; msg: string; file?: string; offset?: number })
      .find((l) => l.level === 40);
    assert.ok(warn !== undefined, 'a warning was logged');
    assert.equal(warn.file, logPath());
    assert.equal(warn.offset, goodSize);
    assert.match(warn.msg, new RegExp(`${logPath().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*${goodSize}`));
    // The repaired log accepts the next entry where the good prefix ended.
    await submit(port, { kind: 'append', entries: entries(goodEntries + 1, goodEntries + 1, 2) });
    await port.close();
    assert.deepEqual(newPort().load(STORE).entries.map((e) => e.index), Array.from({ length: goodEntries + 1 }, (_, k) => k + 1));
    assert.deepEqual(fatals, []);
  }

  test('torn tail: garbage after the last record is truncated away', async () => {
    const sizes = await writeTen();
    fs.appendFileSync(logPath(), Buffer.from([0x13, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]));
    await assertRecovered(sizes[9]!, 10);
  });

  test('torn tail: a half-written last record is truncated away', async () => {
    const sizes = await writeTen();
    fs.truncateSync(logPath(), sizes[8]! + Math.floor((sizes[9]! - sizes[8]!) / 2));
    await assertRecovered(sizes[8]!, 9);
  });

  test('torn tail: a last record with a bad checksum is truncated away', async () => {
    const sizes = await writeTen();
    const bytes = fs.readFileSync(logPath());
    bytes[bytes.length - 2] ^= 0xff;
    fs.writeFileSync(logPath(), bytes);
    await assertRecovered(sizes[8]!, 9);
  });

  test('torn tail: zero-filled tail is truncated away', async () => {
    const sizes = await writeTen();
    fs.appendFileSync(logPath(), Buffer.alloc(4096));
    await assertRecovered(sizes[9]!, 10);
  });

  test('a crash between writing a snapshot and rewriting the log is repaired on load', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'append', entries: entries(1, 10, 1) });
    const oldLog = fs.readFileSync(logPath());
    await submit(port, { kind: 'snapshot', lastIndex: 4, lastTerm: 1, image, discardLog: false });
    await port.close();
    fs.writeFileSync(logPath(), oldLog); // as if the log rewrite never happened
    let state = newPort().load(STORE);
    assert.deepEqual(state.entries, entries(5, 10, 1));

    // A discarding snapshot whose term disagrees with the old log: nothing of the log survives.
    const port2 = newPort();
    port2.load(STORE);
    const before = fs.readFileSync(logPath());
    await submit(port2, { kind: 'snapshot', lastIndex: 8, lastTerm: 3, image, discardLog: true });
    await port2.close();
    fs.writeFileSync(logPath(), before);
    state = newPort().load(STORE);
    assert.equal(state.snapshot?.lastIndex, 8);
    assert.deepEqual(state.entries, []);
    assert.deepEqual(fatals, []);
  });

  test('a corrupt quorum-state file fails the load with an error naming the file', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'hardState', term: 2, votedFor: 1 });
    await port.close();
    const file = path.join(tmp, STORE, 'quorum-state');
    const bytes = fs.readFileSync(file);
    bytes[9] ^= 0x01;
    fs.writeFileSync(file, bytes);
    assert.throws(() => newPort().load(STORE), (err: Error) => {
      assert.ok(err.message.includes(file), err.message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    fs.writeFileSync(file, 'nonsense');
    assert.throws(() => newPort().load(STORE), (err: Error) => err.message.includes(file));
  });

  test('a corrupt snapshot file fails the load with an error naming the file', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'append', entries: entries(1, 3, 1) });
    await submit(port, { kind: 'snapshot', lastIndex: 2, lastTerm: 1, image, discardLog: false });
    await port.close();
    const file = path.join(tmp, STORE, 'snapshot');
    const bytes = fs.readFileSync(file);
    bytes[24] ^= 0x40;
    fs.writeFileSync(file, bytes);
    assert.throws(() => newPort().load(STORE), (err: Error) => err.message.includes(file));
  });

  test('non-consecutive indexes in the log are reported as corruption', async () => {
    const port = newPort();
    port.load(STORE);
    await submit(port, { kind: 'append', entries: entries(1, 3, 1) });
    await port.close();
    const bytes = fs.readFileSync(logPath());
    // Duplicate the whole log: index 1 follows index 3, with valid checksums.
    fs.writeFileSync(logPath(), Buffer.concat([bytes, bytes]));
    assert.throws(() => newPort().load(STORE), /corrupt raft log file .*log: entry at byte offset \d+ has index 1, expected 4/);
  });

  test('I/O errors and misuse go to onFatal, and done is never called', async () => {
    const port = newPort();
    port.load(STORE);
    fs.writeFileSync(path.join(tmp, STORE), 'a file where the store directory should be');
    let done = false;
    port.submit(STORE, { kind: 'hardState', term: 1, votedFor: 1 }, () => { done = true; });
    await port.close();
    assert.equal(done, false);
    assert.equal(fatals.length, 1);

    fatals = [];
    fs.rmSync(path.join(tmp, STORE));
    const port2 = newPort();
    port2.load(STORE);
    port2.submit(STORE, { kind: 'append', entries: entries(2, 2, 1) }, () => { done = true; });
    await port2.close();
    assert.equal(done, false);
    assert.equal(fatals.length, 1);
    assert.match(fatals[0]!.message, /append of index 2, expected 1/);
  });
});
