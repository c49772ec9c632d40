// The simulator's single event queue, ordered by (virtual time, sequence number), and the
// virtual clock that reads it. A seed plus this order fully determine a run.
import type { Clock, TimerHandle } from '../runtime/kernel/ports.js';

interface ScheduledEvent {
  time: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export class Scheduler {
  private heap: ScheduledEvent[] = [];
  private seq = 0;
  private nowMs = 0;
  eventsRun = 0;

  get now(): number {
    return this.nowMs;
  }

  get pending(): number {
    return this.heap.length;
  }

  at(time: number, run: () => void): ScheduledEvent {
    if (time < this.nowMs) time = this.nowMs;
    const event: ScheduledEvent = { time, seq: this.seq++, run, cancelled: false };
    this.push(event);
    return event;
  }

  after(delayMs: number, run: () => void): ScheduledEvent {
    return this.at(this.nowMs + Math.max(0, delayMs), run);
  }

  cancel(event: ScheduledEvent): void {
    event.cancelled = true;
  }

  /** Runs events in order until the queue is empty or the next one is after `untilMs`. */
  runUntil(untilMs: number, shouldStop: () => boolean = () => false): void {
    while (this.heap.length > 0 && this.heap[0]!.time <= untilMs) {
      const event = this.pop()!;
      if (event.cancelled) continue;
      this.nowMs = event.time;
      this.eventsRun += 1;
      event.run();
      if (shouldStop()) return;
    }
    if (untilMs > this.nowMs) this.nowMs = untilMs;
  }

  clock(): Clock {
    return {
      now: () => this.nowMs,
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => this.after(delayMs, fn),
      clearTimeout: (handle: TimerHandle) => this.cancel(handle as ScheduledEvent),
    };
  }

  /**
   * A clock whose timers fire through `gate`: on a paused node they fire late, at resume. A
   * timer cleared after it fired but before its deferred run does not run.
   */
  gatedClock(gate: PauseGate): Clock {
    return {
      now: () => this.nowMs,
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
        const timer = { event: null as ScheduledEvent | null, cleared: false };
        timer.event = this.after(delayMs, () => gate.run(() => {
          if (!timer.cleared) fn();
        }));
        return timer;
      },
      clearTimeout: (handle: TimerHandle) => {
        const timer = handle as { event: ScheduledEvent; cleared: boolean };
        timer.cleared = true;
        this.cancel(timer.event);
      },
    };
  }

  private before(a: ScheduledEvent, b: ScheduledEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(event: ScheduledEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): ScheduledEvent | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * What stands between a simulated node and everything that wakes it (messages, timers, disk
 * completions): while paused, as under SIGSTOP or a long GC pause, each of them waits, and at
 * resume they run in the order they arrived, at the virtual time of the resume.
 */
export class PauseGate {
  private paused = false;
  private waiting: Array<() => void> = [];
  /** Names the current pause, so that the end of an older one cannot end it. */
  private pauseId = 0;

  get isPaused(): boolean {
    return this.paused;
  }

  /** Runs `work` now, or at resume if the node is paused. */
  run(work: () => void): void {
    if (this.paused) this.waiting.push(work);
    else work();
  }

  /** Pauses the node; returns the id that `resume` takes. */
  pause(): number {
    this.paused = true;
    this.pauseId += 1;
    return this.pauseId;
  }

  /**
   * Ends pause `id` (or any pause, without one): what waited runs now, in the order it
   * arrived, before anything that arrives after the resume.
   */
  resume(id?: number): void {
    if (!this.paused || (id !== undefined && id !== this.pauseId)) return;
    this.paused = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const work of waiting) work();
  }

  /** The node crashed: what waited is lost with it, and the pause is over. */
  clear(): void {
    this.paused = false;
    this.waiting = [];
  }
}
