// Latency measurement for the side-by-side benchmark (`npm run bench -- kafka`): an HDR
// histogram of microseconds, and the open-loop schedule that corrects for coordinated
// omission. Pure: no sockets, no timers, so the tests can drive it with made-up times.
//
// Coordinated omission: a closed-loop load generator that waits for an answer before it
// sends the next request sends less while the server stalls, and so never records the
// requests a real client would have sent during the stall. Here messages are due at fixed
// intended times (message i at start + i / rate), whether or not the producer can send them
// then, and each message's latency is measured from its intended time, not from when it left.
import { build } from 'hdr-histogram-js';

/** Latencies above this are recorded as this (two minutes): far beyond any case's length. */
export const latencyMicrosMax = 120_000_000;
/** Three significant digits: 0.1% resolution at every magnitude. */
const significantDigits = 3;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** An HDR histogram of latencies in microseconds (hdr-histogram-js, plain JS). */
export class LatencyHistogram {
  private readonly histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: latencyMicrosMax,
    numberOfSignificantValueDigits: significantDigits,
    autoResize: false,
    useWebAssembly: false,
  });

  /** Records one latency given in milliseconds (fractions kept to the microsecond). */
  recordMs(latencyMs: number): void {
    const micros = Math.round(latencyMs * 1000);
    this.histogram.recordValue(Math.min(latencyMicrosMax, Math.max(0, micros)));
  }

  /** Records the latency of a message that was due at `intendedMs` and completed at `completedMs`. */
  recordSince(intendedMs: number, completedMs: number): void {
    this.recordMs(completedMs - intendedMs);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const ms = (micros: number): number => Number((micros / 1000).toFixed(3));
    return {
      count: this.histogram.totalCount,
      p50Ms: ms(this.histogram.getValueAtPercentile(50)),
      p99Ms: ms(this.histogram.getValueAtPercentile(99)),
      p999Ms: ms(this.histogram.getValueAtPercentile(99.9)),
      maxMs: ms(this.histogram.maxValue),
    };
  }
}

/** The fixed-rate schedule of an open-loop run: message i is due at startMs + i * 1000 / ratePerSecond. */
export class OpenLoopSchedule {
  private issued = 0;

  constructor(readonly startMs: number, readonly ratePerSecond: number, readonly durationMs: number) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive finite number, got ${ratePerSecond}`);
  }

  /** How many messages are due by `nowMs` in all (never more than the run's length holds). */
  dueBy(nowMs: number): number {
    const elapsedMs = Math.min(nowMs, this.startMs + this.durationMs) - this.startMs;
    if (elapsedMs < 0) return 0;
    return Math.floor((elapsedMs * this.ratePerSecond) / 1000) + 1;
  }

  intendedMs(index: number): number {
    return this.startMs + (index * 1000) / this.ratePerSecond;
  }

  /** The intended times of the messages that fell due since the last call (in order). */
  takeDue(nowMs: number): number[] {
    const due = Math.min(this.dueBy(nowMs), this.total);
    const times: number[] = [];
    for (; this.issued < due; this.issued++) times.push(this.intendedMs(this.issued));
    return times;
  }

  /** The number of messages in the whole run. */
  get total(): number {
    return Math.floor((this.durationMs * this.ratePerSecond) / 1000);
  }

  get done(): boolean {
    return this.issued >= this.total;
  }
}
