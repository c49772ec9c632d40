// What coordinators share when they keep their state in an internal topic partition
// (__consumer_offsets, __transaction_state): following the partition's leadership (a coordinator
// serves only while the replica beside it leads), the load that reads the partition up to its
// high watermark before serving, and the walk over the record batches a load read returned, in
// offset order, skipping records below the offset the read asked for. Transaction markers
// (control batches) are handed to a loader that asks for them (the group coordinator resolves
// transactional offset commits with them) and skipped otherwise. Last, the states both
// coordinator machines go through (inactive, loading, active, changing, removed).
//
// Pure.
import type { Address, FetchResponse, Outgoing, PartitionStateChange } from './messages.js';
import { consumerReplicaId } from './messages.js';
import type { Effect } from './effects.js';
import { ErrorCode } from './errors.js';
import { type BatchHeader, attributeBits, readBatchHeader } from './record-batch.js';
import { decodeRecords } from './records.js';

export interface LoadedRecord {
  offset: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** The offset of the batch the record was written in (Kafka's appendedBatchOffset). */
  batchOffset: number;
  /** The batch's producer, -1 for none. */
  producerId: number;
  /** Written as part of a transaction, decided by a later marker of the same producer. */
  transactional: boolean;
}

/** A transaction marker: the control record that commits or aborts a producer's open transaction. */
export interface LoadedMarker {
  offset: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
}

/** Kafka's ControlRecordType, the int16 after the int16 version in a control record's key. */
const controlRecordTypes = { abort: 0, commit: 1 } as const;
const controlKeyBytes = 4;

export interface LoadedBatches {
  /** The offset after the last whole batch read (`from` when there was none). */
  nextOffset: number;
  /** One line per batch that could not be read and was skipped. */
  problems: string[];
}

/**
 * Visits every record at or after `from` in the whole batches of `bytes` (a partial batch at
 * the end of a read is left for the next read), and, when `marker` is given, every commit or
 * abort marker at or after `from` (other control records, such as KRaft's, are skipped). A
 * batch whose records cannot be decoded, or whose records `visit` refuses (it throws), is
 * skipped and named in `problems`.
 */
export function readLoadedBatches(
  bytes: Uint8Array, from: number, visit: (record: LoadedRecord) => void, marker?: (marker: LoadedMarker) => void,
): LoadedBatches {
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
    const control = (header.attributes & attributeBits.control) !== 0;
    if (control && (marker === undefined || header.baseOffset < from)) continue;
    try {
      if (control) {
        const found = markerOf(bytes, header);
        if (found !== null) marker!(found);
        continue;
      }
      const transactional = (header.attributes & attributeBits.transactional) !== 0;
      for (const record of decodeRecords(bytes, header)) {
        if (record.offset < from) continue;
        visit({
          offset: record.offset, key: record.key, value: record.value, batchOffset: header.baseOffset, producerId: header.producerId, transactional,
        });
      }
    } catch (error) {
      problems.push(`skipped the batch at offset ${header.baseOffset}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { nextOffset, problems };
}

/** The commit or abort marker a control batch holds, or null for another control record. */
function markerOf(bytes: Uint8Array, header: BatchHeader): LoadedMarker | null {
  const [record] = decodeRecords(bytes, header);
  const key = record?.key ?? null;
  if (key === null || key.length < controlKeyBytes) throw new Error('a control record without its version and type');
  const type = new DataView(key.buffer, key.byteOffset, key.byteLength).getInt16(2);
  if (type !== controlRecordTypes.abort && type !== controlRecordTypes.commit) return null;
  return { offset: record!.offset, producerId: header.producerId, producerEpoch: header.producerEpoch, commit: type === controlRecordTypes.commit };
}

// ---------------------------------------------------------------------------------------------
// Leadership and loading, as both coordinators follow their partition's replica.

/** What a coordinator keeps of its partition's leadership and of the load in progress. */
export interface CoordinatorPartitionState {
  config: { nodeId: number };
  partition: number;
  nowMs: number;
  /** The epoch of the partition this node leads, or -1. */
  leaderEpoch: number;
  /** Bumped when the partition's leadership here changes: the current load or term. */
  term: number;
  removed: boolean;
  loadOffset: number;
  loadRequestId: string;
  /** The load of the current term has read the partition up to its high watermark. */
  loaded: boolean;
  /** Loading statistics, for the operator's log line. */
  loadedRecords: number;
  loadStartedMs: number;
}

/** How a coordinator reads its partition. */
export interface LoadPlan {
  topic: string;
  replica: Address;
  /** The timer event that asks again. */
  retryEvent: string;
  /** How long an answer may take before the read is sent again. */
  answerTimeoutMs: number;
  /** The pause after the replica refused a read (it may still be opening). */
  backoffMs: number;
  bufferBytes: number;
}

/** A change that matters to a coordinator: leadership gained, lost or in a new epoch, or the partition gone. */
export function leadershipChanged(ctx: CoordinatorPartitionState, body: PartitionStateChange): boolean {
  const leads = !body.removed && body.leader === ctx.config.nodeId;
  return body.removed || !leads || body.leaderEpoch !== ctx.leaderEpoch;
}

/**
 * The broker told the coordinator what the metadata says of its partition: on a change it
 * resigns (`resign` gives everything up and sets leaderEpoch to -1), and takes up the new epoch
 * if this node leads.
 */
export function followPartitionState(ctx: CoordinatorPartitionState, body: PartitionStateChange, resign: () => Effect[]): Effect[] {
  const leads = !body.removed && body.leader === ctx.config.nodeId;
  if (body.removed) ctx.removed = true;
  if (leads && body.leaderEpoch === ctx.leaderEpoch) return [];
  const effects = resign();
  if (leads) {
    ctx.leaderEpoch = body.leaderEpoch;
    ctx.term += 1;
  }
  return effects;
}

/** Reads the partition from its start. */
export function startLoad(ctx: CoordinatorPartitionState, plan: LoadPlan, requestId: string): Effect[] {
  ctx.loadOffset = 0;
  ctx.loaded = false;
  ctx.loadedRecords = 0;
  ctx.loadStartedMs = ctx.nowMs;
  return loadFetch(ctx, plan, requestId);
}

export function loadFetch(ctx: CoordinatorPartitionState, plan: LoadPlan, requestId: string): Effect[] {
  ctx.loadRequestId = requestId;
  const fetch: Outgoing = {
    to: plan.replica, kind: 'FetchRequest',
    body: {
      requestId, topic: plan.topic, partition: ctx.partition, replicaId: consumerReplicaId, fetchOffset: ctx.loadOffset, lastFetchedEpoch: -1,
      currentLeaderEpoch: ctx.leaderEpoch, maxBytes: plan.bufferBytes, maxWaitMs: 0, minBytes: 1, isolationLevel: 0,
    },
  };
  return [
    { type: 'send', message: fetch },
    // The answer may never come (the replica is being replaced): ask again.
    { type: 'timer.set', event: plan.retryEvent, delayMs: plan.answerTimeoutMs, jitterMs: 0 },
  ];
}

/**
 * A load read answered: applies its records (`apply` returns the records' notes) and reads on
 * until the high watermark; then `loaded` is set and the retry timer cancelled.
 */
export function loadAnswered(
  ctx: CoordinatorPartitionState, plan: LoadPlan, body: FetchResponse, nextRequestId: () => string, apply: (response: FetchResponse) => Effect[],
): Effect[] {
  if (body.requestId !== ctx.loadRequestId) return [];
  ctx.loadRequestId = '';
  if (body.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && body.logStartOffset > ctx.loadOffset) {
    ctx.loadOffset = body.logStartOffset; // the log starts later (retention): read from there
    return loadFetch(ctx, plan, nextRequestId());
  }
  if (body.errorCode !== ErrorCode.NONE) {
    // Still opening, or its high watermark has not reached this epoch yet: try again shortly.
    return [{ type: 'timer.set', event: plan.retryEvent, delayMs: plan.backoffMs, jitterMs: 0 }];
  }
  const effects = apply(body);
  if (ctx.loadOffset >= body.highWatermark) {
    ctx.loaded = true;
    return [...effects, { type: 'timer.cancel', event: plan.retryEvent }];
  }
  if (body.records.length > 0) return [...effects, ...loadFetch(ctx, plan, nextRequestId())];
  return [...effects, { type: 'timer.set', event: plan.retryEvent, delayMs: plan.backoffMs, jitterMs: 0 }];
}

// ---------------------------------------------------------------------------------------------
// The states both coordinator machines go through.

type LoadAnswer = 'notCoordinator' | 'loadInProgress';

/**
 * The state config of a coordinator machine, for `createMachine`: inactive while another node
 * leads its partition (requests hear NOT_COORDINATOR), loading while it reads the partition up
 * to the high watermark (COORDINATOR_LOAD_IN_PROGRESS), active while it serves, changing for
 * the step out of a term when leadership moves, removed once the partition is deleted. Writes
 * to the partition are answered in every state. The machine's setup names the actions and
 * guards used here; `requests` maps each request kind to the action that serves it,
 * `loadRetryEvent` is the load's timer event and `activeEvents` the transitions only the
 * active state takes.
 */
export function coordinatorStates<
  const Requests extends Record<string, string>, const RetryEvent extends string, const ActiveEvents extends object,
>(requests: Requests, loadRetryEvent: RetryEvent, activeEvents: ActiveEvents) {
  const answerAll = <const Action extends LoadAnswer>(action: Action) =>
    Object.fromEntries(Object.keys(requests).map((kind) => [kind, { actions: action }])) as { [K in keyof Requests]: { actions: Action } };
  const serveAll = Object.fromEntries(Object.entries(requests).map(([kind, action]) => [kind, { actions: action }])) as {
    [K in keyof Requests]: { actions: Requests[K] };
  };
  return {
    initial: 'inactive',
    on: {
      ProduceResponse: { actions: 'writeAnswered' },
    },
    states: {
      inactive: {
        always: [{ guard: 'removed', target: 'removed' }, { guard: 'leads', target: 'loading' }],
        on: {
          PartitionStateChange: { actions: 'partitionChanged' },
          ...answerAll('notCoordinator'),
        },
      },
      loading: {
        entry: 'startLoad',
        on: {
          PartitionStateChange: { guard: 'leadershipChanged', target: 'changing', actions: 'partitionChanged' },
          FetchResponse: { actions: 'loadAnswered' },
          ...({ [loadRetryEvent]: { actions: 'loadRetry' } } as { [K in RetryEvent]: { actions: 'loadRetry' } }),
          ...answerAll('loadInProgress'),
        },
        always: [{ guard: 'loaded', target: 'active', actions: 'loadDone' }],
      },
      active: {
        on: {
          PartitionStateChange: { guard: 'leadershipChanged', target: 'changing', actions: 'partitionChanged' },
          ...activeEvents,
          ...serveAll,
        },
      },
      /** A change of leadership: leave the current term, then go where the new state says. */
      changing: {
        always: [{ guard: 'removed', target: 'removed' }, { guard: 'leads', target: 'loading', reenter: true }, { target: 'inactive' }],
      },
      removed: {
        entry: 'stopActor',
      },
    },
  } as const;
}
