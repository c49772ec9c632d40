// Topic-level overrides (segment.bytes, retention.ms, cleanup.policy, ...) as the partition
// log's config, and the checks of the compaction keys: a value the log cannot work with is
// refused with a message naming the key, in Kafka's words ("Invalid value X for configuration
// Y: ..."), for the controller to answer INVALID_CONFIG with.
import type { ConfigEntry } from '../../actors/protocol/messages.js';
import type { LogConfig } from './partition-log.js';
import { defaultCompactionConfig } from './cleaner.js';

type NumericLogKey = 'segmentBytes' | 'segmentMs' | 'indexIntervalBytes' | 'retentionMs' | 'retentionBytes' | 'flushMessages' | 'flushMs'
  | 'maxBatchBytes' | 'deleteRetentionMs' | 'minCleanableDirtyRatio' | 'minCompactionLagMs' | 'maxCompactionLagMs';

const logConfigKeys: ReadonlyArray<[string, NumericLogKey]> = [
  ['segment.bytes', 'segmentBytes'],
  ['segment.ms', 'segmentMs'],
  ['index.interval.bytes', 'indexIntervalBytes'],
  ['retention.ms', 'retentionMs'],
  ['retention.bytes', 'retentionBytes'],
  ['flush.messages', 'flushMessages'],
  ['flush.ms', 'flushMs'],
  ['max.message.bytes', 'maxBatchBytes'],
  ['delete.retention.ms', 'deleteRetentionMs'],
  ['min.cleanable.dirty.ratio', 'minCleanableDirtyRatio'],
  ['min.compaction.lag.ms', 'minCompactionLagMs'],
  ['max.compaction.lag.ms', 'maxCompactionLagMs'],
];

/** The cleanup.policy values Kafka accepts (a list of delete and compact). */
export const cleanupPolicies: readonly string[] = ['delete', 'compact', 'compact,delete', 'delete,compact'];

/** An override the log cannot take; `key` names the configuration. */
export class TopicConfigError extends Error {
  constructor(readonly key: string, readonly value: string, reason: string) {
    super(`Invalid value ${value} for configuration ${key}: ${reason}`);
  }
}

function value(configs: readonly ConfigEntry[], key: string): string | undefined {
  return configs.find((c) => c.name === key)?.value;
}

function wholeNumber(configs: readonly ConfigEntry[], key: string, min: number): number | undefined {
  const text = value(configs, key);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new TopicConfigError(key, text, 'not a whole number');
  if (n < min) throw new TopicConfigError(key, text, `must be at least ${min}`);
  return n;
}

/**
 * Checks the cleanup and compaction keys: cleanup.policy, min.cleanable.dirty.ratio (0..1),
 * min.compaction.lag.ms (>= 0), max.compaction.lag.ms (>= 1 and >= min.compaction.lag.ms),
 * delete.retention.ms (>= 0). Returns the first problem, or null.
 */
export function topicLogConfigError(configs: readonly ConfigEntry[]): TopicConfigError | null {
  try {
    const policy = value(configs, 'cleanup.policy');
    if (policy !== undefined && !cleanupPolicies.includes(policy.replace(/\s/g, ''))) {
      throw new TopicConfigError('cleanup.policy', policy, `must be one of ${cleanupPolicies.join(' | ')}`);
    }
    const ratio = value(configs, 'min.cleanable.dirty.ratio');
    if (ratio !== undefined) {
      const n = Number(ratio);
      if (ratio.trim() === '' || !Number.isFinite(n)) throw new TopicConfigError('min.cleanable.dirty.ratio', ratio, 'not a number');
      if (n < 0 || n > 1) throw new TopicConfigError('min.cleanable.dirty.ratio', ratio, 'must be between 0 and 1');
    }
    const minLag = wholeNumber(configs, 'min.compaction.lag.ms', 0) ?? defaultCompactionConfig.minCompactionLagMs;
    const maxLag = wholeNumber(configs, 'max.compaction.lag.ms', 1);
    if (maxLag !== undefined && maxLag < minLag) {
      throw new TopicConfigError('max.compaction.lag.ms', String(maxLag), `must not be below min.compaction.lag.ms (${minLag})`);
    }
    wholeNumber(configs, 'delete.retention.ms', 0);
    return null;
  } catch (error) {
    if (error instanceof TopicConfigError) return error;
    throw error;
  }
}

/**
 * The log settings a topic overrides; keys that are not about the log are left out. A topic
 * whose cleanup.policy does not include delete (compact alone, as __consumer_offsets) keeps
 * every segment: retention by time and size applies only to the delete policy. Throws
 * TopicConfigError for an invalid compaction setting (topicLogConfigError).
 */
export function topicLogConfig(configs: readonly ConfigEntry[]): Partial<LogConfig> {
  const problem = topicLogConfigError(configs);
  if (problem !== null) throw problem;
  const config: Partial<LogConfig> = {};
  for (const [name, key] of logConfigKeys) {
    const entry = configs.find((c) => c.name === name);
    if (entry !== undefined) config[key] = Number(entry.value);
  }
  const policy = value(configs, 'cleanup.policy');
  if (policy !== undefined) {
    const parts = policy.replace(/\s/g, '').split(',');
    config.compact = parts.includes('compact');
    if (!parts.includes('delete')) {
      config.retentionMs = -1;
      config.retentionBytes = -1;
    }
  }
  return config;
}
