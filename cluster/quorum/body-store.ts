/**
 * Where one quorum queue member keeps the bodies of messages it does not hold in memory: a
 * queue's backlog past its memory budget, and every unsettled message once a snapshot
 * covers it (the snapshot then holds only their ids, sizes, delivery counts and places
 * here, and the log prefix holding their bodies is deleted).
 *
 * Append-only segment files under <member dir>/bodies: record = u32 payload length, u32
 * CRC-32 of the payload, payload = the message (exchange, routing key, properties, body).
 * Writes are buffered and written once per event-loop turn (no fsync: the Raft log is the
 * durable copy until sync(), which runs before a snapshot that references them is saved).
 * A segment is deleted once every message written into it was released, except the one
 * being written. Reads are synchronous positional reads, as the classic queues' page-ins.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../raft/crc32';
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import type { Message } from '../../src/broker/message';
import { readMessage, writeMessage } from './quorum-codec';

const HEADER_BYTES = 8;
const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;

/** A record's place: segment number, offset of its header in the segment, payload length. */
export interface BodyPlace {
  seg: number;
  off: number;
  len: number;
}

interface Segment {
  fd: number;
  /** Records written into it and not yet released. */
  live: number;
  file: string;
}

export class BodyStore {
  private readonly segments = new Map<number, Segment>();
  private current = 0;
  /** Bytes of the current segment, written or buffered. */
  private size = 0;
  /** Offset in the current segment where the buffered records start. */
  private flushedSize = 0;
  private pending: Buffer[] = [];
  private readonly pendingAt = new Map<number, Buffer>();
  private scheduled = false;
  private readonly dirty = new Set<number>();
  private readonly writer = new ByteWriter(64 * 1024);
  private closed = false;
  private syncing = 0;
  private closeLater: number[] = [];

  constructor(
    readonly dir: string,
    /** A segment is closed and a new one started past this size. */
    private readonly segmentMaxBytes = SEGMENT_MAX_BYTES,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    let last = 0;
    for (const name of fs.readdirSync(dir)) {
      const m = /^(\d{12})\.bod$/.exec(name);
      if (!m) continue;
      const seg = Number(m[1]);
      last = Math.max(last, seg);
      const file = join(dir, name);
      this.segments.set(seg, { fd: fs.openSync(file, 'r'), live: 0, file });
    }
    // Never appended to after a restart: a torn tail stays where nothing refers to it.
    this.openSegment(last + 1);
  }

  /** Buffers `message` for writing; its place is known at once. */
  write(message: Message): BodyPlace {
    const w = this.writer;
    w.reset();
    writeMessage(w, message);
    const payload = w.take();
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    head.writeUInt32BE(payload.length, 0);
    head.writeUInt32BE(crc32(payload), 4);
    const rec = Buffer.concat([head, payload]);
    const place = { seg: this.current, off: this.size, len: payload.length };
    this.pending.push(rec);
    this.pendingAt.set(this.size, rec);
    this.size += rec.length;
    this.segments.get(this.current)!.live++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return place;
  }

  /** The message at `place`; undefined when its segment is gone or its bytes fail their CRC. */
  read(place: BodyPlace): Message | undefined {
    let rec: Buffer | undefined;
    if (place.seg === this.current && place.off >= this.flushedSize) rec = this.pendingAt.get(place.off);
    else {
      const s = this.segments.get(place.seg);
      if (!s) return undefined;
      rec = Buffer.allocUnsafe(HEADER_BYTES + place.len);
      if (fs.readSync(s.fd, rec, 0, rec.length, place.off) !== rec.length) return undefined;
    }
    if (!rec || rec.readUInt32BE(0) !== place.len) return undefined;
    const payload = rec.subarray(HEADER_BYTES);
    if (crc32(payload) !== rec.readUInt32BE(4)) return undefined;
    return readMessage(new ByteReader(payload, 0, payload.length));
  }

  /** Counts a record of a restored snapshot as live (so its segment stays). */
  retain(place: BodyPlace): void {
    const s = this.segments.get(place.seg);
    if (s) s.live++;
  }

  /** The message at `place` is settled: its segment goes once nothing in it is live. */
  release(place: BodyPlace): void {
    const s = this.segments.get(place.seg);
    if (!s) return;
    s.live--;
    if (s.live <= 0 && place.seg !== this.current) this.removeSegment(place.seg);
  }

  /** Deletes the segments nothing was retained in (after a restore). */
  collect(): void {
    for (const [seg, s] of [...this.segments]) if (s.live <= 0 && seg !== this.current) this.removeSegment(seg);
  }

  /** Forgets everything: every segment deleted, a new one started (a snapshot replaces the state). */
  clear(): void {
    this.flush();
    fs.rmSync(join(this.dir, 'installed.idx'), { force: true });
    for (const seg of [...this.segments.keys()]) this.removeSegment(seg);
    this.openSegment(this.current + 1);
  }

  /** Writes what is buffered and makes every record written so far durable (without blocking the event loop). */
  async sync(): Promise<void> {
    this.flush();
    const fds: number[] = [];
    for (const seg of this.dirty) {
      const s = this.segments.get(seg);
      if (s) fds.push(s.fd);
    }
    this.dirty.clear();
    if (fds.length === 0) return;
    // Segments released meanwhile are closed only after the sync (an fd must not be reused under it).
    this.syncing++;
    try {
      await Promise.all(fds.map((fd) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())))));
    } finally {
      if (--this.syncing === 0) {
        for (const fd of this.closeLater) fs.closeSync(fd);
        this.closeLater = [];
      }
    }
  }

  /** Keeps this member's own image of a snapshot it installed (found again by the installed one's CRC). */
  saveInstalled(crc: number, own: Buffer): void {
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(crc, 0);
    head.writeUInt32BE(crc32(own), 4);
    const file = join(this.dir, 'installed.idx');
    const fd = fs.openSync(`${file}.tmp`, 'w');
    try {
      fs.writevSync(fd, [head, own]);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(`${file}.tmp`, file);
  }

  /** The image saveInstalled() kept for the installed snapshot whose CRC is `crc`. */
  loadInstalled(crc: number): Buffer | undefined {
    let b: Buffer;
    try {
      b = fs.readFileSync(join(this.dir, 'installed.idx'));
    } catch {
      return undefined;
    }
    if (b.length < 8 || b.readUInt32BE(0) !== crc) return undefined;
    const own = b.subarray(8);
    return crc32(own) === b.readUInt32BE(4) ? own : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const s of this.segments.values()) fs.closeSync(s.fd);
    this.segments.clear();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const s = this.segments.get(this.current)!;
    const bufs = this.pending;
    this.pending = [];
    let at = this.flushedSize;
    for (let i = 0; i < bufs.length; i += 1024) {
      const part = bufs.slice(i, i + 1024);
      at += fs.writevSync(s.fd, part, at);
    }
    this.flushedSize = at;
    this.pendingAt.clear();
    this.dirty.add(this.current);
    if (this.size >= this.segmentMaxBytes) {
      // Stays dirty (the next sync() covers it) unless released before.
      const old = this.current;
      this.openSegment(this.current + 1);
      if (s.live <= 0) this.removeSegment(old);
    }
  }

  private openSegment(seg: number): void {
    const file = join(this.dir, `${String(seg).padStart(12, '0')}.bod`);
    this.segments.set(seg, { fd: fs.openSync(file, 'w+'), live: 0, file });
    this.current = seg;
    this.size = 0;
    this.flushedSize = 0;
  }

  private removeSegment(seg: number): void {
    const s = this.segments.get(seg);
    if (!s) return;
    this.segments.delete(seg);
    this.dirty.delete(seg);
    if (this.syncing > 0) this.closeLater.push(s.fd);
    else fs.closeSync(s.fd);
    fs.rmSync(s.file, { force: true });
  }
}
