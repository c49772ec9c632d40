// The log cleaner's offset map: key -> the highest offset seen for it in the dirty section,
// in fixed-size typed arrays (Kafka's SkimpyOffsetMap), so that a pass's memory is set by
// log.cleaner.dedupe.buffer.size and not by the number of keys. A key is stored as the first
// 12 bytes of its MD5 (Kafka keeps 16): 64 bits address the slot and 32 more check it. Two
// keys whose 64 bits meet but whose check bits differ are a detected collision: the slot is
// marked and every record with that hash is kept, so a collision can leave an old value in
// place but never drops a live one.
import { createHash } from 'node:crypto';

/** Bytes one slot takes: hash high, hash low, check (4 each) and the offset (8). */
export const offsetMapSlotBytes = 20;
/** Kafka's log.cleaner.io.buffer.load.factor: beyond this fill, probing gets slow. */
export const offsetMapLoadFactor = 0.9;
/** Kafka's log.cleaner.dedupe.buffer.size is 128 MiB shared by its threads; one cleaner here. */
export const defaultOffsetMapBytes = 16 * 1024 * 1024;

const emptySlot = -1;
/** A slot two different keys hash to: records with this hash are all kept. */
const collidedSlot = -2;

/** What the map says about a key. */
export type OffsetLookup =
  | { kind: 'absent' }
  | { kind: 'latest'; offset: number }
  /** Another key shares the 64-bit hash: keep the record. */
  | { kind: 'collided' };

export interface KeyDigest {
  high: number;
  low: number;
  check: number;
}

export function keyDigest(key: Uint8Array): KeyDigest {
  const md5 = createHash('md5').update(key).digest();
  return { high: md5.readUInt32BE(0), low: md5.readUInt32BE(4), check: md5.readUInt32BE(8) };
}

export class OffsetMap {
  readonly slots: number;
  /** Keys the map takes before it counts as full (slots x load factor). */
  readonly entriesMax: number;
  private readonly high: Uint32Array;
  private readonly low: Uint32Array;
  private readonly check: Uint32Array;
  private readonly offsets: Float64Array;
  /** Distinct hashes stored. */
  size = 0;
  /** Collisions detected since the last clear (for the cleaner's log line). */
  collisions = 0;

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 2) throw new RangeError(`an offset map needs at least 2 slots, not ${slots}`);
    this.slots = slots;
    this.entriesMax = Math.max(1, Math.floor(slots * offsetMapLoadFactor));
    this.high = new Uint32Array(slots);
    this.low = new Uint32Array(slots);
    this.check = new Uint32Array(slots);
    this.offsets = new Float64Array(slots).fill(emptySlot);
  }

  static forBytes(bytes: number): OffsetMap {
    return new OffsetMap(Math.floor(bytes / offsetMapSlotBytes));
  }

  get isFull(): boolean {
    return this.size >= this.entriesMax;
  }

  clear(): void {
    this.offsets.fill(emptySlot);
    this.size = 0;
    this.collisions = 0;
  }

  /** Notes `offset` as the latest for the key (offsets come in increasing order). */
  put(digest: KeyDigest, offset: number): void {
    const slot = this.find(digest);
    const current = this.offsets[slot]!;
    if (current === emptySlot) {
      if (this.isFull) throw new RangeError('the offset map is full');
      this.high[slot] = digest.high;
      this.low[slot] = digest.low;
      this.check[slot] = digest.check;
      this.offsets[slot] = offset;
      this.size += 1;
      return;
    }
    if (current === collidedSlot) return;
    if (this.check[slot] !== digest.check) {
      this.offsets[slot] = collidedSlot;
      this.collisions += 1;
      return;
    }
    this.offsets[slot] = Math.max(current, offset);
  }

  get(digest: KeyDigest): OffsetLookup {
    const slot = this.find(digest);
    const offset = this.offsets[slot]!;
    if (offset === emptySlot) return { kind: 'absent' };
    if (offset === collidedSlot || this.check[slot] !== digest.check) return { kind: 'collided' };
    return { kind: 'latest', offset };
  }

  /** The slot holding the 64-bit hash, or the empty slot where it would go (linear probing). */
  private find(digest: KeyDigest): number {
    let slot = ((digest.high ^ Math.imul(digest.low, 0x9e3779b1)) >>> 0) % this.slots;
    for (let probes = 0; probes < this.slots; probes++) {
      if (this.offsets[slot] === emptySlot) return slot;
      if (this.high[slot] === digest.high && this.low[slot] === digest.low) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    // Unreachable while size stays below entriesMax < slots.
    throw new RangeError('offset map has no empty slot');
  }
}
