import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MalformedEnvelopeError, decodeEnvelope, decodePayload, encodeEnvelope, encodeLogEntry, encodePayload,
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
