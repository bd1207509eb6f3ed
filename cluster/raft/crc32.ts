import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

/** Table-driven CRC-32 (IEEE), for Node builds without zlib.crc32 (added in 20.15). */
export function crc32Table(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `data`: zlib's native one when present, else the table. */
export const crc32: (data: Uint8Array) => number = native ? (d) => native(d) >>> 0 : crc32Table;
