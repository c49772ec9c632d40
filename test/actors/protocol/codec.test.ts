import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MalformedEnvelopeError, decodeEnvelope, decodePayload, encodeEnvelope, encodeEnvelopeOf, encodeLogEntry, encodePayload,
} from '../../../actors/protocol/codec.js';
import type { AppendEntriesRequest } from '../../../actors/protocol/messages.js';

const envelope = {
  clusterId: 'c1', from: { node: 1, actor: 'controller' }, to: { node: 2, actor: 'controller' },
  kind: 'AppendEntriesRequest', payload: new Uint8Array(), msgId: '1:7', parentId: '2:3',
};

test('an envelope and its payload survive a round trip', () => {
  const body: AppendEntriesRequest = {
    term: 3, leaderId: 1, prevLogIndex: 4, prevLogTerm: 2, leaderCommit: 4,
    entries: [
      { index: 5, term: 3, records: [{ topic: { name: 'orders', topicId: 'abc', configs: [{ name: 'retention.ms', value: '1000' }], creationId: 'create-1' } }] },
      { index: 6, term: 3, records: [{ partition: { topicId: 'abc', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } }] },
      { index: 7, term: 3, records: [{ partitionChange: { topicId: 'abc', partition: 0, isr: [2], leader: -1 } }] },
    ],
  };
  const bytes = encodeEnvelope({ ...envelope, payload: encodePayload('AppendEntriesRequest', body) });
  const decoded = decodeEnvelope(bytes);
  assert.deepEqual({ ...decoded, payload: undefined }, { ...envelope, payload: undefined });
  const decodedBody = decodePayload('AppendEntriesRequest', decoded.payload);
  assert.deepEqual(decodedBody, body);
  // Only the oneof member that is set appears: the metadata image checks records with `in`.
  assert.deepEqual(Object.keys(decodedBody.entries[0]!.records[0]!), ['topic']);
});

test('log entries encode canonically, whatever the key order of the object', () => {
  const a = encodeLogEntry({ index: 1, term: 1, records: [{ registerBroker: { brokerId: 1, incarnationId: 'x', listener: 'h:1' } }] });
  const b = encodeLogEntry({ records: [{ registerBroker: { listener: 'h:1', incarnationId: 'x', brokerId: 1 } }], term: 1, index: 1 } as never);
  assert.deepEqual(a, b);
});

test('garbage, unknown kinds and missing destinations are MalformedEnvelopeError', () => {
  assert.throws(() => decodeEnvelope(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), MalformedEnvelopeError);
  assert.throws(() => decodeEnvelope(encodeEnvelope({ ...envelope, kind: 'LaunchMissiles' })), /unknown kind "LaunchMissiles"/);
  assert.throws(() => decodeEnvelope(encodeEnvelope({ ...envelope, to: { node: 2, actor: '' } })), /no destination actor/);
  assert.throws(() => decodePayload('VoteRequest', new Uint8Array([0x0a, 0xff])), MalformedEnvelopeError);
});

test('encodeEnvelopeOf writes the same bytes as encodeEnvelope of encodePayload, for any head and body', () => {
  const text = fc.string({ maxLength: 12 });
  const head = fc.record({
    clusterId: text, msgId: text, parentId: text,
    from: fc.record({ node: fc.nat({ max: 2 ** 32 - 1 }), actor: text }),
    to: fc.record({ node: fc.nat({ max: 2 ** 32 - 1 }), actor: text }),
  });
  const offset = fc.integer({ min: -1, max: 2 ** 53 - 1 });
  const fetchResponse = fc.record({
    requestId: text, errorCode: fc.integer({ min: -1, max: 120 }), highWatermark: offset, logStartOffset: offset, logEndOffset: offset,
    records: fc.uint8Array({ maxLength: 3000 }), leaderHint: fc.integer({ min: -1, max: 9 }), leaderEpoch: fc.nat(), topic: text,
    partition: fc.nat({ max: 1000 }), errorMessage: text, lastStableOffset: offset, abortedTransactions: fc.uint8Array({ maxLength: 48 }),
    tombstoneHorizon: offset,
  });
  const fetchRequest = fc.record({
    requestId: text, topic: text, partition: fc.nat({ max: 1000 }), replicaId: fc.integer({ min: -1, max: 9 }), fetchOffset: offset,
    lastFetchedEpoch: fc.integer({ min: -1, max: 99 }), currentLeaderEpoch: fc.integer({ min: -1, max: 99 }), maxBytes: fc.nat(),
    maxWaitMs: fc.nat(), minBytes: fc.nat(), isolationLevel: fc.integer({ min: 0, max: 1 }),
  });
  const check = (h: typeof envelope, kind: 'FetchResponse' | 'FetchRequest' | 'AppendEntriesRequest', body: never): void => {
    const expected = encodeEnvelope({ ...h, kind, payload: encodePayload(kind, body) });
    assert.deepEqual(Buffer.from(encodeEnvelopeOf({ ...h, kind }, body)), Buffer.from(expected));
  };
  fc.assert(fc.property(head, fetchResponse, (h, body) => check({ ...h, kind: '', payload: new Uint8Array() }, 'FetchResponse', body as never)), { numRuns: 300 });
  fc.assert(fc.property(head, fetchRequest, (h, body) => check({ ...h, kind: '', payload: new Uint8Array() }, 'FetchRequest', body as never)), { numRuns: 300 });
  // A body with nested messages and repeated fields.
  const entries = { term: 3, leaderId: 1, prevLogIndex: 4, prevLogTerm: 2, leaderCommit: 4, entries: [{ index: 5, term: 3, records: [{ partitionChange: { topicId: 'abc', partition: 0, isr: [2], leader: -1 } }] }] };
  fc.assert(fc.property(head, (h) => check({ ...h, kind: '', payload: new Uint8Array() }, 'AppendEntriesRequest', entries as never)), { numRuns: 50 });
});
