/** Shared helpers for the store tests: a seeded PRNG, message bytes derived from a key, temp dirs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredMessage } from '../../src/store/message-store';

/** mulberry32 (the Raft simulation's PRNG), so a failing seed can be replayed. */
export { seededRandom as prng } from '../../cluster/raft/prng';

/** Deterministic message bytes for `key` with a body of `bodyBytes`. */
export function messageFor(key: number, bodyBytes: number): StoredMessage {
  const body = Buffer.alloc(bodyBytes);
  for (let i = 0; i < bodyBytes; i++) body[i] = (key * 31 + i * 7) & 0xff;
  if (bodyBytes >= 4) body.writeUInt32BE(key >>> 0, 0);
  return {
    routing: Buffer.from(`ex\u0000rk.${key}`),
    properties: Buffer.from([key & 0xff, (key >> 8) & 0xff, 2]),
    body,
  };
}

export function sameMessage(a: StoredMessage | undefined, b: StoredMessage): boolean {
  return a !== undefined && a.routing.equals(b.routing) && a.properties.equals(b.properties) && a.body.equals(b.body);
}

export function tempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `warren-store-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
