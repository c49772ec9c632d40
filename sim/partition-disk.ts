// The simulated disk under partition logs: the same operations as the real partition log
// (append with offset assignment, flush, read, truncate), completing after simulated
// latencies in submission order (a flush completes after everything submitted before it, but
// nothing waits for it), with the faults a real disk has: unsynced batches lost at a
// crash (a random prefix of them may survive, and the next one may be torn), and bit flips
// in stored batches that the CRC must catch, on read and at recovery. Logs opened with a
// compact cleanup.policy are cleaned (sim/log-cleaner.ts) while the node's cleaner runs: a pass
// takes virtual time and swaps its batches in at once at its end, so a crash during it keeps
// the old batches.
import { type BatchHeader, scanBatches, setBaseOffset, setPartitionLeaderEpoch, batchFieldOffsets, readBatchHeader } from '../actors/protocol/record-batch.js';
import type { EpochStart, LogOp, LogResult, ProducerSnapshot, TxnSnapshot } from '../actors/protocol/effects.js';
import { type PartitionTxns, copyTxns, emptyTxns, lastStableOffset, noteTxnBatch, pruneAborted, stabilizeTxns } from '../actors/partition/txn-index.js';
import { type ProducerStates, replayBatch, snapshotProducers } from '../actors/partition/producer-state.js';
import { crc32c, decodeRecords } from '../runtime/storage/record-batch.js';
import { recordSpans } from '../runtime/storage/compacted-batch.js';
import { topicIsCompacted } from '../actors/protocol/topic-configs.js';
import { type CleanerCheckpoint, type CompactionConfig, clampCheckpoint, defaultCompactionConfig } from '../runtime/storage/cleaner.js';
import { withoutRemovedAborts } from '../runtime/storage/cleaner-txns.js';
import {
  type CleanerBugs, type CleanerPlan, type SimCleanerSettings, compactionConfigOf, planPass, simCleanerStatus,
} from './log-cleaner.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';

export const logOpMinMs = 0.2;
export const logOpMaxMs = 2;

interface StoredBatch {
  bytes: Uint8Array;
  firstOffset: number;
  lastOffset: number;
  durable: boolean;
  /**
   * The header as appended. A real log keeps its leader-epoch cache and producer state in
   * memory from the appends, so a bit flipped later on disk does not reach them until a
   * recovery rereads the batch (and cuts it, since it fails its CRC).
   */
  header: BatchHeader;
}

interface SimLog {
  /** Where the log starts when it holds no batch (after a truncation below its first one). */
  startOffset: number;
  batches: StoredBatch[];
  logEndOffset: number;
  lastCompletionMs: number;
  /** Cancels the completions not delivered yet (a crash loses them). */
  pending: Set<() => void>;
  /** cleanup.policy includes compact (from the configs it was opened with): leader appends need keys. */
  compact: boolean;
  /** The compaction settings it was opened with. */
  compaction: CompactionConfig;
  /** The cleaner's checkpoint: durable, written with the swap of the pass that moved it. */
  cleaner: CleanerCheckpoint;
  /** The cleaning pass in progress, if any: its plan waits for the swap at its end. */
  cleaning: CleanerPlan | null;
  /**
   * Transactions, noted at each append as the real log notes them, rebuilt from the batches
   * after a truncation or a crash (what is left may reopen a transaction whose marker went);
   * the cleaner's last stable offset and aborted index come from here.
   */
  txns: PartitionTxns;
}

/** What the node's cleaner did, over every log of the disk. */
export interface CleanerStats {
  passes: number;
  /** Passes whose batches were no longer in the log as read when the swap came (truncation, deletion). */
  passesAbandoned: number;
  batchesCleaned: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Data batches of aborted transactions removed (or emptied), commit markers removed. */
  abortedBatchesRemoved: number;
  markersRemoved: number;
  /** Crashes of the node while a pass was in progress (its batches stayed as they were). */
  crashesDuringCleaning: number;
}

export interface LogDiskStats {
  appends: number;
  batchesLostInCrash: number;
  tornWrites: number;
  bitFlips: number;
  corruptReads: number;
  batchesCutInRecovery: number;
}

export class SimLogDisk {
  private readonly logs = new Map<string, SimLog>();
  private readonly highWatermarks = new Map<string, number>();
  private readonly tombstoneHorizons = new Map<string, number>();
  readonly stats: LogDiskStats = { appends: 0, batchesLostInCrash: 0, tornWrites: 0, bitFlips: 0, corruptReads: 0, batchesCutInRecovery: 0 };
  readonly cleanerStats: CleanerStats = {
    passes: 0, passesAbandoned: 0, batchesCleaned: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0, abortedBatchesRemoved: 0,
    markersRemoved: 0, crashesDuringCleaning: 0,
  };
  /** The node's cleaner while it runs (between a boot and a crash). */
  private cleanerRun: { settings: SimCleanerSettings; bugs: CleanerBugs; timer: ReturnType<Scheduler['at']> | null } | null = null;
  /** Logs to clean once more whatever their dirty ratio (the end of a run). */
  private readonly finalCleans = new Set<string>();

  /** Latency multiplier (1: normal). */
  slowdown = 1;

  constructor(private readonly scheduler: Scheduler, private readonly prng: Prng) {}

  submitLog(store: string, op: LogOp, done: (result: LogResult) => void): void {
    const log = this.logFor(store);
    const latency = (this.prng.int(logOpMinMs * 1000, logOpMaxMs * 1000) / 1000) * this.slowdown;
    const at = Math.max(this.scheduler.now + latency, log.lastCompletionMs);
    log.lastCompletionMs = at;
    if (op.kind === 'logOpen') {
      log.compact = topicIsCompacted(op.configs);
      log.compaction = compactionConfigOf(op.configs);
    }
    // Appends reach the (volatile) page cache at once; the answer comes after the latency.
    const result = op.kind === 'logAppend' ? this.append(log, op.bytes, op.leaderEpoch) : null;
    const cancel = (): void => this.scheduler.cancel(event);
    const event = this.scheduler.at(at, () => {
      log.pending.delete(cancel);
      done(op.kind === 'logAppend' ? result! : this.complete(log, op));
    });
    log.pending.add(cancel);
  }

  /** Completes after every operation submitted before it, with every batch then in the log durable; later operations do not wait for it. */
  flushLog(store: string, _offset: number, done: (result: LogResult) => void): void {
    const log = this.logFor(store);
    const latency = (this.prng.int(logOpMinMs * 1000, logOpMaxMs * 1000) / 1000) * this.slowdown;
    const at = Math.max(this.scheduler.now + latency, log.lastCompletionMs);
    const cancel = (): void => this.scheduler.cancel(event);
    const event = this.scheduler.at(at, () => {
      log.pending.delete(cancel);
      for (const batch of log.batches) batch.durable = true;
      done({ kind: 'flushed', flushedOffset: log.logEndOffset });
    });
    log.pending.add(cancel);
  }

  /**
   * Records a replica's high watermark and tombstone horizon as the real node hands them to its
   * cleaner. Kept in memory only, as a node keeps them: a crash forgets them.
   */
  noteHighWatermark(store: string, offset: number, tombstoneHorizon: number): void {
    this.highWatermarks.set(store, offset);
    this.tombstoneHorizons.set(store, tombstoneHorizon);
  }

  /** The high watermark last noted for a log, or null if none was since the last crash. */
  highWatermarkOf(store: string): number | null {
    return this.highWatermarks.get(store) ?? null;
  }

  /** Offsets a replica's log holds, for checkers: [first, end). */
  logRange(store: string): { logEndOffset: number; batches: number } {
    const log = this.logFor(store);
    return { logEndOffset: log.logEndOffset, batches: log.batches.length };
  }

  /** The stored batches of a log (as they would be read back), for checkers. Never consumes faults. */
  storedBatches(store: string): ReadonlyArray<{ bytes: Uint8Array; firstOffset: number; lastOffset: number }> {
    return this.logs.get(store)?.batches ?? [];
  }

  /**
   * The node lost power. Unsynced batches are lost, except a random prefix of them; the
   * batch after that prefix may be torn (half written). Recovery then scans every batch and
   * cuts the log at the first one that is incomplete or fails its CRC.
   */
  crash(): void {
    this.highWatermarks.clear();
    this.tombstoneHorizons.clear();
    this.stopCleaner();
    if ([...this.logs.values()].some((log) => log.cleaning !== null)) this.cleanerStats.crashesDuringCleaning += 1;
    for (const log of this.logs.values()) {
      log.cleaning = null;
      for (const cancel of log.pending) cancel();
      log.pending.clear();
      log.lastCompletionMs = 0;
      const firstUnsynced = log.batches.findIndex((b) => !b.durable);
      if (firstUnsynced >= 0) {
        const unsynced = log.batches.length - firstUnsynced;
        const survivors = this.prng.int(0, unsynced);
        const kept = log.batches.slice(0, firstUnsynced + survivors);
        const next = log.batches[firstUnsynced + survivors];
        if (next !== undefined && this.prng.chance(0.5)) {
          kept.push({ ...next, bytes: next.bytes.slice(0, this.prng.int(1, next.bytes.length - 1)) });
          this.stats.tornWrites += 1;
        }
        this.stats.batchesLostInCrash += log.batches.length - kept.length;
        log.batches = kept;
      }
      this.recover(log);
      log.txns = txnsOf(log);
    }
  }

  /** Flips one bit in a random stored batch, inside the range its CRC covers. Returns the batch's first offset, or -1. */
  flipRandomBit(): number {
    const candidates = [...this.logs.values()].filter((log) => log.batches.length > 0);
    if (candidates.length === 0) return -1;
    const log = this.prng.pick(candidates);
    const batch = this.prng.pick(log.batches);
    const at = this.prng.int(batchFieldOffsets.attributes, batch.bytes.length - 1);
    batch.bytes = batch.bytes.slice();
    batch.bytes[at]! ^= 1 << this.prng.int(0, 7);
    this.stats.bitFlips += 1;
    return batch.firstOffset;
  }

  /**
   * Flips bit `bit` of byte `byte` of the batch of `store` that starts at `firstOffset`; the
   * byte must lie in the range the batch's CRC covers. False (and nothing flipped) if there is
   * no such batch or byte: a replayed schedule may name a batch that truncation removed.
   */
  flipBit(store: string, firstOffset: number, byte: number, bit: number): boolean {
    const batch = this.logs.get(store)?.batches.find((b) => b.firstOffset === firstOffset);
    if (batch === undefined || byte < batchFieldOffsets.attributes || byte >= batch.bytes.length || bit < 0 || bit > 7) return false;
    batch.bytes = batch.bytes.slice();
    batch.bytes[byte]! ^= 1 << bit;
    this.stats.bitFlips += 1;
    return true;
  }

  /** Whether the batch of `store` that starts at `firstOffset` is on disk and fails its CRC. Never counts as a read. */
  holdsCorruptBatch(store: string, firstOffset: number): boolean {
    const batch = this.logs.get(store)?.batches.find((b) => b.firstOffset === firstOffset);
    return batch !== undefined && scanBatches(batch.bytes, 0, batch.bytes.length, crc32c).error !== null;
  }

  /**
   * Starts the node's cleaner (at boot; a crash stops it). Every intervalMs (plus jitter from
   * its own Prng, so that other draws stay put) it starts a pass on the dirtiest compacted log
   * that needs one, unless a pass is in progress; `gate` holds its wake-ups while the node is paused.
   */
  startCleaner(settings: SimCleanerSettings, prng: Prng, bugs: CleanerBugs, gate: (run: () => void) => void): void {
    this.stopCleaner();
    const run: NonNullable<SimLogDisk['cleanerRun']> = { settings, bugs, timer: null };
    const wake = (): void => {
      run.timer = this.scheduler.after(settings.intervalMs + prng.int(0, settings.intervalJitterMs), () => gate(() => {
        if (this.cleanerRun !== run) return;
        this.cleanerTick();
        wake();
      }));
    };
    this.cleanerRun = run;
    wake();
  }

  stopCleaner(): void {
    if (this.cleanerRun !== null && this.cleanerRun.timer !== null) this.scheduler.cancel(this.cleanerRun.timer);
    this.cleanerRun = null;
  }

  /** Asks for one more pass over every compacted log, whatever its dirty ratio (before a run's final checks). */
  requestFinalClean(): void {
    for (const [store, log] of this.logs) if (log.compaction.compact) this.finalCleans.add(store);
  }

  /** No final pass is still asked for and none is in progress. */
  get finalCleanDone(): boolean {
    return this.finalCleans.size === 0 && [...this.logs.values()].every((log) => log.cleaning === null);
  }

  /** Where a log's cleaner stands (for checkers): offsets below firstDirtyOffset have been compacted. */
  cleanerCheckpointOf(store: string): CleanerCheckpoint {
    return this.logFor(store).cleaner;
  }

  private cleanerTick(): void {
    const run = this.cleanerRun!;
    if ([...this.logs.values()].some((log) => log.cleaning !== null)) return;
    const now = this.scheduler.now;
    let chosen: { store: string; log: SimLog; status: ReturnType<typeof simCleanerStatus> } | null = null;
    for (const [store, log] of this.logs) {
      if (!log.compaction.compact) continue;
      const firstDirty = Math.max(log.cleaner.firstDirtyOffset, log.batches[0]?.firstOffset ?? log.startOffset);
      const status = simCleanerStatus(log.batches, firstDirty, now, log.compaction, cleanableEnd(log, this.highWatermarks.get(store)), run.settings, run.bugs);
      const final = this.finalCleans.has(store);
      // A final pass asked of a log with nothing cleanable (too short, no watermark yet) is done.
      if (status.cleanableBatches === 0) this.finalCleans.delete(store);
      if (status.cleanableBatches === 0 || (!final && !status.needsCleaning)) continue;
      // Final passes first, then the dirtiest log, as Kafka's cleaner picks it.
      const better = chosen === null || (final && !this.finalCleans.has(chosen.store))
        || (final === this.finalCleans.has(chosen.store) && status.dirtyRatio > chosen.status.dirtyRatio);
      if (better) chosen = { store, log, status };
    }
    if (chosen !== null) this.startPass(chosen.store, chosen.log, chosen.status);
  }

  /** Plans a pass now and swaps it in once the pass's virtual time has gone by. */
  private startPass(store: string, log: SimLog, status: ReturnType<typeof simCleanerStatus>): void {
    const run = this.cleanerRun!;
    const replaced = log.batches.slice(0, status.cleanableBatches);
    // A batch that fails its CRC stops the pass, as CleanerCorruptionError does: a read finds it.
    if (replaced.some((batch) => scanBatches(batch.bytes, 0, batch.bytes.length, crc32c).error !== null)) return;
    this.finalCleans.delete(store);
    // No horizon is noted only with no high watermark, and then nothing is cleanable.
    const horizon = this.tombstoneHorizons.get(store) ?? 0;
    const plan = planPass(log.batches, status, log.cleaner, this.scheduler.now, log.compaction, horizon, log.txns.aborted, run.settings, run.bugs);
    if (plan === null) return;
    this.cleanerStats.passes += 1;
    const durationMs = run.settings.passFixedMs + plan.bytesRead / run.settings.bytesPerMs;
    // What the pass read: the swap checks that the log still starts with exactly these.
    const read = replaced.slice(0, plan.replacedBatches).map((batch) => ({ batch, bytes: batch.bytes }));
    const early = run.bugs.nonAtomicSwap === true && plan.changed ? plan.batches.map((b): StoredBatch => ({ ...b, durable: true })) : [];
    log.batches = [...early, ...log.batches];
    const cancel = (): void => this.scheduler.cancel(event);
    const event = this.scheduler.after(durationMs, () => {
      log.pending.delete(cancel);
      log.cleaning = null;
      this.swapIn(log, plan, read, early);
    });
    log.pending.add(cancel);
    log.cleaning = plan;
  }

  /** The atomic end of a pass: the plan replaces the batches it was made from, if they are still the log's first. */
  private swapIn(log: SimLog, plan: CleanerPlan, replaced: ReadonlyArray<{ batch: StoredBatch; bytes: Uint8Array }>, early: readonly StoredBatch[]): void {
    // A truncation, a deletion or a bit flip since the pass read them: the pass is void.
    const at = early.length > 0 && early.every((batch, i) => log.batches[i] === batch) ? early.length : 0;
    const intact = replaced.every(({ batch, bytes }, i) => log.batches[at + i] === batch && batch.bytes === bytes);
    if (!intact) {
      this.cleanerStats.passesAbandoned += 1;
      return;
    }
    if (plan.changed) {
      const cleaned: StoredBatch[] = at > 0 ? [...early] : plan.batches.map((b) => ({ ...b, durable: true }));
      log.batches = [...cleaned, ...log.batches.slice(at + replaced.length)];
      this.cleanerStats.batchesCleaned += replaced.length;
      this.cleanerStats.bytesBefore += plan.bytesBefore;
      this.cleanerStats.bytesAfter += plan.bytesAfter;
      this.cleanerStats.recordsRemoved += plan.recordsRemoved;
      this.cleanerStats.tombstonesRemoved += plan.tombstonesRemoved;
      this.cleanerStats.abortedBatchesRemoved += plan.abortedBatchesRemoved;
      this.cleanerStats.markersRemoved += plan.markersRemoved;
    }
    // As the real log's swap: an aborted transaction whose marker went leaves the index (most
    // passes remove none, and the index stays as it is).
    if (plan.abortMarkersRemoved.length > 0) log.txns.aborted = withoutRemovedAborts(log.txns.aborted, plan.abortMarkersRemoved);
    log.cleaner = clampCheckpoint(plan.checkpoint, log.batches[0]?.firstOffset ?? log.startOffset, log.logEndOffset);
  }

  private logFor(store: string): SimLog {
    let log = this.logs.get(store);
    if (log === undefined) {
      log = {
        startOffset: 0, batches: [], logEndOffset: 0, lastCompletionMs: 0, pending: new Set(), compact: false, compaction: defaultCompactionConfig,
        cleaner: { firstDirtyOffset: 0, cleaned: [] }, cleaning: null, txns: emptyTxns(),
      };
      this.logs.set(store, log);
    }
    return log;
  }

  private append(log: SimLog, input: Uint8Array, leaderEpoch: number): LogResult {
    // A copy: the input may be a Buffer view into a message the network delivers twice.
    const bytes = new Uint8Array(input);
    const scan = scanBatches(bytes, 0, bytes.length, crc32c);
    if (scan.error !== null || scan.headers.length === 0) {
      return { kind: 'failed', code: 'invalid', message: `invalid record batch at byte ${scan.error?.position ?? 0}: ${scan.error?.reason ?? 'empty'}` };
    }
    if (leaderEpoch >= 0 && log.compact) {
      const refused = keylessRecordRefusal(bytes, scan.headers);
      if (refused !== null) return refused;
    }
    const firstOffset = leaderEpoch >= 0 ? log.logEndOffset : scan.headers[0]!.baseOffset;
    if (firstOffset < log.logEndOffset) {
      return { kind: 'failed', code: 'invalid', message: `batch at offset ${firstOffset} is below the log end ${log.logEndOffset}` };
    }
    let next = firstOffset;
    for (const header of scan.headers) {
      if (leaderEpoch >= 0) {
        setBaseOffset(bytes, header.position, next);
        setPartitionLeaderEpoch(bytes, header.position, leaderEpoch);
      }
      const first = leaderEpoch >= 0 ? next : header.baseOffset;
      const last = first + header.lastOffsetDelta;
      const batchBytes = bytes.subarray(header.position, header.position + header.sizeBytes);
      const stored = readBatchHeader(batchBytes, 0);
      log.batches.push({ bytes: batchBytes, firstOffset: first, lastOffset: last, durable: false, header: stored });
      noteTxnBatch(log.txns, stored);
      next = last + 1;
    }
    log.logEndOffset = next;
    this.stats.appends += 1;
    return { kind: 'appended', firstOffset, lastOffset: next - 1, logEndOffset: next };
  }

  private complete(log: SimLog, op: Exclude<LogOp, { kind: 'logAppend' }>): LogResult {
    switch (op.kind) {
      case 'logOpen':
        return {
          kind: 'opened', logStartOffset: log.batches[0]?.firstOffset ?? log.startOffset, logEndOffset: log.logEndOffset,
          epochs: epochsOf(log), producers: producersOf(log), txns: openedTxns(log),
        };
      case 'logDelete':
        log.batches = [];
        log.startOffset = 0;
        log.logEndOffset = 0;
        log.cleaner = { firstDirtyOffset: 0, cleaned: [] };
        log.txns = emptyTxns();
        return { kind: 'deleted' };
      case 'logTruncate': {
        // Whole batches go: the one holding the offset and every later one.
        const kept = log.batches.filter((b) => b.lastOffset < op.offset);
        const firstDropped = log.batches[kept.length];
        log.batches = kept;
        if (kept.length > 0) log.logEndOffset = kept[kept.length - 1]!.lastOffset + 1;
        else if (firstDropped !== undefined) log.logEndOffset = firstDropped.firstOffset;
        if (kept.length === 0) log.startOffset = log.logEndOffset;
        // What lies above the cut will be new records: not cleaned, and not first cleaned earlier.
        log.cleaner = clampCheckpoint(log.cleaner, log.batches[0]?.firstOffset ?? log.startOffset, log.logEndOffset);
        log.txns = txnsOf(log);
        return { kind: 'truncated', logEndOffset: log.logEndOffset };
      }
      case 'logRead':
        return this.read(log, op.offset, op.maxBytes, op.maxOffset);
      case 'logOffsetForTime':
        return this.offsetForTime(log, op.timestamp, op.maxOffset);
      case 'logOffsetOfMaxTimestamp': {
        // As the real log: the first record at or after the largest timestamp of any batch.
        let largest = -1;
        for (const batch of log.batches) largest = Math.max(largest, batch.header.maxTimestamp);
        return largest < 0 ? { kind: 'offsetForTime', offset: -1, timestamp: -1 } : this.offsetForTime(log, largest, op.maxOffset);
      }
    }
  }

  private offsetForTime(log: SimLog, timestamp: number, maxOffset: number): LogResult {
    for (const batch of log.batches) {
      if (batch.firstOffset >= maxOffset) break;
      const corrupt = this.corruption(batch);
      if (corrupt !== null) return corrupt;
      for (const record of decodeRecords(batch.bytes, readBatchHeader(batch.bytes, 0))) {
        if (record.timestamp >= timestamp && record.offset < maxOffset) return { kind: 'offsetForTime', offset: record.offset, timestamp: record.timestamp };
      }
    }
    return { kind: 'offsetForTime', offset: -1, timestamp: -1 };
  }

  private read(log: SimLog, offset: number, maxBytes: number, maxOffset: number): LogResult {
    const start = log.batches[0]?.firstOffset ?? log.startOffset;
    if (offset < start || offset > log.logEndOffset) {
      return { kind: 'failed', code: 'out_of_range', message: `offset ${offset} is outside the log [${start}, ${log.logEndOffset}]` };
    }
    const limit = Math.min(maxOffset, log.logEndOffset);
    const chosen: StoredBatch[] = [];
    let size = 0;
    for (const batch of log.batches) {
      if (batch.lastOffset < offset) continue;
      if (batch.lastOffset >= limit) break;
      if (chosen.length > 0 && size + batch.bytes.length > maxBytes) break;
      const corrupt = this.corruption(batch);
      if (corrupt !== null) return corrupt;
      chosen.push(batch);
      size += batch.bytes.length;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const batch of chosen) {
      bytes.set(batch.bytes, at);
      at += batch.bytes.length;
    }
    return {
      kind: 'read',
      bytes,
      firstOffset: chosen[0]?.firstOffset ?? offset,
      nextOffset: chosen.length === 0 ? offset : chosen[chosen.length - 1]!.lastOffset + 1,
    };
  }

  /** A read's failure if the batch fails its CRC check (counted as a corrupt read), else null. */
  private corruption(batch: StoredBatch): LogResult | null {
    const check = scanBatches(batch.bytes, 0, batch.bytes.length, crc32c);
    if (check.error === null) return null;
    this.stats.corruptReads += 1;
    return { kind: 'failed', code: 'corrupt', message: `corrupt record batch at offset ${batch.firstOffset}: ${check.error.reason}` };
  }

  /** What the real log's recovery does: keep batches up to the first bad one. */
  private recover(log: SimLog): void {
    const good = log.batches.findIndex((b) => scanBatches(b.bytes, 0, b.bytes.length, crc32c).error !== null);
    if (good >= 0) {
      this.stats.batchesCutInRecovery += log.batches.length - good;
      log.batches = log.batches.slice(0, good);
    }
    for (const batch of log.batches) batch.durable = true;
    log.logEndOffset = log.batches.length === 0 ? log.startOffset : log.batches[log.batches.length - 1]!.lastOffset + 1;
  }
}

/** The leader-epoch cache a log's batches imply: each epoch and the first offset written in it. */
function epochsOf(log: SimLog): EpochStart[] {
  const epochs: EpochStart[] = [];
  for (const batch of log.batches) {
    const epoch = batch.header.partitionLeaderEpoch;
    const last = epochs[epochs.length - 1];
    if (epoch >= 0 && (last === undefined || epoch > last.epoch)) epochs.push({ epoch, startOffset: batch.firstOffset });
  }
  return epochs;
}

/** Idempotent producers' state as the log's batch headers imply it. */
function producersOf(log: SimLog): ProducerSnapshot[] {
  const states: ProducerStates = new Map();
  for (const batch of log.batches) replayBatch(states, batch.header);
  return snapshotProducers(states);
}

/** The high watermark, or the last stable offset below it (the real log's cleanableEnd); null until a watermark is known. */
function cleanableEnd(log: SimLog, highWatermark: number | undefined): number | null {
  if (highWatermark === undefined) return null;
  // Stable transactions stay so: a truncation or a crash rebuilds the state from the batches.
  stabilizeTxns(log.txns, highWatermark);
  return lastStableOffset(log.txns, highWatermark);
}

/** The transactions a log opened with: its state, the aborted ones below the log start forgotten. */
function openedTxns(log: SimLog): TxnSnapshot {
  pruneAborted(log.txns, log.batches[0]?.firstOffset ?? log.startOffset);
  return copyTxns(log.txns);
}

/** Transactions as the log's batch headers imply them (the real log keeps a checkpoint; the same function derives both). */
function txnsOf(log: SimLog): PartitionTxns {
  const txns = emptyTxns();
  for (const batch of log.batches) noteTxnBatch(txns, batch.header);
  pruneAborted(txns, log.batches[0]?.firstOffset ?? log.startOffset);
  return txns;
}

/**
 * The real log's check for a compacted topic (PartitionLog.refuseKeylessRecords): a leader
 * append with a record without a key is refused whole. Compressed and control batches pass.
 */
function keylessRecordRefusal(bytes: Uint8Array, headers: readonly BatchHeader[]): LogResult | null {
  for (const header of headers) {
    if (header.isControl || header.compression !== 0) continue;
    let spans: ReturnType<typeof recordSpans>;
    try {
      spans = recordSpans(bytes, header);
    } catch (error) {
      return { kind: 'failed', code: 'invalid', message: `invalid record batch at offset ${header.baseOffset}: ${(error as Error).message}` };
    }
    const keyless = spans.find((span) => span.key === null);
    if (keyless !== undefined) {
      return { kind: 'failed', code: 'invalid_record', message: `a compacted topic cannot accept a record without a key (the record at offset delta ${keyless.offset - header.baseOffset})` };
    }
  }
  return null;
}
