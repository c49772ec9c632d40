export class InProcessHub {
    receivers = new Map();
    transportFor(nodeId) {
        return {
            send: (toNode, bytes) => {
                setImmediate(() => this.receivers.get(toNode)?.(bytes));
            },
            onReceive: (handler) => {
                this.receivers.set(nodeId, handler);
            },
            close: async () => {
                this.receivers.delete(nodeId);
            },
        };
    }
}
//# sourceMappingURL=in-process.js.map