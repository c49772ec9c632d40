// What every checker reports, and what it is shown of the cluster.
import { encodeLogEntry } from '../../actors/protocol/codec.js';
import type { LogEntry } from '../../actors/protocol/messages.js';
import { type MetadataImage, imageBytes } from '../../actors/controller/metadata-image.js';
import type { ControllerContext } from '../../actors/controller/controller-machine.js';

export interface Violation {
  checker: string;
  atMs: number;
  message: string;
}

/** A controller as a checker sees it after it handled an event. */
export interface ControllerView {
  node: number;
  state: string;
  context: ControllerContext;
}

export class ViolationLog {
  readonly violations: Violation[] = [];
  private readonly seen = new Set<string>();

  report(checker: string, atMs: number, message: string): void {
    // One report per checker and message is enough; a broken invariant tends to repeat.
    const key = `${checker}:${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({ checker, atMs, message });
  }

  countFor(checker: string): number {
    return this.violations.filter((v) => v.checker === checker).length;
  }
}

const digests = new WeakMap<LogEntry, string>();

/**
 * Entries compare by their protobuf bytes, so that decoded and locally built copies match.
 * Entries are never changed once made, so each one's digest is computed once.
 */
export function entryDigest(entry: LogEntry): string {
  let digest = digests.get(entry);
  if (digest === undefined) {
    digest = Buffer.from(encodeLogEntry(entry)).toString('base64');
    digests.set(entry, digest);
  }
  return digest;
}

const imageDigests = new WeakMap<MetadataImage, { offset: number; digest: string }>();

/** An image changes only by applying entries, so its digest is cached per offset. */
export function imageDigest(image: MetadataImage): string {
  const cached = imageDigests.get(image);
  if (cached !== undefined && cached.offset === image.offset) return cached.digest;
  const digest = Buffer.from(imageBytes(image)).toString('base64');
  imageDigests.set(image, { offset: image.offset, digest });
  return digest;
}
