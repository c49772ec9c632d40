// The processes `npm run bench -- kafka` starts (nats-server, `logmesh node`), tracked by
// PID: stopped gently at the end of a cluster's cases, and killed if the bench fails, is
// interrupted (SIGINT) or exits with any of them still running.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lines kept from each child, for the error report when it fails. */
const outputTailLines = 40;
/** How long a child may take to exit after SIGINT/SIGTERM before it gets SIGKILL. */
const stopGraceMs = 10_000;

export class BenchChild {
  readonly tail: string[] = [];
  exitInfo: string | null = null;
  readonly exited: Promise<void>;

  constructor(readonly name: string, readonly proc: ChildProcess) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.tail.push(line);
        if (this.tail.length > outputTailLines) this.tail.shift();
      }
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolveExit) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = signal !== null ? `signal ${signal}` : `code ${code}`;
        resolveExit();
      });
      proc.once('error', (error) => {
        this.exitInfo = `spawn error: ${error.message}`;
        resolveExit();
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.proc.pid === undefined) return;
    try {
      process.kill(this.proc.pid, signal);
    } catch {
      // already gone
    }
  }

  /** `first` (SIGINT for a node, SIGTERM for nats-server), then SIGKILL after a bounded wait. */
  async stop(first: NodeJS.Signals): Promise<void> {
    this.signal(first);
    if (await exitedWithin(this, stopGraceMs)) return;
    this.signal('SIGKILL');
    await exitedWithin(this, stopGraceMs);
  }

  describe(): string {
    return `${this.name} (pid ${this.proc.pid}, ${this.exitInfo ?? 'running'}); last lines:\n  ${this.tail.slice(-10).join('\n  ')}`;
  }
}

async function exitedWithin(child: BenchChild, ms: number): Promise<boolean> {
  if (!child.running) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolveWait) => { timer = setTimeout(() => resolveWait(false), ms); });
  const exited = await Promise.race([child.exited.then(() => true as const), timedOut]);
  clearTimeout(timer);
  return exited;
}

/** Every child started by this process and not yet stopped. */
const live = new Set<BenchChild>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.signal('SIGKILL');
  });
}

export function startBenchChild(name: string, command: string, args: string[]): BenchChild {
  installExitHook();
  const child = new BenchChild(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

/** Stops the given children: node processes first (SIGINT), then nats-servers (SIGTERM). */
export async function stopBenchChildren(children: readonly BenchChild[]): Promise<void> {
  const isNats = (child: BenchChild): boolean => child.name.startsWith('nats');
  await Promise.all(children.filter((c) => !isNats(c)).map((c) => c.stop('SIGINT')));
  await Promise.all(children.filter(isNats).map((c) => c.stop('SIGTERM')));
}

/** Stops every child still running (the SIGINT and error paths). */
export async function stopAllBenchChildren(): Promise<void> {
  await stopBenchChildren([...live]);
}

/**
 * Runs a scenario in a fresh data directory under the system's temp directory. At the end,
 * however it ends, every child still running is stopped and the directory removed; Ctrl-C
 * meanwhile does the same (by PID) and exits 130.
 */
export async function inBenchDir<T>(prefix: string, run: (dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const onInterrupt = (): void => {
    void stopAllBenchChildren().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await run(dataDir);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await stopAllBenchChildren();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Throws unless nothing listens on 127.0.0.1:`port` and it can be bound. */
export function assertPortFree(port: number): Promise<void> {
  return new Promise((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`port ${port} on 127.0.0.1 is not free (${error.code ?? error.message}); the kafka bench uses 23000-23999`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree()));
  });
}

export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); resolveProbe(true); });
    socket.once('timeout', () => { socket.destroy(); resolveProbe(false); });
    socket.once('error', () => { socket.destroy(); resolveProbe(false); });
  });
}

export const pause = (ms: number): Promise<void> => new Promise((resolvePause) => setTimeout(resolvePause, ms));

/**
 * Polls `probe` every 100 ms until it returns a value; throws after `timeoutMs`, or at once
 * when one of `watched` has exited (with its last lines).
 */
export async function waitFor<T>(what: string, timeoutMs: number, watched: readonly BenchChild[], probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const dead = watched.find((child) => !child.running);
    if (dead !== undefined) throw new Error(`${dead.describe()}\nexited while waiting for ${what}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}`);
    await pause(100);
  }
}
