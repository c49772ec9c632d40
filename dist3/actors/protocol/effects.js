export function emptyDurableState() {
    return { term: 0, votedFor: -1, snapshot: null, entries: [] };
}
//# sourceMappingURL=effects.js.map