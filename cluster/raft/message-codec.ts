import type { RaftMessage } from './messages';
import { EntryType, type Configuration, type LogEntry, type Snapshot, type Suffrage } from './types';

/**
 * Binary encoding of RaftMessage, so a transport (the gRPC mesh) can carry opaque bytes.
 * Layout: version u8, type u8, from str, to str, term u64, then the type's fields.
 * Strings are u32 length + UTF-8; integers are u64 (two big-endian u32, < 2^53);
 * buffers are u32 length + bytes.
 */
const VERSION = 1;
const TYPES = [
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'vote',
  'voteResponse',
  'installSnapshot',
  'timeoutNow',
] as const;

export class MessageDecodeError extends Error {
  override name = 'MessageDecodeError';
}

class Writer {
  private buf: Buffer;
  private pos = 0;

  /** `capacity`: the expected size (a batch of entries is written without growing). */
  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`raft codec: bad integer ${v}`);
    this.u32(Math.floor(v / 2 ** 32));
    this.u32(v % 2 ** 32);
  }

  bytes(b: Buffer): void {
    this.u32(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  str(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MessageDecodeError('raft codec: truncated message');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * 2 ** 32 + lo;
  }

  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    // Copy so the message does not pin (or alias) the transport's receive buffer.
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  str(): string {
    return this.bytes().toString('utf8');
  }

  bool(): boolean {
    return this.u8() !== 0;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new MessageDecodeError('raft codec: trailing bytes');
  }
}

function writeConfiguration(w: Writer, c: Configuration): void {
  w.u32(c.servers.length);
  for (const s of c.servers) {
    w.str(s.id);
    w.str(s.address);
    w.u8(s.suffrage === 'voter' ? 1 : 0);
  }
}

function readConfiguration(r: Reader): Configuration {
  const n = r.u32();
  const servers = [];
  for (let i = 0; i < n; i++) {
    const id = r.str();
    const address = r.str();
    const suffrage: Suffrage = r.u8() === 1 ? 'voter' : 'nonvoter';
    servers.push({ id, address, suffrage });
  }
  return { servers };
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.u64(s.meta.index);
  w.u64(s.meta.term);
  w.u64(s.meta.configurationIndex);
  writeConfiguration(w, s.meta.configuration);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.u64();
  const term = r.u64();
  const configurationIndex = r.u64();
  const configuration = readConfiguration(r);
  return { meta: { index, term, configurationIndex, configuration }, data: r.bytes() };
}

/** Encodes one entry (also used by the on-disk log store). */
export function encodeEntry(e: LogEntry): Buffer {
  const w = new Writer(entryBytes(e));
  writeEntry(w, e);
  return w.done();
}

/** The size of encodeEntry(e). */
export function entryBytes(e: LogEntry): number {
  return ENTRY_HEAD_BYTES + e.data.length;
}

/** Writes encodeEntry(e) into `buf` at `pos` (entryBytes(e) bytes); returns the position after it. */
export function writeEntryAt(buf: Buffer, pos: number, e: LogEntry): number {
  if (!Number.isSafeInteger(e.index) || e.index < 0 || !Number.isSafeInteger(e.term) || e.term < 0) {
    throw new RangeError(`raft codec: bad integer ${e.index}/${e.term}`);
  }
  buf.writeUInt32BE(Math.floor(e.index / 2 ** 32), pos);
  buf.writeUInt32BE(e.index % 2 ** 32, pos + 4);
  buf.writeUInt32BE(Math.floor(e.term / 2 ** 32), pos + 8);
  buf.writeUInt32BE(e.term % 2 ** 32, pos + 12);
  buf[pos + 16] = e.type;
  buf.writeUInt32BE(e.data.length, pos + 17);
  e.data.copy(buf, pos + ENTRY_HEAD_BYTES);
  return pos + ENTRY_HEAD_BYTES + e.data.length;
}

/** index u64, term u64, type u8, data length u32. */
const ENTRY_HEAD_BYTES = 21;

export function decodeEntry(buf: Buffer): LogEntry {
  const r = new Reader(buf);
  const e = readEntry(r);
  r.end();
  return e;
}

/** About the encoded size of `m` (exact but for the names), so that the writer never grows for a batch. */
function sizeHint(m: RaftMessage): number {
  let n = 64 + 3 * (m.from.length + m.to.length);
  if (m.type === 'append') for (const e of m.entries) n += entryBytes(e);
  else if (m.type === 'installSnapshot') n += m.snapshot.data.length + 256;
  return n;
}

function writeEntry(w: Writer, e: LogEntry): void {
  w.u64(e.index);
  w.u64(e.term);
  w.u8(e.type);
  w.bytes(e.data);
}

function readEntry(r: Reader): LogEntry {
  const index = r.u64();
  const term = r.u64();
  const type = r.u8();
  if (type > EntryType.Config) throw new MessageDecodeError(`raft codec: unknown entry type ${type}`);
  return { index, term, type: type as EntryType, data: r.bytes() };
}

/**
 * The message's bytes; with `head`, preceded by those bytes (a transport's own header, so
 * that the message is not copied again behind it).
 */
export function encodeMessage(m: RaftMessage, head?: Buffer): Buffer {
  const w = new Writer(sizeHint(m) + (head?.length ?? 0));
  if (head) w.raw(head);
  w.u8(VERSION);
  w.u8(TYPES.indexOf(m.type));
  w.str(m.from);
  w.str(m.to);
  w.u64(m.term);
  switch (m.type) {
    case 'append':
      w.u64(m.prevIndex);
      w.u64(m.prevTerm);
      w.u64(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      break;
    case 'appendResponse':
      w.u8(m.reject ? 1 : 0);
      w.u64(m.index);
      w.u64(m.hintIndex);
      break;
    case 'heartbeat':
      w.u64(m.commit);
      w.u64(m.readSeq);
      w.u8(m.idle ? 1 : 0);
      break;
    case 'heartbeatResponse':
      w.u64(m.readSeq);
      break;
    case 'vote':
      w.u8(m.preVote ? 1 : 0);
      w.u64(m.lastIndex);
      w.u64(m.lastTerm);
      w.u8(m.transfer ? 1 : 0);
      break;
    case 'voteResponse':
      w.u8(m.preVote ? 1 : 0);
      w.u8(m.reject ? 1 : 0);
      break;
    case 'installSnapshot':
      writeSnapshot(w, m.snapshot);
      break;
    case 'timeoutNow':
      break;
  }
  return w.done();
}

/** Decodes what encodeMessage produced; throws MessageDecodeError on malformed input. */
export function decodeMessage(buf: Buffer): RaftMessage {
  const r = new Reader(buf);
  const version = r.u8();
  if (version !== VERSION) throw new MessageDecodeError(`raft codec: unsupported version ${version}`);
  const type = TYPES[r.u8()];
  if (type === undefined) throw new MessageDecodeError('raft codec: unknown message type');
  const from = r.str();
  const to = r.str();
  const term = r.u64();
  let m: RaftMessage;
  switch (type) {
    case 'append': {
      const prevIndex = r.u64();
      const prevTerm = r.u64();
      const commit = r.u64();
      const n = r.u32();
      const entries: LogEntry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      m = { type, from, to, term, prevIndex, prevTerm, commit, entries };
      break;
    }
    case 'appendResponse':
      m = { type, from, to, term, reject: r.bool(), index: r.u64(), hintIndex: r.u64() };
      break;
    case 'heartbeat':
      m = { type, from, to, term, commit: r.u64(), readSeq: r.u64(), idle: r.bool() };
      break;
    case 'heartbeatResponse':
      m = { type, from, to, term, readSeq: r.u64() };
      break;
    case 'vote':
      m = { type, from, to, term, preVote: r.bool(), lastIndex: r.u64(), lastTerm: r.u64(), transfer: r.bool() };
      break;
    case 'voteResponse':
      m = { type, from, to, term, preVote: r.bool(), reject: r.bool() };
      break;
    case 'installSnapshot':
      m = { type, from, to, term, snapshot: readSnapshot(r) };
      break;
    case 'timeoutNow':
      m = { type, from, to, term };
      break;
  }
  r.end();
  return m;
}
