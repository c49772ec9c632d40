import { mkdtempSync, rmSync, openSync, writeSync, fdatasyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import pino from '/work/main/node_modules/pino/pino.js';
import { PartitionLog, defaultLogConfig } from '/work/main/dist/runtime/storage/partition-log.js';
import { benchBatch } from '/work/main/dist/runtime/ops/bench-storage.js';
const dir = mkdtempSync('/work/main/.bench-');
const log = await PartitionLog.open(join(dir, 'p'), 'p', 0, defaultLogConfig, pino({ level: 'silent' }));
const batch = benchBatch();
const n = Number(process.argv[2] ?? 1000);
const t0 = performance.now();
for (let i = 0; i < n; i++) { const r = await log.append(batch.slice(), 1); await log.waitDurable(r.lastOffset + 1); }
const t1 = performance.now();
const fd = openSync(join(dir, 'raw'), 'w'); let pos = 0;
for (let i = 0; i < n; i++) { writeSync(fd, batch, 0, batch.length, pos); fdatasyncSync(fd); pos += batch.length; }
const t2 = performance.now();
console.log('append ms/batch', ((t1 - t0) / n).toFixed(3), 'raw', ((t2 - t1) / n).toFixed(3));
await log.close(); closeSync(fd); rmSync(dir, { recursive: true });
