// The kernel's local copy must give the receiver exactly what the protobuf round trip gives:
// same class, same own fields in the same order, same values, bytes that share nothing with
// the sender's. Checked for every flat kind against decodePayload(encodePayload(...)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload, encodePayload, payloadTypeOf } from '../../../actors/protocol/codec.js';
import { type WireKind, type WireMessages, wireKinds } from '../../../actors/protocol/messages.js';
import { copiesLocally, copyLocalPayload, sealBytes } from '../../../runtime/kernel/local-payload.js';

const numbers = [0, 1, -1, 7, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 + 5, 1.5, -1.5, 1e15, Number.NaN, Number.POSITIVE_INFINITY, -0];
const strings = ['', 'partition/events/0', 'héllo wörld ✓', 'x'.repeat(100), '😀 emoji'];

/** A small deterministic generator, so that a failure names a seed that reproduces it. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomBody(kind: WireKind, next: () => number): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  for (const field of payloadTypeOf(kind).fieldsArray) {
    const roll = next();
    if (roll < 0.1) continue; // left out
    if (roll < 0.15) {
      body[field.name] = pick([null, undefined]);
      continue;
    }
    switch (field.type) {
      case 'uint32': case 'sint32': case 'double': body[field.name] = pick(numbers); break;
      case 'bool': body[field.name] = next() < 0.5; break;
      case 'string': body[field.name] = pick(strings); break;
      case 'bytes': body[field.name] = Uint8Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * 256)); break;
      default: throw new Error(`${kind}.${field.name}: unexpected type ${field.type}`);
    }
  }
  // Declared in reverse, so that the copy must put the fields in field-number order itself.
  return Object.fromEntries(Object.entries(body).reverse());
}

const flatKinds = wireKinds.filter(copiesLocally);

test('the hot kinds take the local copy; nested ones do not', () => {
  for (const kind of ['ProduceRequest', 'ProduceResponse', 'FetchRequest', 'FetchResponse', 'VoteRequest', 'BrokerHeartbeatRequest'] as const) {
    assert.ok(copiesLocally(kind), `${kind} is copied locally`);
  }
  for (const kind of ['AppendEntriesRequest', 'PartitionStateChange', 'JoinGroupRequest', 'OffsetCommitRequest'] as const) {
    assert.ok(!copiesLocally(kind), `${kind} goes through protobuf`);
  }
});

test('the local copy equals the protobuf round trip for every flat kind (2,000 bodies each)', () => {
  for (const kind of flatKinds) {
    const next = generator(wireKinds.indexOf(kind) + 1);
    for (let i = 0; i < 2000; i++) {
      const body = randomBody(kind, next) as unknown as WireMessages[typeof kind];
      const expected = decodePayload(kind, encodePayload(kind, body)) as unknown as Record<string, unknown>;
      const copy = copyLocalPayload(kind, body) as unknown as Record<string, unknown> | undefined;
      const what = `${kind} #${i} ${JSON.stringify(body, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`;
      assert.ok(copy !== undefined, `${what}: no copy`);
      assert.equal(Object.getPrototypeOf(copy), Object.getPrototypeOf(expected), `${what}: class`);
      assert.deepEqual(Object.keys(copy), Object.keys(expected), `${what}: own fields and their order`);
      for (const field of payloadTypeOf(kind).fieldsArray) {
        const got: unknown = copy[field.name];
        const want: unknown = expected[field.name];
        if (want instanceof Uint8Array) {
          assert.ok(Buffer.isBuffer(got) && Buffer.isBuffer(want), `${what}.${field.name}: a Buffer, as decoded`);
          assert.deepEqual([...(got as Buffer)], [...want], `${what}.${field.name}: bytes`);
          if ((body as unknown as Record<string, unknown>)[field.name] instanceof Uint8Array) {
            assert.notEqual((got as Buffer).buffer, ((body as unknown as Record<string, unknown>)[field.name] as Uint8Array).buffer, `${what}.${field.name}: shares the sender's memory`);
          }
        } else {
          assert.ok(Object.is(got, want), `${what}.${field.name}: ${String(got)} but the wire gives ${String(want)}`);
        }
      }
    }
  }
});

test('values only the codec can judge fall back to it', () => {
  const produce = { requestId: 'r', topic: 't', partition: 0, acks: -1, timeoutMs: 1, records: new Uint8Array(1), leaderEpoch: -1, transactionalId: '' };
  assert.equal(copyLocalPayload('ProduceRequest', { ...produce, topic: 'lone \uD800 surrogate' }), undefined);
  assert.equal(copyLocalPayload('ProduceRequest', { ...produce, topic: 'lone \uDC00 low surrogate' }), undefined);
  assert.notEqual(copyLocalPayload('ProduceRequest', { ...produce, topic: 'a pair \uD83D\uDE00' }), undefined);
  assert.equal(copyLocalPayload('ProduceRequest', { ...produce, partition: '3' as unknown as number }), undefined);
  assert.equal(copyLocalPayload('ProduceRequest', { ...produce, records: [1, 2] as unknown as Uint8Array }), undefined);
  assert.equal(copyLocalPayload('AppendEntriesRequest', { term: 1, leaderId: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 } as unknown as WireMessages['AppendEntriesRequest']), undefined);
});

test('a decoded body forwarded as it is copies like a fresh one (prototype defaults are not own fields)', () => {
  const decoded = decodePayload('FetchRequest', encodePayload('FetchRequest', {
    requestId: 'r', topic: 't', partition: 0, replicaId: 0, fetchOffset: 5, lastFetchedEpoch: 0, currentLeaderEpoch: 0, maxBytes: 10, maxWaitMs: 0, minBytes: 0, isolationLevel: 0,
  }));
  const again = decodePayload('FetchRequest', encodePayload('FetchRequest', decoded));
  const copy = copyLocalPayload('FetchRequest', decoded)!;
  assert.deepEqual(Object.keys(copy), Object.keys(again));
  assert.deepEqual({ ...copy }, { ...again });
});

test('sealed bytes (a log read) travel as they are; any other bytes are copied', () => {
  const answer = (records: Uint8Array) => ({
    requestId: 'r', errorCode: 0, highWatermark: 3, logStartOffset: 0, logEndOffset: 3, records, leaderHint: 1, leaderEpoch: 0,
    topic: 't', partition: 0, errorMessage: '', lastStableOffset: 3,
  }) as unknown as WireMessages['FetchResponse'];
  const read = sealBytes(Buffer.from('batches read from the log'));
  assert.equal(copyLocalPayload('FetchResponse', answer(read))!.records, read);
  const produced = Buffer.from('batches a client sent');
  const copied = copyLocalPayload('FetchResponse', answer(produced))!.records;
  assert.notEqual(copied, produced);
  assert.deepEqual(Buffer.from(copied), produced);
  const view = read.subarray(1);
  assert.notEqual(copyLocalPayload('FetchResponse', answer(view))!.records, view, 'a view of sealed bytes is not itself sealed');
});
