// The storage benchmark: partition-log appends against the disk's own limit (a plain
// write + fdatasync loop of the same bytes, in the same directory), sequential reads, and
// recovery of a 2 GiB log after kill -9. Run as `npm run bench -- storage`.
// Run with the argument `writer DIR BYTES` it is the child that fills a log until killed.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync, fdatasyncSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { PartitionLog, defaultLogConfig } from '../storage/partition-log.js';
import { encodeRecordBatch } from '../storage/record-batch.js';

export const recordBytes = 1024;
export const batchBytesTarget = 64 * 1024;
export const appendBatches = 2000;
/** Raw and logmesh runs alternate in this many rounds, so that the disk's drift hits both alike. */
export const rounds = 20;
export const recoveryLogBytes = 2 * 1024 * 1024 * 1024;

const silent = pino({ level: 'silent' });

/** One ~64 KiB batch of 1 KiB records. */
export function benchBatch(): Uint8Array {
  const value = Buffer.alloc(recordBytes, 0x61);
  const records = Array.from({ length: Math.floor(batchBytesTarget / (recordBytes + 12)) }, () => ({ key: null, value, timestamp: Date.now() }));
  return encodeRecordBatch(records);
}

export interface StorageFigures {
  batchBytes: number;
  rawMBps: number;
  rawBatchesPerSecond: number;
  appendMBps: number;
  appendBatchesPerSecond: number;
  appendVsRaw: number;
  /** The median over rounds of raw time / append time: less swayed by one slow stretch of the disk. */
  appendVsRawMedianRound: number;
  concurrentAppendMBps: number;
  readMBps: number;
  recoveryMs: number;
  recoveredBytes: number;
}

/** The disk's limit: `batches` writes of `batch` to DIR/raw.bin, each followed by fdatasync; returns the milliseconds taken. */
export function rawLoop(dir: string, batch: Uint8Array, batches: number): number {
  const fd = openSync(join(dir, 'raw.bin'), 'w');
  const started = performance.now();
  let position = 0;
  for (let i = 0; i < batches; i++) {
    writeSync(fd, batch, 0, batch.length, position);
    fdatasyncSync(fd);
    position += batch.length;
  }
  const ms = performance.now() - started;
  closeSync(fd);
  return ms;
}

async function appendLoop(log: PartitionLog, batch: Uint8Array, inFlight: number, batches: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches) {
      next += 1;
      const result = await log.append(batch, 1);
      await log.waitDurable(result.lastOffset + 1);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return performance.now() - started;
}

async function readAll(log: PartitionLog): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  let offset = log.logStartOffset;
  let bytes = 0;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 1024 * 1024);
    bytes += result.bytes.length;
    offset = result.nextOffset;
  }
  return { ms: performance.now() - started, bytes };
}

/** Starts a writer child, lets it write `recoveryLogBytes`, kills it with SIGKILL, then times recovery. */
async function recoveryAfterKill(dir: string): Promise<{ ms: number; bytes: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'writer', dir, String(recoveryLogBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the writer did not finish within 10 minutes')), 600_000);
    child.stdout.on('data', (chunk) => {
      out += String(chunk);
      if (out.includes('written')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const started = performance.now();
  const log = await PartitionLog.open(dir, 'bench', 0, defaultLogConfig, silent);
  const ms = performance.now() - started;
  const bytes = log.sizeBytes;
  await log.close();
  return { ms, bytes };
}

async function writer(dir: string, bytes: number): Promise<void> {
  const log = await PartitionLog.open(dir, 'bench', 0, defaultLogConfig, silent);
  const batch = benchBatch();
  let written = 0;
  while (written < bytes) {
    const result = await log.append(batch, 1);
    written += batch.length;
    // Flush now and then, as a broker under flush.messages would; the tail after the last
    // flush is what recovery has to check.
    if (written % (256 * 1024 * 1024) < batch.length) await log.waitDurable(result.lastOffset + 1);
  }
  process.stdout.write('written\n');
  // Wait to be killed.
  setInterval(() => {}, 1 << 30);
}

export async function runStorageBench(progress: (done: number, total: number) => void): Promise<StorageFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'logmesh-bench-storage-'));
  try {
    const batch = benchBatch();
    const totalBytes = batch.length * appendBatches;
    const steps = rounds * 3 + 2;
    const perRound = appendBatches / rounds;
    const sequential = await PartitionLog.open(join(dir, 'log-sequential'), 'bench', 0, defaultLogConfig, silent);
    const concurrent = await PartitionLog.open(join(dir, 'log-concurrent'), 'bench', 0, defaultLogConfig, silent);
    let rawMs = 0;
    let sequentialMs = 0;
    let concurrentMs = 0;
    const roundRatios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so that neither always follows the other's writes.
      let raw = 0;
      if (round % 2 === 0) raw = rawLoop(dir, batch, perRound);
      const append = await appendLoop(sequential, batch, 1, perRound);
      if (round % 2 === 1) raw = rawLoop(dir, batch, perRound);
      rawMs += raw;
      sequentialMs += append;
      roundRatios.push(raw / append);
      progress(round * 3 + 2, steps);
      concurrentMs += await appendLoop(concurrent, batch, 8, perRound);
      progress(round * 3 + 3, steps);
    }
    await concurrent.close();
    const read = await readAll(sequential);
    await sequential.close();
    progress(steps - 1, steps);
    rmSync(join(dir, 'raw.bin'));
    const recovery = await recoveryAfterKill(join(dir, 'log-recovery'));
    progress(steps, steps);
    const mb = (bytes: number, ms: number): number => Number((bytes / (1024 * 1024) / (ms / 1000)).toFixed(1));
    return {
      batchBytes: batch.length,
      rawMBps: mb(totalBytes, rawMs),
      rawBatchesPerSecond: Math.round(appendBatches / (rawMs / 1000)),
      appendMBps: mb(totalBytes, sequentialMs),
      appendBatchesPerSecond: Math.round(appendBatches / (sequentialMs / 1000)),
      appendVsRaw: Number((rawMs / sequentialMs).toFixed(3)),
      appendVsRawMedianRound: Number(roundRatios.sort((a, b) => a - b)[Math.floor(roundRatios.length / 2)]!.toFixed(3)),
      concurrentAppendMBps: mb(totalBytes, concurrentMs),
      readMBps: mb(read.bytes, read.ms),
      recoveryMs: Math.round(recovery.ms),
      recoveredBytes: recovery.bytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'writer') {
  await writer(process.argv[3]!, Number(process.argv[4]));
}
