import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of `data`, continuing from `seed`. */
export type Crc32 = (data: Uint8Array, seed?: number) => number;

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Table-driven CRC-32, used when this Node build has no zlib.crc32 (added in 20.15). */
export function crc32Table(data: Uint8Array, seed = 0): number {
  table ??= makeTable();
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The fastest CRC-32 available: zlib's native one if present, else the table. */
export const crc32: Crc32 = native ? (data, seed = 0) => native(data, seed) : crc32Table;

/** True when {@link crc32} is zlib's native implementation. */
export const crc32IsNative = native !== undefined;
