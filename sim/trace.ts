// Records a run as JSON Lines and hashes it (SHA-256) as it goes: the same seed and the
// same code give the same hash.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent, Tracer } from '../runtime/kernel/ports.js';

const flushBytes = 1 << 16;

export class TraceRecorder implements Tracer {
  private readonly hash: Hash = createHash('sha256');
  private fd: number | null = null;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private pendingHash = '';
  lines = 0;
  /** Called with every event after it is recorded (the checkers listen here). */
  listener: ((event: TraceEvent) => void) | null = null;

  constructor(path: string | null) {
    if (path !== null) this.fd = openSync(path, 'w');
  }

  record(event: TraceEvent): void {
    const line = traceLine(event);
    // Hashing in chunks gives the same digest as hashing line by line, with fewer calls.
    this.pendingHash += `${line}\n`;
    if (this.pendingHash.length >= flushBytes) this.flushHash();
    this.lines += 1;
    if (this.fd !== null) {
      this.buffer.push(line);
      this.bufferedBytes += line.length + 1;
      if (this.bufferedBytes >= flushBytes) this.flush();
    }
    this.listener?.(event);
  }

  digest(): string {
    this.flushHash();
    this.close();
    return this.hash.digest('hex');
  }

  private flushHash(): void {
    this.hash.update(this.pendingHash);
    this.pendingHash = '';
  }

  private flush(): void {
    if (this.fd === null || this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join('\n') + '\n');
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  private close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

const plain = /^[\w:./@ -]*$/;

function quote(text: string): string {
  return plain.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** JSON.stringify(event) with the keys in TraceEvent order, built without the generic walk. */
export function traceLine(event: TraceEvent): string {
  let line = `{"t":${event.t},"node":${event.node},"actor":${quote(event.actor)},"kind":${quote(event.kind)},"id":${quote(event.id)},"parent":${quote(event.parent)}`;
  if (event.from !== undefined) line += `,"from":${quote(event.from)}`;
  if (event.state !== undefined) line += `,"state":${quote(event.state)}`;
  return `${line}}`;
}
