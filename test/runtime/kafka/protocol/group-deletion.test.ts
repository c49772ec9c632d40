// DeleteGroups (key 42) and OffsetDelete (key 47), byte by byte: each version's encoding is
// written out here by hand from Kafka's message declarations, so a wrong declaration fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiKeys, decodeRequest, decodeRequestFrame, decodeResponse, decodeResponseFrame, encodeRequest, encodeRequestFrame,
  encodeResponse, encodeResponseFrame, Reader,
} from '../../../../runtime/kafka/protocol/index.js';
import { ascii, fromHex, toHex, withoutSize } from './helpers.js';

const deleteGroupsRequest = { groupsNames: ['g1', 'grp'] };
const deleteGroupsResponse = {
  throttleTimeMs: 100,
  results: [{ groupId: 'g1', errorCode: 69 }, { groupId: 'grp', errorCode: 68 }], // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP
};

// v0 and v1 are the same bytes (v1 only changes when a throttled broker answers).
const deleteGroupsRequestClassic = `
  00000002                # groupsNames: 2
  0002 ${ascii('g1')}
  0003 ${ascii('grp')}`;
const deleteGroupsResponseClassic = `
  00000064                # throttleTimeMs 100
  00000002                # results: 2
  0002 ${ascii('g1')} 0045  # GROUP_ID_NOT_FOUND
  0003 ${ascii('grp')} 0044 # NON_EMPTY_GROUP`;
const deleteGroupsRequestV2 = `
  03                      # groupsNames: compact array, 2 + 1
  03 ${ascii('g1')}       # compact string, length + 1
  04 ${ascii('grp')}
  00                      # tagged fields`;
const deleteGroupsResponseV2 = `
  00000064                # throttleTimeMs 100
  03                      # results: 2 + 1
  03 ${ascii('g1')} 0045 00
  04 ${ascii('grp')} 0044 00
  00                      # tagged fields`;

const deleteGroupsBytes: [number, string, string][] = [
  [0, deleteGroupsRequestClassic, deleteGroupsResponseClassic],
  [1, deleteGroupsRequestClassic, deleteGroupsResponseClassic],
  [2, deleteGroupsRequestV2, deleteGroupsResponseV2],
];

test('DeleteGroups v0-2: requests and responses encode to the hand-written bytes and decode back', () => {
  for (const [version, requestHex, responseHex] of deleteGroupsBytes) {
    const request = encodeRequest(ApiKeys.DeleteGroups, version, deleteGroupsRequest);
    assert.equal(toHex(request), toHex(fromHex(requestHex)), `request v${version}`);
    const reader = new Reader(request);
    assert.deepEqual(decodeRequest(ApiKeys.DeleteGroups, version, reader), deleteGroupsRequest);
    assert.equal(reader.remaining, 0);

    const response = encodeResponse(ApiKeys.DeleteGroups, version, deleteGroupsResponse);
    assert.equal(toHex(response), toHex(fromHex(responseHex)), `response v${version}`);
    assert.deepEqual(decodeResponse(ApiKeys.DeleteGroups, version, new Reader(response)), deleteGroupsResponse);
  }
});

test('DeleteGroups frames: header v1 / v0 up to v1, header v2 / v1 from v2 (flexible)', () => {
  const header = (apiVersion: number) => ({ apiKey: ApiKeys.DeleteGroups, apiVersion, correlationId: 9, clientId: 'c' });
  const classic = withoutSize(encodeRequestFrame(header(1), deleteGroupsRequest));
  assert.equal(toHex(classic), toHex(fromHex(`002a 0001 00000009 0001 ${ascii('c')} ${deleteGroupsRequestClassic}`)));
  const flexible = withoutSize(encodeRequestFrame(header(2), deleteGroupsRequest));
  assert.equal(toHex(flexible), toHex(fromHex(`002a 0002 00000009 0001 ${ascii('c')} 00 ${deleteGroupsRequestV2}`)));
  const decoded = decodeRequestFrame(flexible);
  assert.equal(decoded.apiName, 'DeleteGroups');
  assert.deepEqual(decoded.body, deleteGroupsRequest);

  const response = withoutSize(encodeResponseFrame(ApiKeys.DeleteGroups, 2, 9, deleteGroupsResponse));
  assert.equal(toHex(response), toHex(fromHex(`00000009 00 ${deleteGroupsResponseV2}`)));
  assert.deepEqual(decodeResponseFrame(ApiKeys.DeleteGroups, 2, response).body, deleteGroupsResponse);
  const classicResponse = withoutSize(encodeResponseFrame(ApiKeys.DeleteGroups, 0, 9, deleteGroupsResponse));
  assert.equal(toHex(classicResponse), toHex(fromHex(`00000009 ${deleteGroupsResponseClassic}`)));
});

const offsetDeleteRequest = {
  groupId: 'g',
  topics: [{ name: 't', partitions: [{ partitionIndex: 0 }, { partitionIndex: 7 }] }, { name: 'u', partitions: [] }],
};
const offsetDeleteResponse = {
  errorCode: 0,
  throttleTimeMs: 5,
  topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 7, errorCode: 86 }] }], // GROUP_SUBSCRIBED_TO_TOPIC
};
const offsetDeleteRequestV0 = `
  0001 ${ascii('g')}      # groupId
  00000002                # topics: 2
  0001 ${ascii('t')}
  00000002 00000000 00000007
  0001 ${ascii('u')}
  00000000`;
const offsetDeleteResponseV0 = `
  0000                    # errorCode
  00000005                # throttleTimeMs
  00000001                # topics: 1
  0001 ${ascii('t')}
  00000002                # partitions: 2
  00000000 0000
  00000007 0056           # GROUP_SUBSCRIBED_TO_TOPIC`;

test('OffsetDelete v0: request and response encode to the hand-written bytes and decode back', () => {
  const request = encodeRequest(ApiKeys.OffsetDelete, 0, offsetDeleteRequest);
  assert.equal(toHex(request), toHex(fromHex(offsetDeleteRequestV0)));
  const reader = new Reader(request);
  assert.deepEqual(decodeRequest(ApiKeys.OffsetDelete, 0, reader), offsetDeleteRequest);
  assert.equal(reader.remaining, 0);

  const response = encodeResponse(ApiKeys.OffsetDelete, 0, offsetDeleteResponse);
  assert.equal(toHex(response), toHex(fromHex(offsetDeleteResponseV0)));
  assert.deepEqual(decodeResponse(ApiKeys.OffsetDelete, 0, new Reader(response)), offsetDeleteResponse);
});

test('OffsetDelete frames: never flexible, so request header v1 and response header v0', () => {
  const frame = withoutSize(encodeRequestFrame({ apiKey: ApiKeys.OffsetDelete, apiVersion: 0, correlationId: 3, clientId: null }, offsetDeleteRequest));
  assert.equal(toHex(frame), toHex(fromHex(`002f 0000 00000003 ffff ${offsetDeleteRequestV0}`)));
  assert.deepEqual(decodeRequestFrame(frame).body, offsetDeleteRequest);
  const response = withoutSize(encodeResponseFrame(ApiKeys.OffsetDelete, 0, 3, offsetDeleteResponse));
  assert.equal(toHex(response), toHex(fromHex(`00000003 ${offsetDeleteResponseV0}`)));
});
