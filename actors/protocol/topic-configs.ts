// Topic-level configuration keys, as Kafka names them, with how each value is checked.
// The controller validates overrides when a topic is created; replicas and storage read them.
import type { ConfigEntry } from './messages.js';

type ConfigKind = 'int' | 'long' | 'double' | 'boolean' | 'policy';

/** Every topic config logmesh understands, and the kind of its value. */
export const topicConfigKinds: Readonly<Record<string, ConfigKind>> = {
  'cleanup.policy': 'policy',
  'min.cleanable.dirty.ratio': 'double',
  'min.compaction.lag.ms': 'long',
  'max.compaction.lag.ms': 'long',
  'delete.retention.ms': 'long',
  'retention.ms': 'long',
  'retention.bytes': 'long',
  'segment.bytes': 'int',
  'segment.ms': 'long',
  'index.interval.bytes': 'int',
  'flush.messages': 'long',
  'flush.ms': 'long',
  'max.message.bytes': 'int',
  'min.insync.replicas': 'int',
  'unclean.leader.election.enable': 'boolean',
};

/** Why a set of overrides is unacceptable, or null when it is fine. */
export function topicConfigError(configs: readonly ConfigEntry[]): string | null {
  for (const { name, value } of configs) {
    const kind = topicConfigKinds[name];
    if (kind === undefined) return `unknown topic config "${name}"`;
    if (!valueFits(kind, value)) return `topic config "${name}" cannot be "${value}" (expects ${kind})`;
  }
  const compaction = compactionConfigProblem(configs);
  return compaction === null ? null : compactionProblemMessage(compaction);
}

/** The cleanup.policy values Kafka accepts (a list of delete and compact). */
export const cleanupPolicies: readonly string[] = ['delete', 'compact', 'compact,delete', 'delete,compact'];

/** Whether a topic's cleanup.policy includes compact (its records must have keys). */
export function topicIsCompacted(configs: readonly ConfigEntry[]): boolean {
  const policy = configValue(configs, 'cleanup.policy');
  return policy !== undefined && policy.replace(/\s/g, '').split(',').includes('compact');
}

/** Kafka's min.compaction.lag.ms default: a record may be compacted at once. */
export const defaultMinCompactionLagMs = 0;

/** A cleanup or compaction override a log cannot work with: the key, its value and why. */
export interface CompactionConfigProblem { key: string; value: string; reason: string }

/** Kafka's words for a refused value: "Invalid value X for configuration Y: ...". */
export function compactionProblemMessage(problem: CompactionConfigProblem): string {
  return `Invalid value ${problem.value} for configuration ${problem.key}: ${problem.reason}`;
}

function configValue(configs: readonly ConfigEntry[], key: string): string | undefined {
  return configs.find((c) => c.name === key)?.value;
}

/** A whole number at least `min`, undefined when not set, or what is wrong with it. */
function wholeNumber(configs: readonly ConfigEntry[], key: string, min: number): number | undefined | CompactionConfigProblem {
  const text = configValue(configs, key);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) return { key, value: text, reason: 'not a whole number' };
  if (n < min) return { key, value: text, reason: `must be at least ${min}` };
  return n;
}

/**
 * Checks the cleanup and compaction keys: cleanup.policy, min.cleanable.dirty.ratio (0..1),
 * min.compaction.lag.ms (>= 0), max.compaction.lag.ms (>= 1 and >= min.compaction.lag.ms),
 * delete.retention.ms (>= 0). Returns the first problem, or null. Pure: the controller checks
 * a topic's overrides with it, and storage before it opens a log with them.
 */
export function compactionConfigProblem(configs: readonly ConfigEntry[]): CompactionConfigProblem | null {
  const policy = configValue(configs, 'cleanup.policy');
  if (policy !== undefined && !cleanupPolicies.includes(policy.replace(/\s/g, ''))) {
    return { key: 'cleanup.policy', value: policy, reason: `must be one of ${cleanupPolicies.join(' | ')}` };
  }
  const ratio = configValue(configs, 'min.cleanable.dirty.ratio');
  if (ratio !== undefined) {
    const n = Number(ratio);
    if (ratio.trim() === '' || !Number.isFinite(n)) return { key: 'min.cleanable.dirty.ratio', value: ratio, reason: 'not a number' };
    if (n < 0 || n > 1) return { key: 'min.cleanable.dirty.ratio', value: ratio, reason: 'must be between 0 and 1' };
  }
  const minLag = wholeNumber(configs, 'min.compaction.lag.ms', 0) ?? defaultMinCompactionLagMs;
  if (typeof minLag !== 'number') return minLag;
  const maxLag = wholeNumber(configs, 'max.compaction.lag.ms', 1);
  if (maxLag !== undefined && typeof maxLag !== 'number') return maxLag;
  if (maxLag !== undefined && maxLag < minLag) {
    return { key: 'max.compaction.lag.ms', value: String(maxLag), reason: `must not be below min.compaction.lag.ms (${minLag})` };
  }
  const deleteRetention = wholeNumber(configs, 'delete.retention.ms', 0);
  if (deleteRetention !== undefined && typeof deleteRetention !== 'number') return deleteRetention;
  return null;
}

function valueFits(kind: ConfigKind, value: string): boolean {
  switch (kind) {
    case 'boolean':
      return value === 'true' || value === 'false';
    case 'policy':
      return cleanupPolicies.includes(value.replace(/\s/g, ''));
    case 'double':
      return value.trim() !== '' && Number.isFinite(Number(value));
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(value)) return false;
      const n = Number(value);
      return Number.isSafeInteger(n) && n >= -1 && (kind === 'long' || n <= 0x7fffffff);
    }
  }
}

/** The value of an integer override, or the fallback when the topic does not set it. */
export function topicConfigInt(configs: readonly ConfigEntry[], name: string, fallback: number): number {
  const entry = configs.find((c) => c.name === name);
  return entry === undefined ? fallback : Number(entry.value);
}

export function topicConfigBoolean(configs: readonly ConfigEntry[], name: string, fallback: boolean): boolean {
  const entry = configs.find((c) => c.name === name);
  return entry === undefined ? fallback : entry.value === 'true';
}
