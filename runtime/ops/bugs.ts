// Test-only protocol bugs, by name, to show that the simulator's checkers catch them.
// Reachable only through the hidden `--bug` flag of `logmesh sim` and the tests.
import type { SimBugs } from '../../sim/cluster.js';

export const bugSwitches: Record<string, SimBugs> = {
  'vote-without-log-check': { controller: { grantVoteWithoutLogCheck: true }, broker: {} },
  'vote-twice': { controller: { voteTwiceInTerm: true }, broker: {} },
  'skip-prev-log-check': { controller: { skipPrevLogCheck: true }, broker: {} },
  'commit-without-quorum': { controller: { commitWithoutQuorum: true }, broker: {} },
  'broker-skips-records': { controller: {}, broker: { skipLastFetchedEntry: true } },
  /** Followers fetch on before their fsync, from their log ends: acknowledged writes live in page caches (run with --faults power-loss,slow-disk). */
  'follower-fetches-before-fsync': { controller: {}, broker: { partition: { fetchBeforeFsync: true } } },
  /** Leaders count followers' log ends, synced or not, toward the high watermark (run with --faults power-loss,slow-disk). */
  'hw-counts-unsynced-follower-end': { controller: {}, broker: { partition: { countUnsyncedFollowerEnd: true } } },
  /** The group coordinator ignores committed offsets when it loads after a failover (run with --workload groups). */
  'forget-offsets-on-load': { controller: {}, broker: { group: { forgetOffsetsOnLoad: true } } },
  // The transaction coordinator (run with --workload transactions).
  /** AddPartitionsToTxn and EndTxn accept a fenced epoch of the current producer id: zombies get through. */
  'txn-skips-epoch-check': { controller: {}, broker: {}, txn: { skipEpochCheck: true } },
  /** Aborts are marked as commits at the partitions: aborted records and offsets become visible. */
  'txn-marks-aborts-as-commits': { controller: {}, broker: {}, txn: { markAbortsAsCommits: true } },
  // The simulated disks' log cleaner (run with --workload compaction).
  /** Keeps the first record of each key instead of the last. */
  'cleaner-keeps-first-value': { controller: {}, broker: {}, cleaner: { keepFirstValue: true } },
  /** Closes the gaps a pass leaves by moving batches down: offsets change. */
  'cleaner-renumbers-offsets': { controller: {}, broker: {}, cleaner: { renumberOffsets: true } },
  /** Puts the cleaned batches in front of the old ones for the length of a pass: readers see both. */
  'cleaner-swap-not-atomic': { controller: {}, broker: {}, cleaner: { nonAtomicSwap: true } },
  /** Cleans uncommitted records too: a truncation then leaves a key without its acknowledged value. */
  'cleaner-ignores-high-watermark': { controller: {}, broker: {}, cleaner: { ignoreHighWatermark: true } },
  /** Removes expired tombstones whatever the replicas fetched, as Kafka does: a replica that was away keeps a deleted value. */
  'cleaner-ignores-tombstone-horizon': { controller: {}, broker: {}, cleaner: { ignoreTombstoneHorizon: true } },
  // The same cleaner on the transactions workload's internal topics.
  /** Removes commit markers whatever data of their transaction is left: a replay leaves that transaction open. */
  'cleaner-drops-markers-early': { controller: {}, broker: {}, cleaner: { dropMarkersEarly: true } },
  /** Treats aborted data as committed: aborted offset commits stay, and supersede committed ones. */
  'cleaner-keeps-aborted-as-committed': { controller: {}, broker: {}, cleaner: { keepAbortedAsCommitted: true } },
  /** Read_committed answers list aborted transactions whose data and abort marker the cleaner removed: consumers drop that producer's later committed records. */
  'fetch-lists-cleaned-aborts': { controller: {}, broker: { partition: { listAbortedWithoutData: true } } },
};
