// What the transactions workload (sim/workloads/transactions.ts) records and the transaction
// checkers (sim/checkers/transactions.ts) judge: every transaction a processor began, what it
// read and wrote, every EndTxn and its answer, every producer epoch the coordinators granted,
// every committed offset a processor was told, and every record the verifying consumers saw.
// Order is the workload's own sequence numbers, not virtual time, so that an answer and a
// request in the same virtual millisecond keep the order in which they happened.

/** One transaction a processor instance began: it read input [fromOffset, toOffset) of one partition. */
export interface TxnRecordOfWork {
  /** Workload-wide transaction number; every output record carries it. */
  txn: number;
  transactionalId: string;
  /** The processor instance (a restart or a zombie's successor is a new instance). */
  instance: number;
  producerId: number;
  producerEpoch: number;
  inputPartition: number;
  fromOffset: number;
  toOffset: number;
  /** The output values written, by output partition key; all acknowledged before any EndTxn commit is sent. */
  outputs: Map<string, string[]>;
  beganSeq: number;
  /** The first EndTxn sent for it and what it asked, or null. */
  endSent: { commit: boolean; seq: number } | null;
  /** Every answer to its EndTxn requests. */
  endAnswers: Array<{ commit: boolean; errorCode: number; sentSeq: number; answeredSeq: number }>;
  /** AddPartitionsToTxn answers (error codes with when they were sent). */
  addAnswers: Array<{ errorCode: number; sentSeq: number; answeredSeq: number }>;
}

/** A producer epoch InitProducerId granted to a transactional id. */
export interface EpochGrant {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  answeredSeq: number;
}

/** What a processor's OffsetFetch said of its input partition (-1: nothing committed). */
export interface FetchedInputOffset {
  inputPartition: number;
  offset: number;
  sentSeq: number;
  answeredSeq: number;
}

/** One record a verifying consumer was handed, after read_committed filtering for those that read committed. */
export interface VisibleRecord {
  key: string;
  offset: number;
  value: string;
  fetchSentSeq: number;
  receivedSeq: number;
}

export interface TxnStats {
  inputRecordsAcked: number;
  transactionsBegun: number;
  commitsAnswered: number;
  abortsAnswered: number;
  /** Aborts the processors chose (not forced by an error). */
  abortsChosen: number;
  processorCrashes: number;
  zombies: number;
  /** Requests a zombie sent after its successor had been granted a newer epoch. */
  zombieRequests: number;
  fencedAnswers: number;
  restarts: number;
  concurrentTransactions: number;
  notCoordinator: number;
  coordinatorLoading: number;
  requestTimeouts: number;
  recordsReadCommitted: number;
  recordsReadUncommitted: number;
  /** Records the read_committed consumers dropped as part of aborted transactions. */
  abortedRecordsSkipped: number;
  controlBatchesSeen: number;
  errors: Record<string, number>;
}

export interface TxnHistory {
  transactions: Map<number, TxnRecordOfWork>;
  grants: EpochGrant[];
  fetchedOffsets: FetchedInputOffset[];
  /** Per output partition key, in the order read. */
  readCommitted: Map<string, VisibleRecord[]>;
  readUncommitted: Map<string, VisibleRecord[]>;
  /**
   * Per output partition key, what a read_committed consumer that starts from offset 0 once
   * the run has settled and the cleaner's final passes are done was handed: the cleaner has
   * removed aborted data and the markers of transactions without data left, and the consumer
   * must be handed the same committed records as the one that read along.
   */
  readCommittedLate: Map<string, VisibleRecord[]>;
  /** Whether the late consumers read to the high watermarks (a run halted or over budget stops short). */
  readCommittedLateDone: boolean;
  /** Once the run settled: each input partition's end (its high watermark) and the group's final committed offsets. */
  final: { inputEnds: Map<number, number>; committedOffsets: Map<number, number> } | null;
  /** What clients saw that breaks the contract, with the checker that owns it. */
  anomalies: Array<{ checker: string; message: string }>;
  stats: TxnStats;
}

export function newTxnStats(): TxnStats {
  return {
    inputRecordsAcked: 0, transactionsBegun: 0, commitsAnswered: 0, abortsAnswered: 0, abortsChosen: 0, processorCrashes: 0, zombies: 0,
    zombieRequests: 0, fencedAnswers: 0, restarts: 0, concurrentTransactions: 0, notCoordinator: 0, coordinatorLoading: 0,
    requestTimeouts: 0, recordsReadCommitted: 0, recordsReadUncommitted: 0, abortedRecordsSkipped: 0, controlBatchesSeen: 0, errors: {},
  };
}

export function newTxnHistory(): TxnHistory {
  return {
    transactions: new Map(), grants: [], fetchedOffsets: [], readCommitted: new Map(), readUncommitted: new Map(), readCommittedLate: new Map(), readCommittedLateDone: false, final: null,
    anomalies: [], stats: newTxnStats(),
  };
}

/** The value of an output record: which transaction wrote it, for which input record. */
export function outputValue(txn: number, inputPartition: number, inputOffset: number): string {
  return `t${txn}/${inputPartition}/${inputOffset}`;
}

export function parseOutputValue(value: string): { txn: number; inputPartition: number; inputOffset: number } | null {
  const match = /^t(\d+)\/(\d+)\/(\d+)$/.exec(value);
  if (match === null) return null;
  return { txn: Number(match[1]), inputPartition: Number(match[2]), inputOffset: Number(match[3]) };
}
