// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, slicing by 4. Pure, for
// actors that write record batches (the group coordinator); hosts use the native
// implementation in runtime/storage/record-batch.ts, which tests check this one against.

const polynomial = 0x82f63b78;

/** tables[k][b]: the CRC of byte b followed by k zero bytes. */
const tables: Uint32Array[] = (() => {
  const base = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    base[b] = c >>> 0;
  }
  const result = [base];
  for (let t = 1; t < 4; t++) {
    const previous = result[t - 1]!;
    const next = new Uint32Array(256);
    for (let b = 0; b < 256; b++) next[b] = (previous[b]! >>> 8) ^ base[previous[b]! & 0xff]!;
    result.push(next);
  }
  return result;
})();

/** CRC-32C of bytes[start, end), as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    crc ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    crc = t3[crc & 0xff]! ^ t2[(crc >>> 8) & 0xff]! ^ t1[(crc >>> 16) & 0xff]! ^ t0[crc >>> 24]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
