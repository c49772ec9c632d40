export const realClock = {
    now: () => performance.now(),
    setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
    clearTimeout: (handle) => clearTimeout(handle),
};
//# sourceMappingURL=real-clock.js.map