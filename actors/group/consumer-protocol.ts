// Kafka's consumer protocol (ConsumerProtocol v0), the bytes consumer-group members exchange
// through JoinGroup and SyncGroup: a subscription (the topics a member wants) and an
// assignment (the partitions the leader gives it). Pure. The coordinator reads subscriptions
// (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC); simulated members and tests write and read both.
// Decoders throw on bytes that end early or counts the bytes cannot hold.

class ByteWriter {
  private readonly bytes: number[] = [];
  int16(n: number): this { this.bytes.push((n >> 8) & 0xff, n & 0xff); return this; }
  int32(n: number): this { this.bytes.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff); return this; }
  string(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    this.int16(utf8.length);
    this.bytes.push(...utf8);
    return this;
  }
  finish(): Uint8Array { return Uint8Array.from(this.bytes); }
}

class ByteReader {
  private position = 0;
  constructor(private readonly bytes: Uint8Array) {}
  private need(n: number): void {
    if (this.position + n > this.bytes.length) throw new Error(`consumer protocol bytes end at ${this.bytes.length}, need ${this.position + n}`);
  }
  int16(): number {
    this.need(2);
    const n = (this.bytes[this.position]! << 8) | this.bytes[this.position + 1]!;
    this.position += 2;
    return n << 16 >> 16;
  }
  int32(): number {
    this.need(4);
    const b = this.bytes;
    const n = (b[this.position]! << 24) | (b[this.position + 1]! << 16) | (b[this.position + 2]! << 8) | b[this.position + 3]!;
    this.position += 4;
    return n;
  }
  /** An array count, refused when the bytes left cannot hold that many entries of `minBytes` each. */
  count(minBytes: number): number {
    const n = this.int32();
    if (n < 0 || n * minBytes > this.bytes.length - this.position) {
      throw new Error(`consumer protocol count ${n} at byte ${this.position - 4} overruns the bytes, which end at ${this.bytes.length}`);
    }
    return n;
  }
  string(): string {
    const length = this.int16();
    this.need(length);
    const text = new TextDecoder().decode(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return text;
  }
}

/** Subscription v0: version, topics, user data (null). */
export function encodeSubscription(topics: string[]): Uint8Array {
  const writer = new ByteWriter().int16(0).int32(topics.length);
  for (const topic of topics) writer.string(topic);
  return writer.int32(-1).finish();
}

export function decodeSubscription(bytes: Uint8Array): string[] {
  const reader = new ByteReader(bytes);
  reader.int16();
  const count = reader.count(2);
  return Array.from({ length: count }, () => reader.string());
}

/** Assignment v0: version, [topic, partitions], user data (null). */
export function encodeAssignment(assigned: Map<string, number[]>): Uint8Array {
  const writer = new ByteWriter().int16(0).int32(assigned.size);
  for (const [topic, partitions] of assigned) {
    writer.string(topic).int32(partitions.length);
    for (const p of partitions) writer.int32(p);
  }
  return writer.int32(-1).finish();
}

export function decodeAssignment(bytes: Uint8Array): Map<string, number[]> {
  const assigned = new Map<string, number[]>();
  if (bytes.length === 0) return assigned; // a member the leader left out
  const reader = new ByteReader(bytes);
  reader.int16();
  const topics = reader.count(6);
  for (let t = 0; t < topics; t++) {
    const topic = reader.string();
    const count = reader.count(4);
    assigned.set(topic, Array.from({ length: count }, () => reader.int32()));
  }
  return assigned;
}
