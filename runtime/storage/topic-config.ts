// Topic-level overrides (segment.bytes, retention.ms, cleanup.policy, ...) as the partition
// log's config. A compaction value the log cannot work with is refused with a message naming
// the key, in Kafka's words ("Invalid value X for configuration Y: ..."); the checks are the
// controller's (actors/protocol/topic-configs.ts), which answers INVALID_CONFIG with them.
import type { ConfigEntry } from '../../actors/protocol/messages.js';
import type { LogConfig } from './partition-log.js';
import { compactionConfigProblem, compactionProblemMessage } from '../../actors/protocol/topic-configs.js';

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

/** An override the log cannot take; `key` names the configuration. */
export class TopicConfigError extends Error {
  constructor(readonly key: string, readonly value: string, reason: string) {
    super(compactionProblemMessage({ key, value, reason }));
  }
}

function value(configs: readonly ConfigEntry[], key: string): string | undefined {
  return configs.find((c) => c.name === key)?.value;
}

/**
 * Checks the cleanup and compaction keys (actors/protocol/topic-configs.ts
 * compactionConfigProblem, which the controller checks too). Returns the first problem, or null.
 */
export function topicLogConfigError(configs: readonly ConfigEntry[]): TopicConfigError | null {
  const problem = compactionConfigProblem(configs);
  return problem === null ? null : new TopicConfigError(problem.key, problem.value, problem.reason);
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
