// `logmesh groups --list` right after a start: a broker whose coordinators are still loading
// answers ListGroups with COORDINATOR_LOAD_IN_PROGRESS, which the listing waits out (kafkajs
// does not retry it), while any other error ends it at once. A fake admin client stands in for
// the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { listConsumerGroups } from '../../../../runtime/ops/tools/groups.js';

function fakeAdmin(failures: Error[]): { admin: Admin; calls: () => number } {
  let calls = 0;
  const admin = {
    listGroups: async () => {
      calls += 1;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return { groups: [{ groupId: 'orders', protocolType: 'consumer' }, { groupId: 'audit', protocolType: 'consumer' }] };
    },
    describeGroups: async (ids: string[]) => ({ groups: ids.map((groupId) => ({ groupId, state: groupId === 'orders' ? 'Stable' : 'Empty' })) }),
  } as unknown as Admin;
  return { admin, calls: () => calls };
}

const protocolError = (message: string, type: string, retriable: boolean): Error =>
  Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type, retriable });

test('a listing asks again while a coordinator is still loading, then lists every group with its state', async () => {
  const loading = () => protocolError("The coordinator is loading and hence can't process requests for this group", 'COORDINATOR_LOAD_IN_PROGRESS', true);
  const { admin, calls } = fakeAdmin([loading(), loading()]);
  assert.deepEqual(await listConsumerGroups(admin), [
    { groupId: 'audit', protocolType: 'consumer', state: 'Empty' },
    { groupId: 'orders', protocolType: 'consumer', state: 'Stable' },
  ]);
  assert.equal(calls(), 3);
});

test('an error that is not retriable ends a listing at once', async () => {
  const { admin, calls } = fakeAdmin([protocolError('Not authorized to access group', 'GROUP_AUTHORIZATION_FAILED', false)]);
  await assert.rejects(listConsumerGroups(admin), /Not authorized/);
  assert.equal(calls(), 1);
});
