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
export const nodeV8Flags: readonly string[] = ['--initial-old-space-size=128'];
