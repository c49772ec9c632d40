// The replication floor of `npm run bench -- floor`: logmesh R3's data path with nothing of
// logmesh in it. A producer sends 64 KiB batches over TCP to a leader process; two follower
// processes pull them over nats-server (a fetch carries the follower's log end and durable
// end, as logmesh's do); every process writes each batch to its file and fdatasyncs it; the
// leader acknowledges a batch once it and both followers have it on disk. No actors, no Kafka
// codec, no protobuf envelopes, no record validation: what is left is what the design pays on
// this machine (process hand-offs, NATS hops, writes and fsyncs), so a figure below it is out
// of reach for any implementation of the design here.
import { mkdirSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sender } from './bench-load.js';
import { BenchBatches, recordsPerBatch } from './bench-logmesh.js';
import { type BenchChild, assertPortFree, startBenchChild, stopBenchChildren, tcpAccepts, waitFor } from './bench-processes.js';
import { findNatsServer } from './dev.js';
import { nodeV8Flags } from './node-flags.js';

const nodePath = resolve(dirname(fileURLToPath(import.meta.url)), 'bench-floor-node.js');
/** A follower's answer carries at most this much (logmesh's replica.fetch.max.bytes). */
export const floorFetchBytesMax = 1024 * 1024;
/** The client's frames: u32 length of what follows, u32 request id, then the batch. An ack is the same with no batch. */
export const floorFrameHeaderBytes = 8;
const startupTimeoutMs = 20_000;

export interface FloorOptions {
  dataDir: string;
  natsPort: number;
  leaderPort: number;
  /** fdatasync before a batch counts (false: page cache only, to show what the syncs cost). */
  sync: boolean;
}

/**
 * The leader's bookkeeping, kept apart from its sockets so that it can be tested: the batches
 * followers may still fetch, each replica's durable end, and which acknowledgements are due.
 */
export class FloorLeaderLog {
  /** Bytes appended so far: the log's end. */
  end = 0;
  /** The leader's own durable end. */
  durable = 0;
  private readonly followerDurable: number[];
  private readonly batches: Array<{ start: number; bytes: Uint8Array }> = [];
  private readonly waiting: Array<{ end: number; ack: () => void }> = [];

  constructor(followers: number) {
    this.followerDurable = new Array<number>(followers).fill(0);
  }

  append(bytes: Uint8Array, ack: () => void): void {
    this.batches.push({ start: this.end, bytes });
    this.end += bytes.length;
    this.waiting.push({ end: this.end, ack });
  }

  /** The end every replica has on disk; batches below it are acknowledged and no longer kept. */
  get committed(): number {
    return Math.min(this.durable, ...this.followerDurable);
  }

  /** Records a replica's durable end (the leader's when `follower` is null) and acknowledges what it commits. */
  noteDurable(follower: number | null, offset: number): void {
    if (follower === null) this.durable = Math.max(this.durable, offset);
    else this.followerDurable[follower] = Math.max(this.followerDurable[follower]!, offset);
    const committed = this.committed;
    while (this.waiting.length > 0 && this.waiting[0]!.end <= committed) this.waiting.shift()!.ack();
    // A follower fetches from at least its durable end, so nothing below the lowest one is read again.
    const lowest = Math.min(...this.followerDurable);
    while (this.batches.length > 0 && this.batches[0]!.start + this.batches[0]!.bytes.length <= lowest) this.batches.shift();
  }

  /** The bytes from `offset` on, whole batches up to `maxBytes` (at least one), or null when there are none yet. */
  readFrom(offset: number, maxBytes: number): { start: number; parts: Uint8Array[] } | null {
    const first = this.batches.findIndex((batch) => batch.start + batch.bytes.length > offset);
    if (first < 0) return null;
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let i = first; i < this.batches.length && (parts.length === 0 || size + this.batches[i]!.bytes.length <= maxBytes); i++) {
      parts.push(this.batches[i]!.bytes);
      size += this.batches[i]!.bytes.length;
    }
    return { start: this.batches[first]!.start, parts };
  }
}

/** Splits a byte stream into the client frames it holds; keeps a partial frame for the next chunk. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (id: number, body: Buffer) => void): void {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (data.length >= floorFrameHeaderBytes) {
      const length = data.readUInt32LE(0);
      if (data.length < 4 + length) break;
      onFrame(data.readUInt32LE(4), data.subarray(floorFrameHeaderBytes, 4 + length));
      data = data.subarray(4 + length);
    }
    this.pending = data;
  }
}

export function floorFrame(id: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(floorFrameHeaderBytes + body.length);
  frame.writeUInt32LE(4 + body.length, 0);
  frame.writeUInt32LE(id, 4);
  frame.set(body, floorFrameHeaderBytes);
  return frame;
}

class FloorSender implements Sender {
  readonly messagesPerSendMax: number;
  /** The same bytes as logmesh's producer sends. */
  private readonly batches: BenchBatches;
  private readonly acks = new Map<number, () => void>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(private readonly socket: Socket, recordBytes: number, readonly inFlightMax: number) {
    this.messagesPerSendMax = recordsPerBatch(recordBytes);
    this.batches = new BenchBatches(recordBytes, false);
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => frames.push(chunk, (id) => {
      const ack = this.acks.get(id);
      this.acks.delete(id);
      ack?.();
    }));
    socket.on('error', (error) => { this.failure = error; });
    socket.on('close', () => {
      this.failure ??= new Error('the floor leader closed the connection');
      for (const ack of this.acks.values()) ack();
      this.acks.clear();
    });
  }

  async send(intendedMs: readonly number[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const id = this.nextId++;
    const acked = new Promise<void>((resolveAck) => this.acks.set(id, resolveAck));
    this.socket.write(floorFrame(id, this.batches.batchFor(intendedMs)));
    await acked;
    if (this.failure !== null) throw this.failure;
  }
}

export class FloorSystem {
  private readonly sockets: Socket[] = [];

  private constructor(readonly options: FloorOptions, private readonly children: BenchChild[]) {}

  get description(): string {
    return `the replication floor: a leader and 2 follower node processes + nats-server, no actors or Kafka codec, ${this.options.sync ? 'fdatasync before ack' : 'no fsync'}`;
  }

  static async start(options: FloorOptions): Promise<FloorSystem> {
    const nats = findNatsServer();
    if (nats === null) throw new Error('nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER');
    await assertPortFree(options.natsPort);
    await assertPortFree(options.leaderPort);
    rmSync(options.dataDir, { recursive: true, force: true });
    mkdirSync(options.dataDir, { recursive: true });
    const children: BenchChild[] = [];
    const common = ['--nats-port', String(options.natsPort), '--dir', options.dataDir, '--sync', options.sync ? '1' : '0'];
    try {
      children.push(startBenchChild('nats (floor)', nats, ['-a', '127.0.0.1', '-p', String(options.natsPort)]));
      await waitFor(`nats-server on 127.0.0.1:${options.natsPort}`, 10_000, children, async () => ((await tcpAccepts(options.natsPort)) ? true : undefined));
      children.push(startBenchChild('floor leader', process.execPath, [...nodeV8Flags, nodePath, 'leader', ...common, '--port', String(options.leaderPort)]));
      for (const id of [0, 1]) children.push(startBenchChild(`floor follower ${id}`, process.execPath, [...nodeV8Flags, nodePath, 'follower', ...common, '--id', String(id)]));
      // The leader listens only once both followers have fetched.
      await waitFor(`the floor leader on 127.0.0.1:${options.leaderPort}`, startupTimeoutMs, children, async () => ((await tcpAccepts(options.leaderPort)) ? true : undefined));
      return new FloorSystem(options, children);
    } catch (error) {
      await stopBenchChildren(children);
      throw error;
    }
  }

  async sender(recordBytes: number, inFlightBatches: number): Promise<Sender> {
    const socket = tcpConnect({ host: '127.0.0.1', port: this.options.leaderPort });
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', resolveConnect);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    this.sockets.push(socket);
    return new FloorSender(socket, recordBytes, inFlightBatches);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await stopBenchChildren(this.children);
    rmSync(this.options.dataDir, { recursive: true, force: true });
  }
}

export const floorDataDir = (base: string, sync: boolean): string => join(base, sync ? 'floor-sync' : 'floor-nosync');
