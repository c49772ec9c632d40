// Where actors live: actor id -> node ids hosting it. Controllers live on the quorum voters,
// one broker on every node; later layers place partition replicas and coordinators here.
export class PlacementTable {
    nodesByActor = new Map();
    place(actorId, nodeId) {
        const nodes = this.nodesByActor.get(actorId) ?? [];
        if (!nodes.includes(nodeId))
            nodes.push(nodeId);
        nodes.sort((a, b) => a - b);
        this.nodesByActor.set(actorId, nodes);
    }
    remove(actorId, nodeId) {
        const nodes = (this.nodesByActor.get(actorId) ?? []).filter((n) => n !== nodeId);
        if (nodes.length === 0)
            this.nodesByActor.delete(actorId);
        else
            this.nodesByActor.set(actorId, nodes);
    }
    nodesOf(actorId) {
        return this.nodesByActor.get(actorId) ?? [];
    }
    actorsOn(nodeId) {
        return [...this.nodesByActor.entries()].filter(([, nodes]) => nodes.includes(nodeId)).map(([actor]) => actor).sort();
    }
}
//# sourceMappingURL=placement.js.map