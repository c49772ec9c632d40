// Kafka's wire primitives: a bounds-checked Reader over received bytes and a growable Writer.
// Every read checks the bytes it needs first, so truncated or lying input fails with a
// KafkaProtocolError naming the offset, never with a RangeError from inside DataView.
// Kafka's primitive types: https://kafka.apache.org/protocol#protocol_types
import { KafkaProtocolError } from './errors.js';

// Longest varint (32-bit) and varlong (64-bit) encodings.
const varintBytesMax = 5;
const varlongBytesMax = 10;
// Classic strings carry an int16 length.
export const stringBytesMax = 0x7fff;
// The Writer refuses to grow past this: nothing the broker sends comes close.
export const writerBytesMax = 1 << 30;
const writerInitialBytes = 256;

const twoPow32 = 4294967296;
export const nullUuid = '00000000-0000-0000-0000-000000000000';
const uuidText = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const hexByte = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();
export const emptyBytes = new Uint8Array(0);

export class Reader {
  private readonly source: Uint8Array;
  private readonly view: DataView;
  private position: number;
  private readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new KafkaProtocolError(`reader range ${start}..${end} outside ${bytes.length} bytes`);
    }
    this.source = bytes;
    this.view = viewOf(bytes);
    this.position = start;
    this.end = end;
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  // Throws unless `count` more bytes are there; returns where they start.
  private take(count: number): number {
    const at = this.position;
    if (count > this.end - at) {
      throw new KafkaProtocolError(`truncated: needs ${count} bytes, ${this.end - at} left`, at);
    }
    this.position = at + count;
    return at;
  }

  skip(count: number): void {
    this.take(count);
  }

  int8(): number {
    return this.view.getInt8(this.take(1));
  }

  int16(): number {
    return this.view.getInt16(this.take(2));
  }

  uint16(): number {
    return this.view.getUint16(this.take(2));
  }

  int32(): number {
    return this.view.getInt32(this.take(4));
  }

  uint32(): number {
    return this.view.getUint32(this.take(4));
  }

  // Offsets, timestamps and producer ids fit in 2^53; anything larger is refused rather than
  // silently rounded.
  int64(): number {
    const at = this.take(8);
    const value = this.view.getInt32(at) * twoPow32 + this.view.getUint32(at + 4);
    if (!Number.isSafeInteger(value)) {
      throw new KafkaProtocolError(`int64 ${this.view.getBigInt64(at)} is beyond 2^53`, at);
    }
    return value;
  }

  float64(): number {
    return this.view.getFloat64(this.take(8));
  }

  boolean(): boolean {
    return this.view.getUint8(this.take(1)) !== 0;
  }

  unsignedVarint(): number {
    const start = this.position;
    let value = 0;
    for (let i = 0; i < varintBytesMax; i++) {
      const byte = this.view.getUint8(this.take(1));
      value |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) === 0) {
        if (i === varintBytesMax - 1 && byte > 0x0f) break;
        return value >>> 0;
      }
    }
    throw new KafkaProtocolError('varint longer than 32 bits', start);
  }

  // Zigzag-encoded signed 32-bit varint.
  varint(): number {
    const zigzag = this.unsignedVarint();
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }

  // Zigzag-encoded signed 64-bit varint, as a number (refused beyond 2^53).
  varlong(): number {
    const start = this.position;
    let zigzag = 0n;
    for (let i = 0; i < varlongBytesMax; i++) {
      const byte = this.view.getUint8(this.take(1));
      zigzag |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        if (i === varlongBytesMax - 1 && byte > 0x01) break;
        const value = Number((zigzag >> 1n) ^ -(zigzag & 1n));
        if (!Number.isSafeInteger(value)) throw new KafkaProtocolError('varlong beyond 2^53', start);
        return value;
      }
    }
    throw new KafkaProtocolError('varlong longer than 64 bits', start);
  }

  uuid(): string {
    const at = this.take(16);
    const b = this.source;
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += '-';
      text += hexByte[b[at + i]!];
    }
    return text;
  }

  // A view of the next `length` bytes (no copy), as a plain Uint8Array even when the source
  // is a Buffer (whose slice() does not copy).
  bytesView(length: number): Uint8Array {
    const at = this.take(length);
    return new Uint8Array(this.source.buffer, this.source.byteOffset + at, length);
  }

  // A copy of the next `length` bytes.
  private bytesCopy(length: number): Uint8Array {
    return new Uint8Array(this.bytesView(length));
  }

  private utf8(length: number): string {
    if (length === 0) return '';
    const at = this.take(length);
    return utf8Decoder.decode(this.source.subarray(at, at + length));
  }

  // Length-prefixed values. A length of -1 (classic) or 0 (compact: length + 1) is null;
  // the non-nullable forms refuse it.
  private classicLength(nullable: boolean, what: string, wide: boolean): number {
    const at = this.position;
    const length = wide ? this.int32() : this.int16();
    if (length >= 0) return length;
    if (length === -1 && nullable) return -1;
    throw new KafkaProtocolError(length === -1 ? `null ${what} where none is allowed` : `negative ${what} length ${length}`, at);
  }

  private compactLength(nullable: boolean, what: string): number {
    const at = this.position;
    const length = this.unsignedVarint() - 1;
    if (length === -1 && !nullable) throw new KafkaProtocolError(`null ${what} where none is allowed`, at);
    return length;
  }

  string(): string {
    return this.utf8(this.classicLength(false, 'string', false));
  }

  nullableString(): string | null {
    const length = this.classicLength(true, 'string', false);
    return length === -1 ? null : this.utf8(length);
  }

  compactString(): string {
    return this.utf8(this.compactLength(false, 'string'));
  }

  compactNullableString(): string | null {
    const length = this.compactLength(true, 'string');
    return length === -1 ? null : this.utf8(length);
  }

  // bytes: copied, since small byte fields (member metadata, SASL tokens) outlive the frame.
  bytes(): Uint8Array {
    return this.bytesCopy(this.classicLength(false, 'bytes', true));
  }

  nullableBytes(): Uint8Array | null {
    const length = this.classicLength(true, 'bytes', true);
    return length === -1 ? null : this.bytesCopy(length);
  }

  compactBytes(): Uint8Array {
    return this.bytesCopy(this.compactLength(false, 'bytes'));
  }

  compactNullableBytes(): Uint8Array | null {
    const length = this.compactLength(true, 'bytes');
    return length === -1 ? null : this.bytesCopy(length);
  }

  // Record batches: nullable bytes kept as a view into the frame, never copied or decoded.
  records(compact: boolean): Uint8Array | null {
    const length = compact ? this.compactLength(true, 'records') : this.classicLength(true, 'records', true);
    return length === -1 ? null : this.bytesView(length);
  }

  // An array's element count; -1 for a null array. `elementBytesMin` (the least bytes one
  // element can take) bounds the count by the bytes left, so a lying length cannot make the
  // decoder allocate a huge array.
  arrayLength(compact: boolean, nullable: boolean, elementBytesMin: number): number {
    const at = this.position;
    const length = compact ? this.compactLength(nullable, 'array') : this.classicLength(nullable, 'array', true);
    if (length > 0 && length * elementBytesMin > this.end - this.position) {
      throw new KafkaProtocolError(`array of ${length} elements cannot fit in the ${this.end - this.position} bytes left`, at);
    }
    return length;
  }

  array<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] {
    return this.readArray(false, false, readElement, elementBytesMin) as T[];
  }

  nullableArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] | null {
    return this.readArray(false, true, readElement, elementBytesMin);
  }

  compactArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] {
    return this.readArray(true, false, readElement, elementBytesMin) as T[];
  }

  compactNullableArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] | null {
    return this.readArray(true, true, readElement, elementBytesMin);
  }

  private readArray<T>(compact: boolean, nullable: boolean, readElement: (reader: Reader) => T, elementBytesMin: number): T[] | null {
    const length = this.arrayLength(compact, nullable, elementBytesMin);
    if (length === -1) return null;
    const elements = new Array<T>(length);
    for (let i = 0; i < length; i++) elements[i] = readElement(this);
    return elements;
  }

  // Skips a whole tagged-field section (all tags unknown to the caller).
  skipTaggedFields(): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint();
      this.skip(this.unsignedVarint());
    }
  }
}

function refuse(what: string, value: unknown): never {
  throw new KafkaProtocolError(`cannot encode ${typeof value === 'string' ? `'${value}'` : String(value)} as ${what}`);
}

function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) refuse(what, value);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

// A byte field the Writer refers to instead of copying, and where it goes among the bytes
// the Writer holds itself.
interface Splice {
  readonly at: number;
  readonly bytes: Uint8Array;
}

export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;
  private readonly splices: Splice[] = [];
  private splicedBytes = 0;

  // Buffers come from Buffer.allocUnsafe: pooled for small sizes and not zero-filled, since
  // every byte handed out by written() has been written.
  // Raw bytes of at least `spliceBytesMin` (record batches of a fetch) are referred to, not
  // copied: writtenChunks() hands them out as chunks of their own, so that a response's
  // records go to the socket without passing through the Writer's buffer. Offsets given to
  // and returned by placeholderInt32/patchInt32 count the Writer's own bytes only.
  constructor(initialBytes = writerInitialBytes, private readonly spliceBytesMin = Infinity) {
    this.buffer = Buffer.allocUnsafe(Math.max(1, initialBytes));
    this.view = viewOf(this.buffer);
  }

  // Every byte written so far, spliced ones included.
  get length(): number {
    return this.position + this.splicedBytes;
  }

  // Everything written so far, as a plain Uint8Array view (valid until the next write); with
  // spliced bytes, one new copy of all of it.
  written(): Uint8Array {
    if (this.splices.length > 0) return Buffer.concat(this.writtenChunks(), this.length);
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.position);
  }

  // Everything written so far, in order, as views: the Writer's own bytes between the spliced
  // ones, and the spliced ones as given (the caller must not change them until the chunks are
  // sent). Valid until the next write.
  writtenChunks(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const splice of this.splices) {
      if (splice.at > from) chunks.push(new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + from, splice.at - from));
      chunks.push(splice.bytes);
      from = splice.at;
    }
    if (this.position > from) chunks.push(new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + from, this.position - from));
    return chunks;
  }

  private reserve(count: number): number {
    const at = this.position;
    const needed = at + count;
    if (needed > this.buffer.length) this.grow(needed);
    this.position = needed;
    return at;
  }

  private grow(needed: number): void {
    if (needed + this.splicedBytes > writerBytesMax) throw new KafkaProtocolError(`message larger than ${writerBytesMax} bytes`);
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(Math.min(size, writerBytesMax));
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
    this.view = viewOf(grown);
  }

  int8(value: number): this {
    checkInteger(value, -0x80, 0x7f, 'int8');
    const at = this.reserve(1);
    this.view.setInt8(at, value);
    return this;
  }

  int16(value: number): this {
    checkInteger(value, -0x8000, 0x7fff, 'int16');
    const at = this.reserve(2);
    this.view.setInt16(at, value);
    return this;
  }

  uint16(value: number): this {
    checkInteger(value, 0, 0xffff, 'uint16');
    const at = this.reserve(2);
    this.view.setUint16(at, value);
    return this;
  }

  int32(value: number): this {
    checkInteger(value, -0x80000000, 0x7fffffff, 'int32');
    const at = this.reserve(4);
    this.view.setInt32(at, value);
    return this;
  }

  uint32(value: number): this {
    checkInteger(value, 0, 0xffffffff, 'uint32');
    const at = this.reserve(4);
    this.view.setUint32(at, value);
    return this;
  }

  int64(value: number): this {
    if (!Number.isSafeInteger(value)) refuse('int64 (a safe integer)', value);
    const high = Math.floor(value / twoPow32);
    const at = this.reserve(8);
    this.view.setInt32(at, high);
    this.view.setUint32(at + 4, value - high * twoPow32);
    return this;
  }

  float64(value: number): this {
    if (typeof value !== 'number') refuse('float64', value);
    const at = this.reserve(8);
    this.view.setFloat64(at, value);
    return this;
  }

  boolean(value: boolean): this {
    if (typeof value !== 'boolean') refuse('boolean', value);
    const at = this.reserve(1);
    this.view.setUint8(at, value ? 1 : 0);
    return this;
  }

  unsignedVarint(value: number): this {
    checkInteger(value, 0, 0xffffffff, 'unsigned varint');
    let rest = value >>> 0;
    while (rest > 0x7f) {
      const at = this.reserve(1);
      this.view.setUint8(at, (rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    const at = this.reserve(1);
    this.view.setUint8(at, rest);
    return this;
  }

  varint(value: number): this {
    checkInteger(value, -0x80000000, 0x7fffffff, 'varint');
    return this.unsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  varlong(value: number): this {
    if (!Number.isSafeInteger(value)) refuse('varlong (a safe integer)', value);
    const signed = BigInt(value);
    let rest = BigInt.asUintN(64, (signed << 1n) ^ (signed >> 63n));
    while (rest > 0x7fn) {
      const at = this.reserve(1);
      this.view.setUint8(at, Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    const at = this.reserve(1);
    this.view.setUint8(at, Number(rest));
    return this;
  }

  uuid(value: string): this {
    if (typeof value !== 'string' || !uuidText.test(value)) refuse('uuid', value);
    const hex = value.replaceAll('-', '');
    const at = this.reserve(16);
    for (let i = 0; i < 16; i++) this.buffer[at + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return this;
  }

  raw(bytes: Uint8Array): this {
    if (bytes.length >= this.spliceBytesMin) {
      if (this.length + bytes.length > writerBytesMax) throw new KafkaProtocolError(`message larger than ${writerBytesMax} bytes`);
      this.splices.push({ at: this.position, bytes });
      this.splicedBytes += bytes.length;
      return this;
    }
    const at = this.reserve(bytes.length);
    this.buffer.set(bytes, at);
    return this;
  }

  private utf8(text: string, length: number): void {
    const at = this.reserve(length);
    if (length > 0) utf8Encoder.encodeInto(text, this.buffer.subarray(at, at + length));
  }

  string(value: string): this {
    if (typeof value !== 'string') refuse('string', value);
    const length = utf8Length(value);
    if (length > stringBytesMax) refuse(`string (at most ${stringBytesMax} bytes)`, `${length} bytes`);
    this.int16(length);
    this.utf8(value, length);
    return this;
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    return this.string(value);
  }

  compactString(value: string): this {
    if (typeof value !== 'string') refuse('string', value);
    const length = utf8Length(value);
    this.unsignedVarint(length + 1);
    this.utf8(value, length);
    return this;
  }

  compactNullableString(value: string | null): this {
    if (value === null) return this.unsignedVarint(0);
    return this.compactString(value);
  }

  bytes(value: Uint8Array): this {
    if (!(value instanceof Uint8Array)) refuse('bytes', value);
    this.int32(value.length);
    return this.raw(value);
  }

  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1);
    return this.bytes(value);
  }

  compactBytes(value: Uint8Array): this {
    if (!(value instanceof Uint8Array)) refuse('bytes', value);
    this.unsignedVarint(value.length + 1);
    return this.raw(value);
  }

  compactNullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.unsignedVarint(0);
    return this.compactBytes(value);
  }

  // Record batches: nullable bytes, written as given.
  records(value: Uint8Array | null, compact: boolean): this {
    if (compact) return this.compactNullableBytes(value);
    return this.nullableBytes(value);
  }

  // An array's length prefix; -1 (null) only for nullable arrays, checked by the caller.
  arrayLength(length: number, compact: boolean): this {
    return compact ? this.unsignedVarint(length + 1) : this.int32(length);
  }

  array<T>(elements: readonly T[], writeElement: (writer: Writer, element: T) => void): this {
    return this.writeArray(elements, false, writeElement);
  }

  nullableArray<T>(elements: readonly T[] | null, writeElement: (writer: Writer, element: T) => void): this {
    return this.writeArray(elements, false, writeElement);
  }

  compactArray<T>(elements: readonly T[], writeElement: (writer: Writer, element: T) => void): this {
    return this.writeArray(elements, true, writeElement);
  }

  compactNullableArray<T>(elements: readonly T[] | null, writeElement: (writer: Writer, element: T) => void): this {
    return this.writeArray(elements, true, writeElement);
  }

  private writeArray<T>(elements: readonly T[] | null, compact: boolean, writeElement: (writer: Writer, element: T) => void): this {
    if (elements === null) return this.arrayLength(-1, compact);
    this.arrayLength(elements.length, compact);
    for (const element of elements) writeElement(this, element);
    return this;
  }

  // An empty tagged-field section.
  emptyTaggedFields(): this {
    return this.unsignedVarint(0);
  }

  // Room for an int32 filled in later (a frame's size prefix); returns its offset.
  placeholderInt32(): number {
    return this.reserve(4);
  }

  patchInt32(at: number, value: number): this {
    checkInteger(value, -0x80000000, 0x7fffffff, 'int32');
    this.view.setInt32(at, value);
    return this;
  }
}
