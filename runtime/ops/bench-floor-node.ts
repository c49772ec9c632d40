// A process of the replication floor (bench-floor.ts): `leader` or `follower`.
//   node bench-floor-node.js leader --nats-port P --dir D --sync 1 --port K
//   node bench-floor-node.js follower --nats-port P --dir D --sync 1 --id 0|1
// The leader takes batches from the producer's TCP connection, writes them and answers the
// followers' parked fetches at once; a follower writes what it gets, syncs it, and fetches
// again from its new end (which tells the leader its durable end), as logmesh's do.
import { fdatasync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { FloorLeaderLog, FrameReader, floorFetchBytesMax, floorFrame } from './bench-floor.js';

const followers = 2;
const leaderSubject = 'floor.leader';
const followerSubject = (id: number): string => `floor.follower.${id}`;
/** A fetch: u8 follower id, f64 log end, f64 durable end. An answer: f64 start offset, then the bytes. */
const fetchBytes = 17;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'nats-port': { type: 'string' }, dir: { type: 'string' }, sync: { type: 'string' }, port: { type: 'string' }, id: { type: 'string' } },
});
const role = positionals[0];
const dir = values.dir ?? '.';
const sync = values.sync !== '0';

function fail(message: string): never {
  process.stderr.write(`bench-floor-node: ${message}\n`);
  process.exit(1);
}

/** One file, appended with synchronous writes (as logmesh's segments are) and synced with one fdatasync at a time. */
class FloorFile {
  end = 0;
  durable = 0;
  private syncing = false;
  private readonly fd: number;

  constructor(path: string, private readonly onDurable: (end: number) => void) {
    this.fd = openSync(path, 'w+');
  }

  append(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.end + done);
    this.end += bytes.length;
  }

  /** Syncs what is written; a call during a sync is served by the next one, which starts when it ends. */
  sync(): void {
    if (this.syncing || this.durable >= this.end) return;
    this.syncing = true;
    const target = this.end;
    const done = (error: NodeJS.ErrnoException | null): void => {
      if (error !== null) fail(`fdatasync of ${dir}: ${error.message}`);
      this.syncing = false;
      this.durable = target;
      this.onDurable(target);
      this.sync();
    };
    if (sync) fdatasync(this.fd, done);
    else setImmediate(() => done(null));
  }
}

async function leader(): Promise<void> {
  const nats = await connect({ servers: `127.0.0.1:${values['nats-port']}` });
  const log = new FloorLeaderLog(followers);
  const file = new FloorFile(join(dir, 'leader.log'), (end) => log.noteDurable(null, end));
  const parked: Array<number | null> = new Array<number | null>(followers).fill(null);
  const fetched = new Set<number>();
  const answer = (follower: number, offset: number): boolean => {
    const read = log.readFrom(offset, floorFetchBytesMax);
    if (read === null) return false;
    const head = Buffer.allocUnsafe(8);
    head.writeDoubleLE(read.start, 0);
    nats.publish(followerSubject(follower), Buffer.concat([head, ...read.parts]));
    return true;
  };
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => frames.push(chunk, (id, body) => {
      // The socket's buffer is reused for the next read: the batch is kept for the followers.
      const bytes = Buffer.from(body);
      file.append(bytes);
      log.append(bytes, () => socket.write(floorFrame(id)));
      for (let f = 0; f < followers; f++) {
        const offset = parked[f];
        if (offset !== null && offset !== undefined && answer(f, offset)) parked[f] = null;
      }
      file.sync();
    }));
    socket.on('error', () => socket.destroy());
  });
  nats.subscribe(leaderSubject, {
    callback: (error, message) => {
      if (error !== null || message.data.length !== fetchBytes) return;
      const view = new DataView(message.data.buffer, message.data.byteOffset, fetchBytes);
      const follower = view.getUint8(0);
      if (follower >= followers) return;
      log.noteDurable(follower, view.getFloat64(9, true));
      const offset = view.getFloat64(1, true);
      if (!answer(follower, offset)) parked[follower] = offset;
      if (!fetched.has(follower)) {
        fetched.add(follower);
        if (fetched.size === followers) server.listen(Number(values.port), '127.0.0.1');
      }
    },
  });
  await nats.flush();
}

async function follower(): Promise<void> {
  const id = Number(values.id);
  if (!(id >= 0 && id < followers)) fail(`--id must be 0..${followers - 1}`);
  const nats = await connect({ servers: `127.0.0.1:${values['nats-port']}` });
  const fetchFrom = (end: number, durable: number): void => {
    const request = Buffer.allocUnsafe(fetchBytes);
    request.writeUInt8(id, 0);
    request.writeDoubleLE(end, 1);
    request.writeDoubleLE(durable, 9);
    nats.publish(leaderSubject, request);
  };
  // The next fetch goes once the answer is on disk: its offset tells the leader so.
  const file = new FloorFile(join(dir, `follower-${id}.log`), (end) => fetchFrom(file.end, end));
  nats.subscribe(followerSubject(id), {
    callback: (error, message) => {
      if (error !== null || message.data.length < 8) return;
      const start = new DataView(message.data.buffer, message.data.byteOffset, 8).getFloat64(0, true);
      const skip = file.end - start;
      if (skip < 0) fail(`an answer from ${start} leaves a gap after ${file.end}`);
      if (8 + skip < message.data.length) file.append(message.data.subarray(8 + skip));
      file.sync();
    },
  });
  await nats.flush();
  // Until the leader has heard from both followers it does not listen; repeat the first fetch
  // in case it went before the leader subscribed.
  const hello = setInterval(() => { if (file.end === 0) fetchFrom(0, 0); }, 200);
  hello.unref();
  fetchFrom(0, 0);
}

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
if (role === 'leader') await leader();
else if (role === 'follower') await follower();
else fail(`unknown role "${role ?? ''}" (leader or follower)`);
