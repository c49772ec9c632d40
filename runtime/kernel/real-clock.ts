// The real host's clock: monotonic milliseconds and Node's timers.
import type { Clock, TimerHandle } from './ports.js';

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn: () => void, delayMs: number): TimerHandle => setTimeout(fn, delayMs),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as NodeJS.Timeout),
};
