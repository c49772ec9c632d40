// A read-process-write pipeline with transactions, as Kafka Streams runs one with
// exactly_once: an input topic filled by an idempotent producer; one processor per input
// partition, each with its own transactional id, that reads its partition read_committed and,
// per transaction, adds the output partitions and the group's offsets partition
// (AddPartitionsToTxn, which carries AddOffsetsToTxn too), writes transactional batches,
// commits the consumed offsets in the transaction (TxnOffsetCommit) and ends it: commit, or
// now and then abort on purpose and read the same input again. Verifying consumers read the
// output: read_committed (dropping aborted transactions as Kafka's consumer does, from the
// aborted list and the control batches) and read_uncommitted.
//
// Faults of its own, from its PRNG: a processor crashes mid-transaction and a new instance
// starts later with the same transactional id (its InitProducerId fences the old epoch and
// aborts what was open); or a processor stalls (a long GC pause) while a new instance takes
// over at once, and then carries on with its old epoch: a zombie, which must never commit.
// The nemesis meanwhile crashes and cuts off the coordinators' and partitions' leaders.
//
// Clients talk to actors directly (no FindCoordinator): a transactional id's coordinator is
// `txn-coordinator-<p>` for p = hash(id) % the __transaction_state partitions, the group's is
// `group-coordinator-<p>` on __consumer_offsets, found by trying nodes in turn.
import { ErrorCode, errorName } from '../../actors/protocol/errors.js';
import type {
  AddPartitionsToTxnResponse, EndTxnResponse, FetchResponse, InitTxnProducerResponse, OffsetFetchResponse, ProduceResponse,
  TxnOffsetCommitResponse, WireMessages,
} from '../../actors/protocol/messages.js';
import { acksAll, consumerReplicaId, readCommitted, readUncommitted } from '../../actors/protocol/messages.js';
import { type BatchHeader, readBatchHeader } from '../../actors/protocol/record-batch.js';
import { consumerOffsetsTopic, groupCoordinatorActorId, offsetsPartitionFor } from '../../actors/group/offsets-topic.js';
import { txnCoordinatorActorId, txnPartitionFor } from '../../actors/txn/coordinator-machine.js';
import type { Tracer } from '../../runtime/kernel/ports.js';
import { decodeRecords, encodeRecordBatch } from '../../runtime/storage/record-batch.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import { type ClientRequestKind, SimClient, partitionKey } from './sim-client.js';
import { type TxnHistory, type TxnRecordOfWork, type VisibleRecord, newTxnHistory, outputValue } from './transactions-history.js';
import { readCommittedIsolation } from '../checkers/transactions.js';

export const txnInputTopic = 'txn-input';
export const txnOutputTopic = 'txn-output';
export const txnInputPartitions = 2;
export const txnOutputPartitions = 3;
export const txnGroupId = 'txn-app';
/** The input producer writes a batch of 1-inputBatchMax records to each input partition every inputGapMinMs-inputGapMaxMs of the fault phase. */
export const inputBatchMax = 4;
export const inputGapMinMs = 100;
export const inputGapMaxMs = 500;
/** The input producer's producer id (idempotent, not transactional; no InitProducerId). */
export const inputProducerId = 4243;
/** Input records per transaction, at most. */
export const txnRecordsMax = 4;
export const abortProbability = 0.15;
/** transaction.timeout.ms the processors ask for: an abandoned transaction is aborted within the run. */
export const txnTimeoutMs = 8000;
export const requestTimeoutMs = 4000;
export const produceTimeoutMs = 3000;
export const retryBackoffMs = 100;
export const coordinatorBackoffMs = 200;
export const fetchMaxWaitMs = 500;
export const inputFetchMaxBytes = 1024;
export const outputFetchMaxBytes = 64 * 1024;
/** Processor faults: the first this long after the processors start, the next after the last one ends. */
export const processorFaultGapMinMs = 1500;
export const processorFaultGapMaxMs = 5000;
/** A crashed processor's replacement starts this long after the crash. */
export const restartDelayMinMs = 300;
export const restartDelayMaxMs = 2500;
/** How long a zombie stays stalled before it carries on with its old epoch. */
export const zombieStallMinMs = 500;
export const zombieStallMaxMs = 4000;
/** Client nodes: the input producer, the consumers and the auditor, then one per processor instance. */
export const txnClientNodeFirst = 1200;

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** Answers that mean the producer's epoch is over: the instance must start again (a zombie just stops). */
const fatalErrors: ReadonlySet<number> = new Set([
  ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_TXN_STATE,
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.TRANSACTION_COORDINATOR_FENCED,
]);

/** The coordinator is elsewhere, or nowhere yet: try the next node. */
function coordinatorMoved(code: number): boolean {
  return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

/** CONCURRENT_TRANSACTIONS: the transaction coordinator is finishing the last transaction, soon done; other errors wait longer. */
function txnCoordinatorBackoffMs(code: number): number {
  return code === ErrorCode.CONCURRENT_TRANSACTIONS ? retryBackoffMs : coordinatorBackoffMs;
}

/** The packed aborted-transaction entries of a FetchResponse: 16 bytes each, producer id and first offset, big-endian int64. */
export function unpackAbortedTransactions(bytes: Uint8Array): Array<{ producerId: number; firstOffset: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Array<{ producerId: number; firstOffset: number }> = [];
  for (let at = 0; at + 16 <= bytes.length; at += 16) {
    entries.push({ producerId: Number(view.getBigInt64(at)), firstOffset: Number(view.getBigInt64(at + 8)) });
  }
  return entries.sort((a, b) => a.firstOffset - b.firstOffset);
}

/** A control record's type from its key (version int16, type int16): 0 abort, 1 commit; -1 if unreadable. */
export function controlType(key: Uint8Array | null): number {
  if (key === null || key.length < 4) return -1;
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getInt16(2);
}

/**
 * What a consumer is handed of one fetch, as Kafka's consumer filters it: batches below
 * `from` skipped, control batches never handed over; with read_committed, a transactional
 * batch of a producer whose aborted transaction the response lists (and whose abort marker
 * has not been passed) is dropped. Returns the records handed over and where to fetch next.
 */
export function filterFetched(
  response: Pick<FetchResponse, 'records' | 'abortedTransactions'>, from: number, isolation: number,
): { records: Array<{ offset: number; value: string }>; next: number; abortedSkipped: number; controlBatches: number } {
  const aborted = isolation === readCommitted ? unpackAbortedTransactions(response.abortedTransactions) : [];
  const abortedProducers = new Set<number>();
  const records: Array<{ offset: number; value: string }> = [];
  let next = from;
  let abortedSkipped = 0;
  let controlBatches = 0;
  const bytes = response.records;
  for (let position = 0; position < bytes.length;) {
    const header: BatchHeader = readBatchHeader(bytes, position);
    position += header.sizeBytes;
    if (header.lastOffset < next) continue;
    while (aborted.length > 0 && aborted[0]!.firstOffset <= header.lastOffset) abortedProducers.add(aborted.shift()!.producerId);
    const decoded = decodeRecords(bytes, header);
    if (header.isControl) {
      controlBatches += 1;
      if (controlType(decoded[0]?.key ?? null) === 0) abortedProducers.delete(header.producerId);
    } else if (header.isTransactional && abortedProducers.has(header.producerId)) {
      abortedSkipped += decoded.length;
    } else {
      for (const record of decoded) {
        if (record.offset >= next) records.push({ offset: record.offset, value: record.value === null ? '' : utf8Decode.decode(record.value) });
      }
    }
    next = header.lastOffset + 1;
  }
  return { records, next, abortedSkipped, controlBatches };
}

/** One verifying consumer of an output partition. */
interface OutputReader {
  key: string;
  partition: number;
  isolation: number;
  /** Starts from offset 0 once the run has settled and the output is cleaned (TxnHistory.readCommittedLate). */
  late: boolean;
  nextOffset: number;
  /** The last response's high watermark and last stable offset. */
  highWatermark: number;
  lastStableOffset: number;
}

/** The node a client believes hosts a coordinator; moves on NOT_COORDINATOR and timeouts. */
class CoordinatorGuess {
  constructor(private readonly client: SimClient, public node: number) {}
  moveOn(): void {
    this.node = this.client.nextNode(this.node);
  }
}

export class TransactionsWorkload {
  readonly history: TxnHistory = newTxnHistory();
  readonly txnStatePartitionsOf: number[];
  readonly groupOffsetsPartition: number;
  private readonly io: SimClient;
  private readonly auditorCoordinator: CoordinatorGuess;
  private readonly slots: ProcessorSlot[] = [];
  private readonly readers: OutputReader[] = [];
  private readonly lateReaders: OutputReader[] = [];
  private seq = 0;
  private txnCounter = 0;
  private instanceCounter = 0;
  /** Input partitions still being written (until the fault phase ends; a batch in flight then is still sent until acknowledged). */
  private inputProducing = 0;
  faultsOver = false;
  private finalFetchInFlight = false;
  private finalFetchBasis = '';

  constructor(
    readonly clusterId: string,
    readonly nodeIds: number[],
    readonly network: SimNetwork,
    readonly scheduler: Scheduler,
    readonly prng: Prng,
    readonly tracer: Tracer,
    readonly txnStatePartitions: number,
    readonly offsetsPartitions: number,
  ) {
    this.io = new SimClient({ clientNode: txnClientNodeFirst, actor: 'txn-io', clusterId, nodeIds, network, scheduler, tracer });
    this.groupOffsetsPartition = offsetsPartitionFor(txnGroupId, offsetsPartitions);
    this.auditorCoordinator = new CoordinatorGuess(this.io, nodeIds[this.groupOffsetsPartition % nodeIds.length]!);
    this.txnStatePartitionsOf = Array.from({ length: txnInputPartitions }, (_, i) => txnPartitionFor(transactionalIdOf(i), txnStatePartitions));
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  nextTxn(): number {
    this.txnCounter += 1;
    return this.txnCounter;
  }

  /** A fresh client for a new processor instance, on its own client node. */
  newInstanceClient(slot: number): { client: SimClient; instance: number } {
    this.instanceCounter += 1;
    const client = new SimClient({
      clientNode: txnClientNodeFirst + this.instanceCounter, actor: `txn-processor-${slot}`, clusterId: this.clusterId, nodeIds: this.nodeIds,
      network: this.network, scheduler: this.scheduler, tracer: this.tracer,
    });
    return { client, instance: this.instanceCounter };
  }

  noteError(code: number): void {
    const stats = this.history.stats;
    if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) stats.notCoordinator += 1;
    else if (code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) stats.coordinatorLoading += 1;
    else if (code === ErrorCode.CONCURRENT_TRANSACTIONS) stats.concurrentTransactions += 1;
    else if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) stats.fencedAnswers += 1;
    const name = errorName(code);
    stats.errors[name] = (stats.errors[name] ?? 0) + 1;
  }

  /** Input producer, processors, verifying consumers; processor faults until `faultsUntilMs`. */
  start(faultsUntilMs: number): void {
    this.inputProducing = txnInputPartitions;
    for (let p = 0; p < txnInputPartitions; p++) this.scheduler.after(this.prng.int(0, 200), () => this.produceInput(p, faultsUntilMs, 0, 0, 0));
    for (let p = 0; p < txnOutputPartitions; p++) {
      for (const isolation of [readCommitted, readUncommitted]) {
        const reader: OutputReader = { key: partitionKey(txnOutputTopic, p), partition: p, isolation, late: false, nextOffset: 0, highWatermark: 0, lastStableOffset: 0 };
        this.readers.push(reader);
        this.scheduler.after(this.prng.int(0, 300), () => this.readOutput(reader));
      }
    }
    for (let i = 0; i < txnInputPartitions; i++) {
      const slot = new ProcessorSlot(this, i);
      this.slots.push(slot);
      this.scheduler.after(this.prng.int(0, 500), () => slot.startInstance());
    }
    const next = (): void => {
      if (this.faultsOver || this.scheduler.now >= faultsUntilMs) return;
      const lastsMs = this.injectProcessorFault();
      this.scheduler.after(lastsMs + this.prng.int(processorFaultGapMinMs, processorFaultGapMaxMs), next);
    };
    this.scheduler.after(this.prng.int(processorFaultGapMinMs, processorFaultGapMaxMs) + 1000, next);
  }

  /**
   * Once the run has settled and the cleaner has removed what it could of the compacted output
   * (aborted data, markers of transactions with no data left), a read_committed consumer of
   * each output partition reads it from offset 0 (TxnHistory.readCommittedLate).
   */
  startLateReaders(): void {
    for (let p = 0; p < txnOutputPartitions; p++) {
      const reader: OutputReader = { key: partitionKey(txnOutputTopic, p), partition: p, isolation: readCommitted, late: true, nextOffset: 0, highWatermark: 0, lastStableOffset: 0 };
      this.lateReaders.push(reader);
      this.readOutput(reader);
    }
  }

  /** Whether every late reader has read up to its partition's high watermark (`highWatermarks` by partition key). */
  lateReadersDone(highWatermarks: Map<string, number>): boolean {
    return this.lateReaders.length > 0 && this.lateReaders.every((r) => r.nextOffset >= (highWatermarks.get(r.key) ?? Infinity));
  }

  /** Ends processor faults: crashed processors start again now, stalled zombies carry on. */
  healProcessors(): void {
    this.faultsOver = true;
    for (const slot of this.slots) slot.heal();
  }

  private injectProcessorFault(): number {
    const slot = this.prng.pick(this.slots);
    if (this.prng.chance(0.5)) {
      const downMs = this.prng.int(restartDelayMinMs, restartDelayMaxMs);
      this.history.stats.processorCrashes += 1;
      slot.crash(downMs);
      return downMs;
    }
    const stallMs = this.prng.int(zombieStallMinMs, zombieStallMaxMs);
    this.history.stats.zombies += 1;
    slot.zombify(stallMs);
    return stallMs;
  }

  // ---- The input producer: idempotent, acks=all, one batch in flight per partition, retried until acknowledged.

  private produceInput(partition: number, untilMs: number, written: number, epoch: number, sequence: number): void {
    if (this.scheduler.now >= untilMs) {
      this.inputProducing -= 1;
      return;
    }
    const count = this.prng.int(1, inputBatchMax);
    const bytes = encodeRecordBatch(
      Array.from({ length: count }, (_, i) => ({ key: null, value: utf8.encode(`in-${partition}-${written + i}`), timestamp: Math.floor(this.scheduler.now) })),
      { producerId: inputProducerId, producerEpoch: epoch, baseSequence: sequence },
    );
    const attempt = (batchEpoch: number, batchSequence: number, records: Uint8Array): void => {
      this.io.sendToPartition(txnInputTopic, partition, 'ProduceRequest', (requestId) => ({
        requestId, topic: txnInputTopic, partition, acks: acksAll, timeoutMs: produceTimeoutMs, records, leaderEpoch: -1, transactionalId: '',
      }), requestTimeoutMs, (body) => {
        const { errorCode } = body as ProduceResponse;
        if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
          this.history.stats.inputRecordsAcked += count;
          this.scheduler.after(this.prng.int(inputGapMinMs, inputGapMaxMs), () => this.produceInput(partition, untilMs, written + count, batchEpoch, batchSequence + count));
          return;
        }
        this.noteError(errorCode);
        if (errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || errorCode === ErrorCode.UNKNOWN_PRODUCER_ID || errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) {
          // The broker lost track of the sequence: a new epoch from sequence 0 (a copy may land twice; the pipeline reads offsets, not values).
          const bumped = encodeRecordBatch(
            Array.from({ length: count }, (_, i) => ({ key: null, value: utf8.encode(`in-${partition}-${written + i}`), timestamp: Math.floor(this.scheduler.now) })),
            { producerId: inputProducerId, producerEpoch: batchEpoch + 1, baseSequence: 0 },
          );
          this.scheduler.after(retryBackoffMs, () => attempt(batchEpoch + 1, 0, bumped));
          return;
        }
        this.scheduler.after(retryBackoffMs, () => attempt(batchEpoch, batchSequence, records));
      }, () => this.scheduler.after(retryBackoffMs, () => attempt(batchEpoch, batchSequence, records)));
    };
    attempt(epoch, sequence, bytes);
  }

  private inputDone(): boolean {
    return this.inputProducing === 0;
  }

  // ---- Verifying consumers of the output topic.

  private readOutput(reader: OutputReader): void {
    const fetchSentSeq = this.nextSeq();
    const again = (delayMs: number): void => {
      this.scheduler.after(delayMs, () => this.readOutput(reader));
    };
    this.io.sendToPartition(txnOutputTopic, reader.partition, 'FetchRequest', (requestId) => ({
      requestId, topic: txnOutputTopic, partition: reader.partition, replicaId: consumerReplicaId, fetchOffset: reader.nextOffset,
      lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: outputFetchMaxBytes, maxWaitMs: fetchMaxWaitMs, minBytes: 1, isolationLevel: reader.isolation,
    }), requestTimeoutMs, (body) => {
      const response = body as FetchResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        again(retryBackoffMs);
        return;
      }
      const receivedSeq = this.nextSeq();
      reader.highWatermark = Math.max(reader.highWatermark, response.highWatermark);
      reader.lastStableOffset = response.lastStableOffset;
      const fetched = filterFetched(response, reader.nextOffset, reader.isolation);
      const committed = reader.isolation === readCommitted;
      const bound = committed ? response.lastStableOffset : response.highWatermark;
      const log = reader.late ? this.history.readCommittedLate : committed ? this.history.readCommitted : this.history.readUncommitted;
      let records = log.get(reader.key);
      if (records === undefined) {
        records = [];
        log.set(reader.key, records);
      }
      for (const record of fetched.records) {
        if (record.offset >= bound) {
          this.history.anomalies.push({
            checker: readCommittedIsolation,
            message: `${committed ? 'read_committed' : 'read_uncommitted'} consumer of ${reader.key} got offset ${record.offset}, at or above the ${committed ? 'last stable offset' : 'high watermark'} ${bound}`,
          });
        }
        const visible: VisibleRecord = { key: reader.key, offset: record.offset, value: record.value, fetchSentSeq, receivedSeq };
        records.push(visible);
      }
      // The stats describe the consumers that read along.
      if (committed && !reader.late) {
        this.history.stats.recordsReadCommitted += fetched.records.length;
        this.history.stats.abortedRecordsSkipped += fetched.abortedSkipped;
        this.history.stats.controlBatchesSeen += fetched.controlBatches;
      } else if (!committed) {
        this.history.stats.recordsReadUncommitted += fetched.records.length;
      }
      const moved = fetched.next > reader.nextOffset;
      reader.nextOffset = Math.max(reader.nextOffset, fetched.next);
      // Nothing new (a leader that answers at once while a transaction holds the stable offset back): not a busy loop.
      again(moved ? 0 : retryBackoffMs);
    }, () => again(0));
  }

  /**
   * What keeps the pipeline from being settled: input still being written, a processor not
   * running, in a transaction, or behind its input's end; a stalled zombie; a verifying
   * consumer behind; then the workload's own OffsetFetch of the group, sent from here. Once
   * it has answered, the final state is recorded for the checkers.
   */
  settleGaps(highWatermarks: Map<string, number>): string[] {
    const gaps: string[] = [];
    if (!this.faultsOver) gaps.push('processor faults still on');
    if (!this.inputDone()) gaps.push('input still being written');
    const inputEnds = new Map<number, number>();
    for (let p = 0; p < txnInputPartitions; p++) {
      const hw = highWatermarks.get(partitionKey(txnInputTopic, p));
      if (hw === undefined) gaps.push(`${txnInputTopic}/${p} high watermark unknown`);
      else inputEnds.set(p, hw);
    }
    for (const slot of this.slots) gaps.push(...slot.settleGaps(inputEnds.get(slot.inputPartition)));
    for (const reader of this.readers) {
      const hw = highWatermarks.get(reader.key);
      const name = reader.isolation === readCommitted ? 'read_committed' : 'read_uncommitted';
      if (hw === undefined) gaps.push(`${reader.key} high watermark unknown`);
      else if (reader.nextOffset < hw) gaps.push(`${name} consumer of ${reader.key} at ${reader.nextOffset} of ${hw}`);
      else if (reader.isolation === readCommitted && reader.lastStableOffset < hw) gaps.push(`${reader.key} last stable offset ${reader.lastStableOffset} below ${hw}`);
    }
    if (gaps.length > 0) {
      this.history.final = null;
      return gaps;
    }
    const basis = [...inputEnds.values()].join(',');
    if (this.history.final !== null && this.finalFetchBasis === basis) return [];
    this.history.final = null;
    if (!this.finalFetchInFlight) this.sendFinalFetch(basis, inputEnds);
    return ['final offset fetch outstanding'];
  }

  private sendFinalFetch(basis: string, inputEnds: Map<number, number>): void {
    this.finalFetchInFlight = true;
    const coordinator = this.auditorCoordinator;
    const partitions = Array.from({ length: txnInputPartitions }, (_, partition) => ({ topic: txnInputTopic, partition }));
    this.io.send(coordinator.node, groupCoordinatorActorId(this.groupOffsetsPartition), 'OffsetFetchRequest', (requestId) => ({
      requestId, groupId: txnGroupId, allPartitions: false, partitions, requireStable: true,
    }), requestTimeoutMs, (body) => {
      this.finalFetchInFlight = false;
      const response = body as OffsetFetchResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        if (coordinatorMoved(response.errorCode)) coordinator.moveOn();
        return;
      }
      const committedOffsets = new Map<number, number>();
      for (const entry of response.offsets) {
        if (entry.topic === txnInputTopic && entry.errorCode === ErrorCode.NONE) committedOffsets.set(entry.partition, entry.offset);
      }
      if (committedOffsets.size < txnInputPartitions) return;
      this.history.final = { inputEnds, committedOffsets };
      this.finalFetchBasis = basis;
    }, () => {
      this.finalFetchInFlight = false;
      coordinator.moveOn();
    });
  }
}

export function transactionalIdOf(slot: number): string {
  return `txn-processor-${slot}`;
}

/** One input partition's processor: its current instance, and any zombies of earlier ones. */
class ProcessorSlot {
  readonly inputPartition: number;
  current: ProcessorInstance | null = null;
  private readonly zombies = new Set<ProcessorInstance>();
  private restartPending = false;

  constructor(private readonly workload: TransactionsWorkload, slot: number) {
    this.inputPartition = slot;
  }

  startInstance(): void {
    this.restartPending = false;
    const { client, instance } = this.workload.newInstanceClient(this.inputPartition);
    this.current = new ProcessorInstance(this.workload, this.inputPartition, instance, client);
    this.current.start();
  }

  crash(downMs: number): void {
    if (this.current === null) return;
    this.current.kill();
    this.current = null;
    this.restartPending = true;
    this.workload.scheduler.after(downMs, () => {
      if (this.current === null && this.restartPending) this.startInstance();
    });
  }

  /** The current instance stalls and a new one takes over at once; the stalled one resumes later as a zombie. */
  zombify(stallMs: number): void {
    const old = this.current;
    if (old === null) return;
    old.stall();
    this.zombies.add(old);
    this.workload.scheduler.after(stallMs, () => old.resume());
    old.onDeath = () => this.zombies.delete(old);
    this.startInstance();
  }

  heal(): void {
    for (const zombie of this.zombies) zombie.resume();
    if (this.current === null) this.startInstance();
  }

  settleGaps(inputEnd: number | undefined): string[] {
    const name = transactionalIdOf(this.inputPartition);
    const gaps: string[] = [];
    for (const zombie of this.zombies) if (zombie.stalled) gaps.push(`${name}: a zombie is still stalled`);
    const current = this.current;
    if (current === null) return [...gaps, `${name}: no instance running`];
    if (current.open !== null) gaps.push(`${name}: transaction ${current.open.txn} open`);
    else if (current.phase !== 'running') gaps.push(`${name}: ${current.phase}`);
    else if (inputEnd !== undefined && current.committed < inputEnd) gaps.push(`${name}: committed ${current.committed} of ${inputEnd}`);
    return gaps;
  }
}

type InstancePhase = 'initializing' | 'fetching-offsets' | 'running' | 'dead';

/** A request of a transaction to its coordinator: what differs between them beside the shared retries. */
interface CoordinatorCall<K extends ClientRequestKind> {
  coordinator: CoordinatorGuess;
  actor: string;
  kind: K;
  body: (requestId: string) => WireMessages[K];
  errorCodeOf: (response: unknown) => number;
  /** Sees every answer's error code first (the history keeps some). */
  answered?: (errorCode: number) => void;
  succeeded: () => void;
  /** How long a retriable error waits before the request is resent. */
  backoffMs: (errorCode: number) => number;
  /** Sends the request again, as the first time. */
  resend: () => void;
}

/**
 * One processor instance: InitProducerId, the committed offset of its input partition, then
 * transactions one after another. A fatal answer (fenced, bad epoch or sequence) makes it
 * start over with InitProducerId, unless it is a zombie: a zombie stops.
 */
class ProcessorInstance {
  phase: InstancePhase = 'initializing';
  stalled = false;
  zombie = false;
  /** The transaction in progress, or null. */
  open: TxnRecordOfWork | null = null;
  /** The input offset the next transaction reads from, and the last committed one. */
  position = 0;
  committed = 0;
  onDeath: (() => void) | null = null;
  private producerId = -1;
  private producerEpoch = -1;
  private readonly sequences = new Map<string, number>();
  private readonly held: Array<() => void> = [];
  private readonly txnCoordinator: CoordinatorGuess;
  private readonly groupCoordinator: CoordinatorGuess;
  private readonly transactionalId: string;
  /** Bumped whenever the instance starts over: callbacks of an earlier run are ignored. */
  private generation = 0;

  constructor(
    private readonly workload: TransactionsWorkload,
    private readonly inputPartition: number,
    private readonly instance: number,
    private readonly client: SimClient,
  ) {
    this.transactionalId = transactionalIdOf(inputPartition);
    const txnPartition = txnPartitionFor(this.transactionalId, workload.txnStatePartitions);
    this.txnCoordinator = new CoordinatorGuess(client, workload.nodeIds[txnPartition % workload.nodeIds.length]!);
    this.groupCoordinator = new CoordinatorGuess(client, workload.nodeIds[workload.groupOffsetsPartition % workload.nodeIds.length]!);
  }

  private get scheduler(): Scheduler { return this.workload.scheduler; }
  private get history(): TxnHistory { return this.workload.history; }
  private get txnActor(): string { return txnCoordinatorActorId(txnPartitionFor(this.transactionalId, this.workload.txnStatePartitions)); }
  private get groupActor(): string { return groupCoordinatorActorId(this.workload.groupOffsetsPartition); }

  start(): void {
    this.generation += 1;
    this.phase = 'initializing';
    this.open = null;
    this.initProducer(this.generation);
  }

  kill(): void {
    this.phase = 'dead';
    this.client.abandonAll();
    this.held.length = 0;
    this.onDeath?.();
  }

  stall(): void {
    this.stalled = true;
    this.zombie = true;
  }

  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const run of this.held.splice(0)) {
      if (this.phase === 'dead') return;
      run();
    }
  }

  /** Wraps a callback: dropped if the instance died or started over since; held while it is stalled. */
  private guard<A extends unknown[]>(generation: number, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      const run = (): void => {
        if (this.phase === 'dead' || generation !== this.generation) return;
        fn(...args);
      };
      if (this.stalled) this.held.push(run);
      else run();
    };
  }

  private after(generation: number, delayMs: number, fn: () => void): void {
    this.scheduler.after(delayMs, this.guard(generation, fn));
  }

  /** A fatal answer: a zombie stops; a live instance starts over (its InitProducerId aborts what was open). */
  private fatal(code: number): void {
    this.workload.noteError(code);
    if (this.zombie) {
      this.kill();
      return;
    }
    this.history.stats.restarts += 1;
    this.start();
  }

  private noteZombieRequest(): void {
    if (this.zombie) this.history.stats.zombieRequests += 1;
  }

  // ---- InitProducerId and the committed offset

  private initProducer(generation: number): void {
    this.client.send(this.txnCoordinator.node, this.txnActor, 'InitTxnProducerRequest', (requestId) => ({
      requestId, transactionalId: this.transactionalId, transactionTimeoutMs: txnTimeoutMs, producerId: -1, producerEpoch: -1,
    }), requestTimeoutMs, this.guard(generation, (body: unknown) => {
      const response = body as InitTxnProducerResponse;
      if (response.errorCode === ErrorCode.NONE) {
        this.producerId = response.producerId;
        this.producerEpoch = response.producerEpoch;
        this.sequences.clear();
        this.history.grants.push({
          transactionalId: this.transactionalId, producerId: response.producerId, producerEpoch: response.producerEpoch, answeredSeq: this.workload.nextSeq(),
        });
        this.phase = 'fetching-offsets';
        this.fetchCommitted(generation);
        return;
      }
      this.workload.noteError(response.errorCode);
      if (coordinatorMoved(response.errorCode)) this.txnCoordinator.moveOn();
      this.after(generation, coordinatorBackoffMs, () => this.initProducer(generation));
    }), this.guard(generation, () => {
      this.history.stats.requestTimeouts += 1;
      this.txnCoordinator.moveOn();
      this.initProducer(generation);
    }));
  }

  private fetchCommitted(generation: number): void {
    const sentSeq = this.workload.nextSeq();
    this.client.send(this.groupCoordinator.node, this.groupActor, 'OffsetFetchRequest', (requestId) => ({
      requestId, groupId: txnGroupId, allPartitions: false, partitions: [{ topic: txnInputTopic, partition: this.inputPartition }], requireStable: true,
    }), requestTimeoutMs, this.guard(generation, (body: unknown) => {
      const response = body as OffsetFetchResponse;
      const entry = response.offsets.find((o) => o.topic === txnInputTopic && o.partition === this.inputPartition);
      const code = response.errorCode !== ErrorCode.NONE ? response.errorCode : (entry?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
      if (code !== ErrorCode.NONE || entry === undefined) {
        this.workload.noteError(code);
        if (coordinatorMoved(code)) this.groupCoordinator.moveOn();
        this.after(generation, coordinatorBackoffMs, () => this.fetchCommitted(generation));
        return;
      }
      this.history.fetchedOffsets.push({ inputPartition: this.inputPartition, offset: entry.offset, sentSeq, answeredSeq: this.workload.nextSeq() });
      this.position = Math.max(0, entry.offset);
      this.committed = this.position;
      this.phase = 'running';
      this.readInput(generation);
    }), this.guard(generation, () => {
      this.history.stats.requestTimeouts += 1;
      this.groupCoordinator.moveOn();
      this.fetchCommitted(generation);
    }));
  }

  // ---- One transaction: read, add partitions, write, commit offsets, end

  private readInput(generation: number): void {
    this.client.sendToPartition(txnInputTopic, this.inputPartition, 'FetchRequest', (requestId) => ({
      requestId, topic: txnInputTopic, partition: this.inputPartition, replicaId: consumerReplicaId, fetchOffset: this.position,
      lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: inputFetchMaxBytes, maxWaitMs: fetchMaxWaitMs, minBytes: 1, isolationLevel: readCommitted,
    }), requestTimeoutMs, this.guard(generation, (body: unknown) => {
      const response = body as FetchResponse;
      if (response.errorCode !== ErrorCode.NONE) {
        this.after(generation, retryBackoffMs, () => this.readInput(generation));
        return;
      }
      const fetched = filterFetched(response, this.position, readCommitted).records.filter((r) => r.offset < response.lastStableOffset);
      if (fetched.length === 0) {
        this.after(generation, retryBackoffMs, () => this.readInput(generation));
        return;
      }
      // Offsets of a non-transactional input are dense: the transaction reads [position, position + n).
      const take = Math.min(fetched.length, this.workload.prng.int(1, txnRecordsMax));
      const offsets = fetched.slice(0, take).map((r) => r.offset);
      this.begin(generation, offsets);
    }), this.guard(generation, () => this.readInput(generation)));
  }

  private begin(generation: number, inputOffsets: number[]): void {
    const txn = this.workload.nextTxn();
    const outputs = new Map<string, string[]>();
    for (const offset of inputOffsets) {
      const key = partitionKey(txnOutputTopic, this.workload.prng.int(0, txnOutputPartitions - 1));
      outputs.set(key, [...(outputs.get(key) ?? []), outputValue(txn, this.inputPartition, offset)]);
    }
    const t: TxnRecordOfWork = {
      txn, transactionalId: this.transactionalId, instance: this.instance, producerId: this.producerId, producerEpoch: this.producerEpoch,
      inputPartition: this.inputPartition, fromOffset: this.position, toOffset: inputOffsets[inputOffsets.length - 1]! + 1,
      outputs, beganSeq: this.workload.nextSeq(), endSent: null, endAnswers: [], addAnswers: [],
    };
    this.history.transactions.set(txn, t);
    this.history.stats.transactionsBegun += 1;
    this.open = t;
    this.addPartitions(generation, t);
  }

  private outputPartitions(t: TxnRecordOfWork): number[] {
    return [...t.outputs.keys()].map((key) => Number(key.slice(key.lastIndexOf('/') + 1))).sort((a, b) => a - b);
  }

  private addPartitions(generation: number, t: TxnRecordOfWork): void {
    const sentSeq = this.workload.nextSeq();
    this.noteZombieRequest();
    const partitions = [
      ...this.outputPartitions(t).map((partition) => ({ topic: txnOutputTopic, partition })),
      { topic: consumerOffsetsTopic, partition: this.workload.groupOffsetsPartition },
    ];
    this.coordinatorCall(generation, {
      coordinator: this.txnCoordinator, actor: this.txnActor, kind: 'AddPartitionsToTxnRequest',
      body: (requestId) => ({
        requestId, transactionalId: this.transactionalId, producerId: t.producerId, producerEpoch: t.producerEpoch, partitions,
      }),
      errorCodeOf: (response) => (response as AddPartitionsToTxnResponse).errorCode,
      answered: (errorCode) => { t.addAnswers.push({ errorCode, sentSeq, answeredSeq: this.workload.nextSeq() }); },
      succeeded: () => this.produceOutputs(generation, t),
      backoffMs: txnCoordinatorBackoffMs,
      resend: () => this.addPartitions(generation, t),
    });
  }

  /** One transactional batch per output partition, each resent (same sequence) until acknowledged. */
  private produceOutputs(generation: number, t: TxnRecordOfWork): void {
    let remaining = t.outputs.size;
    for (const [key, values] of t.outputs) {
      const partition = Number(key.slice(key.lastIndexOf('/') + 1));
      const baseSequence = this.sequences.get(key) ?? 0;
      this.sequences.set(key, baseSequence + values.length);
      const records = encodeRecordBatch(
        // Keyed by the value, unique to its transaction and input record (the output topic is compacted).
        values.map((value) => ({ key: utf8.encode(value), value: utf8.encode(value), timestamp: Math.floor(this.scheduler.now) })),
        { producerId: t.producerId, producerEpoch: t.producerEpoch, baseSequence, transactional: true },
      );
      this.produceBatch(generation, partition, records, () => {
        remaining -= 1;
        if (remaining === 0) this.commitOffsets(generation, t);
      });
    }
  }

  private produceBatch(generation: number, partition: number, records: Uint8Array, acked: () => void): void {
    this.noteZombieRequest();
    this.client.sendToPartition(txnOutputTopic, partition, 'ProduceRequest', (requestId) => ({
      requestId, topic: txnOutputTopic, partition, acks: acksAll, timeoutMs: produceTimeoutMs, records, leaderEpoch: -1, transactionalId: this.transactionalId,
    }), requestTimeoutMs, this.guard(generation, (body: unknown) => {
      const { errorCode } = body as ProduceResponse;
      if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        acked();
        return;
      }
      if (fatalErrors.has(errorCode)) {
        this.fatal(errorCode);
        return;
      }
      this.workload.noteError(errorCode);
      this.after(generation, retryBackoffMs, () => this.produceBatch(generation, partition, records, acked));
    }), this.guard(generation, () => {
      this.history.stats.requestTimeouts += 1;
      this.produceBatch(generation, partition, records, acked);
    }));
  }

  private commitOffsets(generation: number, t: TxnRecordOfWork): void {
    this.noteZombieRequest();
    this.coordinatorCall(generation, {
      coordinator: this.groupCoordinator, actor: this.groupActor, kind: 'TxnOffsetCommitRequest',
      body: (requestId) => ({
        requestId, transactionalId: this.transactionalId, groupId: txnGroupId, producerId: t.producerId, producerEpoch: t.producerEpoch,
        generationId: -1, memberId: '', groupInstanceId: '',
        offsets: [{ topic: txnInputTopic, partition: this.inputPartition, offset: t.toOffset, leaderEpoch: -1, metadata: '', errorCode: 0 }],
      }),
      errorCodeOf: (response) => (response as TxnOffsetCommitResponse).results.find((r) => r.partition === this.inputPartition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
      succeeded: () => this.endTxn(generation, t, !this.workload.prng.chance(abortProbability)),
      backoffMs: () => coordinatorBackoffMs,
      resend: () => this.commitOffsets(generation, t),
    });
  }

  private endTxn(generation: number, t: TxnRecordOfWork, commit: boolean): void {
    const sentSeq = this.workload.nextSeq();
    this.noteZombieRequest();
    if (t.endSent === null) {
      t.endSent = { commit, seq: sentSeq };
      if (!commit) this.history.stats.abortsChosen += 1;
    }
    this.coordinatorCall(generation, {
      coordinator: this.txnCoordinator, actor: this.txnActor, kind: 'EndTxnRequest',
      body: (requestId) => ({
        requestId, transactionalId: this.transactionalId, producerId: t.producerId, producerEpoch: t.producerEpoch, commit,
      }),
      errorCodeOf: (response) => (response as EndTxnResponse).errorCode,
      answered: (errorCode) => { t.endAnswers.push({ commit, errorCode, sentSeq, answeredSeq: this.workload.nextSeq() }); },
      succeeded: () => this.ended(generation, t, commit),
      backoffMs: txnCoordinatorBackoffMs,
      resend: () => this.endTxn(generation, t, commit),
    });
  }

  /** The coordinator ended the transaction: the next one reads on from its end, or again from the last commit. */
  private ended(generation: number, t: TxnRecordOfWork, commit: boolean): void {
    this.open = null;
    if (commit) {
      this.history.stats.commitsAnswered += 1;
      this.committed = t.toOffset;
      this.position = t.toOffset;
    } else {
      this.history.stats.abortsAnswered += 1;
      this.position = this.committed;
    }
    this.readInput(generation);
  }

  /**
   * Sends a request of the transaction to its coordinator. A fatal answer ends the instance's
   * epoch; another error is noted and the request resent after its backoff, to the next node
   * when the coordinator moved; a timeout moves on to the next node and resends at once.
   */
  private coordinatorCall<K extends ClientRequestKind>(generation: number, call: CoordinatorCall<K>): void {
    this.client.send(call.coordinator.node, call.actor, call.kind, call.body, requestTimeoutMs, this.guard(generation, (response: unknown) => {
      const errorCode = call.errorCodeOf(response);
      call.answered?.(errorCode);
      if (errorCode === ErrorCode.NONE) {
        call.succeeded();
        return;
      }
      if (fatalErrors.has(errorCode)) {
        this.fatal(errorCode);
        return;
      }
      this.workload.noteError(errorCode);
      if (coordinatorMoved(errorCode)) call.coordinator.moveOn();
      this.after(generation, call.backoffMs(errorCode), call.resend);
    }), this.guard(generation, () => {
      this.history.stats.requestTimeouts += 1;
      call.coordinator.moveOn();
      call.resend();
    }));
  }
}
