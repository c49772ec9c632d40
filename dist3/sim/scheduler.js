export class Scheduler {
    heap = [];
    seq = 0;
    nowMs = 0;
    eventsRun = 0;
    get now() {
        return this.nowMs;
    }
    get pending() {
        return this.heap.length;
    }
    at(time, run) {
        if (time < this.nowMs)
            time = this.nowMs;
        const event = { time, seq: this.seq++, run, cancelled: false };
        this.push(event);
        return event;
    }
    after(delayMs, run) {
        return this.at(this.nowMs + Math.max(0, delayMs), run);
    }
    cancel(event) {
        event.cancelled = true;
    }
    /** Runs events in order until the queue is empty or the next one is after `untilMs`. */
    runUntil(untilMs, shouldStop = () => false) {
        while (this.heap.length > 0 && this.heap[0].time <= untilMs) {
            const event = this.pop();
            if (event.cancelled)
                continue;
            this.nowMs = event.time;
            this.eventsRun += 1;
            event.run();
            if (shouldStop())
                return;
        }
        if (untilMs > this.nowMs)
            this.nowMs = untilMs;
    }
    clock() {
        return {
            now: () => this.nowMs,
            setTimeout: (fn, delayMs) => this.after(delayMs, fn),
            clearTimeout: (handle) => this.cancel(handle),
        };
    }
    before(a, b) {
        return a.time < b.time || (a.time === b.time && a.seq < b.seq);
    }
    push(event) {
        const heap = this.heap;
        heap.push(event);
        let i = heap.length - 1;
        while (i > 0) {
            const parent = (i - 1) >> 1;
            if (!this.before(heap[i], heap[parent]))
                break;
            [heap[i], heap[parent]] = [heap[parent], heap[i]];
            i = parent;
        }
    }
    pop() {
        const heap = this.heap;
        if (heap.length === 0)
            return undefined;
        const top = heap[0];
        const last = heap.pop();
        if (heap.length > 0) {
            heap[0] = last;
            let i = 0;
            for (;;) {
                const left = 2 * i + 1;
                const right = left + 1;
                let smallest = i;
                if (left < heap.length && this.before(heap[left], heap[smallest]))
                    smallest = left;
                if (right < heap.length && this.before(heap[right], heap[smallest]))
                    smallest = right;
                if (smallest === i)
                    break;
                [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
                i = smallest;
            }
        }
        return top;
    }
}
//# sourceMappingURL=scheduler.js.map