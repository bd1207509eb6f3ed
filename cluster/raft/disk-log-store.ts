import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LogStore } from './log-store';
import type { LogEntry } from './types';
import { decodeEntry, encodeEntry } from './message-codec';
import { crc32 } from './crc32';
import { fsyncDir } from './fs-util';

/** Bytes before each record's payload: u32 payload length, u32 CRC-32 of the payload. */
const HEADER_BYTES = 8;
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** A complete record whose CRC does not match: the log is damaged, not merely torn. */
export class LogCorruptionError extends Error {
  override name = 'LogCorruptionError';
  constructor(readonly file: string, readonly offset: number, readonly lastGoodIndex: number) {
    super(`raft log corrupt: bad CRC in ${file} at offset ${offset} (last good index ${lastGoodIndex})`);
  }
}

export interface DiskLogStoreOptions {
  /** A segment is closed and a new one started past this size. */
  segmentMaxBytes?: number;
  /** On a CRC-bad record: 'fail' (default) throws LogCorruptionError; 'truncate' drops it and all after it. */
  onCorruption?: 'fail' | 'truncate';
}

interface Segment {
  file: string;
  firstIndex: number;
  /** Byte offset of each entry, entry i at offsets[i - firstIndex]. */
  offsets: number[];
  size: number;
}

/** What open() found and repaired; the caller should log it. */
export interface RecoveryReport {
  tornTailBytes: number;
  corruption?: { file: string; offset: number; lastGoodIndex: number };
}

/**
 * An append-only LogStore in segment files `<dir>/<firstIndex>.log`. Each record is
 * length + CRC-32 + encoded entry; every storeEntries() and truncation is fsynced
 * before its promise resolves. On open a torn last record (a crash mid-write) is cut
 * off; a complete record with a bad CRC is corruption and is reported (see options).
 * Not safe for concurrent calls: Raft awaits each one.
 */
export class DiskLogStore implements LogStore {
  private segments: Segment[] = [];
  private logicalFirst = 0;
  fsyncCount = 0;
  recovery: RecoveryReport = { tornTailBytes: 0 };

  private constructor(private readonly dir: string, private readonly segmentMaxBytes: number) {}

  static async open(dir: string, options: DiskLogStoreOptions = {}): Promise<DiskLogStore> {
    await fsp.mkdir(dir, { recursive: true });
    const store = new DiskLogStore(dir, options.segmentMaxBytes ?? 8 * 1024 * 1024);
    await store.recover(options.onCorruption ?? 'fail');
    return store;
  }

  private async recover(onCorruption: 'fail' | 'truncate'): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    for (let s = 0; s < names.length; s++) {
      const file = path.join(this.dir, names[s]);
      const buf = await fsp.readFile(file);
      const seg: Segment = { file, firstIndex: Number(names[s].slice(0, 20)), offsets: [], size: 0 };
      let pos = 0;
      let stop = false;
      while (pos < buf.length) {
        const expected = seg.firstIndex + seg.offsets.length;
        if (pos + HEADER_BYTES > buf.length) break; // torn header
        const len = buf.readUInt32BE(pos);
        if (len > MAX_RECORD_BYTES || pos + HEADER_BYTES + len > buf.length) break; // torn payload
        const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
        let ok = crc32(payload) === buf.readUInt32BE(pos + 4);
        if (ok && decodeEntry(payload).index !== expected) ok = false;
        if (!ok) {
          const lastGood = expected - 1;
          if (onCorruption === 'fail') throw new LogCorruptionError(file, pos, lastGood);
          this.recovery.corruption = { file, offset: pos, lastGoodIndex: lastGood };
          stop = true;
          break;
        }
        seg.offsets.push(pos);
        pos += HEADER_BYTES + len;
      }
      if (pos < buf.length) {
        if (!stop) this.recovery.tornTailBytes += buf.length - pos;
        await this.truncateFile(file, pos);
      }
      seg.size = pos;
      if (seg.offsets.length > 0) this.segments.push(seg);
      else await fsp.rm(file, { force: true });
      if (stop || pos < buf.length) {
        // Nothing after a damaged or torn record can be trusted to follow it.
        for (const later of names.slice(s + 1)) await fsp.rm(path.join(this.dir, later), { force: true });
        break;
      }
    }
    this.logicalFirst = this.segments.length > 0 ? this.segments[0].firstIndex : 0;
  }

  async firstIndex(): Promise<number> {
    return (await this.lastIndex()) === 0 ? 0 : this.logicalFirst;
  }

  async lastIndex(): Promise<number> {
    const seg = this.segments[this.segments.length - 1];
    return seg ? seg.firstIndex + seg.offsets.length - 1 : 0;
  }

  async getRange(lo: number, hi: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    const from = Math.max(lo, this.logicalFirst);
    for (const seg of this.segments) {
      const segLast = seg.firstIndex + seg.offsets.length - 1;
      if (segLast < from || seg.firstIndex > hi) continue;
      const a = Math.max(from, seg.firstIndex) - seg.firstIndex;
      const b = Math.min(hi, segLast) - seg.firstIndex;
      const start = seg.offsets[a];
      const end = b + 1 < seg.offsets.length ? seg.offsets[b + 1] : seg.size;
      const fh = await fsp.open(seg.file, 'r');
      try {
        const buf = Buffer.alloc(end - start);
        await fh.read(buf, 0, buf.length, start);
        let pos = 0;
        while (pos < buf.length) {
          const len = buf.readUInt32BE(pos);
          out.push(decodeEntry(buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len)));
          pos += HEADER_BYTES + len;
        }
      } finally {
        await fh.close();
      }
    }
    return out;
  }

  async storeEntries(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const last = await this.lastIndex();
    if (last !== 0 && entries[0].index !== last + 1) {
      throw new Error(`log store: entry ${entries[0].index} does not follow ${last}`);
    }
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.size >= this.segmentMaxBytes) {
      const file = path.join(this.dir, `${String(entries[0].index).padStart(20, '0')}.log`);
      seg = { file, firstIndex: entries[0].index, offsets: [], size: 0 };
      this.segments.push(seg);
      if (last === 0) this.logicalFirst = entries[0].index;
    }
    const parts: Buffer[] = [];
    let pos = seg.size;
    const offsets: number[] = [];
    for (const e of entries) {
      const payload = encodeEntry(e);
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      header.writeUInt32BE(payload.length, 0);
      header.writeUInt32BE(crc32(payload), 4);
      parts.push(header, payload);
      offsets.push(pos);
      pos += HEADER_BYTES + payload.length;
    }
    const fh = await fsp.open(seg.file, 'a');
    try {
      await fh.writev(parts);
      await fh.datasync();
      this.fsyncCount++;
    } finally {
      await fh.close();
    }
    if (seg.offsets.length === 0) await fsyncDir(this.dir);
    seg.offsets.push(...offsets);
    seg.size = pos;
  }

  async truncateSuffix(fromIndex: number): Promise<void> {
    while (this.segments.length > 0) {
      const seg = this.segments[this.segments.length - 1];
      if (fromIndex > seg.firstIndex + seg.offsets.length - 1) return;
      if (fromIndex <= seg.firstIndex) {
        this.segments.pop();
        await fsp.rm(seg.file, { force: true });
        await fsyncDir(this.dir);
        continue;
      }
      const keep = fromIndex - seg.firstIndex;
      seg.size = seg.offsets[keep];
      seg.offsets.length = keep;
      await this.truncateFile(seg.file, seg.size);
      return;
    }
  }

  async deletePrefix(upToIndex: number): Promise<void> {
    const last = await this.lastIndex();
    if (upToIndex >= last) {
      for (const seg of this.segments) await fsp.rm(seg.file, { force: true });
      this.segments = [];
      this.logicalFirst = 0;
      await fsyncDir(this.dir);
      return;
    }
    // Whole segments go; the one holding upToIndex stays and is cut logically only.
    while (this.segments.length > 1 && this.segments[1].firstIndex <= upToIndex + 1) {
      const seg = this.segments.shift() as Segment;
      await fsp.rm(seg.file, { force: true });
    }
    this.logicalFirst = Math.max(this.logicalFirst, upToIndex + 1);
    await fsyncDir(this.dir);
  }

  async close(): Promise<void> {}

  private async truncateFile(file: string, size: number): Promise<void> {
    const fh = await fsp.open(file, 'r+');
    try {
      await fh.truncate(size);
      await fh.sync();
      this.fsyncCount++;
    } finally {
      await fh.close();
    }
  }
}
