// Kafka's checkpoint file format, used for the leader-epoch and recovery-point checkpoints:
// a version line ("0"), a count line, then one entry per line. Written atomically (temp
// file, fsync, rename, fsync of the directory) so that a crash leaves the old or the new.
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export const checkpointVersion = 0;

export class CheckpointError extends Error {}

/** Reads the entry lines of a checkpoint; null when the file does not exist. */
export async function readCheckpoint(path: string): Promise<string[][] | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== String(checkpointVersion)) throw new CheckpointError(`${path}: unknown checkpoint version "${lines[0] ?? ''}"`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new CheckpointError(`${path}: expected ${lines[1] ?? '?'} entries, found ${Math.max(0, lines.length - 2)}`);
  }
  return lines.slice(2).map((line) => line.split(' '));
}

export async function writeCheckpoint(path: string, entries: Array<Array<string | number>>): Promise<void> {
  const text = [String(checkpointVersion), String(entries.length), ...entries.map((e) => e.join(' '))].join('\n') + '\n';
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Parses a non-negative integer field of a checkpoint entry, naming the file when it is not one. */
export function checkpointInteger(path: string, text: string | undefined, allowNegative = false): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isSafeInteger(value) || (!allowNegative && value < 0)) {
    throw new CheckpointError(`${path}: bad number "${text ?? ''}"`);
  }
  return value;
}
