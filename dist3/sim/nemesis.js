import { healthyLinks } from './network.js';
export const faultKinds = ['partition', 'crash', 'drop', 'delay', 'duplicate', 'reorder'];
export function parseFaults(text) {
    if (text.trim() === '' || text === 'none')
        return [];
    const kinds = text.split(',').map((k) => k.trim());
    for (const kind of kinds) {
        if (!faultKinds.includes(kind)) {
            throw new Error(`unknown fault "${kind}" (known: ${faultKinds.join(', ')})`);
        }
    }
    return kinds;
}
export const partitionShapes = ['isolate-one', 'isolate-leader', 'halves', 'asymmetric', 'bridge'];
export class Nemesis {
    kinds;
    cluster;
    network;
    scheduler;
    prng;
    tracer;
    injected = {};
    crashed = new Set();
    partitioned = false;
    seq = 0;
    constructor(kinds, cluster, network, scheduler, prng, tracer) {
        this.kinds = kinds;
        this.cluster = cluster;
        this.network = network;
        this.scheduler = scheduler;
        this.prng = prng;
        this.tracer = tracer;
    }
    /** Starts one schedule per fault kind; none injects after `untilMs`. */
    start(untilMs) {
        for (const kind of this.kinds) {
            const loop = () => {
                if (this.scheduler.now >= untilMs)
                    return;
                const lastsMs = this.inject(kind);
                this.scheduler.after(lastsMs + this.prng.int(1000, 6000), loop);
            };
            this.scheduler.after(this.prng.int(500, 5000), loop);
        }
    }
    /** Heals every fault: links back to healthy, partitions gone, crashed nodes restarted. */
    healAll() {
        this.network.faults = { ...healthyLinks };
        this.network.healPartitions();
        this.partitioned = false;
        for (const id of [...this.crashed])
            this.restart(id);
        this.note(0, 'heal-all', 'every fault healed');
    }
    /** Injects one fault of this kind; returns how long it lasts. */
    inject(kind) {
        switch (kind) {
            case 'partition':
                return this.partition();
            case 'crash':
                return this.crash();
            case 'drop':
                return this.degradeLinks(kind, { dropProbability: this.prng.int(5, 30) / 100 });
            case 'delay':
                return this.degradeLinks(kind, { delayProbability: this.prng.int(10, 50) / 100, delayMaxMs: this.prng.int(20, 400) });
            case 'duplicate':
                return this.degradeLinks(kind, { duplicateProbability: this.prng.int(5, 30) / 100 });
            case 'reorder':
                return this.degradeLinks(kind, { reorderProbability: this.prng.int(20, 80) / 100, reorderMaxMs: this.prng.int(2, 20) });
        }
    }
    degradeLinks(kind, change) {
        const lastsMs = this.prng.int(1000, 6000);
        this.network.faults = { ...this.network.faults, ...change };
        this.note(0, kind, JSON.stringify(change));
        this.scheduler.after(lastsMs, () => {
            const healed = {};
            for (const key of Object.keys(change))
                healed[key] = 0;
            this.network.faults = { ...this.network.faults, ...healed };
        });
        return lastsMs;
    }
    partition() {
        const lastsMs = this.prng.int(1000, 8000);
        if (this.partitioned)
            return lastsMs;
        const nodes = this.cluster.nodeIds;
        const shape = this.prng.pick(partitionShapes);
        let description;
        if (shape === 'isolate-one' || shape === 'isolate-leader') {
            const leader = this.cluster.controllers().find((c) => c.state === 'leader')?.node;
            const victim = shape === 'isolate-leader' && leader !== undefined ? leader : this.prng.pick(nodes);
            this.network.partition([[victim], nodes.filter((n) => n !== victim)]);
            description = `${shape} ${victim}`;
        }
        else if (shape === 'halves') {
            const shuffled = this.shuffle(nodes);
            const cut = this.prng.int(1, nodes.length - 1);
            const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
            this.network.partition(groups);
            description = `halves ${JSON.stringify(groups)}`;
        }
        else if (shape === 'asymmetric') {
            const from = this.prng.pick(nodes);
            for (const to of nodes)
                if (to !== from)
                    this.network.block(from, to);
            description = `asymmetric: ${from} cannot send`;
        }
        else {
            // Bridge: two sides that cannot talk to each other, both reaching one bridge node.
            const shuffled = this.shuffle(nodes);
            const bridge = shuffled[0];
            const rest = shuffled.slice(1);
            const cut = Math.max(1, Math.floor(rest.length / 2));
            this.network.partition([rest.slice(0, cut), rest.slice(cut)]);
            description = `bridge ${bridge} between ${JSON.stringify(rest.slice(0, cut))} and ${JSON.stringify(rest.slice(cut))}`;
        }
        this.partitioned = true;
        this.note(0, 'partition', description);
        this.scheduler.after(lastsMs, () => {
            this.network.healPartitions();
            this.partitioned = false;
            this.note(0, 'partition-healed', '');
        });
        return lastsMs;
    }
    crash() {
        const up = this.cluster.upNodes();
        const downMs = this.prng.int(300, 6000);
        if (up.length === 0)
            return downMs;
        const leader = this.cluster.controllers().find((c) => c.state === 'leader')?.node;
        const victim = leader !== undefined && this.prng.chance(0.5) ? leader : this.prng.pick(up);
        this.cluster.crash(victim);
        this.crashed.add(victim);
        this.note(victim, 'crash', `node ${victim} down for ${downMs} ms`);
        this.scheduler.after(downMs, () => this.restart(victim));
        return downMs;
    }
    restart(id) {
        if (!this.crashed.delete(id))
            return;
        this.note(id, 'restart', `node ${id} restarted`);
        this.cluster.restart(id);
    }
    shuffle(items) {
        const copy = [...items];
        for (let i = copy.length - 1; i > 0; i--) {
            const j = this.prng.int(0, i);
            [copy[i], copy[j]] = [copy[j], copy[i]];
        }
        return copy;
    }
    note(node, kind, description) {
        if (kind !== 'heal-all' && kind !== 'partition-healed' && kind !== 'restart') {
            this.injected[kind] = (this.injected[kind] ?? 0) + 1;
        }
        this.seq += 1;
        this.tracer.record({ t: this.scheduler.now, node, actor: 'nemesis', kind: `@fault:${kind}`, id: `nemesis:${this.seq}`, parent: '', state: description });
    }
}
//# sourceMappingURL=nemesis.js.map