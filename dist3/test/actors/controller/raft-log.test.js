import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactThrough, entriesAfter, isUpToDate, lastIndex, lastTerm, termAt, truncateFrom } from '../../../actors/controller/raft-log.js';
function entry(index, term) {
    return { index, term, records: [{ leaderChange: { leaderId: 1, term } }] };
}
test('a log with a snapshot answers terms and ranges across the snapshot boundary', () => {
    const log = { snapshotIndex: 3, snapshotTerm: 1, entries: [entry(4, 2), entry(5, 2), entry(6, 3)] };
    assert.equal(lastIndex(log), 6);
    assert.equal(lastTerm(log), 3);
    assert.equal(termAt(log, 3), 1);
    assert.equal(termAt(log, 2), undefined);
    assert.equal(termAt(log, 7), undefined);
    assert.deepEqual(entriesAfter(log, 3, 2).map((e) => e.index), [4, 5]);
    assert.deepEqual(entriesAfter(log, 4, 10, 5).map((e) => e.index), [5]);
    assert.ok(isUpToDate(log, 1, 4));
    assert.ok(isUpToDate(log, 6, 3));
    assert.ok(!isUpToDate(log, 7, 2));
    truncateFrom(log, 5);
    assert.equal(lastIndex(log), 4);
    assert.throws(() => truncateFrom(log, 3), /into the snapshot/);
    compactThrough(log, 4, 2);
    assert.deepEqual([log.snapshotIndex, log.snapshotTerm, log.entries.length], [4, 2, 0]);
});
//# sourceMappingURL=raft-log.test.js.map