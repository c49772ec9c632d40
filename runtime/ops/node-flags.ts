// The V8 settings a logmesh node process runs with, as Kafka's launcher gives the JVM its heap
// settings. Every place that starts a node process (`logmesh dev`, the benches, the chaos
// runner) passes them; the `logmesh` command's first line passes them too (`env -S`), and
// `npm start` names them in package.json.
//
// --initial-old-space-size: V8 schedules a full collection when the JavaScript heap plus the
// memory held by buffers has grown by a factor since the last one. A node's heap is small
// (17-18 MB) while record bytes stream through buffers, so with the default start the limit
// stays a few tens of MB above what is live, and a consumer reading 1 MiB fetches from the
// files made the node run a mark-compact several times a second (26-36 in a run of a few
// seconds, 15-40 ms each plus incremental marking, each freeing almost nothing of the heap).
// Starting at 128 MB: 4-5 in the same runs, and the consume rate's median went from about 65
// to about 150 MB/s (docs/benchmarks.md, "Garbage collection of a node"). The dead buffers
// between collections are what a node's resident memory gains; the memory bench checks that
// a node with 1,000 partitions still stays under its aim.
//
// --max-semi-space-size=32 (MB): objects that live a few hundred milliseconds (requests in
// flight, their promises and timers, recent tail-cache entries) outlive one scavenge of the
// default young generation and are promoted, to be copied on the way and collected later by a
// full collection. A one-node produce at 5,000 msgs/s (three 4 s runs, `--trace-gc-nvp`):
// 25-26 MB promoted and 203-235 ms of scavenge pauses by default, 16.5-16.7 MB and 164-170 ms
// with 32 (docs/benchmarks.md, eighth session). The memory bench's peak with 1,000 partitions
// rose from 345-362 to 363-379 MiB.
export const nodeV8Flags: readonly string[] = ['--initial-old-space-size=128', '--max-semi-space-size=32'];
