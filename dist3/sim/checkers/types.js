// What every checker reports, and what it is shown of the cluster.
import { encodeLogEntry } from '../../actors/protocol/codec.js';
import { imageBytes } from '../../actors/controller/metadata-image.js';
export class ViolationLog {
    violations = [];
    seen = new Set();
    report(checker, atMs, message) {
        // One report per checker and message is enough; a broken invariant tends to repeat.
        const key = `${checker}:${message}`;
        if (this.seen.has(key))
            return;
        this.seen.add(key);
        this.violations.push({ checker, atMs, message });
    }
    countFor(checker) {
        return this.violations.filter((v) => v.checker === checker).length;
    }
}
const digests = new WeakMap();
/**
 * Entries compare by their protobuf bytes, so that decoded and locally built copies match.
 * Entries are never changed once made, so each one's digest is computed once.
 */
export function entryDigest(entry) {
    let digest = digests.get(entry);
    if (digest === undefined) {
        digest = Buffer.from(encodeLogEntry(entry)).toString('base64');
        digests.set(entry, digest);
    }
    return digest;
}
const imageDigests = new WeakMap();
/** An image changes only by applying entries, so its digest is cached per offset. */
export function imageDigest(image) {
    const cached = imageDigests.get(image);
    if (cached !== undefined && cached.offset === image.offset)
        return cached.digest;
    const digest = Buffer.from(imageBytes(image)).toString('base64');
    imageDigests.set(image, { offset: image.offset, digest });
    return digest;
}
//# sourceMappingURL=types.js.map