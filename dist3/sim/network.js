export const healthyLinks = {
    dropProbability: 0, duplicateProbability: 0, delayProbability: 0, delayMaxMs: 0, reorderProbability: 0, reorderMaxMs: 0,
};
export const latencyMinMs = 1;
export const latencyMaxMs = 3;
export class SimNetwork {
    scheduler;
    prng;
    faults = { ...healthyLinks };
    stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, delayed: 0, reordered: 0, blocked: 0 };
    receivers = new Map();
    down = new Set();
    /** Blocked directed links, "from->to". */
    blockedLinks = new Set();
    constructor(scheduler, prng) {
        this.scheduler = scheduler;
        this.prng = prng;
    }
    transportFor(nodeId) {
        return {
            send: (toNode, bytes) => this.send(nodeId, toNode, bytes),
            onReceive: (handler) => {
                this.receivers.set(nodeId, handler);
            },
            close: async () => {
                this.receivers.delete(nodeId);
            },
        };
    }
    setDown(nodeId, isDown) {
        if (isDown)
            this.down.add(nodeId);
        else
            this.down.delete(nodeId);
    }
    isBlocked(from, to) {
        return this.blockedLinks.has(`${from}->${to}`);
    }
    block(from, to) {
        this.blockedLinks.add(`${from}->${to}`);
    }
    /** Nodes in different groups cannot reach each other, in either direction. */
    partition(groups) {
        for (const a of groups) {
            for (const b of groups) {
                if (a === b)
                    continue;
                for (const from of a)
                    for (const to of b)
                        this.block(from, to);
            }
        }
    }
    healPartitions() {
        this.blockedLinks.clear();
    }
    send(from, to, bytes) {
        this.stats.sent += 1;
        if (this.isBlocked(from, to)) {
            this.stats.blocked += 1;
            return;
        }
        if (this.prng.chance(this.faults.dropProbability)) {
            this.stats.dropped += 1;
            return;
        }
        this.schedule(from, to, bytes);
        if (this.prng.chance(this.faults.duplicateProbability)) {
            this.stats.duplicated += 1;
            this.schedule(from, to, bytes);
        }
    }
    schedule(from, to, bytes) {
        let delayMs = this.prng.int(latencyMinMs * 1000, latencyMaxMs * 1000) / 1000;
        if (this.prng.chance(this.faults.delayProbability)) {
            this.stats.delayed += 1;
            delayMs += this.prng.int(0, this.faults.delayMaxMs);
        }
        if (this.prng.chance(this.faults.reorderProbability)) {
            this.stats.reordered += 1;
            delayMs += this.prng.int(0, this.faults.reorderMaxMs * 1000) / 1000;
        }
        this.scheduler.after(delayMs, () => {
            // A partition that forms while a message is in flight stops it too.
            if (this.down.has(to) || this.isBlocked(from, to)) {
                this.stats.blocked += 1;
                return;
            }
            const receiver = this.receivers.get(to);
            if (receiver === undefined)
                return;
            this.stats.delivered += 1;
            receiver(bytes);
        });
    }
}
//# sourceMappingURL=network.js.map