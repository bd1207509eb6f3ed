import { encodeTableInto, type FieldTable } from './field-table';

/** Append-only writer over a growable buffer; `reset()` reuses the allocation for the next frame. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000) >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
  }

  /** amqp 0-9-1: shortstr is at most 255 bytes; longer values are truncated at a byte boundary. */
  shortstr(s: string): void {
    this.ensure(256);
    const len = this.buf.write(s, this.pos + 1, 255, 'utf8');
    this.buf[this.pos] = len;
    this.pos += 1 + len;
  }

  longstr(v: Buffer | string): void {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.u32(bytes.length);
    this.bytes(bytes);
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  table(t: FieldTable): void {
    encodeTableInto(this, t);
  }

  /** A copy of what has been written since the last reset. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
