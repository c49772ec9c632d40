// The node's tail cache: the batches most recently appended to each partition log, kept in
// memory as the log wrote them (offsets and leader epoch assigned), so that the reads that
// replication and tailing consumers make at the end of a log are answered without the disk.
// Such a read otherwise costs several file reads on libuv's thread pool, where it waits
// behind the fsyncs of every log on the node.
//
// Each log's cache is a suffix of that log: it ends at the log end and holds every batch from
// its first one on, so a read that starts at or after that first batch finds in it exactly
// what the files hold. The log keeps it so (partition-log.ts): every append goes in, a
// truncation empties it, retention and the cleaner's swaps drop what they replaced. One byte
// budget covers every log of the node; past it the oldest appends of the whole node go first.
// The budget counts the slabs the appends are copied into (below), whole, unused tails too:
// a slab is memory until its last append is dropped, so `log.tail.cache.bytes` bounds the
// memory the cache holds, not only the bytes of the appends it can still answer from.
import type { BatchHeader } from '../../actors/protocol/record-batch.js';

/** log.tail.cache.bytes' default: with 1,000 partitions on a node the cache stays a small part of its memory. */
export const defaultTailCacheBytes = 64 * 1024 * 1024;

/**
 * A log's appends are copied one after another into slabs, so that a read spanning many
 * appends is one view of a slab instead of a new buffer: a consumer reading 1 MiB at a time
 * would otherwise allocate (and the garbage collector reclaim) every byte it reads once more.
 * A log's first slab is small and each next one twice the size, up to the maximum, so a
 * quiet log holds little unused slab memory.
 */
export const slabBytesMin = 4 * 1024;
export const slabBytesMax = 1024 * 1024;

/** A read the cache answered: the same shape as PartitionLog's ReadResult. */
export interface TailRead {
  bytes: Buffer;
  firstOffset: number;
  nextOffset: number;
}

/** A slab, and how many of a log's cached appends lie in it: at none, its memory is given back. */
interface Slab {
  readonly bytes: Buffer;
  liveEntries: number;
}

/** One append: where its bytes (a private copy) lie in a slab, and where each of its batches lies in them. */
interface TailEntry {
  readonly tail: LogTail;
  readonly slab: Slab;
  /** Where the append's bytes start in its slab. */
  readonly start: number;
  /** The base offset of the segment the append went to: a read never crosses segments, as a file read does not. */
  readonly segmentBase: number;
  /**
   * Three numbers per batch: its base offset, its last offset, and where it ends, counted
   * from `start` (it starts where the one before ends). One flat array, and no view of the
   * slab per append: an entry lives until it is evicted, and every live one is copied by the
   * young-generation collector and then kept in the old generation, so its size is paid for
   * in the node's garbage collection pauses (before, an entry and its three arrays and view
   * were about 400 bytes, most of a node's long-lived allocation while producing).
   */
  readonly batches: number[];
  live: boolean;
}

/** The first offset an entry holds. */
function firstOffsetOf(entry: TailEntry): number {
  return entry.batches[0]!;
}

/** The last offset an entry holds. */
function lastOffsetOf(entry: TailEntry): number {
  return entry.batches[entry.batches.length - 2]!;
}

const emptyBytes = Buffer.alloc(0);
/** TailEntry.batches: the fields of batch i are at 3i + these. */
const baseAt = 0;
const lastAt = 1;
const endAt = 2;

export class TailCache {
  private readonly tails = new Map<string, LogTail>();
  /** Every live entry (and some dropped ones, skipped) in append order across the node: eviction takes from the front. */
  private order: TailEntry[] = [];
  private orderHead = 0;
  private droppedInOrder = 0;
  private bytesHeld = 0;
  /** Reads answered here, and reads that started before what was cached (the files answered them). */
  hits = 0;
  misses = 0;

  constructor(readonly bytesMax: number = defaultTailCacheBytes) {}

  /** Bytes held for every log together: the slabs that hold a cached append, whole (at most bytesMax). */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** The cache of one log, created empty on first use. */
  forLog(name: string): LogTail {
    let tail = this.tails.get(name);
    if (tail === undefined) {
      tail = new LogTail(this);
      this.tails.set(name, tail);
    }
    return tail;
  }

  /** Drops a log's cache for good (the log was deleted or closed). */
  removeLog(name: string): void {
    this.tails.get(name)?.clear();
    this.tails.delete(name);
  }

  /** @internal A log took a new slab: count it (room is made once its first entry is added). */
  slabTaken(slab: Slab): void {
    this.bytesHeld += slab.bytes.length;
  }

  /** @internal A slab's last entry left: its memory is no longer the cache's. */
  slabReleased(slab: Slab): void {
    this.bytesHeld -= slab.bytes.length;
  }

  /**
   * @internal An entry went into a log's cache: make room. Its slab alone is at most the
   * budget (LogTail.slabSpace), and every other slab holds only older entries, so the loop
   * ends before it reaches this one.
   */
  added(entry: TailEntry): void {
    this.order.push(entry);
    while (this.bytesHeld > this.bytesMax && this.orderHead < this.order.length) {
      const oldest = this.order[this.orderHead]!;
      this.orderHead += 1;
      if (!oldest.live) {
        this.droppedInOrder -= 1;
        continue;
      }
      oldest.tail.evictOldest(oldest);
    }
    this.compactOrder();
  }

  /** @internal An entry left a log's cache (evicted, truncated, replaced) and stays in the eviction order, to be skipped. */
  droppedInPlace(): void {
    this.droppedInOrder += 1;
  }

  /** Keeps the eviction order from growing with entries already gone (logs truncated or deleted while under budget). */
  private compactOrder(): void {
    const pending = this.order.length - this.orderHead;
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    if (this.droppedInOrder > 1024 && this.droppedInOrder * 2 > pending) {
      this.order = this.order.slice(this.orderHead).filter((entry) => entry.live);
      this.orderHead = 0;
      this.droppedInOrder = 0;
    }
  }
}

export class LogTail {
  private entries: TailEntry[] = [];
  private head = 0;
  /** The slab appends are copied into, and how much of it they fill. */
  private slab: Slab | null = null;
  private slabUsed = 0;
  private nextSlabBytes = slabBytesMin;

  constructor(private readonly cache: TailCache) {}

  /** The first offset a read can start at and be answered here, or null while the cache holds nothing. */
  get firstOffset(): number | null {
    const first = this.entries[this.head];
    return first === undefined ? null : firstOffsetOf(first);
  }

  /** Bytes held for this log: its slabs that hold a cached append, whole. */
  get bytes(): number {
    let sum = 0;
    let last: Slab | null = null;
    for (let i = this.head; i < this.entries.length; i++) {
      const { slab } = this.entries[i]!;
      if (slab !== last) sum += slab.bytes.length;
      last = slab;
    }
    return sum;
  }

  /**
   * Takes in batches the log has just written at its end, to segment `segmentBase`, with
   * `headers` as scanned (offsets assigned). Copies them: the caller's buffer may be reused.
   */
  append(bytes: Uint8Array, headers: readonly BatchHeader[], segmentBase: number): void {
    if (headers.length === 0) return;
    if (bytes.length > this.cache.bytesMax) {
      // Too large to keep: what is kept must still reach the log end, so nothing is.
      this.clear();
      return;
    }
    const start = this.slabSpace(bytes.length);
    const slab = this.slab!;
    slab.bytes.set(bytes, start);
    slab.liveEntries += 1;
    const batches: number[] = [];
    for (const header of headers) batches.push(header.baseOffset, header.lastOffset, header.position + header.sizeBytes);
    const entry: TailEntry = { tail: this, slab, start, segmentBase, batches, live: true };
    this.entries.push(entry);
    this.cache.added(entry);
  }

  /**
   * Where `length` bytes start at the end of the current slab, or of a new one; `length` is at most the
   * budget, and so is a new slab. A slab left with room is held while it is the current one;
   * a new one is counted whole from the start, its unused tail too.
   */
  private slabSpace(length: number): number {
    if (this.slab === null || this.slab.bytes.length - this.slabUsed < length) {
      // Never more than an eighth of the node's budget beyond the append itself.
      const size = Math.max(length, Math.min(this.nextSlabBytes, Math.floor(this.cache.bytesMax / 8)));
      this.slab = { bytes: Buffer.allocUnsafeSlow(size), liveEntries: 0 };
      this.slabUsed = 0;
      this.nextSlabBytes = Math.min(slabBytesMax, size * 2);
      this.cache.slabTaken(this.slab);
    }
    const start = this.slabUsed;
    this.slabUsed += length;
    return start;
  }

  /**
   * The read PartitionLog.read would make from its files, or the start of it: whole batches
   * from the one that holds `offset` on, at least one and then up to `maxBytes`, none with an
   * offset at or past `limit`, all from one segment and one slab (a shorter answer than the
   * files', which Kafka allows: the reader asks again from where it ends). Null when `offset`
   * lies before what is cached (the caller reads the files); `offset` must not be past the
   * log end (the caller checks).
   */
  read(offset: number, maxBytes: number, limit: number): TailRead | null {
    const first = this.firstOffset;
    if (first === null || offset < first) {
      this.cache.misses += 1;
      return null;
    }
    this.cache.hits += 1;
    let index = this.entryHolding(offset);
    if (index < 0) return { bytes: emptyBytes, firstOffset: offset, nextOffset: offset };
    let entry = this.entries[index]!;
    // `at` is the index in entry.batches of the batch the answer has reached.
    let at = 0;
    while (entry.batches[at + lastAt]! < offset) at += 3;
    const { segmentBase, slab } = entry;
    // The answer is one view of the slab: its appends lie in it one after another.
    const viewStart = entry.start + (at === 0 ? 0 : entry.batches[at - 3 + endAt]!);
    let total = 0;
    let firstOffset = -1;
    let nextOffset = offset;
    for (;;) {
      const start = at === 0 ? 0 : entry.batches[at - 3 + endAt]!;
      const size = entry.batches[at + endAt]! - start;
      if (entry.batches[at + lastAt]! >= limit) break; // never part of a batch above the limit
      if (total > 0 && total + size > maxBytes) break;
      if (firstOffset < 0) firstOffset = entry.batches[at + baseAt]!;
      total += size;
      nextOffset = entry.batches[at + lastAt]! + 1;
      at += 3;
      if (at < entry.batches.length) continue;
      // This append is used up: on to the next one, if it went to the same segment and slab
      // (joining two slabs would copy what the answer otherwise passes on uncopied).
      index += 1;
      const next = this.entries[index];
      if (next === undefined || next.segmentBase !== segmentBase || next.slab !== slab) break;
      entry = next;
      at = 0;
    }
    if (total === 0) return { bytes: emptyBytes, firstOffset: offset, nextOffset: offset };
    return { bytes: Buffer.from(slab.bytes.buffer, slab.bytes.byteOffset + viewStart, total), firstOffset, nextOffset };
  }

  /** Empties the cache (a truncation: what follows the cut will be appended anew). */
  clear(): void {
    for (let i = this.head; i < this.entries.length; i++) this.drop(this.entries[i]!, true);
    this.entries = [];
    this.head = 0;
  }

  /** Drops the appends that lie wholly below `offset` (segments that retention deleted or the cleaner replaced). */
  forgetBelow(offset: number): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (lastOffsetOf(entry) >= offset) break;
      this.drop(entry, true);
      this.head += 1;
    }
    this.compact();
  }

  /** @internal The node's budget needs room: `entry` is the node's oldest, so it is this log's first. */
  evictOldest(entry: TailEntry): void {
    if (this.entries[this.head] !== entry) throw new Error('tail cache: the oldest entry of the node is not the first of its log');
    this.drop(entry, false);
    this.head += 1;
    this.compact();
  }

  /**
   * An entry leaves (the caller moves `head` or empties the list). Its slab's memory goes
   * with its last entry; the current slab's too, and the next append starts a small slab
   * again, as a new log does: a log whose cache emptied is not holding memory for later.
   */
  private drop(entry: TailEntry, stillInOrder: boolean): void {
    entry.live = false;
    if (stillInOrder) this.cache.droppedInPlace();
    entry.slab.liveEntries -= 1;
    if (entry.slab.liveEntries > 0) return;
    this.cache.slabReleased(entry.slab);
    if (entry.slab === this.slab) {
      this.slab = null;
      this.slabUsed = 0;
      this.nextSlabBytes = slabBytesMin;
    }
  }

  /** The index of the first entry holding an offset at or after `offset`, or -1. */
  private entryHolding(offset: number): number {
    let low = this.head;
    let high = this.entries.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const entry = this.entries[mid]!;
      if (lastOffsetOf(entry) >= offset) {
        found = mid;
        high = mid - 1;
      } else {
        low = mid + 1;
      }
    }
    return found;
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
