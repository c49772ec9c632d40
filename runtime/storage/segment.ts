// One segment of a partition log: a `.log` file of record batches (Kafka's format, as they
// came), a sparse `.index` (relative offset -> file position) and a `.timeindex` (timestamp
// -> relative offset). The indexes live in memory and are written to their files when the
// segment is sealed (rolled), truncated or closed; recovery rebuilds them from the log
// whenever they cannot be trusted, and always for the segment it rescans.
import { fdatasync, writeSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchHeader } from '../../actors/protocol/record-batch.js';

export const offsetIndexEntryBytes = 8;
export const timeIndexEntryBytes = 12;
export const segmentNameDigits = 20;

export type SegmentFileKind = '.log' | '.index' | '.timeindex';
/** A segment being written by the log cleaner (.cleaned), or committed to replace others (.swap). */
export type SegmentFileState = '' | '.cleaned' | '.swap';

export function segmentFileName(baseOffset: number, suffix: SegmentFileKind, state: SegmentFileState = ''): string {
  return `${String(baseOffset).padStart(segmentNameDigits, '0')}${suffix}${state}`;
}

export class Segment {
  logPath: string;
  indexPath: string;
  timeIndexPath: string;
  /** Bytes in the .log file. */
  size = 0;
  /** One past the last offset held (equal to baseOffset while empty). */
  nextOffset: number;
  maxTimestamp = -1;
  /** The timestamp of the first batch: log.roll.ms counts from it. */
  firstTimestamp: number | null = null;
  /** Offset index, in memory: relative offsets and positions of batch starts. */
  indexRelative: number[] = [];
  indexPosition: number[] = [];
  /** Time index, in memory: a new entry whenever the largest timestamp grows at an index point. */
  timeIndexTimestamp: number[] = [];
  timeIndexRelative: number[] = [];
  private bytesSinceIndexEntry = 0;
  /** Written since the last fdatasync. */
  dirty = false;
  private indexesDirty = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private log: FileHandle,
    private index: FileHandle,
    private timeIndex: FileHandle,
    state: SegmentFileState,
  ) {
    this.logPath = join(dir, segmentFileName(baseOffset, '.log', state));
    this.indexPath = join(dir, segmentFileName(baseOffset, '.index', state));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, '.timeindex', state));
    this.nextOffset = baseOffset;
  }

  /**
   * Opens (creating when missing) the three files of the segment at `baseOffset`; `state`
   * names the cleaner's files (`00..0.log.cleaned`) instead of the live ones.
   */
  static async open(dir: string, baseOffset: number, fresh: boolean, state: SegmentFileState = ''): Promise<Segment> {
    const file = (suffix: SegmentFileKind): string => join(dir, segmentFileName(baseOffset, suffix, state));
    const log = await open(file('.log'), fresh ? 'w+' : 'r+');
    // A missing index is created empty; recovery rebuilds it.
    const index = await open(file('.index'), !fresh && (await exists(file('.index'))) ? 'r+' : 'w+');
    const timeIndex = await open(file('.timeindex'), !fresh && (await exists(file('.timeindex'))) ? 'r+' : 'w+');
    const segment = new Segment(dir, baseOffset, log, index, timeIndex, state);
    segment.size = (await log.stat()).size;
    return segment;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Writes batches (already validated, offsets assigned) at the end of the log and indexes them. */
  append(bytes: Uint8Array, headers: BatchHeader[], indexIntervalBytes: number): void {
    const position = this.size;
    // A synchronous write: it only copies into the page cache (tens of microseconds for a
    // 64 KiB batch), and saves the thread-pool round trip that dominates small appends. The
    // fsync that makes it durable stays asynchronous.
    let done = 0;
    while (done < bytes.length) done += writeSync(this.log.fd, bytes, done, bytes.length - done, position + done);
    this.size += bytes.length;
    this.dirty = true;
    // Index entries stay in memory until the segment is sealed, flushed for a checkpoint or
    // closed: recovery rebuilds the indexes of everything after the recovery point anyway.
    for (const header of headers) this.noteBatch(header, position + header.position, indexIntervalBytes);
    this.indexesDirty = true;
  }

  /**
   * Records one batch that sits at `position` in the log: the segment's offsets and
   * timestamps, and an index entry every indexIntervalBytes.
   */
  noteBatch(header: BatchHeader, position: number, indexIntervalBytes: number): void {
    if (this.firstTimestamp === null) this.firstTimestamp = header.maxTimestamp;
    this.nextOffset = header.lastOffset + 1;
    const needsEntry = this.indexRelative.length === 0 || this.bytesSinceIndexEntry >= indexIntervalBytes;
    if (needsEntry) {
      this.bytesSinceIndexEntry = 0;
      this.indexRelative.push(header.baseOffset - this.baseOffset);
      this.indexPosition.push(position);
    }
    this.bytesSinceIndexEntry += header.sizeBytes;
    if (header.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = header.maxTimestamp;
      if (needsEntry) {
        this.timeIndexTimestamp.push(header.maxTimestamp);
        this.timeIndexRelative.push(header.lastOffset - this.baseOffset);
      }
    }
  }

  /** The file position to start scanning from for `offset`: the last indexed batch at or before it. */
  lookup(offset: number): number {
    const relative = offset - this.baseOffset;
    let low = 0;
    let high = this.indexRelative.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (this.indexRelative[mid]! <= relative) {
        found = this.indexPosition[mid]!;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const size = Math.max(0, Math.min(length, this.size - position));
    const buffer = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await this.log.read(buffer, done, size - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? buffer : buffer.subarray(0, done);
  }

  /** Drops everything from `position` on; `nextOffset` is where the log now ends. */
  async truncate(position: number, nextOffset: number): Promise<void> {
    await this.log.truncate(position);
    this.size = position;
    this.nextOffset = nextOffset;
    this.dirty = true;
    let keep = 0;
    while (keep < this.indexPosition.length && this.indexPosition[keep]! < position) keep++;
    this.indexRelative.length = keep;
    this.indexPosition.length = keep;
    let keepTime = 0;
    while (keepTime < this.timeIndexRelative.length && this.timeIndexRelative[keepTime]! + this.baseOffset < nextOffset) keepTime++;
    this.timeIndexRelative.length = keepTime;
    this.timeIndexTimestamp.length = keepTime;
    this.maxTimestamp = keepTime > 0 ? this.timeIndexTimestamp[keepTime - 1]! : -1;
    if (position === 0) this.firstTimestamp = null;
    this.bytesSinceIndexEntry = keep === 0 ? 0 : position - this.indexPosition[keep - 1]!;
    this.indexesDirty = false;
    await this.writeIndexFiles();
  }

  /** Forgets the in-memory indexes, before a rebuild from the log. */
  resetIndexes(): void {
    this.indexRelative = [];
    this.indexPosition = [];
    this.timeIndexTimestamp = [];
    this.timeIndexRelative = [];
    this.bytesSinceIndexEntry = 0;
    this.maxTimestamp = -1;
    this.firstTimestamp = null;
    this.nextOffset = this.baseOffset;
  }

  /** Rewrites both index files from memory (after a rebuild). */
  async writeIndexFiles(): Promise<void> {
    const offsets = Buffer.alloc(this.indexRelative.length * offsetIndexEntryBytes);
    this.indexRelative.forEach((relative, i) => {
      offsets.writeInt32BE(relative, i * offsetIndexEntryBytes);
      offsets.writeInt32BE(this.indexPosition[i]!, i * offsetIndexEntryBytes + 4);
    });
    const times = Buffer.alloc(this.timeIndexRelative.length * timeIndexEntryBytes);
    this.timeIndexRelative.forEach((relative, i) => {
      times.writeBigInt64BE(BigInt(this.timeIndexTimestamp[i]!), i * timeIndexEntryBytes);
      times.writeInt32BE(relative, i * timeIndexEntryBytes + 8);
    });
    await this.index.truncate(0);
    await writeFully(this.index, offsets, 0);
    await this.timeIndex.truncate(0);
    await writeFully(this.timeIndex, times, 0);
  }

  /**
   * Loads the index files of a segment recovery does not rescan. Returns a reason when they
   * cannot be trusted (the caller then rebuilds them from the log).
   */
  async loadIndexFiles(): Promise<string | null> {
    const offsets = await this.index.readFile();
    const times = await this.timeIndex.readFile();
    if (offsets.length % offsetIndexEntryBytes !== 0) return `${this.indexPath}: size ${offsets.length} is not a multiple of ${offsetIndexEntryBytes}`;
    if (times.length % timeIndexEntryBytes !== 0) return `${this.timeIndexPath}: size ${times.length} is not a multiple of ${timeIndexEntryBytes}`;
    if (this.size > 0 && offsets.length === 0) return `${this.indexPath}: empty for a non-empty segment`;
    const relatives: number[] = [];
    const positions: number[] = [];
    for (let at = 0; at < offsets.length; at += offsetIndexEntryBytes) {
      const relative = offsets.readInt32BE(at);
      const position = offsets.readInt32BE(at + 4);
      const previous = relatives.length - 1;
      if (relative < 0 || position < 0 || position >= this.size || (previous >= 0 && (relative <= relatives[previous]! || position <= positions[previous]!))) {
        return `${this.indexPath}: entry ${at / offsetIndexEntryBytes} (${relative} -> ${position}) is out of order or past the log`;
      }
      relatives.push(relative);
      positions.push(position);
    }
    if (positions.length > 0 && positions[0] !== 0) return `${this.indexPath}: first entry does not point at the start of the log`;
    const timestamps: number[] = [];
    const timeRelatives: number[] = [];
    for (let at = 0; at < times.length; at += timeIndexEntryBytes) {
      const timestamp = Number(times.readBigInt64BE(at));
      const relative = times.readInt32BE(at + 8);
      const previous = timestamps.length - 1;
      if (relative < 0 || (previous >= 0 && (timestamp < timestamps[previous]! || relative < timeRelatives[previous]!))) {
        return `${this.timeIndexPath}: entry ${at / timeIndexEntryBytes} is out of order`;
      }
      timestamps.push(timestamp);
      timeRelatives.push(relative);
    }
    this.indexRelative = relatives;
    this.indexPosition = positions;
    this.timeIndexTimestamp = timestamps;
    this.timeIndexRelative = timeRelatives;
    this.maxTimestamp = timestamps.length > 0 ? timestamps[timestamps.length - 1]! : -1;
    return null;
  }

  /** When the segment stops being active: a last time-index entry for its largest timestamp (as Kafka does). */
  async sealTimeIndex(): Promise<void> {
    const last = this.timeIndexTimestamp.length - 1;
    if (this.maxTimestamp < 0 || (last >= 0 && this.timeIndexTimestamp[last]! >= this.maxTimestamp)) return;
    this.timeIndexTimestamp.push(this.maxTimestamp);
    this.timeIndexRelative.push(this.nextOffset - 1 - this.baseOffset);
    this.indexesDirty = true;
  }

  /** fdatasync of the log file; returns whether anything was written since the last one. */
  async flush(): Promise<boolean> {
    if (!this.dirty) return false;
    this.dirty = false;
    // The callback form: FileHandle.datasync() adds a promise layer per call on this hot path.
    await new Promise<void>((resolve, reject) => fdatasync(this.log.fd, (error) => (error === null ? resolve() : reject(error))));
    return true;
  }

  /** Writes the in-memory indexes to their files (if they changed) and syncs them. */
  async flushIndexes(): Promise<void> {
    if (this.indexesDirty) {
      this.indexesDirty = false;
      await this.writeIndexFiles();
    }
    await this.index.datasync();
    await this.timeIndex.datasync();
  }

  async close(): Promise<void> {
    await Promise.all([this.log.close(), this.index.close(), this.timeIndex.close()]);
  }

  async delete(): Promise<void> {
    await this.close();
    await Promise.all([this.logPath, this.indexPath, this.timeIndexPath].map((path) => rm(path, { force: true })));
  }

  /**
   * Unlinks the files but keeps them open, so that reads already under way finish (the
   * cleaner's swap); close() later. The indexes go first: a crash in between must not leave
   * an old index beside a new log of the same name.
   */
  async removeFiles(): Promise<void> {
    await rm(this.indexPath, { force: true });
    await rm(this.timeIndexPath, { force: true });
    await rm(this.logPath, { force: true });
  }

  /** Renames the files to another state (.cleaned -> .swap -> live); the log file last. Open handles stay valid. */
  async renameTo(state: SegmentFileState): Promise<void> {
    const path = (suffix: SegmentFileKind): string => join(this.dir, segmentFileName(this.baseOffset, suffix, state));
    await rename(this.indexPath, path('.index'));
    this.indexPath = path('.index');
    await rename(this.timeIndexPath, path('.timeindex'));
    this.timeIndexPath = path('.timeindex');
    await rename(this.logPath, path('.log'));
    this.logPath = path('.log');
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
