// The records of __consumer_offsets, byte for byte as Apache Kafka's group coordinator writes
// them (group-coordinator/src/main/resources/common/message/{OffsetCommit,GroupMetadata}
// {Key,Value}.json, and GroupMetadataManager's choice of versions), so that logmesh's topic
// reads like Kafka's and Kafka's tools read logmesh's.
//
// A key starts with an int16 version that also says what the record is: 0 or 1 a committed
// offset, 2 a group's metadata. A value starts with its own int16 version. A record without
// value (a tombstone) deletes the offset or the group.
//
// Pure. Decoders throw OffsetsRecordError, and nothing else, on any input they cannot read whole.

import { RecordReader, RecordWriter } from '../protocol/coordinator-record-fields.js';

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

// -------------------------------------------------------------------------------------------
// Encoding: the classic (non-flexible) format only; every version written is.

export function encodeOffsetsKey(key: OffsetsKey): Uint8Array {
  const writer = new RecordWriter(OffsetsRecordError);
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
  const writer = new RecordWriter(OffsetsRecordError);
  writer.int16(version, 'version');
  writer.int64(value.offset, 'offset');
  if (version >= 3) writer.int32(value.leaderEpoch, 'leaderEpoch');
  writer.string(value.metadata, 'metadata');
  writer.int64(value.commitTimestamp, 'commitTimestamp');
  if (version === 1) writer.int64(value.expireTimestamp, 'expireTimestamp');
  return writer.written();
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Uint8Array {
  const writer = new RecordWriter(OffsetsRecordError);
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

function readerOf(bytes: Uint8Array, record: string): RecordReader {
  return RecordReader.of(bytes, record, OffsetsRecordError);
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
  reader.taggedFields('OffsetCommitValue');
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
  reader.taggedFields('GroupMetadataValue');
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
  reader.taggedFields(field);
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
