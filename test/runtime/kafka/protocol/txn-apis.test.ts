// The transaction APIs against Kafka's byte layouts (the protocol guide's grammar for each
// version, written out by hand here): AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
// TxnOffsetCommit in a classic and a flexible version, InitProducerId with a transactional id,
// and FindCoordinator for a transaction (key_type 1), including v4's batch of keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeys, decodeRequest, decodeResponse, encodeRequest, encodeResponse, Reader } from '../../../../runtime/kafka/protocol/index.js';
import { ascii, fromHex, toHex } from './helpers.js';

const txnId = 'tx'; // 0x7478

function requestBytes(apiKey: number, version: number, body: Record<string, unknown>): string {
  return toHex(encodeRequest(apiKey as never, version, body as never));
}

function roundTrip(apiKey: number, version: number, hex: string, body: Record<string, unknown>, kind: 'request' | 'response'): void {
  const bytes = fromHex(hex);
  const encoded = kind === 'request' ? encodeRequest(apiKey as never, version, body as never) : encodeResponse(apiKey as never, version, body as never);
  assert.equal(toHex(encoded), toHex(bytes), `${kind} v${version} encodes to Kafka's layout`);
  const decoded = kind === 'request' ? decodeRequest(apiKey as never, version, new Reader(bytes)) : decodeResponse(apiKey as never, version, new Reader(bytes));
  assert.deepEqual(decoded, body, `${kind} v${version} decodes back`);
}

test('AddPartitionsToTxn v0 and v3 (flexible) requests and responses', () => {
  const body = {
    v3AndBelowTransactionalId: txnId, v3AndBelowProducerId: 7, v3AndBelowProducerEpoch: 2,
    v3AndBelowTopics: [{ name: 't', partitions: [0, 5] }],
  };
  roundTrip(ApiKeys.AddPartitionsToTxn, 0, `
    0002 ${ascii(txnId)}          # transactional_id
    0000000000000007             # producer_id
    0002                         # producer_epoch
    00000001 0001 ${ascii('t')}  # [topics] name
    00000002 00000000 00000005   # [partitions]
  `, body, 'request');
  roundTrip(ApiKeys.AddPartitionsToTxn, 3, `
    03 ${ascii(txnId)}           # compact transactional_id
    0000000000000007 0002
    02 02 ${ascii('t')}          # compact [topics] name
    03 00000000 00000005 00      # compact [partitions], topic tags
    00                           # tags
  `, body, 'request');
  const response = {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: [{ name: 't', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 3 }, { partitionIndex: 5, partitionErrorCode: 55 }] }],
  };
  roundTrip(ApiKeys.AddPartitionsToTxn, 1, `
    00000000 00000001 0001 ${ascii('t')}
    00000002 00000000 0003 00000005 0037
  `, response, 'response');
  roundTrip(ApiKeys.AddPartitionsToTxn, 3, `
    00000000 02 02 ${ascii('t')}
    03 00000000 0003 00 00000005 0037 00   # partition results, each with its tags
    00 00
  `, response, 'response');
});

test('AddOffsetsToTxn and EndTxn v0 and v3', () => {
  const add = { transactionalId: txnId, producerId: 7, producerEpoch: 2, groupId: 'g' };
  roundTrip(ApiKeys.AddOffsetsToTxn, 0, `0002 ${ascii(txnId)} 0000000000000007 0002 0001 ${ascii('g')}`, add, 'request');
  roundTrip(ApiKeys.AddOffsetsToTxn, 3, `03 ${ascii(txnId)} 0000000000000007 0002 02 ${ascii('g')} 00`, add, 'request');
  roundTrip(ApiKeys.AddOffsetsToTxn, 2, '00000000 0033', { throttleTimeMs: 0, errorCode: 51 }, 'response');
  roundTrip(ApiKeys.AddOffsetsToTxn, 3, '00000000 0033 00', { throttleTimeMs: 0, errorCode: 51 }, 'response');
  const end = { transactionalId: txnId, producerId: 7, producerEpoch: 2, committed: true };
  roundTrip(ApiKeys.EndTxn, 0, `0002 ${ascii(txnId)} 0000000000000007 0002 01`, end, 'request');
  roundTrip(ApiKeys.EndTxn, 3, `03 ${ascii(txnId)} 0000000000000007 0002 01 00`, end, 'request');
  roundTrip(ApiKeys.EndTxn, 1, '00000000 0030', { throttleTimeMs: 0, errorCode: 48 }, 'response');
  roundTrip(ApiKeys.EndTxn, 3, '00000000 0030 00', { throttleTimeMs: 0, errorCode: 48 }, 'response');
});

test('TxnOffsetCommit v0, v2 and v3: leader epoch from v2, group generation from v3', () => {
  const partition = { partitionIndex: 1, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: null };
  const v0 = {
    transactionalId: txnId, groupId: 'g', producerId: 7, producerEpoch: 2, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [partition] }],
  };
  roundTrip(ApiKeys.TxnOffsetCommit, 0, `
    0002 ${ascii(txnId)} 0001 ${ascii('g')} 0000000000000007 0002
    00000001 0001 ${ascii('t')} 00000001 00000001 000000000000002a ffff   # metadata: null
  `, v0, 'request');
  const v2 = { ...v0, topics: [{ name: 't', partitions: [{ ...partition, committedLeaderEpoch: 3, committedMetadata: 'm' }] }] };
  roundTrip(ApiKeys.TxnOffsetCommit, 2, `
    0002 ${ascii(txnId)} 0001 ${ascii('g')} 0000000000000007 0002
    00000001 0001 ${ascii('t')} 00000001 00000001 000000000000002a 00000003 0001 ${ascii('m')}
  `, v2, 'request');
  const v3 = { ...v2, generationId: 4, memberId: 'mm', groupInstanceId: null };
  roundTrip(ApiKeys.TxnOffsetCommit, 3, `
    03 ${ascii(txnId)} 02 ${ascii('g')} 0000000000000007 0002
    00000004 03 ${ascii('mm')} 00                          # generation, member, null instance id
    02 02 ${ascii('t')} 02 00000001 000000000000002a 00000003 02 ${ascii('m')} 00 00
    00
  `, v3, 'request');
  const response = { throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 47 }] }] };
  roundTrip(ApiKeys.TxnOffsetCommit, 0, `00000000 00000001 0001 ${ascii('t')} 00000001 00000001 002f`, response, 'response');
  roundTrip(ApiKeys.TxnOffsetCommit, 3, `00000000 02 02 ${ascii('t')} 02 00000001 002f 00 00 00`, response, 'response');
});

test('InitProducerId with a transactional id (v1 and v4) and FindCoordinator for a transaction (v1 and v4)', () => {
  roundTrip(ApiKeys.InitProducerId, 1, `0002 ${ascii(txnId)} 0000ea60`,
    { transactionalId: txnId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }, 'request');
  roundTrip(ApiKeys.InitProducerId, 4, `03 ${ascii(txnId)} 0000ea60 0000000000000007 0002 00`,
    { transactionalId: txnId, transactionTimeoutMs: 60_000, producerId: 7, producerEpoch: 2 }, 'request');
  roundTrip(ApiKeys.InitProducerId, 4, '00000000 0057 ffffffffffffffff ffff 00',
    { throttleTimeMs: 0, errorCode: 87, producerId: -1, producerEpoch: -1 }, 'response');
  roundTrip(ApiKeys.FindCoordinator, 1, `0002 ${ascii(txnId)} 01`, { key: txnId, keyType: 1, coordinatorKeys: [] }, 'request');
  roundTrip(ApiKeys.FindCoordinator, 4, `01 03 03 ${ascii(txnId)} 02 ${ascii('u')} 00`, { key: '', keyType: 1, coordinatorKeys: [txnId, 'u'] }, 'request');
  roundTrip(ApiKeys.FindCoordinator, 4, `
    00000000 02
    03 ${ascii(txnId)} 00000002 0a ${ascii('127.0.0.1')} 00002382 0000 00 00 00   # key, node 2, host, port 9090, no error, null message, tags
  `, {
    throttleTimeMs: 0, errorCode: 0, errorMessage: '', nodeId: 0, host: '', port: 0,
    coordinators: [{ key: txnId, nodeId: 2, host: '127.0.0.1', port: 9090, errorCode: 0, errorMessage: null }],
  }, 'response');
  assert.equal(requestBytes(ApiKeys.EndTxn, 2, { transactionalId: '', producerId: -1, producerEpoch: -1, committed: false }), '0000ffffffffffffffffffff00');
});
