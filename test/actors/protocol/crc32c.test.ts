import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../../../actors/protocol/crc32c.js';
import { crc32c as nativeCrc32c } from '../../../runtime/storage/record-batch.js';

test('crc32c: the standard check value of "123456789" is 0xE3069283', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c: the pure implementation agrees with the native one on any range', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
    const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
    const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
    assert.equal(crc32c(bytes, start, end), nativeCrc32c(bytes, start, end));
  }), { numRuns: 2000 });
});
