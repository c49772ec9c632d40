// Kafka record batches, format v2 (magic 2): reading and checking batch headers in place.
// Pure: works on Uint8Array through DataView, no Node Buffer, no I/O, clock or randomness.
// Computing CRC-32C is the host's business (runtime/storage/record-batch.ts); scanBatches
// accepts a CRC function so that the same walk serves both the actors and the hosts.
//
// Layout (big endian), positions relative to the start of the batch:
//   @0  baseOffset int64            @8  batchLength int32 (bytes after this field)
//   @12 partitionLeaderEpoch int32  @16 magic int8 (= 2)
//   @17 crc uint32 (CRC-32C of the bytes from attributes, @21, to the end of the batch)
//   @21 attributes int16 (bits 0-2 codec 0 none/1 gzip/2 snappy/3 lz4/4 zstd,
//       bit 3 timestampType, bit 4 isTransactional, bit 5 isControlBatch)
//   @23 lastOffsetDelta int32       @27 baseTimestamp int64   @35 maxTimestamp int64
//   @43 producerId int64            @51 producerEpoch int16   @53 baseSequence int32
//   @57 recordCount int32           @61 records
// The whole batch is batchOverheadBytes + batchLength bytes long.

/** Bytes of a batch header, up to and including recordCount. */
export const batchHeaderBytes = 61;
/** Bytes before batchLength's count starts: baseOffset + batchLength. */
export const batchOverheadBytes = 12;
/** The smallest legal batchLength: a header with no records. */
export const minBatchLength = batchHeaderBytes - batchOverheadBytes; // 49
/** The only batch format this module understands. */
export const currentMagic = 2;

/** Positions of the header fields relative to the start of a batch. */
export const batchFieldOffsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

/** Where the CRC-covered range starts (attributes), relative to the start of a batch. */
export const crcStartOffset = batchFieldOffsets.attributes;

export const compressionCodecs = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = 0 | 1 | 2 | 3 | 4;
export const compressionNames: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export const attributeBits = {
  compressionMask: 0x07,
  timestampType: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

export interface BatchHeader {
  /** Byte position of the batch within the buffer it was read from. */
  position: number;
  /** Total size of the batch: batchOverheadBytes + batchLength. */
  sizeBytes: number;
  baseOffset: number;
  lastOffsetDelta: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** The stored CRC-32C, unsigned. */
  crc: number;
  attributes: number;
  compression: CompressionCodec;
  /** 0 = CreateTime, 1 = LogAppendTime. */
  timestampType: 0 | 1;
  isTransactional: boolean;
  isControl: boolean;
  /**
   * A control batch's type, from its record's key (Kafka's ControlRecordType): 0 abort,
   * 1 commit, -1 for other batches and for a control record whose key cannot be read.
   */
  controlType: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** A batch that is malformed, truncated or fails its CRC. `position` is where the batch starts. */
export class InvalidBatchError extends Error {
  readonly reason: string;
  readonly position: number;
  constructor(reason: string, position: number) {
    super(`invalid record batch at byte ${position}: ${reason}`);
    this.name = 'InvalidBatchError';
    this.reason = reason;
    this.position = position;
  }
}

/** CRC-32C of bytes[start, end), unsigned. */
export type Crc32cFunction = (bytes: Uint8Array, start: number, end: number) => number;

export interface ScanResult {
  /** Headers of the good batches, in order. */
  headers: BatchHeader[];
  /** End of the last good batch (`start` when there is none). */
  validEnd: number;
  /** The first problem found, or null when [start, end) holds only whole, good batches. */
  error: InvalidBatchError | null;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readSafeInt64(view: DataView, at: number, field: string, position: number): number {
  const value = view.getBigInt64(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InvalidBatchError(`${field} ${value} is beyond Number.MAX_SAFE_INTEGER`, position);
  }
  return Number(value);
}

function checkPosition(bytes: Uint8Array, position: number, needed: number): void {
  if (!Number.isInteger(position) || position < 0) throw new RangeError(`bad batch position ${position}`);
  if (position + needed > bytes.length) throw new InvalidBatchError('truncated', position);
}

/**
 * Reads the header of the batch starting at `position`. Checks neither the CRC nor the magic
 * byte; throws InvalidBatchError when fewer than batchHeaderBytes remain, when an int64 is not
 * a safe integer, or when the compression codec is not 0..4.
 */
export function readBatchHeader(bytes: Uint8Array, position: number): BatchHeader {
  checkPosition(bytes, position, batchHeaderBytes);
  const view = viewOf(bytes);
  const f = batchFieldOffsets;
  const baseOffset = readSafeInt64(view, position + f.baseOffset, 'baseOffset', position);
  const batchLength = view.getInt32(position + f.batchLength);
  const attributes = view.getInt16(position + f.attributes);
  const compression = attributes & attributeBits.compressionMask;
  if (compression > 4) throw new InvalidBatchError(`unknown compression codec ${compression}`, position);
  const lastOffsetDelta = view.getInt32(position + f.lastOffsetDelta);
  const lastOffset = baseOffset + lastOffsetDelta;
  if (!Number.isSafeInteger(lastOffset)) {
    throw new InvalidBatchError(`lastOffset ${baseOffset}+${lastOffsetDelta} is beyond Number.MAX_SAFE_INTEGER`, position);
  }
  return {
    position,
    sizeBytes: batchOverheadBytes + batchLength,
    baseOffset,
    lastOffsetDelta,
    lastOffset,
    partitionLeaderEpoch: view.getInt32(position + f.partitionLeaderEpoch),
    magic: view.getInt8(position + f.magic),
    crc: view.getUint32(position + f.crc),
    attributes,
    compression: compression as CompressionCodec,
    timestampType: attributes & attributeBits.timestampType ? 1 : 0,
    isTransactional: (attributes & attributeBits.transactional) !== 0,
    isControl: (attributes & attributeBits.control) !== 0,
    controlType: (attributes & attributeBits.control) !== 0 && compression === 0 ? readControlType(bytes, position, batchOverheadBytes + batchLength) : -1,
    baseTimestamp: readSafeInt64(view, position + f.baseTimestamp, 'baseTimestamp', position),
    maxTimestamp: readSafeInt64(view, position + f.maxTimestamp, 'maxTimestamp', position),
    producerId: readSafeInt64(view, position + f.producerId, 'producerId', position),
    producerEpoch: view.getInt16(position + f.producerEpoch),
    baseSequence: view.getInt32(position + f.baseSequence),
    recordCount: view.getInt32(position + f.recordCount),
  };
}

export const controlTypes = { abort: 0, commit: 1 } as const;

/**
 * The type in the key of a control batch's first record (the key is int16 version, int16
 * type), or -1 when the record does not hold one within the batch's `sizeBytes`.
 */
function readControlType(bytes: Uint8Array, position: number, sizeBytes: number): number {
  const end = Math.min(bytes.length, position + sizeBytes);
  let at = position + batchHeaderBytes;
  // Skips a varint or varlong (up to 10 bytes); false when the batch ends first.
  const skipVarint = (): boolean => {
    for (let i = 0; i < 10; i++) {
      if (at >= end) return false;
      if ((bytes[at++]! & 0x80) === 0) return true;
    }
    return false;
  };
  if (!skipVarint()) return -1; // record length
  at += 1; // record attributes
  if (!skipVarint() || !skipVarint()) return -1; // timestamp and offset deltas
  // The key length, zigzag-encoded: 4 bytes (8) at least, in one byte.
  if (at >= end) return -1;
  const zigzag = bytes[at++]!;
  if ((zigzag & 0x80) !== 0 || (zigzag >>> 1) < 4 || at + 4 > end) return -1;
  const type = (bytes[at + 2]! << 8) | bytes[at + 3]!;
  return type === controlTypes.abort || type === controlTypes.commit ? type : -1;
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** Checks one batch at `position` (ending no later than `end`) and returns its header. */
function checkBatch(bytes: Uint8Array, view: DataView, position: number, end: number, checkCrc?: Crc32cFunction): BatchHeader {
  const remaining = end - position;
  if (remaining < batchOverheadBytes) throw new InvalidBatchError('truncated', position);
  const batchLength = view.getInt32(position + batchFieldOffsets.batchLength);
  if (batchLength < minBatchLength) {
    throw new InvalidBatchError(`batchLength ${batchLength} is below the minimum ${minBatchLength}`, position);
  }
  if (remaining > batchFieldOffsets.magic) {
    const magic = view.getInt8(position + batchFieldOffsets.magic);
    if (magic !== currentMagic) throw new InvalidBatchError(`unsupported magic ${magic}`, position);
  }
  if (batchOverheadBytes + batchLength > remaining) throw new InvalidBatchError('truncated', position);
  const header = readBatchHeader(bytes, position);
  if (header.recordCount < 0) throw new InvalidBatchError(`negative recordCount ${header.recordCount}`, position);
  if (header.lastOffsetDelta < 0) throw new InvalidBatchError(`negative lastOffsetDelta ${header.lastOffsetDelta}`, position);
  if (checkCrc) {
    const actual = checkCrc(bytes, position + crcStartOffset, position + header.sizeBytes) >>> 0;
    if (actual !== header.crc) {
      throw new InvalidBatchError(`crc mismatch: expected ${hex32(header.crc)}, actual ${hex32(actual)}`, position);
    }
  }
  return header;
}

/**
 * Walks the consecutive batches in bytes[start, end) and checks their structure (and their
 * CRC when `checkCrc` is given). Stops at the first problem: `validEnd` is the end of the last
 * good batch and `error` says what is wrong with the batch starting there. An incomplete
 * trailing batch is an error with reason 'truncated'.
 */
export function scanBatches(bytes: Uint8Array, start = 0, end = bytes.length, checkCrc?: Crc32cFunction): ScanResult {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > bytes.length || start > end) {
    throw new RangeError(`bad scan range [${start}, ${end}) of ${bytes.length} bytes`);
  }
  const view = viewOf(bytes);
  const headers: BatchHeader[] = [];
  let position = start;
  while (position < end) {
    try {
      const header = checkBatch(bytes, view, position, end, checkCrc);
      headers.push(header);
      position += header.sizeBytes;
    } catch (err) {
      if (err instanceof InvalidBatchError) return { headers, validEnd: position, error: err };
      throw err;
    }
  }
  return { headers, validEnd: position, error: null };
}

/** Overwrites baseOffset of the batch at `position` (outside the CRC: the CRC stays valid). */
export function setBaseOffset(bytes: Uint8Array, position: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset)) throw new RangeError(`baseOffset ${baseOffset} is not a safe integer`);
  checkPosition(bytes, position, batchOverheadBytes);
  viewOf(bytes).setBigInt64(position + batchFieldOffsets.baseOffset, BigInt(baseOffset));
}

/** Overwrites partitionLeaderEpoch of the batch at `position` (outside the CRC). */
export function setPartitionLeaderEpoch(bytes: Uint8Array, position: number, epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < -0x80000000 || epoch > 0x7fffffff) {
    throw new RangeError(`partitionLeaderEpoch ${epoch} is not an int32`);
  }
  checkPosition(bytes, position, batchFieldOffsets.magic);
  viewOf(bytes).setInt32(position + batchFieldOffsets.partitionLeaderEpoch, epoch);
}
