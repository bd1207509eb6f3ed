import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { SnapshotStore } from './snapshot-store';
import type { Snapshot, SnapshotMeta } from './types';
import { crc32 } from './crc32';
import { writeFileAtomic } from './fs-util';

interface MetaFile {
  meta: SnapshotMeta;
  dataBytes: number;
  dataCrc: number;
}

/**
 * Snapshots as `<dir>/<term>-<index>.snap` (data) plus `.meta.json` (metadata, size and
 * CRC of the data). The data is made durable first and the meta file last, so a snapshot
 * exists only once complete; latest() skips damaged ones. Keeps the newest `retain`.
 * One call at a time.
 */
export class DiskSnapshotStore implements SnapshotStore {
  constructor(private readonly dir: string, private readonly retain = 2) {}

  async save(snapshot: Snapshot): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const name = `${String(snapshot.meta.term).padStart(20, '0')}-${String(snapshot.meta.index).padStart(20, '0')}`;
    await writeFileAtomic(path.join(this.dir, `${name}.snap`), snapshot.data);
    const meta: MetaFile = { meta: snapshot.meta, dataBytes: snapshot.data.length, dataCrc: crc32(snapshot.data) };
    await writeFileAtomic(path.join(this.dir, `${name}.meta.json`), Buffer.from(JSON.stringify(meta), 'utf8'));
    const names = await this.names();
    for (const old of names.slice(this.retain)) {
      await fsp.rm(path.join(this.dir, `${old}.meta.json`), { force: true });
      await fsp.rm(path.join(this.dir, `${old}.snap`), { force: true });
    }
  }

  async latest(): Promise<Snapshot | undefined> {
    for (const name of await this.names()) {
      try {
        const m = JSON.parse(await fsp.readFile(path.join(this.dir, `${name}.meta.json`), 'utf8')) as MetaFile;
        const data = await fsp.readFile(path.join(this.dir, `${name}.snap`));
        if (data.length === m.dataBytes && crc32(data) === m.dataCrc) return { meta: m.meta, data };
      } catch {
        // A damaged or half-deleted snapshot: fall back to an older one.
      }
    }
    return undefined;
  }

  async list(): Promise<SnapshotMeta[]> {
    const out: SnapshotMeta[] = [];
    for (const name of await this.names()) {
      const m = JSON.parse(await fsp.readFile(path.join(this.dir, `${name}.meta.json`), 'utf8')) as MetaFile;
      out.push(m.meta);
    }
    return out;
  }

  async close(): Promise<void> {}

  /** Complete snapshots' base names, newest (by index, then term) first. */
  private async names(): Promise<string[]> {
    let files: string[];
    try {
      files = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    return files
      .filter((f) => f.endsWith('.meta.json'))
      .map((f) => f.slice(0, -'.meta.json'.length))
      .sort((a, b) => (b.slice(21) + b.slice(0, 20)).localeCompare(a.slice(21) + a.slice(0, 20)));
  }
}
