// Records a run as JSON Lines and hashes it (SHA-256) as it goes: the same seed and the
// same code give the same hash.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
const flushBytes = 1 << 16;
export class TraceRecorder {
    hash = createHash('sha256');
    fd = null;
    buffer = [];
    bufferedBytes = 0;
    lines = 0;
    /** Called with every event after it is recorded (the checkers listen here). */
    listener = null;
    constructor(path) {
        if (path !== null)
            this.fd = openSync(path, 'w');
    }
    record(event) {
        const line = JSON.stringify(event);
        this.hash.update(line);
        this.hash.update('\n');
        this.lines += 1;
        if (this.fd !== null) {
            this.buffer.push(line);
            this.bufferedBytes += line.length + 1;
            if (this.bufferedBytes >= flushBytes)
                this.flush();
        }
        this.listener?.(event);
    }
    digest() {
        this.close();
        return this.hash.digest('hex');
    }
    flush() {
        if (this.fd === null || this.buffer.length === 0)
            return;
        writeSync(this.fd, this.buffer.join('\n') + '\n');
        this.buffer = [];
        this.bufferedBytes = 0;
    }
    close() {
        this.flush();
        if (this.fd !== null)
            closeSync(this.fd);
        this.fd = null;
    }
}
//# sourceMappingURL=trace.js.map