// Simulated nodes: each hosts the same actors as a real node (a controller on every voter,
// a broker on every node) in the real kernel, over the simulated network and disk.
import pino from 'pino';
import { brokerActorId, brokerMachine } from '../actors/broker/broker-machine.js';
import { controllerActorId, controllerMachine, } from '../actors/controller/controller-machine.js';
import { NodeKernel } from '../runtime/kernel/node-kernel.js';
import { PlacementTable } from '../runtime/kernel/placement.js';
import { SimDisk } from './disk.js';
import { Prng } from './prng.js';
const silentLogger = pino({ level: 'silent' });
export class SimCluster {
    seed;
    scheduler;
    network;
    tracer;
    timings;
    bugs;
    onActorFailure;
    clusterId;
    nodeIds;
    /** Which live node hosts which actor; crashed nodes drop out of it. */
    placement = new PlacementTable();
    nodes = new Map();
    prng;
    constructor(seed, nodeCount, scheduler, network, tracer, timings, bugs, onActorFailure) {
        this.seed = seed;
        this.scheduler = scheduler;
        this.network = network;
        this.tracer = tracer;
        this.timings = timings;
        this.bugs = bugs;
        this.onActorFailure = onActorFailure;
        this.clusterId = `sim-${seed}`;
        this.nodeIds = Array.from({ length: nodeCount }, (_, i) => i + 1);
        this.prng = Prng.forPurpose(seed, 'cluster');
        for (const id of this.nodeIds) {
            this.nodes.set(id, { id, kernel: null, disk: new SimDisk(scheduler, Prng.forPurpose(seed, `disk-${id}`)), incarnation: 0 });
        }
    }
    startAll() {
        for (const id of this.nodeIds)
            this.boot(id);
    }
    isUp(id) {
        return this.nodes.get(id).kernel !== null;
    }
    upNodes() {
        return this.nodeIds.filter((id) => this.isUp(id));
    }
    crash(id) {
        const node = this.nodes.get(id);
        if (node.kernel === null)
            return;
        node.kernel.stop();
        node.kernel = null;
        node.disk.crash();
        this.network.setDown(id, true);
    }
    restart(id) {
        if (this.isUp(id))
            return;
        this.network.setDown(id, false);
        this.boot(id);
    }
    controllers() {
        const views = [];
        for (const node of this.nodes.values()) {
            const snapshot = node.kernel?.snapshotOf(controllerActorId);
            if (snapshot !== undefined)
                views.push({ node: node.id, state: String(snapshot.value), context: snapshot.context });
        }
        return views;
    }
    controller(id) {
        const snapshot = this.nodes.get(id)?.kernel?.snapshotOf(controllerActorId);
        return snapshot === undefined ? undefined : { node: id, state: String(snapshot.value), context: snapshot.context };
    }
    brokers() {
        const views = [];
        for (const node of this.nodes.values()) {
            const snapshot = node.kernel?.snapshotOf(brokerActorId);
            if (snapshot !== undefined)
                views.push({ node: node.id, state: String(snapshot.value), context: snapshot.context });
        }
        return views;
    }
    diskStats() {
        const total = { opsCompleted: 0, opsLostInCrash: 0, opsSurvivedCrashUnacked: 0 };
        for (const node of this.nodes.values()) {
            total.opsCompleted += node.disk.stats.opsCompleted;
            total.opsLostInCrash += node.disk.stats.opsLostInCrash;
            total.opsSurvivedCrashUnacked += node.disk.stats.opsSurvivedCrashUnacked;
        }
        return total;
    }
    boot(id) {
        const node = this.nodes.get(id);
        node.incarnation += 1;
        const jitter = Prng.forPurpose(this.seed, `jitter-${id}-${node.incarnation}`);
        const kernel = new NodeKernel({
            nodeId: id,
            clusterId: this.clusterId,
            clock: this.scheduler.clock(),
            random: () => jitter.float(),
            transport: this.network.transportFor(id),
            storage: node.disk,
            logger: silentLogger,
            metrics: null,
            tracer: this.tracer,
            placement: this.placement,
            onActorFailure: (actor, error) => this.onActorFailure(id, actor, error),
        });
        node.kernel = kernel;
        kernel.spawn(controllerActorId, controllerMachine, {
            config: { ...this.timings.controller, clusterId: this.clusterId, nodeId: id, voters: this.nodeIds, bugs: this.bugs.controller },
            durable: node.disk.load(controllerActorId),
        });
        kernel.spawn(brokerActorId, brokerMachine, {
            config: {
                ...this.timings.broker,
                clusterId: this.clusterId,
                brokerId: id,
                voters: this.nodeIds,
                listener: `127.0.0.1:${9091 + id}`,
                incarnationId: this.prng.hex(16),
                bugs: this.bugs.broker,
            },
        });
    }
}
//# sourceMappingURL=cluster.js.map