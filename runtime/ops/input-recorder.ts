// `logmesh node --record-inputs DIR`: writes the node's input log (runtime/kernel/input-log.ts)
// to DIR/node-<id>-<n>.inputs.jsonl, one file per start of the node. Lines are buffered and
// written at least every 100 ms, so a kill -9 loses at most the last tenth of a second.
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveredInput, InputObserver } from '../kernel/node-kernel.js';
import { type InputLogHeader, effectsDigest, inputLine, inputLogVersion } from '../kernel/input-log.js';

const flushBytes = 1 << 16;
const flushIntervalMs = 100;

export class InputRecorder implements InputObserver {
  readonly path: string;
  private fd: number | null;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private readonly timer: NodeJS.Timeout;
  lines = 0;

  constructor(dir: string, node: number, clusterId: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new Error(`--record-inputs ${dir}: cannot create the directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    let n = 1;
    while (existsSync(join(dir, `node-${node}-${n}.inputs.jsonl`))) n += 1;
    this.path = join(dir, `node-${node}-${n}.inputs.jsonl`);
    this.fd = openSync(this.path, 'wx');
    const header: InputLogHeader = { kind: '@node-inputs', version: inputLogVersion, node, clusterId, started: new Date().toISOString() };
    this.write(JSON.stringify(header));
    this.timer = setInterval(() => this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  started(t: number, actorId: string, machine: string, input: unknown, state: string, effects: readonly unknown[]): void {
    this.write(inputLine({ kind: 'start', t, actor: actorId, machine, input, state, effects: effectsDigest(effects) }));
  }

  delivered(actorId: string, input: DeliveredInput): void {
    this.write(inputLine({
      kind: 'event', actor: actorId, event: input.event, id: input.msgId, parent: input.parentId, from: input.from,
      before: input.stateBefore, after: input.stateAfter, effects: effectsDigest(input.effects),
    }));
  }

  stopped(t: number, actorId: string): void {
    this.write(inputLine({ kind: 'stop', t, actor: actorId }));
  }

  /** Writes what is buffered and closes the file. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(line: string): void {
    if (this.fd === null) return;
    this.buffer.push(line);
    this.bufferedBytes += line.length + 1;
    this.lines += 1;
    if (this.bufferedBytes >= flushBytes) this.flush();
  }

  private flush(): void {
    if (this.fd === null || this.buffer.length === 0) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
    this.bufferedBytes = 0;
  }
}
