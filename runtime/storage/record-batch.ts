// Host side of Kafka record batches (v2): CRC-32C through the native @node-rs/crc32, batch
// validation with CRC checks, and the record encoder (actors/protocol/records.ts) with the
// native CRC (used by tests and by simulated clients; brokers pass batches through as bytes).
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { scanBatches } from '../../actors/protocol/record-batch.js';
import type { ScanResult } from '../../actors/protocol/record-batch.js';
import { type EncodeBatchOptions, type RecordInput, encodeRecordBatch as encodeWithCrc } from '../../actors/protocol/records.js';

export { decodeRecords } from '../../actors/protocol/records.js';
export type { DecodedRecord, EncodeBatchOptions, RecordHeader, RecordInput } from '../../actors/protocol/records.js';

/** CRC-32C (Castagnoli) of bytes[start, end), as an unsigned 32-bit number. No copy is made. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const range = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  return nativeCrc32c(range) >>> 0;
}

/** scanBatches with CRC checking: structure and CRC of every batch in bytes[start, end). */
export function validateBatches(bytes: Uint8Array, start = 0, end = bytes.length): ScanResult {
  return scanBatches(bytes, start, end, crc32c);
}

/** Builds a valid uncompressed v2 batch with the native CRC-32C. At least one record is required. */
export function encodeRecordBatch(records: RecordInput[], options: EncodeBatchOptions = {}): Uint8Array {
  return encodeWithCrc(records, options, crc32c);
}
