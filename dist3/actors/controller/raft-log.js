export function lastIndex(log) {
    return log.snapshotIndex + log.entries.length;
}
export function lastTerm(log) {
    return log.entries.length === 0 ? log.snapshotTerm : log.entries[log.entries.length - 1].term;
}
/** The term of the entry at `index`, or undefined when the log does not hold it. */
export function termAt(log, index) {
    if (index === log.snapshotIndex)
        return log.snapshotTerm;
    if (index < log.snapshotIndex || index > lastIndex(log))
        return undefined;
    return log.entries[index - log.snapshotIndex - 1].term;
}
export function entryAt(log, index) {
    if (index <= log.snapshotIndex || index > lastIndex(log))
        return undefined;
    return log.entries[index - log.snapshotIndex - 1];
}
/** Entries in (afterIndex, afterIndex + countMax], limited to what the log holds. */
export function entriesAfter(log, afterIndex, countMax, uptoIndex = lastIndex(log)) {
    const start = afterIndex - log.snapshotIndex;
    const end = Math.min(uptoIndex - log.snapshotIndex, start + countMax);
    return start < 0 || end <= start ? [] : log.entries.slice(start, end);
}
/** Drops every entry with index >= fromIndex. */
export function truncateFrom(log, fromIndex) {
    if (fromIndex <= log.snapshotIndex)
        throw new Error(`cannot truncate into the snapshot (${fromIndex} <= ${log.snapshotIndex})`);
    log.entries.length = Math.max(0, fromIndex - log.snapshotIndex - 1);
}
/** Raft's election restriction: is a candidate's log at least as up to date as ours? */
export function isUpToDate(log, candidateLastIndex, candidateLastTerm) {
    const ourTerm = lastTerm(log);
    return candidateLastTerm > ourTerm || (candidateLastTerm === ourTerm && candidateLastIndex >= lastIndex(log));
}
/** Drops entries up to and including `index` once a snapshot covers them. */
export function compactThrough(log, index, term) {
    const keep = index < lastIndex(log) && termAt(log, index) === term;
    log.entries = keep ? log.entries.slice(index - log.snapshotIndex) : [];
    log.snapshotIndex = index;
    log.snapshotTerm = term;
}
//# sourceMappingURL=raft-log.js.map