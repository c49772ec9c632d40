// The physical limits `npm run bench -- kafka` compares with: the disk (a write + fdatasync
// loop of 64 KiB batches, bench-storage.ts's loop, in the data directory the systems use) and
// loopback TCP (a sink process reading what this process writes in 64 KiB chunks).
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { benchBatch, rawLoop } from './bench-storage.js';
import { assertPortFree, startBenchChild, stopBenchChildren, tcpAccepts, waitFor } from './bench-processes.js';

/** Batches of the disk loop: about a second at this disk's ~0.5 ms per write + fdatasync. */
export const diskBatches = 2000;
export const tcpWriteBytes = 64 * 1024;

const mebibyte = 1024 * 1024;

export interface DiskLimit {
  batchBytes: number;
  megabytesPerSecond: number;
  /** Milliseconds per write + fdatasync of one batch. */
  msPerSync: number;
}

export function measureDisk(dataDir: string): DiskLimit {
  const batch = benchBatch();
  const ms = rawLoop(dataDir, batch, diskBatches);
  rmSync(join(dataDir, 'raw.bin'), { force: true });
  return { batchBytes: batch.length, megabytesPerSecond: (batch.length * diskBatches) / mebibyte / (ms / 1000), msPerSync: ms / diskBatches };
}

/** Two runs of the disk loop as one: their bytes over their time. */
export function combineDiskLimits(first: DiskLimit, second: DiskLimit): DiskLimit {
  const msPerSync = (first.msPerSync + second.msPerSync) / 2;
  return { batchBytes: first.batchBytes, megabytesPerSecond: first.batchBytes / mebibyte / (msPerSync / 1000), msPerSync };
}

// The sink: counts the bytes of each connection and prints the count when it ends (not for
// the readiness probe's empty connection).
const sinkScript = `
const port = Number(process.argv[1]);
require('node:net').createServer((socket) => {
  let bytes = 0;
  socket.on('data', (chunk) => { bytes += chunk.length; });
  socket.on('end', () => { if (bytes > 0) process.stdout.write('received ' + bytes + '\\n'); socket.end(); });
}).listen(port, '127.0.0.1');
`;

/** Loopback TCP throughput in MB/s: 64 KiB writes for `durationMs` into a sink process, timed until the sink has read the last byte. */
export async function measureLoopbackTcp(port: number, durationMs: number): Promise<number> {
  await assertPortFree(port);
  const sink = startBenchChild('tcp sink', process.execPath, ['-e', sinkScript, String(port)]);
  try {
    await waitFor(`the TCP sink on 127.0.0.1:${port}`, 10_000, [sink], async () => ((await tcpAccepts(port)) ? true : undefined));
    const received = new Promise<number>((resolveCount, reject) => {
      sink.proc.stdout!.on('data', (chunk: Buffer) => {
        const match = /received (\d+)/.exec(chunk.toString('utf8'));
        if (match !== null) resolveCount(Number(match[1]));
      });
      void sink.exited.then(() => reject(new Error(`the TCP sink exited (${sink.exitInfo})`)));
    });
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', resolveConnect);
      socket.once('error', reject);
    });
    const chunk = Buffer.alloc(tcpWriteBytes, 0x61);
    const startMs = performance.now();
    await new Promise<void>((resolveWritten) => {
      const pump = (): void => {
        while (performance.now() - startMs < durationMs) {
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
        resolveWritten();
      };
      pump();
    });
    const bytes = await received;
    const ms = performance.now() - startMs;
    socket.destroy();
    return bytes / mebibyte / (ms / 1000);
  } finally {
    await stopBenchChildren([sink]);
  }
}
