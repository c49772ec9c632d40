// The records of __consumer_offsets, byte for byte as Apache Kafka's group coordinator writes
// them (group-coordinator/src/main/resources/common/message/{OffsetCommit,GroupMetadata}
// {Key,Value}.json, and GroupMetadataManager's choice of versions), so that logmesh's topic
// reads like Kafka's and Kafka's tools read logmesh's.
//
// A key starts with an int16 version that also says what the record is: 0 or 1 a committed
// offset, 2 a group's metadata. A value starts with its own int16 version. A record without
// value (a tombstone) deletes the offset or the group.
//
// Pure: Uint8Array, DataView, TextEncoder/TextDecoder. Decoders throw OffsetsRecordError, and
// nothing else, on any input they cannot read whole.

export class OffsetsRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetsRecordError';
  }
}

/**
 * A version this module does not know. A loader may skip such a record: a Kafka broker with
 * the new group coordinator (KIP-848, share groups) writes key versions above 2.
 */
export class UnknownOffsetsRecordVersionError extends OffsetsRecordError {
  constructor(readonly record: string, readonly version: number) {
    super(`${record}: unknown version ${version}`);
    this.name = 'UnknownOffsetsRecordVersionError';
  }
}

export type OffsetsKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string };

export interface OffsetCommitValue {
  offset: number;
  /** -1: none (versions before 3 carry none). */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1: none. Only version 1 carries one. */
  expireTimestamp: number;
}

export interface GroupMetadataMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Uint8Array;
  assignment: Uint8Array;
}

export interface GroupMetadataValue {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  /** -1: none (versions before 2 carry none). */
  currentStateTimestamp: number;
  members: GroupMetadataMember[];
}

/** One record of the topic: a null value is a tombstone. */
export type OffsetsRecord =
  | { key: Extract<OffsetsKey, { kind: 'offset' }>; value: OffsetCommitValue | null }
  | { key: Extract<OffsetsKey, { kind: 'group' }>; value: GroupMetadataValue | null };

// Key versions: what the record is.
const offsetKeyVersionLegacy = 0;
const offsetKeyVersion = 1;
const groupKeyVersion = 2;
// The value versions written: Kafka's for inter.broker.protocol 2.3 and later.
const offsetValueVersion = 3;
const offsetValueVersionWithExpiry = 1;
const groupValueVersion = 3;
// The newest versions read; 4 is the first flexible one (compact strings, tagged fields).
const offsetValueVersionMax = 4;
const groupValueVersionMax = 4;
const firstFlexibleValueVersion = 4;

// Kafka's limits: a string's length is an int16 (compact strings keep that limit).
const stringBytesMax = 0x7fff;
const int32Max = 0x7fffffff;
const int32Min = -0x80000000;
const varintBytesMax = 5;

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the string, not a marker to drop.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// -------------------------------------------------------------------------------------------
// Encoding: the classic (non-flexible) format only; every version written is.

class RecordWriter {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

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

  int16(value: number, field: string): void {
    checkInteger(value, -0x8000, 0x7fff, field);
    const at = this.reserve(2);
    this.view.setInt16(at, value);
  }

  int32(value: number, field: string): void {
    checkInteger(value, int32Min, int32Max, field);
    const at = this.reserve(4);
    this.view.setInt32(at, value);
  }

  int64(value: number, field: string): void {
    if (!Number.isSafeInteger(value)) throw new OffsetsRecordError(`${field}: ${value} is not a safe integer`);
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(value));
  }

  string(value: string, field: string): void {
    const encoded = utf8Encoder.encode(value);
    if (encoded.length > stringBytesMax) throw new OffsetsRecordError(`${field}: ${encoded.length} bytes, more than ${stringBytesMax}`);
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

  private raw(value: Uint8Array): void {
    const at = this.reserve(value.length);
    this.bytes.set(value, at);
  }

  written(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function checkInteger(value: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new OffsetsRecordError(`${field}: ${value} is not an integer in [${min}, ${max}]`);
}

export function encodeOffsetsKey(key: OffsetsKey): Uint8Array {
  const writer = new RecordWriter();
  if (key.kind === 'offset') {
    writer.int16(offsetKeyVersion, 'version');
    writer.string(key.group, 'group');
    writer.string(key.topic, 'topic');
    writer.int32(key.partition, 'partition');
  } else {
    writer.int16(groupKeyVersion, 'version');
    writer.string(key.group, 'group');
  }
  return writer.written();
}

/**
 * Version 3, or version 1 when the value has an expiry (only version 1 carries one, and
 * Kafka's GroupMetadataManager makes the same choice: the leader epoch is then not written).
 */
export function encodeOffsetCommitValue(value: OffsetCommitValue): Uint8Array {
  const version = value.expireTimestamp === -1 ? offsetValueVersion : offsetValueVersionWithExpiry;
  const writer = new RecordWriter();
  writer.int16(version, 'version');
  writer.int64(value.offset, 'offset');
  if (version >= 3) writer.int32(value.leaderEpoch, 'leaderEpoch');
  writer.string(value.metadata, 'metadata');
  writer.int64(value.commitTimestamp, 'commitTimestamp');
  if (version === 1) writer.int64(value.expireTimestamp, 'expireTimestamp');
  return writer.written();
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Uint8Array {
  const writer = new RecordWriter();
  writer.int16(groupValueVersion, 'version');
  writer.string(value.protocolType, 'protocolType');
  writer.int32(value.generationId, 'generation');
  writer.nullableString(value.protocolName, 'protocol');
  writer.nullableString(value.leaderId, 'leader');
  writer.int64(value.currentStateTimestamp, 'currentStateTimestamp');
  writer.int32(value.members.length, 'members');
  value.members.forEach((member, i) => {
    const field = `members[${i}]`;
    writer.string(member.memberId, `${field}.memberId`);
    writer.nullableString(member.groupInstanceId, `${field}.groupInstanceId`);
    writer.string(member.clientId, `${field}.clientId`);
    writer.string(member.clientHost, `${field}.clientHost`);
    writer.int32(member.rebalanceTimeoutMs, `${field}.rebalanceTimeout`);
    writer.int32(member.sessionTimeoutMs, `${field}.sessionTimeout`);
    writer.bytesField(member.subscription, `${field}.subscription`);
    writer.bytesField(member.assignment, `${field}.assignment`);
  });
  return writer.written();
}

// -------------------------------------------------------------------------------------------
// Decoding: every version Kafka has written; flexible ones (4) read compact strings, bytes
// and arrays and skip tagged fields.

class RecordReader {
  private readonly view: DataView;
  private at = 0;
  flexible = false;

  constructor(private readonly bytes: Uint8Array, private readonly record: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(field: string, problem: string): never {
    throw new OffsetsRecordError(`${this.record} ${field}: ${problem} (byte ${this.at})`);
  }

  private take(count: number, field: string): number {
    if (count < 0) this.fail(field, `negative length ${count}`);
    if (count > this.bytes.length - this.at) this.fail(field, 'truncated');
    const at = this.at;
    this.at += count;
    return at;
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

  /** An array's element count, bounded by the bytes left (each element takes at least one). */
  arrayCount(field: string): number {
    const count = this.length(field, 'int32');
    if (count < 0) this.fail(field, `array length ${count}`);
    if (count > this.bytes.length - this.at) this.fail(field, `array of ${count} in ${this.bytes.length - this.at} bytes`);
    return count;
  }

  /** A flexible struct's tagged fields: none that this module knows, so all are skipped. */
  skipTaggedFields(field: string): void {
    if (!this.flexible) return;
    const count = this.unsignedVarint(`${field} tagged fields`);
    for (let i = 0; i < count; i++) {
      this.unsignedVarint(`${field} tag`);
      this.take(this.unsignedVarint(`${field} tagged field size`), `${field} tagged field`);
    }
  }

  end(): void {
    const left = this.bytes.length - this.at;
    if (left !== 0) this.fail('end', `${left} bytes left over`);
  }
}

function readerOf(bytes: Uint8Array, record: string): RecordReader {
  if (!(bytes instanceof Uint8Array)) throw new OffsetsRecordError(`${record}: not bytes`);
  return new RecordReader(bytes, record);
}

export function decodeOffsetsKey(bytes: Uint8Array): OffsetsKey {
  const reader = readerOf(bytes, 'key');
  const version = reader.int16('version');
  let key: OffsetsKey;
  if (version === offsetKeyVersionLegacy || version === offsetKeyVersion) {
    key = { kind: 'offset', group: reader.string('group'), topic: reader.string('topic'), partition: reader.int32('partition') };
  } else if (version === groupKeyVersion) {
    key = { kind: 'group', group: reader.string('group') };
  } else {
    throw new UnknownOffsetsRecordVersionError('key', version);
  }
  reader.end();
  return key;
}

export function decodeOffsetCommitValue(bytes: Uint8Array): OffsetCommitValue {
  const reader = readerOf(bytes, 'OffsetCommitValue');
  const version = reader.int16('version');
  if (version < 0 || version > offsetValueVersionMax) throw new UnknownOffsetsRecordVersionError('OffsetCommitValue', version);
  reader.flexible = version >= firstFlexibleValueVersion;
  const offset = reader.int64('offset');
  const leaderEpoch = version >= 3 ? reader.int32('leaderEpoch') : -1;
  const metadata = reader.string('metadata');
  const commitTimestamp = reader.int64('commitTimestamp');
  const expireTimestamp = version === 1 ? reader.int64('expireTimestamp') : -1;
  reader.skipTaggedFields('OffsetCommitValue');
  reader.end();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function decodeGroupMetadataValue(bytes: Uint8Array): GroupMetadataValue {
  const reader = readerOf(bytes, 'GroupMetadataValue');
  const version = reader.int16('version');
  if (version < 0 || version > groupValueVersionMax) throw new UnknownOffsetsRecordVersionError('GroupMetadataValue', version);
  reader.flexible = version >= firstFlexibleValueVersion;
  const protocolType = reader.string('protocolType');
  const generationId = reader.int32('generation');
  const protocolName = reader.nullableString('protocol');
  const leaderId = reader.nullableString('leader');
  const currentStateTimestamp = version >= 2 ? reader.int64('currentStateTimestamp') : -1;
  const count = reader.arrayCount('members');
  const members: GroupMetadataMember[] = [];
  for (let i = 0; i < count; i++) members.push(readMember(reader, version, `members[${i}]`));
  reader.skipTaggedFields('GroupMetadataValue');
  reader.end();
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestamp, members };
}

function readMember(reader: RecordReader, version: number, field: string): GroupMetadataMember {
  const memberId = reader.string(`${field}.memberId`);
  const groupInstanceId = version >= 3 ? reader.nullableString(`${field}.groupInstanceId`) : null;
  const clientId = reader.string(`${field}.clientId`);
  const clientHost = reader.string(`${field}.clientHost`);
  const rebalanceTimeout = version >= 1 ? reader.int32(`${field}.rebalanceTimeout`) : undefined;
  const sessionTimeoutMs = reader.int32(`${field}.sessionTimeout`);
  const subscription = reader.bytesField(`${field}.subscription`);
  const assignment = reader.bytesField(`${field}.assignment`);
  reader.skipTaggedFields(field);
  // Version 0 has no rebalance timeout: Kafka takes the session timeout.
  const rebalanceTimeoutMs = rebalanceTimeout ?? sessionTimeoutMs;
  return { memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment };
}

/** One record read back; a null value is a tombstone. Kafka's records always have a key. */
export function decodeOffsetsRecord(key: Uint8Array | null, value: Uint8Array | null): OffsetsRecord {
  if (key === null) throw new OffsetsRecordError('a __consumer_offsets record without key');
  const decodedKey = decodeOffsetsKey(key);
  if (decodedKey.kind === 'offset') return { key: decodedKey, value: value === null ? null : decodeOffsetCommitValue(value) };
  return { key: decodedKey, value: value === null ? null : decodeGroupMetadataValue(value) };
}
