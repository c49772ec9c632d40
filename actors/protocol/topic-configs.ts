// Topic-level configuration keys, as Kafka names them, with how each value is checked.
// The controller validates overrides when a topic is created; replicas and storage read them.
import type { ConfigEntry } from './messages.js';

type ConfigKind = 'int' | 'long' | 'boolean' | 'policy';

/** Every topic config logmesh understands, and the kind of its value. */
export const topicConfigKinds: Readonly<Record<string, ConfigKind>> = {
  'cleanup.policy': 'policy',
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
  return null;
}

function valueFits(kind: ConfigKind, value: string): boolean {
  switch (kind) {
    case 'boolean':
      return value === 'true' || value === 'false';
    case 'policy':
      return value === 'delete' || value === 'compact' || value === 'compact,delete' || value === 'delete,compact';
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
