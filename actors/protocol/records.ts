// Records inside uncompressed Kafka record batches (v2): an encoder and a decoder. Pure, so
// that actors (the group coordinator writing __consumer_offsets) and hosts (tests, simulated
// clients) share them; the CRC function is a parameter (hosts pass the native one).
//
// Record layout (uncompressed), all varints zigzag-encoded:
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
//   headersCount varint | per header: keyLength varint | key (utf8) | valueLength varint | value
import { crc32c as crc32cPure } from './crc32c.js';
import {
  InvalidBatchError, attributeBits, batchFieldOffsets, batchHeaderBytes, batchOverheadBytes, compressionNames,
  crcStartOffset, currentMagic,
} from './record-batch.js';
import type { BatchHeader, Crc32cFunction } from './record-batch.js';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Milliseconds; defaults to the batch's baseTimestamp. */
  timestamp?: number;
}

export interface EncodeBatchOptions {
  /** Default 0 (a producer's batch; the leader assigns offsets with setBaseOffset). */
  baseOffset?: number;
  /** Default -1 (what clients send). */
  partitionLeaderEpoch?: number;
  /** Default: the first record's timestamp, or -1 (Kafka's NO_TIMESTAMP) when no record has one. */
  baseTimestamp?: number;
  /** Default -1 (no idempotent producer). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  /** Views into the batch's bytes (no copy). */
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

// ---------------------------------------------------------------------------------------
// Varints.

class Writer {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Zigzag varint of an int32. */
  varint(n: number): void {
    if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new RangeError(`varint ${n} is not an int32`);
    let v = ((n << 1) ^ (n >> 31)) >>> 0;
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.byte(v);
  }

  /** Zigzag varlong of an integer whose zigzag form is a safe integer (|n| < 2^52). */
  varlong(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`varlong ${n} is not a safe integer`);
    let v = n >= 0 ? n * 2 : -n * 2 - 1;
    if (!Number.isSafeInteger(v)) throw new RangeError(`varlong ${n} is out of the supported range`);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  /** Length-prefixed bytes, -1 for null. */
  nullableBytes(b: Uint8Array | null): void {
    if (b === null) {
      this.varint(-1);
    } else {
      this.varint(b.length);
      this.bytes(b);
    }
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  constructor(private readonly bytes: Uint8Array, public pos: number, private readonly end: number, private readonly batchPosition: number) {}

  fail(reason: string): never {
    throw new InvalidBatchError(reason, this.batchPosition);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail(`record data overruns the batch at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  varint(): number {
    let raw = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      raw |= (b & 0x7f) << shift;
      if (!(b & 0x80)) {
        raw >>>= 0;
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    return this.fail(`varint longer than 5 bytes at byte ${this.pos}`);
  }

  varlong(): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      raw += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (!Number.isSafeInteger(raw)) this.fail(`varlong beyond Number.MAX_SAFE_INTEGER at byte ${this.pos}`);
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      scale *= 0x80;
    }
    return this.fail(`varlong longer than 10 bytes at byte ${this.pos}`);
  }

  slice(length: number): Uint8Array {
    if (length > this.end - this.pos) this.fail(`record data overruns the batch at byte ${this.pos}`);
    const view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, length);
    this.pos += length;
    return view;
  }

  nullableBytes(what: string): Uint8Array | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < 0) this.fail(`negative ${what} length ${length}`);
    return this.slice(length);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------
// Encoding.

/** Builds a valid uncompressed v2 batch, CRC included. At least one record is required. */
export function encodeRecordBatch(records: RecordInput[], options: EncodeBatchOptions = {}, crc: Crc32cFunction = crc32cPure): Uint8Array {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const baseOffset = options.baseOffset ?? 0;
  if (!Number.isSafeInteger(baseOffset)) throw new RangeError(`baseOffset ${baseOffset} is not a safe integer`);
  const firstTimestamp = records.find((r) => r.timestamp !== undefined)?.timestamp;
  const baseTimestamp = options.baseTimestamp ?? firstTimestamp ?? -1;
  if (!Number.isSafeInteger(baseTimestamp)) throw new RangeError(`baseTimestamp ${baseTimestamp} is not a safe integer`);
  const producerId = options.producerId ?? -1;
  if (!Number.isSafeInteger(producerId)) throw new RangeError(`producerId ${producerId} is not a safe integer`);

  const out = new Writer();
  out.bytes(new Uint8Array(batchHeaderBytes)); // filled in below
  const body = new Writer();
  let maxTimestamp = -1;
  records.forEach((record, offsetDelta) => {
    const timestamp = record.timestamp ?? baseTimestamp;
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`timestamp ${timestamp} is not a safe integer`);
    maxTimestamp = offsetDelta === 0 ? timestamp : Math.max(maxTimestamp, timestamp);
    body.length = 0;
    body.byte(0); // record attributes: unused
    body.varlong(timestamp - baseTimestamp);
    body.varint(offsetDelta);
    body.nullableBytes(record.key);
    body.nullableBytes(record.value);
    const headers = record.headers ?? [];
    body.varint(headers.length);
    for (const header of headers) {
      const key = utf8Encoder.encode(header.key);
      body.varint(key.length);
      body.bytes(key);
      body.nullableBytes(header.value);
    }
    out.varint(body.length);
    out.bytes(body.result());
  });

  const batch = out.result().slice(); // exact size, own buffer
  if (batch.length - batchOverheadBytes > 0x7fffffff) throw new RangeError('record batch too large');
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const f = batchFieldOffsets;
  const attributes = (options.transactional ? attributeBits.transactional : 0) | (options.control ? attributeBits.control : 0);
  view.setBigInt64(f.baseOffset, BigInt(baseOffset));
  view.setInt32(f.batchLength, batch.length - batchOverheadBytes);
  view.setInt32(f.partitionLeaderEpoch, options.partitionLeaderEpoch ?? -1);
  view.setInt8(f.magic, currentMagic);
  view.setInt16(f.attributes, attributes);
  view.setInt32(f.lastOffsetDelta, records.length - 1);
  view.setBigInt64(f.baseTimestamp, BigInt(baseTimestamp));
  view.setBigInt64(f.maxTimestamp, BigInt(maxTimestamp));
  view.setBigInt64(f.producerId, BigInt(producerId));
  view.setInt16(f.producerEpoch, options.producerEpoch ?? -1);
  view.setInt32(f.baseSequence, options.baseSequence ?? -1);
  view.setInt32(f.recordCount, records.length);
  view.setUint32(f.crc, crc(batch, crcStartOffset, batch.length) >>> 0);
  return batch;
}

// ---------------------------------------------------------------------------------------
// Decoding.

/**
 * The records of an uncompressed batch (header from readBatchHeader/scanBatches on the same
 * bytes). Keys and values are views into `bytes`. With LogAppendTime, every record's timestamp
 * is the batch's maxTimestamp, as in Kafka. Throws for compressed batches, and
 * InvalidBatchError for malformed records.
 */
export function decodeRecords(bytes: Uint8Array, header: BatchHeader): DecodedRecord[] {
  if (header.compression !== 0) {
    throw new Error(
      `decodeRecords: the batch at byte ${header.position} is compressed (${compressionNames[header.compression]}); only uncompressed batches can be decoded`,
    );
  }
  const end = header.position + header.sizeBytes;
  if (end > bytes.length) throw new InvalidBatchError('truncated', header.position);
  const reader = new Reader(bytes, header.position + batchHeaderBytes, end, header.position);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    const length = reader.varint();
    if (length < 0) reader.fail(`negative record length ${length}`);
    const recordEnd = reader.pos + length;
    if (recordEnd > end) reader.fail(`record ${i} overruns the batch`);
    reader.byte(); // attributes: unused
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const key = reader.nullableBytes('key');
    const value = reader.nullableBytes('value');
    const headerCount = reader.varint();
    if (headerCount < 0) reader.fail(`negative header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = reader.varint();
      if (keyLength < 0) reader.fail(`header key length ${keyLength}`);
      let headerKey: string;
      try {
        headerKey = utf8Decoder.decode(reader.slice(keyLength));
      } catch (err) {
        if (err instanceof InvalidBatchError) throw err;
        return reader.fail(`header key of record ${i} is not valid UTF-8`);
      }
      headers.push({ key: headerKey, value: reader.nullableBytes('header value') });
    }
    if (reader.pos !== recordEnd) reader.fail(`record ${i} is ${length} bytes long but its fields take ${reader.pos - recordEnd + length}`);
    records.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: header.timestampType === 1 ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  if (reader.pos !== end) reader.fail(`${end - reader.pos} bytes after the last record`);
  return records;
}
