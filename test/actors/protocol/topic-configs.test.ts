// The controller's check of topic overrides: unknown keys and values a log cannot work with
// are refused with a message naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicConfigError, topicIsCompacted } from '../../../actors/protocol/topic-configs.js';

const entries = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));

test('the compaction keys are accepted with values a log can work with', () => {
  assert.equal(topicConfigError(entries({
    'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.25', 'min.compaction.lag.ms': '1000',
    'max.compaction.lag.ms': '60000', 'delete.retention.ms': '0',
  })), null);
  assert.equal(topicConfigError(entries({ 'cleanup.policy': 'compact, delete', 'min.cleanable.dirty.ratio': '1' })), null);
  assert.equal(topicConfigError(entries({ 'min.compaction.lag.ms': '0', 'max.compaction.lag.ms': '1' })), null);
});

test('a compaction value out of range is refused with a message naming the key', () => {
  const refused = (pairs: Record<string, string>, key: string): void => {
    const problem = topicConfigError(entries(pairs));
    assert.ok(problem !== null && problem.includes(key), `${JSON.stringify(pairs)}: ${problem}`);
  };
  refused({ 'min.cleanable.dirty.ratio': '1.5' }, 'min.cleanable.dirty.ratio');
  refused({ 'min.cleanable.dirty.ratio': '-0.1' }, 'min.cleanable.dirty.ratio');
  refused({ 'min.cleanable.dirty.ratio': 'half' }, 'min.cleanable.dirty.ratio');
  refused({ 'min.compaction.lag.ms': '-1' }, 'min.compaction.lag.ms');
  refused({ 'max.compaction.lag.ms': '0' }, 'max.compaction.lag.ms');
  refused({ 'min.compaction.lag.ms': '5000', 'max.compaction.lag.ms': '4000' }, 'max.compaction.lag.ms');
  refused({ 'delete.retention.ms': '-5' }, 'delete.retention.ms');
  refused({ 'cleanup.policy': 'shred' }, 'cleanup.policy');
  refused({ 'min.cleanable.ratio': '0.5' }, 'min.cleanable.ratio');
});

test('a topic is compacted when its cleanup.policy includes compact', () => {
  assert.equal(topicIsCompacted(entries({ 'cleanup.policy': 'compact' })), true);
  assert.equal(topicIsCompacted(entries({ 'cleanup.policy': 'delete,compact' })), true);
  assert.equal(topicIsCompacted(entries({ 'cleanup.policy': 'delete' })), false);
  assert.equal(topicIsCompacted([]), false);
});
