import { ProtocolSyntaxError } from './errors';
import { decodeTable, type FieldTable } from './field-table';

/** Sequential reader over a slice of a buffer; every read is bounds-checked against `end`. */
export class ByteReader {
  constructor(
    public buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new ProtocolSyntaxError('truncated value');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a number; delivery tags and body sizes stay far below 2^53. */
  u64(): number {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  shortstr(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  longstr(): Buffer {
    const len = this.u32();
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  table(): FieldTable {
    const len = this.u32();
    this.need(len);
    const t = decodeTable(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return t;
  }
}
