// Record-level work on uncompressed v2 batches for the log cleaner and the compacted-topic
// append check: where each record's bytes are (so that a retained record is copied as it is,
// its offset and timestamp deltas still right) and rebuilding a batch from some of its
// records, as Kafka's MemoryRecords.filterTo does: same base offset, same last offset delta
// (the producer's last sequence survives), same producer id/epoch/base sequence and attributes,
// a new record count, max timestamp and CRC.
import {
  type BatchHeader, InvalidBatchError, batchFieldOffsets, batchHeaderBytes, batchOverheadBytes, crcStartOffset,
} from '../../actors/protocol/record-batch.js';
import { crc32c } from './record-batch.js';

/** Where one record of a batch lies and what the cleaner needs of it. */
export interface RecordSpan {
  offset: number;
  timestamp: number;
  /** A view into the batch's bytes, or null for a keyless record. */
  key: Uint8Array | null;
  /** Null value: a tombstone. */
  isTombstone: boolean;
  /** Byte range of the whole record (its length varint included) in the batch's buffer. */
  start: number;
  end: number;
}

/**
 * The records of the uncompressed batch `header` describes inside `bytes`. Only the fields
 * before the value are decoded; headers are skipped by the record's length.
 */
export function recordSpans(bytes: Uint8Array, header: BatchHeader): RecordSpan[] {
  if (header.compression !== 0) throw new Error(`recordSpans: the batch at offset ${header.baseOffset} is compressed`);
  const end = header.position + header.sizeBytes;
  const cursor = { at: header.position + batchHeaderBytes };
  const fail = (reason: string): never => {
    throw new InvalidBatchError(reason, header.position);
  };
  const spans: RecordSpan[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    const start = cursor.at;
    const length = readVarint(bytes, cursor, end, fail);
    const recordEnd = cursor.at + length;
    if (length < 0 || recordEnd > end) fail(`record ${i} overruns the batch`);
    cursor.at += 1; // attributes
    const timestampDelta = readVarlong(bytes, cursor, recordEnd, fail);
    const offsetDelta = readVarint(bytes, cursor, recordEnd, fail);
    const keyLength = readVarint(bytes, cursor, recordEnd, fail);
    let key: Uint8Array | null = null;
    if (keyLength >= 0) {
      if (cursor.at + keyLength > recordEnd) fail(`key of record ${i} overruns it`);
      key = bytes.subarray(cursor.at, cursor.at + keyLength);
      cursor.at += keyLength;
    }
    const valueLength = readVarint(bytes, cursor, recordEnd, fail);
    spans.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: header.timestampType === 1 ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      isTombstone: valueLength < 0,
      start,
      end: recordEnd,
    });
    cursor.at = recordEnd;
  }
  if (cursor.at !== end) fail(`${end - cursor.at} bytes after the last record`);
  return spans;
}

/**
 * A batch holding only the records of `kept` (a subset of `spans`, in order), or an empty
 * batch (header only, zero records) when `kept` is empty. Offsets and timestamps of the kept
 * records do not change: their bytes are copied, and base offset and base timestamp stay.
 */
export function rebuildBatch(bytes: Uint8Array, header: BatchHeader, kept: readonly RecordSpan[]): Uint8Array {
  let size = batchHeaderBytes;
  for (const span of kept) size += span.end - span.start;
  const out = new Uint8Array(size);
  out.set(bytes.subarray(header.position, header.position + batchHeaderBytes), 0);
  let at = batchHeaderBytes;
  let maxTimestamp = -1;
  for (const span of kept) {
    out.set(bytes.subarray(span.start, span.end), at);
    at += span.end - span.start;
    maxTimestamp = Math.max(maxTimestamp, span.timestamp);
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const f = batchFieldOffsets;
  view.setInt32(f.batchLength, size - batchOverheadBytes);
  view.setInt32(f.recordCount, kept.length);
  // LogAppendTime batches keep the broker's time; an emptied batch keeps its old maximum.
  if (header.timestampType === 0 && kept.length > 0) view.setBigInt64(f.maxTimestamp, BigInt(maxTimestamp));
  view.setUint32(f.crc, crc32c(out, crcStartOffset, out.length));
  return out;
}

function readVarint(bytes: Uint8Array, cursor: { at: number }, end: number, fail: (reason: string) => never): number {
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor.at >= end) fail(`varint overruns the record at byte ${cursor.at}`);
    const b = bytes[cursor.at++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      raw >>>= 0;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  return fail(`varint longer than 5 bytes at byte ${cursor.at}`);
}

function readVarlong(bytes: Uint8Array, cursor: { at: number }, end: number, fail: (reason: string) => never): number {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.at >= end) fail(`varlong overruns the record at byte ${cursor.at}`);
    const b = bytes[cursor.at++]!;
    raw += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(raw)) fail(`varlong beyond Number.MAX_SAFE_INTEGER at byte ${cursor.at}`);
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 0x80;
  }
  return fail(`varlong longer than 10 bytes at byte ${cursor.at}`);
}
