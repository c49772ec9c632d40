// The on-disk durable store of Raft controller state: one directory per store (actor id),
// holding three files.
//
//   quorum-state  hard state (term, votedFor). Replaced atomically: temp file, fsync, rename,
//                 fsync of the directory. Layout (little endian):
//                 "LMQS" | u32 version | u32 term | i32 votedFor | u32 crc32c(previous bytes)
//   snapshot      the last snapshot, replaced atomically the same way. Layout:
//                 "LMSN" | u32 version | u32 lastIndex | u32 lastTerm | u32 imageLength |
//                 image (protobuf logmesh.MetadataImage) | u32 crc32c(previous bytes)
//   log           append-only records, one per entry:
//                 u32 payloadLength | u32 crc32c(payload) | payload (protobuf logmesh.LogEntry)
//                 The file always holds exactly the entries base..next-1, consecutively, where
//                 base is the snapshot's lastIndex + 1 (1 without a snapshot).
//
// Checksums are CRC-32C (Castagnoli, as in Kafka's record batches), computed natively by
// @node-rs/crc32 through ./record-batch.js (re-exported here as crc32c).
//
// Durability ordering: an operation is durable before any later operation of the same store
// becomes durable (a crash leaves a prefix of the submitted operations on disk). Appends that
// are queued together are written with one write() and one fdatasync (group commit); every
// other kind of operation first makes the appends before it durable.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import type { Logger } from 'pino';
import { protoSource } from '../../actors/protocol/schema.js';
import type { RaftDurableState, StorageOp } from '../../actors/protocol/effects.js';
import type { LogEntry, MetadataImageMessage } from '../../actors/protocol/messages.js';
import type { RaftStorage } from '../kernel/ports.js';
import { crc32c } from './record-batch.js';

export { crc32c };

// ---------------------------------------------------------------------------------------
// Encoding.

const root = protobuf.parse(protoSource, { keepCase: false }).root;
const logEntryType = root.lookupType('logmesh.LogEntry');
const metadataImageType = root.lookupType('logmesh.MetadataImage');
// oneofs: false (the default) keeps only the set member of a oneof, e.g. { topic: {...} }.
const toObjectOptions: protobuf.IConversionOptions = { defaults: true, arrays: true, longs: Number, oneofs: false };

const QUORUM_FILE = 'quorum-state';
const SNAPSHOT_FILE = 'snapshot';
const LOG_FILE = 'log';
const TMP_SUFFIX = '.tmp';
const QUORUM_MAGIC = 0x53514d4c; // "LMQS" read as u32 LE
const SNAPSHOT_MAGIC = 0x4e534d4c; // "LMSN" read as u32 LE
const FORMAT_VERSION = 1;
const QUORUM_SIZE = 20;
const RECORD_HEADER = 8;
/** A length above this cannot be a record we wrote: treat it as a torn tail. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

function encodeRecord(entry: LogEntry): Buffer {
  const payload = logEntryType.encode(logEntryType.fromObject(entry as unknown as Record<string, unknown>)).finish();
  const record = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(crc32c(payload), 4);
  record.set(payload, RECORD_HEADER);
  return record;
}

function encodeQuorumState(term: number, votedFor: number): Buffer {
  const buf = Buffer.alloc(QUORUM_SIZE);
  buf.writeUInt32LE(QUORUM_MAGIC, 0);
  buf.writeUInt32LE(FORMAT_VERSION, 4);
  buf.writeUInt32LE(term, 8);
  buf.writeInt32LE(votedFor, 12);
  buf.writeUInt32LE(crc32c(buf, 0, 16), 16);
  return buf;
}

function decodeQuorumState(buf: Buffer): { term: number; votedFor: number } {
  if (buf.length !== QUORUM_SIZE) throw new Error(`size ${buf.length}, expected ${QUORUM_SIZE}`);
  if (buf.readUInt32LE(0) !== QUORUM_MAGIC) throw new Error('bad magic');
  if (buf.readUInt32LE(4) !== FORMAT_VERSION) throw new Error(`unknown version ${buf.readUInt32LE(4)}`);
  if (buf.readUInt32LE(16) !== crc32c(buf, 0, 16)) throw new Error('checksum mismatch');
  return { term: buf.readUInt32LE(8), votedFor: buf.readInt32LE(12) };
}

function encodeSnapshot(lastIndex: number, lastTerm: number, image: MetadataImageMessage): Buffer {
  const imageBytes = metadataImageType.encode(metadataImageType.fromObject(image as unknown as Record<string, unknown>)).finish();
  const buf = Buffer.alloc(20 + imageBytes.length + 4);
  buf.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  buf.writeUInt32LE(FORMAT_VERSION, 4);
  buf.writeUInt32LE(lastIndex, 8);
  buf.writeUInt32LE(lastTerm, 12);
  buf.writeUInt32LE(imageBytes.length, 16);
  buf.set(imageBytes, 20);
  buf.writeUInt32LE(crc32c(buf, 0, 20 + imageBytes.length), 20 + imageBytes.length);
  return buf;
}

function decodeSnapshot(buf: Buffer): NonNullable<RaftDurableState['snapshot']> {
  if (buf.length < 24) throw new Error(`size ${buf.length} is too small`);
  if (buf.readUInt32LE(0) !== SNAPSHOT_MAGIC) throw new Error('bad magic');
  if (buf.readUInt32LE(4) !== FORMAT_VERSION) throw new Error(`unknown version ${buf.readUInt32LE(4)}`);
  const imageLength = buf.readUInt32LE(16);
  if (buf.length !== 24 + imageLength) throw new Error(`size ${buf.length}, expected ${24 + imageLength}`);
  if (buf.readUInt32LE(20 + imageLength) !== crc32c(buf, 0, 20 + imageLength)) throw new Error('checksum mismatch');
  const image = metadataImageType.toObject(metadataImageType.decode(buf.subarray(20, 20 + imageLength)), toObjectOptions);
  return { lastIndex: buf.readUInt32LE(8), lastTerm: buf.readUInt32LE(12), image: image as unknown as MetadataImageMessage };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------
// Async file primitives (numeric fds, so that load() can also close them synchronously).

const openAsync = promisify(fs.open);
const closeAsync = promisify(fs.close);
const writeAsync = promisify(fs.write);
const readAsync = promisify(fs.read);
const fsyncAsync = promisify(fs.fsync);
const fdatasyncAsync = promisify(fs.fdatasync);
const ftruncateAsync = promisify(fs.ftruncate);

async function writeAllAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

async function readRangeAsync(fd: number, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.alloc(end - start);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await readAsync(fd, buf, done, buf.length - done, start + done);
    if (bytesRead <= 0) throw new Error(`unexpected end of file at byte ${start + done}`);
    done += bytesRead;
  }
  return buf;
}

async function fsyncDirAsync(dir: string): Promise<void> {
  const fd = await openAsync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** temp file, fsync, rename over `file`, fsync of the directory. */
async function replaceFileAsync(file: string, data: Uint8Array): Promise<void> {
  const tmp = file + TMP_SUFFIX;
  const fd = await openAsync(tmp, 'w');
  try {
    await writeAllAsync(fd, data, 0);
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
  await fs.promises.rename(tmp, file);
  await fsyncDirAsync(path.dirname(file));
}

function replaceFileSync(file: string, data: Uint8Array): void {
  const tmp = file + TMP_SUFFIX;
  const fd = fs.openSync(tmp, 'w');
  try {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDirSync(path.dirname(file));
}

// ---------------------------------------------------------------------------------------
// The port.

interface Pending {
  op: StorageOp;
  done: () => void;
}

interface Store {
  name: string;
  dir: string;
  /** Open read-write fd of the log file, opened on first use. */
  logFd: number | null;
  /** Whether the store directory is known to exist durably. */
  dirReady: boolean;
  /** Index of the first entry in the log file. */
  base: number;
  /** offsets[i], terms[i]: byte offset and term of entry base + i in the log file. */
  offsets: number[];
  terms: number[];
  /** Byte length of the log file (including writes not yet synced). */
  size: number;
  queue: Pending[];
  draining: Promise<void> | null;
  failed: Error | null;
}

/** Index of the next entry the log expects. */
function nextIndex(s: Store): number {
  return s.base + s.offsets.length;
}

export class FileStoragePort implements RaftStorage {
  private readonly stores = new Map<string, Store>();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly onFatal: (err: Error) => void,
  ) {}

  load(store: string): RaftDurableState {
    const storeDir = this.storeDir(store);
    const existing = this.stores.get(store);
    if (existing !== undefined) {
      if (existing.draining !== null || existing.queue.length > 0) {
        throw new Error(`raft store "${store}": load while operations are in flight`);
      }
      if (existing.logFd !== null) fs.closeSync(existing.logFd);
      this.stores.delete(store);
    }
    const s: Store = {
      name: store, dir: storeDir, logFd: null, dirReady: false, base: 1, offsets: [], terms: [], size: 0,
      queue: [], draining: null, failed: null,
    };
    const state: RaftDurableState = { term: 0, votedFor: -1, snapshot: null, entries: [] };
    if (!fs.existsSync(storeDir)) {
      this.stores.set(store, s);
      return state;
    }
    s.dirReady = true;
    for (const name of [QUORUM_FILE, SNAPSHOT_FILE, LOG_FILE]) fs.rmSync(path.join(storeDir, name + TMP_SUFFIX), { force: true });

    const quorumPath = path.join(storeDir, QUORUM_FILE);
    if (fs.existsSync(quorumPath)) {
      try {
        Object.assign(state, decodeQuorumState(fs.readFileSync(quorumPath)));
      } catch (err) {
        throw new Error(`corrupt raft quorum-state file ${quorumPath}: ${errorMessage(err)}`);
      }
    }
    const snapshotPath = path.join(storeDir, SNAPSHOT_FILE);
    if (fs.existsSync(snapshotPath)) {
      try {
        state.snapshot = decodeSnapshot(fs.readFileSync(snapshotPath));
      } catch (err) {
        throw new Error(`corrupt raft snapshot file ${snapshotPath}: ${errorMessage(err)}`);
      }
    }
    const snapIndex = state.snapshot?.lastIndex ?? 0;
    s.base = snapIndex + 1;

    const logPath = path.join(storeDir, LOG_FILE);
    if (!fs.existsSync(logPath)) {
      this.stores.set(store, s);
      return state;
    }
    const bytes = fs.readFileSync(logPath);
    const records: { entry: LogEntry; offset: number; end: number }[] = [];
    let pos = 0;
    let tornReason: string | null = null;
    while (pos < bytes.length) {
      if (bytes.length - pos < RECORD_HEADER) {
        tornReason = 'incomplete record header';
        break;
      }
      const length = bytes.readUInt32LE(pos);
      if (length === 0 || length > MAX_RECORD_BYTES) {
        tornReason = `implausible record length ${length}`;
        break;
      }
      if (pos + RECORD_HEADER + length > bytes.length) {
        tornReason = 'incomplete record';
        break;
      }
      const payloadStart = pos + RECORD_HEADER;
      if (bytes.readUInt32LE(pos + 4) !== crc32c(bytes, payloadStart, payloadStart + length)) {
        tornReason = 'checksum mismatch';
        break;
      }
      let entry: LogEntry;
      try {
        entry = logEntryType.toObject(logEntryType.decode(bytes.subarray(payloadStart, payloadStart + length)), toObjectOptions) as unknown as LogEntry;
      } catch (err) {
        throw new Error(`corrupt raft log file ${logPath}: undecodable entry at byte offset ${pos} (${errorMessage(err)})`);
      }
      const expected = records.length > 0 ? records[records.length - 1]!.entry.index + 1 : undefined;
      if (expected !== undefined ? entry.index !== expected : entry.index < 1 || entry.index > s.base) {
        throw new Error(
          `corrupt raft log file ${logPath}: entry at byte offset ${pos} has index ${entry.index}, expected ${expected ?? `1..${s.base}`}`,
        );
      }
      records.push({ entry, offset: pos, end: payloadStart + length });
      pos = payloadStart + length;
    }
    if (tornReason !== null) {
      this.logger.warn(
        { file: logPath, offset: pos, droppedBytes: bytes.length - pos, reason: tornReason },
        `raft log ${logPath}: torn tail at byte offset ${pos} (${tornReason}), truncating`,
      );
      const fd = fs.openSync(logPath, 'r+');
      try {
        fs.ftruncateSync(fd, pos);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }

    // Entries a snapshot covers are dropped; if the log disagrees with the snapshot at its
    // last index (a crash between writing a discarding snapshot and rewriting the log),
    // nothing of the log is kept.
    const atSnap = records.find((r) => r.entry.index === snapIndex);
    const kept = atSnap !== undefined && atSnap.entry.term !== state.snapshot!.lastTerm
      ? []
      : records.filter((r) => r.entry.index > snapIndex);
    const fileEnd = tornReason !== null ? pos : bytes.length;
    if (kept.length !== records.length) {
      const cut = kept.length > 0 ? kept[0]!.offset : fileEnd;
      this.logger.info(
        { file: logPath, dropped: records.length - kept.length, snapshotIndex: snapIndex },
        `raft log ${logPath}: dropping ${records.length - kept.length} entries the snapshot covers`,
      );
      replaceFileSync(logPath, bytes.subarray(cut, fileEnd));
      for (const r of kept) {
        r.offset -= cut;
        r.end -= cut;
      }
    }
    s.offsets = kept.map((r) => r.offset);
    s.terms = kept.map((r) => r.entry.term);
    s.size = kept.length > 0 ? kept[kept.length - 1]!.end : 0;
    state.entries = kept.map((r) => r.entry);
    this.stores.set(store, s);
    return state;
  }

  submit(store: string, op: StorageOp, done: () => void): void {
    if (this.closed) {
      this.logger.warn({ store, op: op.kind }, 'raft store: operation submitted after close, dropped');
      return;
    }
    let s = this.stores.get(store);
    if (s === undefined) {
      this.load(store);
      s = this.stores.get(store)!;
    }
    if (s.failed !== null) {
      this.logger.warn({ store, op: op.kind }, 'raft store: operation submitted to a failed store, dropped');
      return;
    }
    s.queue.push({ op, done });
    if (s.draining === null) s.draining = this.drain(s);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (;;) {
      const busy = [...this.stores.values()].map((s) => s.draining).filter((p): p is Promise<void> => p !== null);
      if (busy.length === 0) break;
      await Promise.all(busy);
    }
    for (const s of this.stores.values()) {
      if (s.logFd === null) continue;
      const fd = s.logFd;
      s.logFd = null;
      try {
        await closeAsync(fd);
      } catch (err) {
        this.logger.error({ store: s.name, err }, 'raft store: closing the log failed');
      }
    }
  }

  // -------------------------------------------------------------------------------------

  private storeDir(store: string): string {
    if (store === '' || store === '.' || store === '..' || /[/\\\0]/.test(store)) {
      throw new Error(`invalid raft store name ${JSON.stringify(store)}`);
    }
    return path.join(this.dir, store);
  }

  /** Applies queued operations batch by batch until the queue is empty. */
  private async drain(s: Store): Promise<void> {
    try {
      while (s.queue.length > 0) {
        const batch = s.queue.splice(0);
        try {
          await this.applyBatch(s, batch);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          s.failed = error;
          s.queue.length = 0;
          this.logger.error({ store: s.name, err: error }, `raft store ${s.name}: I/O failed: ${error.message}`);
          this.onFatal(error);
          return;
        }
        for (const { done } of batch) {
          try {
            done();
          } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            this.logger.error({ store: s.name, err: error }, `raft store ${s.name}: completion callback threw`);
            this.onFatal(error);
          }
        }
      }
    } finally {
      s.draining = null;
    }
  }

  private async applyBatch(s: Store, batch: Pending[]): Promise<void> {
    let unwritten: Buffer[] = [];
    let unwrittenAt = s.size;
    let unsynced = false;
    const flush = async (): Promise<void> => {
      if (unwritten.length > 0) {
        const data = unwritten.length === 1 ? unwritten[0]! : Buffer.concat(unwritten);
        unwritten = [];
        await writeAllAsync(await this.logFd(s), data, unwrittenAt);
        unsynced = true;
      }
    };
    /** Makes every earlier append durable, so that durability follows submission order. */
    const barrier = async (): Promise<void> => {
      await flush();
      if (unsynced) {
        await fdatasyncAsync(s.logFd!);
        unsynced = false;
      }
    };

    for (let i = 0; i < batch.length; i++) {
      const { op } = batch[i]!;
      switch (op.kind) {
        case 'append': {
          if (unwritten.length === 0) unwrittenAt = s.size;
          for (const entry of op.entries) {
            if (entry.index !== nextIndex(s)) {
              throw new Error(`raft store ${s.name}: append of index ${entry.index}, expected ${nextIndex(s)}`);
            }
            const record = encodeRecord(entry);
            s.offsets.push(s.size);
            s.terms.push(entry.term);
            s.size += record.length;
            unwritten.push(record);
          }
          break;
        }
        case 'hardState': {
          // A later hard state in the same batch supersedes this one: nobody has been told
          // this one is durable yet, so skipping it is the same as crashing just after it.
          if (batch[i + 1]?.op.kind === 'hardState') break;
          await barrier();
          await this.ensureDir(s);
          await replaceFileAsync(path.join(s.dir, QUORUM_FILE), encodeQuorumState(op.term, op.votedFor));
          break;
        }
        case 'truncate': {
          await flush();
          if (op.fromIndex < nextIndex(s)) {
            const keep = Math.max(0, op.fromIndex - s.base);
            const cut = keep < s.offsets.length ? s.offsets[keep]! : s.size;
            s.offsets.length = keep;
            s.terms.length = keep;
            s.size = cut;
            await ftruncateAsync(await this.logFd(s), cut);
            unsynced = true;
          }
          // Synced now: a later append must never become durable without this truncation.
          await barrier();
          break;
        }
        case 'snapshot': {
          await barrier();
          await this.applySnapshot(s, op);
          break;
        }
        default: {
          const never: never = op;
          throw new Error(`raft store ${s.name}: unknown operation ${JSON.stringify(never)}`);
        }
      }
    }
    await barrier();
  }

  private async applySnapshot(s: Store, op: Extract<StorageOp, { kind: 'snapshot' }>): Promise<void> {
    const { lastIndex, lastTerm } = op;
    if (lastIndex + 1 < s.base) {
      throw new Error(`raft store ${s.name}: snapshot at index ${lastIndex} is behind the log start ${s.base}`);
    }
    await this.ensureDir(s);
    await replaceFileAsync(path.join(s.dir, SNAPSHOT_FILE), encodeSnapshot(lastIndex, lastTerm, op.image));

    // Which entries survive: those after lastIndex, if the log agrees with the snapshot there.
    const next = nextIndex(s);
    let keepFrom: number; // index of the first surviving entry; >= next when none
    if (op.discardLog || lastIndex + 1 >= next) keepFrom = next;
    else if (lastIndex < s.base) keepFrom = s.base;
    else keepFrom = s.terms[lastIndex - s.base] === lastTerm ? lastIndex + 1 : next;
    const keepCount = next - keepFrom;
    const cut = keepCount > 0 ? s.offsets[keepFrom - s.base]! : s.size;
    const survivors = keepCount > 0 ? await readRangeAsync(await this.logFd(s), cut, s.size) : Buffer.alloc(0);

    const logPath = path.join(s.dir, LOG_FILE);
    const tmpPath = logPath + TMP_SUFFIX;
    const fd = await openAsync(tmpPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    try {
      await writeAllAsync(fd, survivors, 0);
      await fsyncAsync(fd);
      await fs.promises.rename(tmpPath, logPath);
      await fsyncDirAsync(s.dir);
    } catch (err) {
      await closeAsync(fd).catch(() => undefined);
      throw err;
    }
    const old = s.logFd;
    s.logFd = fd; // the temp file's fd now refers to the log
    if (old !== null) await closeAsync(old);
    s.offsets = s.offsets.slice(keepFrom - s.base).map((offset) => offset - cut);
    s.terms = s.terms.slice(keepFrom - s.base);
    s.size = survivors.length;
    s.base = lastIndex + 1;
  }

  private async ensureDir(s: Store): Promise<void> {
    if (s.dirReady) return;
    await fs.promises.mkdir(s.dir, { recursive: true });
    await fsyncDirAsync(this.dir);
    s.dirReady = true;
  }

  private async logFd(s: Store): Promise<number> {
    if (s.logFd !== null) return s.logFd;
    await this.ensureDir(s);
    const fd = await openAsync(path.join(s.dir, LOG_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    s.logFd = fd;
    try {
      await fsyncDirAsync(s.dir); // the file's directory entry, if it was just created
    } catch (err) {
      s.logFd = null;
      await closeAsync(fd).catch(() => undefined);
      throw err;
    }
    return fd;
  }
}
