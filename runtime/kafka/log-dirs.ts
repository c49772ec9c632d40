// DescribeLogDirs (API 35) for one node: its log directory (log.dirs) and the partition logs
// open in it, as Kafka's ReplicaManager.describeLogDirs reports them (size on disk, offset lag
// max(high watermark - log end, 0), never a future replica), plus logmesh's cleaner fields for
// compacted logs, carried in tagged fields that other clients skip (messages/describe-log-dirs.ts).
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LogStatus } from '../storage/node-storage.js';
import type { ResponseInput } from './protocol/index.js';

/** Where the node's logs live and what they are now (NodeStorage.logStatuses). */
export interface LogDirsSource {
  logDir: string;
  logs(): LogStatus[];
}

type LogDirResult = NonNullable<ResponseInput<35>['results']>[number];
type LogDirTopic = NonNullable<LogDirResult['topics']>[number];
type LogDirPartition = NonNullable<LogDirTopic['partitions']>[number];

/** What a request asks for: null for every partition, else the partitions of each topic named. */
export type LogDirsFilter = ReadonlyMap<string, ReadonlySet<number>> | null;

export function logDirsFilterOf(topics: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null): LogDirsFilter {
  if (topics === null) return null;
  const filter = new Map<string, Set<number>>();
  for (const { topic, partitions } of topics) {
    const wanted = filter.get(topic) ?? new Set<number>();
    for (const partition of partitions) wanted.add(partition);
    filter.set(topic, wanted);
  }
  return filter;
}

/** A store is the partition actor's id, `<topic>-<partition>`; topic names may hold '-'. */
export function topicPartitionOfStore(store: string): { topic: string; partition: number } {
  const cut = store.lastIndexOf('-');
  return { topic: store.slice(0, cut), partition: Number(store.slice(cut + 1)) };
}

/**
 * The topics of one log directory's result, by name, partitions in order. `highWatermarkOf`
 * gives a replica's high watermark (null when its actor is gone: the lag is then 0).
 */
export function logDirTopics(logs: readonly LogStatus[], filter: LogDirsFilter, highWatermarkOf: (store: string) => number | null): LogDirTopic[] {
  const byTopic = new Map<string, LogDirPartition[]>();
  for (const log of logs) {
    const { topic, partition } = topicPartitionOfStore(log.store);
    if (filter !== null && filter.get(topic)?.has(partition) !== true) continue;
    const highWatermark = highWatermarkOf(log.store) ?? log.logEndOffset;
    const partitions = byTopic.get(topic) ?? [];
    partitions.push({
      partitionIndex: partition, partitionSize: log.sizeBytes, offsetLag: Math.max(highWatermark - log.logEndOffset, 0), isFutureKey: false,
      logmeshDirtyRatio: log.compacted ? log.cleaner.dirtyRatio : -1, logmeshCleanerLagMs: log.compacted ? log.cleaner.cleanerLagMs : -1,
    });
    byTopic.set(topic, partitions);
  }
  return [...byTopic.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex! - b.partitionIndex!) }));
}

/** The node's one log directory, with its file system's total and usable bytes (-1 when they cannot be read). */
export async function describeLogDir(source: LogDirsSource, filter: LogDirsFilter, highWatermarkOf: (store: string) => number | null): Promise<LogDirResult> {
  const logDir = resolve(source.logDir);
  let totalBytes = -1;
  let usableBytes = -1;
  try {
    const space = await statfs(logDir);
    totalBytes = space.blocks * space.bsize;
    usableBytes = space.bavail * space.bsize;
  } catch {
    // Kafka's defaults for "unknown" (the fields are v4's and ignorable).
  }
  return { errorCode: 0, logDir, topics: logDirTopics(source.logs(), filter, highWatermarkOf), totalBytes, usableBytes };
}
