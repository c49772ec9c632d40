// What coordinators share when they load their state from an internal topic partition
// (__consumer_offsets, __transaction_state): the walk over the record batches a load read
// returned, in offset order, skipping control batches (transaction markers) and records below
// the offset the read asked for.
//
// Pure.
import { attributeBits, readBatchHeader } from './record-batch.js';
import { decodeRecords } from './records.js';

export interface LoadedRecord {
  offset: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

export interface LoadedBatches {
  /** The offset after the last whole batch read (`from` when there was none). */
  nextOffset: number;
  /** One line per batch that could not be read and was skipped. */
  problems: string[];
}

/**
 * Visits every record at or after `from` in the whole batches of `bytes` (a partial batch at
 * the end of a read is left for the next read). A batch whose records cannot be decoded, or
 * whose records `visit` refuses (it throws), is skipped and named in `problems`.
 */
export function readLoadedBatches(bytes: Uint8Array, from: number, visit: (record: LoadedRecord) => void): LoadedBatches {
  const problems: string[] = [];
  let nextOffset = from;
  let position = 0;
  while (position < bytes.length) {
    let header;
    try {
      header = readBatchHeader(bytes, position);
    } catch {
      break; // a partial batch at the end of the read
    }
    if (position + header.sizeBytes > bytes.length) break;
    position += header.sizeBytes;
    nextOffset = Math.max(nextOffset, header.lastOffset + 1);
    if ((header.attributes & attributeBits.control) !== 0) continue;
    try {
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < from) continue;
        visit({ offset: record.offset, key: record.key, value: record.value });
      }
    } catch (error) {
      problems.push(`skipped the batch at offset ${header.baseOffset}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { nextOffset, problems };
}
