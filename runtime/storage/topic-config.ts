// Topic-level overrides (segment.bytes, retention.ms, ...) as the partition log's config.
import type { ConfigEntry } from '../../actors/protocol/messages.js';
import type { LogConfig } from './partition-log.js';

const logConfigKeys: ReadonlyArray<[string, keyof LogConfig]> = [
  ['segment.bytes', 'segmentBytes'],
  ['segment.ms', 'segmentMs'],
  ['index.interval.bytes', 'indexIntervalBytes'],
  ['retention.ms', 'retentionMs'],
  ['retention.bytes', 'retentionBytes'],
  ['flush.messages', 'flushMessages'],
  ['flush.ms', 'flushMs'],
  ['max.message.bytes', 'maxBatchBytes'],
];

/**
 * The log settings a topic overrides; keys that are not about the log are left out. A topic
 * whose cleanup.policy does not include delete (compact alone, as __consumer_offsets) keeps
 * every segment: retention by time and size applies only to the delete policy.
 */
export function topicLogConfig(configs: readonly ConfigEntry[]): Partial<LogConfig> {
  const config: Partial<LogConfig> = {};
  for (const [name, key] of logConfigKeys) {
    const entry = configs.find((c) => c.name === name);
    if (entry !== undefined) config[key] = Number(entry.value);
  }
  const policy = configs.find((c) => c.name === 'cleanup.policy')?.value;
  if (policy !== undefined && !policy.split(',').includes('delete')) {
    config.retentionMs = -1;
    config.retentionBytes = -1;
  }
  return config;
}
