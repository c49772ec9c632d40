// Small helpers shared by the codec tests.
import { kafkajsFixtures, type BodyFixture } from './fixtures/kafkajs.js';
import { saramaFixtures } from './fixtures/sarama.js';

// Hex with optional whitespace and `# comments` to the end of a line, so that a fixture can
// name each field next to its bytes.
export function fromHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex: ${digits}`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function ascii(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

export const allBodyFixtures: readonly BodyFixture[] = [...kafkajsFixtures, ...saramaFixtures];

export function bodyFixture(source: string): BodyFixture {
  const fixture = allBodyFixtures.find((f) => f.source === source);
  if (fixture === undefined) throw new Error(`no fixture ${source}`);
  return fixture;
}

// A frame's payload: the bytes after its int32 size prefix.
export function withoutSize(frame: Uint8Array): Uint8Array {
  const size = new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0);
  if (size !== frame.length - 4) throw new Error(`size prefix ${size} for ${frame.length - 4} bytes`);
  return frame.subarray(4);
}
