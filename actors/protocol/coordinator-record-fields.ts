// The field encodings of the records Kafka's coordinators keep in their internal topics
// (__consumer_offsets, __transaction_state): big-endian integers, int16-length strings and
// int32-length bytes and arrays in the classic versions; compact (varint) lengths and tagged
// fields in the flexible ones. Coordinators write classic versions and read both.
//
// Each record module names its own error class: a writer or reader throws that class, and
// nothing else, for any value it cannot write or any input it cannot read whole.
//
// Pure: Uint8Array, DataView, TextEncoder/TextDecoder.

export type RecordErrorClass = new (message: string) => Error;

// Kafka's limits: a string's length is an int16 (compact strings keep that limit).
const stringBytesMax = 0x7fff;
const int32Max = 0x7fffffff;
const int32Min = -0x80000000;
const varintBytesMax = 5;

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the string, not a marker to drop.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Writes the classic (non-flexible) encodings. */
export class RecordWriter {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  constructor(private readonly errorClass: RecordErrorClass) {}

  // May grow the buffer, replacing `bytes` and `view`: take the position first, then write.
  private reserve(count: number): number {
    const at = this.length;
    if (at + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + count));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += count;
    return at;
  }

  private checkInteger(value: number, min: number, max: number, field: string): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new this.errorClass(`${field}: ${value} is not an integer in [${min}, ${max}]`);
    }
  }

  int8(value: number, field: string): void {
    this.checkInteger(value, -0x80, 0x7f, field);
    const at = this.reserve(1);
    this.view.setInt8(at, value);
  }

  int16(value: number, field: string): void {
    this.checkInteger(value, -0x8000, 0x7fff, field);
    const at = this.reserve(2);
    this.view.setInt16(at, value);
  }

  int32(value: number, field: string): void {
    this.checkInteger(value, int32Min, int32Max, field);
    const at = this.reserve(4);
    this.view.setInt32(at, value);
  }

  int64(value: number, field: string): void {
    if (!Number.isSafeInteger(value)) throw new this.errorClass(`${field}: ${value} is not a safe integer`);
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(value));
  }

  string(value: string, field: string): void {
    const encoded = utf8Encoder.encode(value);
    if (encoded.length > stringBytesMax) throw new this.errorClass(`${field}: ${encoded.length} bytes, more than ${stringBytesMax}`);
    this.int16(encoded.length, field);
    this.raw(encoded);
  }

  nullableString(value: string | null, field: string): void {
    if (value === null) this.int16(-1, field);
    else this.string(value, field);
  }

  bytesField(value: Uint8Array, field: string): void {
    this.int32(value.length, field);
    this.raw(value);
  }

  /** An array's element count (-1: a null array). */
  arrayCount(count: number, field: string): void {
    this.int32(count, field);
  }

  private raw(value: Uint8Array): void {
    const at = this.reserve(value.length);
    this.bytes.set(value, at);
  }

  written(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Reads both encodings: set `flexible` once the record's version is known. */
export class RecordReader {
  private readonly view: DataView;
  private at = 0;
  flexible = false;

  constructor(private readonly bytes: Uint8Array, private readonly record: string, private readonly errorClass: RecordErrorClass) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A reader of `bytes`, refusing anything that is not a byte array. */
  static of(bytes: Uint8Array, record: string, errorClass: RecordErrorClass): RecordReader {
    if (!(bytes instanceof Uint8Array)) throw new errorClass(`${record}: not bytes`);
    return new RecordReader(bytes, record, errorClass);
  }

  fail(field: string, problem: string): never {
    throw new this.errorClass(`${this.record} ${field}: ${problem} (byte ${this.at})`);
  }

  private take(count: number, field: string): number {
    if (count < 0) this.fail(field, `negative length ${count}`);
    if (count > this.bytes.length - this.at) this.fail(field, 'truncated');
    const at = this.at;
    this.at += count;
    return at;
  }

  int8(field: string): number {
    return this.view.getInt8(this.take(1, field));
  }

  int16(field: string): number {
    return this.view.getInt16(this.take(2, field));
  }

  int32(field: string): number {
    return this.view.getInt32(this.take(4, field));
  }

  int64(field: string): number {
    const value = this.view.getBigInt64(this.take(8, field));
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(field, `${value} is beyond 2^53`);
    return Number(value);
  }

  private unsignedVarint(field: string): number {
    let value = 0;
    for (let i = 0; i < varintBytesMax; i++) {
      const byte = this.bytes[this.take(1, field)]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) this.fail(field, 'varint beyond 32 bits');
        return value;
      }
    }
    return this.fail(field, `varint longer than ${varintBytesMax} bytes`);
  }

  /** A length or count: -1 for null, else 0 and up. */
  private length(field: string, classic: 'int16' | 'int32'): number {
    if (this.flexible) return this.unsignedVarint(field) - 1;
    return classic === 'int16' ? this.int16(field) : this.int32(field);
  }

  nullableString(field: string): string | null {
    const length = this.length(field, 'int16');
    if (length === -1) return null;
    if (length < -1) this.fail(field, `string length ${length}`);
    if (length > stringBytesMax) this.fail(field, `string length ${length} beyond ${stringBytesMax}`);
    const at = this.take(length, field);
    try {
      return utf8Decoder.decode(this.bytes.subarray(at, at + length));
    } catch {
      return this.fail(field, 'not UTF-8');
    }
  }

  string(field: string): string {
    const value = this.nullableString(field);
    return value ?? this.fail(field, 'null in a non-nullable string');
  }

  bytesField(field: string): Uint8Array {
    const length = this.length(field, 'int32');
    if (length < 0) this.fail(field, `bytes length ${length}`);
    const at = this.take(length, field);
    return this.bytes.slice(at, at + length);
  }

  /**
   * An array's element count, bounded by the bytes left (each element takes at least one);
   * -1 for a null array when `nullable`.
   */
  arrayCount(field: string, nullable = false): number {
    const count = this.length(field, 'int32');
    if (count === -1 && nullable) return -1;
    if (count < 0) this.fail(field, `array length ${count}`);
    if (count > this.bytes.length - this.at) this.fail(field, `array of ${count} in ${this.bytes.length - this.at} bytes`);
    return count;
  }

  /**
   * A flexible struct's tagged fields. `known` reads the tags the record defines (it gets the
   * tag and the field's bytes); all others are skipped, as Kafka's readers do.
   */
  taggedFields(field: string, known?: (tag: number, reader: RecordReader) => boolean): void {
    if (!this.flexible) return;
    const count = this.unsignedVarint(`${field} tagged fields`);
    for (let i = 0; i < count; i++) {
      const tag = this.unsignedVarint(`${field} tag`);
      const size = this.unsignedVarint(`${field} tagged field size`);
      const at = this.take(size, `${field} tagged field`);
      if (known === undefined) continue;
      const inner = new RecordReader(this.bytes.subarray(at, at + size), `${this.record} ${field} tag ${tag}`, this.errorClass);
      if (known(tag, inner)) inner.end();
    }
  }

  end(): void {
    const left = this.bytes.length - this.at;
    if (left !== 0) this.fail('end', `${left} bytes left over`);
  }
}
