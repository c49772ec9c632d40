// The records of __transaction_state, byte for byte as Apache Kafka's transaction coordinator
// writes them (transaction-coordinator/src/main/resources/common/message/TransactionLog
// {Key,Value}.json and TransactionLog.scala), so that logmesh's topic reads like Kafka's.
//
// The key is version 0 and the transactional id. The value is version 0 (classic) as written;
// version 1 (flexible, with the tagged previous/next producer ids of KIP-890 and the client's
// transaction version) is read too. A record without value (a tombstone) is an expired
// transactional id.
//
// Pure. Decoders throw TxnRecordError, and nothing else, on any input they cannot read whole.
import { RecordReader, RecordWriter } from '../protocol/coordinator-record-fields.js';

export class TxnRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TxnRecordError';
  }
}

/** Kafka's TransactionState ids, as the log stores them. */
export const TxnStatus = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnStatusName = keyof typeof TxnStatus;

const statusNames = new Map<number, TxnStatusName>(
  (Object.entries(TxnStatus) as Array<[TxnStatusName, number]>).map(([name, id]) => [id, name]),
);

export function txnStatusName(id: number): TxnStatusName | undefined {
  return statusNames.get(id);
}

export interface TxnPartition {
  topic: string;
  partition: number;
}

/** One transactional id's state, as a value of the log. */
export interface TxnLogValue {
  producerId: number;
  /** -1: none. Only version 1 carries one (tag 0). */
  previousProducerId: number;
  /** -1: none. Only version 1 carries one (tag 1). */
  nextProducerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  status: TxnStatusName;
  /** The partitions of the transaction, sorted by topic then partition. */
  partitions: TxnPartition[];
  lastUpdateTimestampMs: number;
  /** -1: no transaction started. */
  startTimestampMs: number;
}

export interface TxnLogRecord {
  transactionalId: string;
  /** null: a tombstone. */
  value: TxnLogValue | null;
}

const keyVersion = 0;
const valueVersionWritten = 0;
const valueVersionMax = 1;
const firstFlexibleValueVersion = 1;

export function encodeTxnKey(transactionalId: string): Uint8Array {
  const writer = new RecordWriter(TxnRecordError);
  writer.int16(keyVersion, 'version');
  writer.string(transactionalId, 'transactionalId');
  return writer.written();
}

/** Partitions grouped by topic, in the order the value lists them. */
function byTopic(partitions: readonly TxnPartition[]): Array<{ topic: string; partitionIds: number[] }> {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const ids = grouped.get(topic) ?? [];
    ids.push(partition);
    grouped.set(topic, ids);
  }
  return [...grouped].map(([topic, partitionIds]) => ({ topic, partitionIds }));
}

export function encodeTxnValue(value: TxnLogValue): Uint8Array {
  if (value.status === 'PrepareEpochFence') throw new TxnRecordError('status: PrepareEpochFence is never written (Kafka writes PrepareAbort)');
  const writer = new RecordWriter(TxnRecordError);
  writer.int16(valueVersionWritten, 'version');
  writer.int64(value.producerId, 'producerId');
  writer.int16(value.producerEpoch, 'producerEpoch');
  writer.int32(value.transactionTimeoutMs, 'transactionTimeoutMs');
  writer.int8(TxnStatus[value.status], 'transactionStatus');
  // Kafka writes no partition array (null) for an Empty transaction.
  const topics = value.status === 'Empty' ? [] : byTopic(value.partitions);
  writer.arrayCount(value.status === 'Empty' ? -1 : topics.length, 'transactionPartitions');
  topics.forEach(({ topic, partitionIds }, i) => {
    writer.string(topic, `transactionPartitions[${i}].topic`);
    writer.arrayCount(partitionIds.length, `transactionPartitions[${i}].partitionIds`);
    for (const id of partitionIds) writer.int32(id, `transactionPartitions[${i}].partitionIds`);
  });
  writer.int64(value.lastUpdateTimestampMs, 'transactionLastUpdateTimestampMs');
  writer.int64(value.startTimestampMs, 'transactionStartTimestampMs');
  return writer.written();
}

export function decodeTxnKey(bytes: Uint8Array): string {
  const reader = RecordReader.of(bytes, 'TransactionLogKey', TxnRecordError);
  const version = reader.int16('version');
  if (version !== keyVersion) reader.fail('version', `unknown version ${version}`);
  const transactionalId = reader.string('transactionalId');
  reader.end();
  return transactionalId;
}

export function decodeTxnValue(bytes: Uint8Array): TxnLogValue {
  const reader = RecordReader.of(bytes, 'TransactionLogValue', TxnRecordError);
  const version = reader.int16('version');
  if (version < 0 || version > valueVersionMax) reader.fail('version', `unknown version ${version}`);
  reader.flexible = version >= firstFlexibleValueVersion;
  const producerId = reader.int64('producerId');
  const producerEpoch = reader.int16('producerEpoch');
  const transactionTimeoutMs = reader.int32('transactionTimeoutMs');
  const statusId = reader.int8('transactionStatus');
  const status = txnStatusName(statusId) ?? reader.fail('transactionStatus', `unknown status ${statusId}`);
  const partitions: TxnPartition[] = [];
  const topicCount = reader.arrayCount('transactionPartitions', true);
  for (let i = 0; i < topicCount; i++) {
    const field = `transactionPartitions[${i}]`;
    const topic = reader.string(`${field}.topic`);
    const idCount = reader.arrayCount(`${field}.partitionIds`);
    for (let j = 0; j < idCount; j++) partitions.push({ topic, partition: reader.int32(`${field}.partitionIds`) });
    reader.taggedFields(field);
  }
  const lastUpdateTimestampMs = reader.int64('transactionLastUpdateTimestampMs');
  const startTimestampMs = reader.int64('transactionStartTimestampMs');
  let previousProducerId = -1;
  let nextProducerId = -1;
  reader.taggedFields('TransactionLogValue', (tag, inner) => {
    if (tag === 0) previousProducerId = inner.int64('previousProducerId');
    else if (tag === 1) nextProducerId = inner.int64('nextProducerId');
    else return false;
    return true;
  });
  reader.end();
  return {
    producerId, previousProducerId, nextProducerId, producerEpoch, transactionTimeoutMs, status,
    partitions, lastUpdateTimestampMs, startTimestampMs,
  };
}

/** One record read back; Kafka's records always have a key. */
export function decodeTxnRecord(key: Uint8Array | null, value: Uint8Array | null): TxnLogRecord {
  if (key === null) throw new TxnRecordError('a __transaction_state record without key');
  return { transactionalId: decodeTxnKey(key), value: value === null ? null : decodeTxnValue(value) };
}
