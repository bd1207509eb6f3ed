import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { StableStore } from './stable-store';
import { EMPTY_HARD_STATE, type HardState } from './types';
import { crc32 } from './crc32';
import { writeFileAtomic } from './fs-util';

/**
 * The hard state in `<dir>/raft-state.json`, replaced atomically (write temp, fsync,
 * rename, fsync dir) with a CRC over the JSON so a damaged file is refused, not trusted.
 * One call at a time.
 */
export class DiskStableStore implements StableStore {
  private readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'raft-state.json');
  }

  async load(): Promise<HardState> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY_HARD_STATE };
      throw err;
    }
    const { state, crc } = JSON.parse(text) as { state: HardState; crc: number };
    if (crc32(Buffer.from(JSON.stringify(state), 'utf8')) !== crc) throw new Error(`raft state ${this.file}: bad CRC`);
    return { term: state.term, vote: state.vote, commit: state.commit };
  }

  async save(state: HardState): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const body = { term: state.term, vote: state.vote, commit: state.commit };
    const crc = crc32(Buffer.from(JSON.stringify(body), 'utf8'));
    await writeFileAtomic(this.file, Buffer.from(JSON.stringify({ state: body, crc }), 'utf8'));
  }

  async close(): Promise<void> {}
}
