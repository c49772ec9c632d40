// Records a run as JSON Lines and hashes it (SHA-256) as it goes: the same seed and the
// same code give the same hash.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent, Tracer } from '../runtime/kernel/ports.js';
import type { SimBugs } from './cluster.js';

const flushBytes = 1 << 16;

/** The version of the trace format, written in every run header; replay reads only this one. */
export const traceVersion = 1;

/** Everything `runSimulation` needs to run the same simulation again (see sim/run.ts SimOptions). */
export interface RunHeaderOptions {
  seed: number;
  nodes: number;
  durationMs: number;
  faults: string[];
  workload: string;
  uncleanLeaderElection: boolean;
  settleMaxMs: number;
  eventsMax: number;
  /** The `--bug` name, when the bugs came from one. */
  bug: string | null;
  bugs: SimBugs;
  /** The fault schedule the run was given (`--schedule`, text form of sim/schedule.ts); absent when faults were drawn from the seed. */
  schedule?: string;
}

/** The first line of every trace. */
export interface RunHeader {
  t: 0;
  kind: '@run';
  version: number;
  options: RunHeaderOptions;
}

export class TraceRecorder implements Tracer {
  private readonly hash: Hash = createHash('sha256');
  private fd: number | null = null;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private pendingHash = '';
  lines = 0;
  /** Called with every event after it is recorded (the checkers listen here). */
  listener: ((event: TraceEvent) => void) | null = null;
  /** Called with every line as written, the run header included, numbered from 1 (replay listens here). */
  lineListener: ((line: string, lineNumber: number) => void) | null = null;

  constructor(path: string | null) {
    if (path !== null) this.fd = openSync(path, 'w');
  }

  /** The run header: the first line of every trace, written and hashed like any other. */
  recordHeader(header: RunHeader): void {
    if (this.lines > 0) throw new Error('the run header must be the first trace line');
    this.write(JSON.stringify(header));
  }

  record(event: TraceEvent): void {
    this.write(traceLine(event));
    this.listener?.(event);
  }

  private write(line: string): void {
    // Hashing in chunks gives the same digest as hashing line by line, with fewer calls.
    this.pendingHash += `${line}\n`;
    if (this.pendingHash.length >= flushBytes) this.flushHash();
    this.lines += 1;
    if (this.fd !== null) {
      this.buffer.push(line);
      this.bufferedBytes += line.length + 1;
      if (this.bufferedBytes >= flushBytes) this.flush();
    }
    this.lineListener?.(line, this.lines);
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
