import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicLogConfig } from '../../../runtime/storage/topic-config.js';

test('topic overrides become log settings; unrelated keys are left out', () => {
  assert.deepEqual(topicLogConfig([{ name: 'segment.bytes', value: '4096' }, { name: 'min.insync.replicas', value: '2' }]), { segmentBytes: 4096 });
});

test('a compacted topic keeps every segment: retention applies only to the delete policy', () => {
  const compacted = topicLogConfig([{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '1000' }]);
  assert.equal(compacted.retentionMs, -1);
  assert.equal(compacted.retentionBytes, -1);
  const both = topicLogConfig([{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: '1000' }]);
  assert.equal(both.retentionMs, 1000);
  assert.equal(both.retentionBytes, undefined);
});
