// The load generator shared by both systems of `npm run bench -- kafka`: a Sender (a Kafka
// producer over the raw client, or JetStream async publishes) is driven either as fast as it
// goes with a fixed number of sends in flight (throughput), or open loop at a fixed rate with
// every message's latency taken from its intended send time (bench-latency.ts).
import { LatencyHistogram, type LatencySummary, OpenLoopSchedule } from './bench-latency.js';

/** One system measured (logmesh or JetStream, with its replicas), started by the bench and stopped by it. */
export interface SystemUnderTest {
  readonly description: string;
  /** Creates a log (a topic of one partition, or a stream) and returns once produces can go. */
  createLog(name: string): Promise<void>;
  /**
   * A producer of `recordBytes` records with `inFlightBatches` batches' worth outstanding
   * (Kafka: that many Produce requests of one 64 KiB batch; JetStream: as many unacknowledged
   * publishes as those batches hold records). With `stampTimes` each value starts with its
   * intended send time (a float64, little-endian, performance.now() of this process).
   */
  sender(log: string, recordBytes: number, inFlightBatches: number, stampTimes: boolean): Promise<Sender>;
  /** Reads the log from its beginning to the end it had when the read started, for at most `timeMs`. */
  consumeAll(log: string, timeMs: number): Promise<ConsumeResult>;
  /**
   * Starts a consumer that records, for each of `expected` records, now minus the intended
   * send time stamped in its value; the returned function waits for the last one (at most
   * `graceMs`) and gives the failure, if any.
   */
  tail(log: string, latency: LatencyHistogram, expected: number): Promise<(graceMs: number) => Promise<string | null>>;
  stop(): Promise<void>;
}

export interface ConsumeResult {
  messages: number;
  ms: number;
  failure: string | null;
}

export interface Sender {
  /** Sends that may be outstanding at once (Kafka: requests in flight; JetStream: the window of unacknowledged publishes). */
  readonly inFlightMax: number;
  /** Messages one send may carry (Kafka: a 64 KiB batch; JetStream: 1). */
  readonly messagesPerSendMax: number;
  /** Sends one message per intended time (their values may carry the time); resolves once acknowledged. */
  send(intendedMs: readonly number[]): Promise<void>;
}

/** How long a run waits for its last acknowledgements after it stops sending. */
export const drainMs = 15_000;
/** The open-loop generator's tick: messages due are handed to the sender this often. */
const tickMs = 1;

export interface ThroughputResult {
  messagesPerSecond: number;
  /** Set when a send failed: the run stopped there. */
  failure: string | null;
}

/**
 * Keeps `inFlightMax` full sends outstanding for `durationMs`; counts the messages
 * acknowledged after the first `warmupMs`.
 */
export async function produceMax(sender: Sender, durationMs: number, warmupMs: number): Promise<ThroughputResult> {
  const startMs = performance.now();
  const measureFromMs = startMs + warmupMs;
  const endMs = startMs + durationMs;
  let counted = 0;
  let failure: string | null = null;
  const lane = async (): Promise<void> => {
    const batch = new Array<number>(sender.messagesPerSendMax);
    while (failure === null && performance.now() < endMs) {
      batch.fill(performance.now());
      try {
        await sender.send(batch);
      } catch (error) {
        failure ??= (error as Error).message;
        return;
      }
      const now = performance.now();
      if (now >= measureFromMs && now <= endMs) counted += batch.length;
    }
  };
  await Promise.all(Array.from({ length: sender.inFlightMax }, lane));
  return { messagesPerSecond: Math.round(counted / ((durationMs - warmupMs) / 1000)), failure };
}

export interface OpenLoopResult {
  ratePerSecond: number;
  /** Produce-to-acknowledgement, from each message's intended send time. */
  ack: LatencySummary;
  sent: number;
  acknowledged: number;
  failure: string | null;
}

/**
 * Open loop: messages fall due at `ratePerSecond` for `durationMs`; whatever is due goes out
 * as soon as a send is free, up to messagesPerSendMax per send (a producer with linger 0: a
 * batch is whatever waited while the sends in flight were busy).
 */
export async function produceOpenLoop(sender: Sender, ratePerSecond: number, durationMs: number): Promise<OpenLoopResult> {
  const ack = new LatencyHistogram();
  const schedule = new OpenLoopSchedule(performance.now(), ratePerSecond, durationMs);
  const pending: number[] = [];
  let pendingHead = 0;
  let inFlight = 0;
  let sent = 0;
  let failure: string | null = null;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolveDone) => { finished = resolveDone; });
  const checkDone = (): void => {
    if (failure !== null || (schedule.done && pendingHead === pending.length && inFlight === 0)) finished();
  };
  const pump = (): void => {
    while (failure === null && inFlight < sender.inFlightMax && pendingHead < pending.length) {
      const count = Math.min(sender.messagesPerSendMax, pending.length - pendingHead);
      const batch = pending.slice(pendingHead, pendingHead + count);
      pendingHead += count;
      if (pendingHead > 65_536 && pendingHead * 2 > pending.length) {
        pending.splice(0, pendingHead);
        pendingHead = 0;
      }
      inFlight += 1;
      sent += count;
      sender.send(batch).then(() => {
        const now = performance.now();
        for (const intended of batch) ack.recordSince(intended, now);
        inFlight -= 1;
        pump();
        checkDone();
      }, (error: Error) => {
        inFlight -= 1;
        failure ??= error.message;
        checkDone();
      });
    }
  };
  const tick = (): void => {
    if (failure !== null) return;
    for (const intended of schedule.takeDue(performance.now())) pending.push(intended);
    pump();
    if (!schedule.done) setTimeout(tick, tickMs);
    else checkDone();
  };
  tick();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolveTimeout) => { timer = setTimeout(resolveTimeout, durationMs + drainMs); });
  await Promise.race([allDone, timedOut]);
  clearTimeout(timer);
  const acknowledged = ack.count;
  if (failure === null && acknowledged < schedule.total) {
    failure = `${schedule.total - acknowledged} of ${schedule.total} messages not acknowledged within ${drainMs / 1000} s after the run (${pending.length - pendingHead} never sent, ${inFlight} sends in flight)`;
  }
  return { ratePerSecond, ack: ack.summary(), sent, acknowledged, failure };
}
