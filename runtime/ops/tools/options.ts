// Parsers for command-line values, shared by every `logmesh` command. A bad value throws
// commander's InvalidArgumentError, which the CLI prints as one line before exiting non-zero.
import { InvalidArgumentError } from 'commander';
import type { ConfigEntry } from '../../../actors/protocol/messages.js';

export function asInt(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be in [${min}, ${max}]`);
    return n;
  };
}

function splitKeyValue(option: string, text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`${option} expects key=value, got "${text}"`);
  return [text.slice(0, at).trim(), text.slice(at + 1)];
}

/** Repeatable `--config key=value`: topic config overrides. */
export function collectConfig(text: string, previous: ConfigEntry[]): ConfigEntry[] {
  const [name, value] = splitKeyValue('--config', text);
  return [...previous, { name, value: value.trim() }];
}

/**
 * Repeatable `--property key=value` for the console tools, checked against the keys the tool
 * knows (Kafka's names). Values are kept as given: a separator may be a space.
 */
export function propertyCollector(known: readonly string[]) {
  return (text: string, previous: Record<string, string>): Record<string, string> => {
    const [key, value] = splitKeyValue('--property', text);
    if (!known.includes(key)) throw new InvalidArgumentError(`unknown property "${key}" (known: ${known.join(', ')})`);
    return { ...previous, [key]: value };
  };
}

/** A `true`/`false` property; anything else is a usage error. */
export function booleanProperty(properties: Record<string, string>, key: string): boolean {
  const value = properties[key];
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidArgumentError(`property ${key} must be true or false, got "${value}"`);
}

/** Kafka's `\t`-style escapes in a separator given on the command line. */
export function separatorProperty(properties: Record<string, string>, key: string, fallback: string): string {
  const value = properties[key];
  if (value === undefined) return fallback;
  if (value === '') throw new InvalidArgumentError(`property ${key} must not be empty`);
  return value.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
