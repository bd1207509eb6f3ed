/**
 * One write-ahead log for many Raft groups on a node (Ra's shared WAL): every group's log
 * entries, truncations, prefix deletions and hard states go to the same append-only segment
 * files, and every change made during one event-loop turn (and while two earlier writes were
 * syncing) is written with one write, whatever the number of groups. Writes are pipelined:
 * the next one starts while the previous one is being made durable (two in flight at most),
 * and they resolve in order. Each group sees its own LogStore and StableStore (group(id)); a
 * resolved promise means durable, and so is everything appended before it.
 *
 * Writes are positional, through a descriptor opened with O_DSYNC: a batch is one write call
 * that returns once durable (one trip to the thread pool, not a write and then an
 * fdatasync). Space is allocated ahead in the background (PREALLOC_BYTES of zeros, written
 * and synced once), so that the file's size does not change under a write and its sync needs
 * no journal commit for metadata.
 *
 * Record: u32 payload length, u32 CRC-32 of the payload, payload = u8 kind, u8 id length,
 * group id, body. Each write starts with a marker record (its offset and size). On open every
 * segment is replayed into per-group memory; it ends at a zero length (allocated space not
 * yet written); torn writes at the end (a crash mid-write: a record cut short, or with a bad
 * CRC followed by at most one more write, per its marker, then allocated zeros) are cut off;
 * any other record with a bad CRC is corruption (LogCorruptionError). Entries stay in memory until a snapshot deletes their prefix. A
 * segment is deleted once no group still needs anything in it; at each roll-over the hard
 * state of every group is written again into the new segment, so only entries pin old ones.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LogStore } from './log-store';
import type { StableStore } from './stable-store';
import type { HardState, LogEntry } from './types';
import { decodeEntry, entryBytes, writeEntryAt } from './message-codec';
import { crc32 } from './crc32';
import { fsyncDir } from './fs-util';
import { LogCorruptionError } from './disk-log-store';

const HEADER_BYTES = 8;
/** Space allocated (zero-filled) ahead of the writes, at most (a small segment allocates less). */
const PREALLOC_BYTES = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(1024 * 1024);
const WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_DSYNC;
const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const KIND_ENTRIES = 1;
const KIND_TRUNCATE = 2;
const KIND_PREFIX = 3;
const KIND_HARD = 4;
const KIND_DROP = 5;
/** Starts every write: where it starts and how many bytes it has (recovery tells interrupted writes from damage by them). */
const KIND_BATCH = 6;
const MARKER_PAYLOAD_BYTES = 2 + 12;
const MARKER_BYTES = HEADER_BYTES + MARKER_PAYLOAD_BYTES;
/**
 * Writes in flight at most: the next batch's write starts while the previous one is being
 * made durable (each is one O_DSYNC write call), so a batch never waits for an unrelated
 * one's sync. They complete in order for the callers (a batch resolves once every earlier
 * one did). A crash can therefore tear the last two writes, not only the last.
 */
const MAX_WRITES_IN_FLIGHT = 2;

export interface SharedWalOptions {
  /** A segment is closed and a new one started past this size. */
  segmentMaxBytes?: number;
}

interface Segment {
  seq: number;
  file: string;
  /** Per group: the highest entry index written into this segment. */
  maxIndex: Map<string, number>;
}

class GroupState {
  entries: LogEntry[] = [];
  hard: HardState = { term: 0, vote: '', commit: 0 };
  dropped = false;

  first(): number {
    return this.entries.length > 0 ? this.entries[0].index : 0;
  }

  last(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].index : 0;
  }

  /** Entries with index ≥ from go. */
  truncate(from: number): void {
    const first = this.first();
    if (first === 0 || from > this.last()) return;
    this.entries.length = Math.max(0, from - first);
  }

  prefix(upTo: number): void {
    const first = this.first();
    if (first === 0 || upTo < first) return;
    this.entries = upTo >= this.last() ? [] : this.entries.slice(upTo - first + 1);
  }

  append(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const last = this.last();
    if (last !== 0 && entries[0].index !== last + 1) throw new Error(`shared wal: entries must continue at ${last + 1}, got ${entries[0].index}`);
    for (const e of entries) this.entries.push(e);
  }
}

interface Pending {
  buf: Buffer;
  id: string;
  /** The highest entry index the record holds (0 for none). */
  maxIndex: number;
  resolve(): void;
  reject(err: Error): void;
}

export class SharedWal {
  private readonly groups = new Map<string, GroupState>();
  private segments: Segment[] = [];
  private fh: fsp.FileHandle | undefined;
  /** Where the next record goes in the current segment. */
  private size = 0;
  /** The current segment's file. */
  private file: string | undefined;
  /** Bytes of the current segment allocated (zero-filled and durable). */
  private allocated = 0;
  /** A zero-fill of [fillFrom, …) under way, which writes must not overlap. */
  private filling: Promise<void> | undefined;
  private fillFrom = 0;
  private pending: Pending[] = [];
  /** Writes issued, oldest first; they resolve in this order. */
  private inFlight: { batch: Pending[]; done: boolean }[] = [];
  private scheduled = false;
  private rolling = false;
  private closed = false;
  private failure: Error | undefined;
  /** fdatasync calls so far (group commit shows as far fewer syncs than appends). */
  syncCount = 0;
  tornTailBytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly segmentMaxBytes: number,
  ) {}

  static async open(dir: string, options: SharedWalOptions = {}): Promise<SharedWal> {
    await fsp.mkdir(dir, { recursive: true });
    const wal = new SharedWal(dir, options.segmentMaxBytes ?? 64 * 1024 * 1024);
    await wal.recover();
    return wal;
  }

  /** The stores of group `id` (created empty when unknown). */
  group(id: string): { log: LogStore; stable: StableStore } {
    let g = this.groups.get(id);
    if (!g || g.dropped) this.groups.set(id, (g = new GroupState()));
    return { log: new GroupLog(this, id, g), stable: new GroupStable(this, id, g) };
  }

  /** Forgets group `id` for good (its queue was deleted); its records stop pinning segments. */
  async drop(id: string): Promise<void> {
    const g = this.groups.get(id);
    if (!g) return;
    g.dropped = true;
    g.entries = [];
    this.groups.delete(id);
    await this.append(KIND_DROP, id, Buffer.alloc(0));
    await this.collect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.pending.length > 0 || this.inFlight.length > 0 || this.rolling || this.scheduled) await new Promise((r) => setImmediate(r));
    await this.closeSegment();
  }

  // ---- writing ----

  /** @internal */
  append(kind: number, id: string, body: Buffer, maxIndex = 0): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('shared wal closed'));
    return this.queue(this.frame(kind, id, body), id, maxIndex);
  }

  /** @internal Appends a record of `entries` (one copy of their data, into the record itself). */
  appendEntries(id: string, entries: LogEntry[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('shared wal closed'));
    let bodyBytes = 4;
    for (const e of entries) bodyBytes += 4 + entryBytes(e);
    const { buf, at } = this.frameHead(KIND_ENTRIES, id, bodyBytes);
    let pos = at;
    buf.writeUInt32BE(entries.length, pos);
    pos += 4;
    for (const e of entries) {
      buf.writeUInt32BE(entryBytes(e), pos);
      pos = writeEntryAt(buf, pos + 4, e);
    }
    this.sealFrame(buf);
    return this.queue(buf, id, entries[entries.length - 1].index);
  }

  private queue(buf: Buffer, id: string, maxIndex: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buf, id, maxIndex, resolve, reject });
      if (!this.scheduled) {
        // Everything appended during this event-loop turn goes into one write.
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.issue();
        });
      }
    });
  }

  /** Starts a write of everything pending, unless MAX_WRITES_IN_FLIGHT are under way (it starts when one ends). */
  private issue(): void {
    while (this.pending.length > 0 && !this.failure && !this.rolling && this.inFlight.length < MAX_WRITES_IN_FLIGHT) {
      if (this.size >= this.segmentMaxBytes) {
        // A new segment once the writes to this one are done.
        if (this.inFlight.length === 0) void this.rollThenIssue();
        return;
      }
      const batch = this.pending;
      this.pending = [];
      // What each group wrote is recorded against the segment that receives it.
      const seg = this.segments[this.segments.length - 1];
      for (const p of batch) if (p.maxIndex > 0) seg.maxIndex.set(p.id, Math.max(seg.maxIndex.get(p.id) ?? 0, p.maxIndex));
      const w = { batch, done: false };
      this.inFlight.push(w);
      this.write(batch.map((p) => p.buf)).then(
        () => {
          w.done = true;
          this.completed();
        },
        (err: unknown) => this.fail(err as Error),
      );
    }
  }

  /** Resolves the writes done in order (a later one that finished first waits for the earlier). */
  private completed(): void {
    while (this.inFlight.length > 0 && this.inFlight[0].done && !this.failure) {
      const w = this.inFlight.shift()!;
      this.syncCount++;
      for (const p of w.batch) p.resolve();
    }
    this.issue();
    if (this.inFlight.length === 0 && this.size >= this.segmentMaxBytes && this.pending.length === 0 && !this.rolling && !this.failure) {
      void this.rollThenIssue();
    }
  }

  private async rollThenIssue(): Promise<void> {
    this.rolling = true;
    try {
      await this.roll();
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.rolling = false;
    }
    this.issue();
  }

  /** A write failed: it, every write after it and everything pending are rejected, and so is every later append. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const writes = this.inFlight;
    this.inFlight = [];
    for (const w of writes) for (const p of w.batch) p.reject(err);
    for (const p of this.pending) p.reject(err);
    this.pending = [];
  }

  /** Starts a new segment holding every group's hard state, then deletes segments nobody needs. */
  private async roll(): Promise<void> {
    const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
    await this.openSegment(seq);
    const bufs: Buffer[] = [];
    for (const [id, g] of this.groups) bufs.push(this.frame(KIND_HARD, id, encodeHard(g.hard)));
    if (bufs.length > 0) await this.write(bufs);
    await this.collect();
  }

  /**
   * Writes `bufs` at the end of the log, durably (O_DSYNC), behind a marker giving the write's
   * place and size. The space is taken at once (a write issued next goes after it). Past the
   * allocated space the write still is durable (the file grows), only slower; it never
   * overlaps a fill.
   */
  private async write(bufs: Buffer[]): Promise<void> {
    let total = MARKER_BYTES;
    for (const b of bufs) total += b.length;
    const at = this.size;
    const end = at + total;
    const marker = Buffer.allocUnsafe(12);
    marker.writeDoubleBE(at, 0);
    marker.writeUInt32BE(total, 8);
    const all = [this.frame(KIND_BATCH, '', marker), ...bufs];
    const fill = this.filling && end > this.fillFrom ? this.filling : undefined;
    const fh = this.fh!;
    this.size = end;
    this.allocateAhead();
    if (fill) await fill;
    await fh.writev(all, at);
  }

  /**
   * Zero-fills the next chunk of the segment in the background once less than half a chunk
   * of allocated space is left (through a descriptor without O_DSYNC, one fdatasync at the end).
   */
  private allocateAhead(): void {
    const chunk = Math.min(PREALLOC_BYTES, Math.max(this.segmentMaxBytes, 64 * 1024));
    if (this.filling || !this.file || this.allocated - this.size > chunk / 2) return;
    const from = Math.max(this.allocated, this.size);
    const to = from + chunk;
    const file = this.file;
    this.fillFrom = from;
    this.filling = (async () => {
      const fh = await fsp.open(file, 'r+');
      try {
        for (let at = from; at < to; at += ZEROS.length) await fh.write(ZEROS, 0, Math.min(ZEROS.length, to - at), at);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      if (this.file === file) this.allocated = to;
    })()
      .catch(() => undefined) // only an optimization: writes past it are durable too
      .finally(() => {
        this.filling = undefined;
      });
  }

  /** Closes the current segment, cut to what it holds (its allocated tail would only be skipped at replay). */
  private async closeSegment(): Promise<void> {
    if (this.filling) await this.filling;
    const fh = this.fh;
    this.fh = undefined;
    this.file = undefined;
    if (!fh) return;
    try {
      if ((await fh.stat()).size > this.size) await fh.truncate(this.size);
    } finally {
      await fh.close();
    }
  }

  private frame(kind: number, id: string, body: Buffer): Buffer {
    const { buf, at } = this.frameHead(kind, id, body.length);
    body.copy(buf, at);
    this.sealFrame(buf);
    return buf;
  }

  /** A record of `bodyBytes` bytes of body, its kind and group id written; the body goes at `at`, then sealFrame(). */
  private frameHead(kind: number, id: string, bodyBytes: number): { buf: Buffer; at: number } {
    const idLen = Buffer.byteLength(id, 'utf8');
    const buf = Buffer.allocUnsafe(HEADER_BYTES + 2 + idLen + bodyBytes);
    buf.writeUInt32BE(2 + idLen + bodyBytes, 0);
    buf[HEADER_BYTES] = kind;
    buf[HEADER_BYTES + 1] = idLen;
    buf.write(id, HEADER_BYTES + 2, 'utf8');
    return { buf, at: HEADER_BYTES + 2 + idLen };
  }

  /** Writes the CRC of a record's payload (all but the header) into its header. */
  private sealFrame(buf: Buffer): void {
    buf.writeUInt32BE(crc32(buf.subarray(HEADER_BYTES)), 4);
  }

  private async openSegment(seq: number): Promise<void> {
    await this.closeSegment();
    const file = path.join(this.dir, `${String(seq).padStart(20, '0')}.wal`);
    this.fh = await fsp.open(file, WRITE_FLAGS);
    this.file = file;
    // Recovery cut the file after its last record.
    this.size = (await this.fh.stat()).size;
    this.allocated = this.size;
    this.allocateAhead();
    this.segments.push({ seq, file, maxIndex: new Map() });
    await fsyncDir(this.dir);
  }

  /** Deletes closed segments whose entries every group has deleted (snapshotted) or dropped. */
  private async collect(): Promise<void> {
    const keep: Segment[] = [];
    let removed = false;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i];
      const current = i === this.segments.length - 1;
      let needed = current;
      // Only a prefix of segments may go: replay needs every later record's predecessors.
      if (!needed && keep.length === 0) {
        for (const [id, max] of seg.maxIndex) {
          const g = this.groups.get(id);
          if (g && !g.dropped && g.first() !== 0 && max >= g.first()) needed = true;
        }
      } else needed = true;
      if (needed) keep.push(seg);
      else {
        await fsp.rm(seg.file, { force: true });
        removed = true;
      }
    }
    this.segments = keep;
    if (removed) await fsyncDir(this.dir);
  }

  // ---- recovery ----

  private async recover(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => /^\d{20}\.wal$/.test(n)).sort();
    for (let s = 0; s < names.length; s++) {
      const file = path.join(this.dir, names[s]);
      const buf = await fsp.readFile(file);
      const seg: Segment = { seq: Number(names[s].slice(0, 20)), file, maxIndex: new Map() };
      let pos = 0;
      while (pos < buf.length) {
        if (pos + HEADER_BYTES > buf.length) break;
        const len = buf.readUInt32BE(pos);
        // Zero length: space allocated ahead and never written (no record is empty).
        if (len === 0 || len > MAX_RECORD_BYTES || pos + HEADER_BYTES + len > buf.length) break;
        const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
        if (crc32(payload) !== buf.readUInt32BE(pos + 4)) {
          // Writes torn by a crash (the last segment's last two: MAX_WRITES_IN_FLIGHT) before
          // allocated space. Anything else is damage to a record that was durable.
          if (s !== names.length - 1 || !tornWrites(buf, pos, pos + HEADER_BYTES + len)) throw new LogCorruptionError(file, pos, 0);
          break;
        }
        this.replay(payload, seg);
        pos += HEADER_BYTES + len;
      }
      if (pos < buf.length) {
        // What follows the last record: zeros of allocated space (a crash before the segment
        // was closed), or a torn record (a crash mid-write), which only the last segment may end with.
        const torn = buf.subarray(pos).some((b) => b !== 0);
        if (torn && s !== names.length - 1) throw new LogCorruptionError(file, pos, 0);
        if (torn) this.tornTailBytes = buf.length - pos;
        await fsp.truncate(file, pos);
      }
      this.segments.push(seg);
    }
    const last = this.segments.pop();
    await this.openSegment(last?.seq ?? 1);
    if (last) this.segments[this.segments.length - 1].maxIndex = last.maxIndex;
    await this.collect();
  }

  private replay(payload: Buffer, seg: Segment): void {
    const kind = payload[0];
    const idLen = payload[1];
    const id = payload.subarray(2, 2 + idLen).toString('utf8');
    const body = payload.subarray(2 + idLen);
    if (kind === KIND_BATCH) return;
    if (kind === KIND_DROP) {
      this.groups.delete(id);
      return;
    }
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = new GroupState()));
    switch (kind) {
      case KIND_ENTRIES: {
        const entries = decodeEntries(body);
        if (entries.length === 0) return;
        g.truncate(entries[0].index);
        if (g.last() !== 0 && entries[0].index !== g.last() + 1) g.entries = [];
        g.append(entries);
        seg.maxIndex.set(id, Math.max(seg.maxIndex.get(id) ?? 0, entries[entries.length - 1].index));
        return;
      }
      case KIND_TRUNCATE:
        g.truncate(body.readDoubleBE(0));
        return;
      case KIND_PREFIX:
        g.prefix(body.readDoubleBE(0));
        return;
      case KIND_HARD:
        g.hard = decodeHard(body);
        return;
    }
    throw new LogCorruptionError(seg.file, 0, 0);
  }
}

function decodeEntries(body: Buffer): LogEntry[] {
  const n = body.readUInt32BE(0);
  const out: LogEntry[] = [];
  let pos = 4;
  for (let i = 0; i < n; i++) {
    const len = body.readUInt32BE(pos);
    out.push(decodeEntry(Buffer.from(body.subarray(pos + 4, pos + 4 + len))));
    pos += 4 + len;
  }
  return out;
}

/**
 * Whether the bytes from `pos` on (a record that fails its CRC, ending at `end`) can be
 * writes a crash interrupted: at most two writes were in flight, so at most one more write
 * (its marker is intact) starts after the record, and only allocated zeros follow that
 * write's announced end; without such a marker, the segment must end in allocated zeros.
 * Damage followed by two writes, or by anything after the next write, is corruption.
 */
function tornWrites(buf: Buffer, pos: number, end: number): boolean {
  let later: { at: number; bytes: number } | undefined;
  for (let at = pos + 1; at + MARKER_BYTES <= buf.length; at++) {
    const m = markerAt(buf, at);
    if (!m) continue;
    if (later) return false;
    later = { at, bytes: m };
  }
  if (!later) return end < buf.length && buf[buf.length - 1] === 0;
  const from = Math.max(end, later.at + later.bytes);
  return !buf.subarray(Math.min(from, buf.length)).some((b) => b !== 0);
}

/** The size a valid write marker at `at` announces (it must name `at` as its place), or 0. */
function markerAt(buf: Buffer, at: number): number {
  if (buf.readUInt32BE(at) !== MARKER_PAYLOAD_BYTES || buf[at + HEADER_BYTES] !== KIND_BATCH || buf[at + HEADER_BYTES + 1] !== 0) return 0;
  if (buf.readDoubleBE(at + HEADER_BYTES + 2) !== at) return 0;
  if (crc32(buf.subarray(at + HEADER_BYTES, at + MARKER_BYTES)) !== buf.readUInt32BE(at + 4)) return 0;
  return buf.readUInt32BE(at + HEADER_BYTES + 10);
}

function encodeHard(h: HardState): Buffer {
  const vote = Buffer.from(h.vote, 'utf8');
  const out = Buffer.allocUnsafe(18 + vote.length);
  out.writeDoubleBE(h.term, 0);
  out.writeDoubleBE(h.commit, 8);
  out.writeUInt16BE(vote.length, 16);
  vote.copy(out, 18);
  return out;
}

function decodeHard(b: Buffer): HardState {
  return { term: b.readDoubleBE(0), commit: b.readDoubleBE(8), vote: b.subarray(18, 18 + b.readUInt16BE(16)).toString('utf8') };
}

function indexBody(index: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(index, 0);
  return b;
}

/** One group's LogStore over the shared WAL. */
class GroupLog implements LogStore {
  constructor(
    private readonly wal: SharedWal,
    private readonly id: string,
    private readonly g: GroupState,
  ) {}

  async firstIndex(): Promise<number> {
    return this.g.first();
  }

  async lastIndex(): Promise<number> {
    return this.g.last();
  }

  async getRange(lo: number, hi: number): Promise<LogEntry[]> {
    const first = this.g.first();
    if (first === 0) return [];
    const from = Math.max(lo, first) - first;
    const to = Math.min(hi, this.g.last()) - first;
    return to < from ? [] : this.g.entries.slice(from, to + 1);
  }

  async storeEntries(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.g.append(entries);
    await this.wal.appendEntries(this.id, entries);
  }

  async truncateSuffix(fromIndex: number): Promise<void> {
    this.g.truncate(fromIndex);
    await this.wal.append(KIND_TRUNCATE, this.id, indexBody(fromIndex));
  }

  async deletePrefix(upToIndex: number): Promise<void> {
    this.g.prefix(upToIndex);
    await this.wal.append(KIND_PREFIX, this.id, indexBody(upToIndex));
  }

  async close(): Promise<void> {}
}

/** One group's StableStore over the shared WAL. */
class GroupStable implements StableStore {
  constructor(
    private readonly wal: SharedWal,
    private readonly id: string,
    private readonly g: GroupState,
  ) {}

  async load(): Promise<HardState> {
    return { ...this.g.hard };
  }

  async save(state: HardState): Promise<void> {
    this.g.hard = { ...state };
    await this.wal.append(KIND_HARD, this.id, encodeHard(state));
  }

  async close(): Promise<void> {}
}
