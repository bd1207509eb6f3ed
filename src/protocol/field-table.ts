import { ProtocolSyntaxError } from './errors';
/** What encoding a table needs of a writer (ByteWriter is one). */
export interface TableWriter {
  buf: Buffer;
  pos: number;
  ensure(bytes: number): void;
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: number): void;
  shortstr(s: string): void;
  longstr(v: Buffer | string): void;
}

/**
 * Field tables decode to plain objects with plain JavaScript values, so code reads them
 * naturally (`args['x-max-length']`). The wire type of each entry is kept beside the values
 * under the FIELD_TYPES symbol, so a decoded table re-encodes to the same bytes and error
 * messages can name the type a client sent. Values created in code carry no types; the
 * encoder infers one (see inferType).
 *
 * Tags follow RabbitMQ, not the 0-9-1 PDF: `s` is a signed 16-bit integer, `l` signed 64-bit.
 */
export const FIELD_TYPES = Symbol('fieldTypes');

export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Decimal
  | Date
  | null
  | FieldTable
  | FieldArray;

export interface FieldTable {
  [key: string]: FieldValue;
  [FIELD_TYPES]?: Record<string, string>;
}

export interface FieldArray extends Array<FieldValue> {
  [FIELD_TYPES]?: string[];
}

/** AMQP decimal: value × 10^-scale. */
export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}
}

/** The field types that hold integers (signed and unsigned, 8 to 64 bits). */
export const INTEGER_FIELD_TYPES: ReadonlySet<string> = new Set(['b', 's', 'I', 'l', 'L', 'B', 'u', 'i']);

/** RabbitMQ's names for the field types, as its error messages print them. */
export const FIELD_TYPE_NAMES: Record<string, string> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  L: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  x: 'binary',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
};

export function decodeTable(buf: Buffer, start: number, end: number): FieldTable {
  const table: FieldTable = {};
  const types: Record<string, string> = {};
  let pos = start;
  while (pos < end) {
    const keyLen = buf[pos];
    if (pos + 1 + keyLen + 1 > end) throw new ProtocolSyntaxError('truncated field table key');
    const key = buf.toString('utf8', pos + 1, pos + 1 + keyLen);
    pos += 1 + keyLen;
    const tag = String.fromCharCode(buf[pos]);
    const cursor = { pos: pos + 1 };
    table[key] = decodeValue(buf, tag, cursor, end);
    types[key] = tag;
    pos = cursor.pos;
  }
  Object.defineProperty(table, FIELD_TYPES, { value: types, enumerable: false });
  return table;
}

function decodeArray(buf: Buffer, start: number, end: number): FieldArray {
  const arr: FieldArray = [];
  const types: string[] = [];
  const cursor = { pos: start };
  while (cursor.pos < end) {
    const tag = String.fromCharCode(buf[cursor.pos++]);
    arr.push(decodeValue(buf, tag, cursor, end));
    types.push(tag);
  }
  Object.defineProperty(arr, FIELD_TYPES, { value: types, enumerable: false });
  return arr;
}

function decodeValue(buf: Buffer, tag: string, c: { pos: number }, end: number): FieldValue {
  const need = (n: number) => {
    if (c.pos + n > end) throw new ProtocolSyntaxError(`truncated field value of type '${tag}'`);
    const at = c.pos;
    c.pos += n;
    return at;
  };
  switch (tag) {
    case 't':
      return buf[need(1)] !== 0;
    case 'b':
      return buf.readInt8(need(1));
    case 'B':
      return buf[need(1)];
    case 's':
      return buf.readInt16BE(need(2));
    case 'u':
      return buf.readUInt16BE(need(2));
    case 'I':
      return buf.readInt32BE(need(4));
    case 'i':
      return buf.readUInt32BE(need(4));
    case 'l':
    case 'L': {
      const v = buf.readBigInt64BE(need(8));
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 'f':
      return buf.readFloatBE(need(4));
    case 'd':
      return buf.readDoubleBE(need(8));
    case 'D': {
      const at = need(5);
      return new Decimal(buf[at], buf.readInt32BE(at + 1));
    }
    case 'T': {
      // Seconds beyond what a Date can hold stay a number (re-encoded as the same timestamp).
      const seconds = Number(buf.readBigUInt64BE(need(8)));
      const date = new Date(seconds * 1000);
      return Number.isNaN(date.getTime()) ? seconds : date;
    }
    case 'S':
    case 'x': {
      const len = buf.readUInt32BE(need(4));
      const at = need(len);
      return tag === 'S' ? buf.toString('utf8', at, at + len) : Buffer.from(buf.subarray(at, at + len));
    }
    case 'F': {
      const len = buf.readUInt32BE(need(4));
      const at = need(len);
      return decodeTable(buf, at, at + len);
    }
    case 'A': {
      const len = buf.readUInt32BE(need(4));
      const at = need(len);
      return decodeArray(buf, at, at + len);
    }
    case 'V':
      return null;
    default:
      throw new ProtocolSyntaxError(`unknown field type '${tag}'`);
  }
}

/** The wire type used for a value created in code (no recorded type). */
export function inferType(v: FieldValue): string {
  if (v === null || v === undefined) return 'V';
  switch (typeof v) {
    case 'boolean':
      return 't';
    case 'string':
      return 'S';
    case 'bigint':
      return 'l';
    case 'number':
      if (!Number.isInteger(v)) return 'd';
      return v >= -0x8000_0000 && v <= 0x7fff_ffff ? 'I' : 'l';
  }
  if (Buffer.isBuffer(v)) return 'x';
  if (v instanceof Decimal) return 'D';
  if (v instanceof Date) return 'T';
  if (Array.isArray(v)) return 'A';
  return 'F';
}

/** The wire type of `key` in `table`: as received, or inferred. */
export function fieldType(table: FieldTable, key: string): string {
  return table[FIELD_TYPES]?.[key] ?? inferType(table[key]);
}

export function encodeTableInto(w: TableWriter, table: FieldTable): void {
  w.u32(0);
  const lengthAt = w.pos - 4;
  const types = table[FIELD_TYPES];
  for (const key of Object.keys(table)) {
    const value = table[key];
    if (value === undefined) continue;
    w.shortstr(key);
    encodeValue(w, types?.[key] ?? inferType(value), value);
  }
  w.buf.writeUInt32BE(w.pos - lengthAt - 4, lengthAt);
}

/** An integer of `bits` bits from any value, wrapped like a C cast (never a RangeError). */
function wrapInt(v: FieldValue, bits: 8 | 16 | 32 | 64, signed: boolean): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else {
    const x = Number(v);
    n = Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
  }
  return signed ? BigInt.asIntN(bits, n) : BigInt.asUintN(bits, n);
}

function encodeValue(w: TableWriter, tag: string, v: FieldValue): void {
  w.u8(tag.charCodeAt(0));
  const range = INTEGER_RANGES[tag];
  if (range && !(typeof v === 'number' && Number.isInteger(v) && v >= range.min && v <= range.max)) {
    // A value out of its declared type's range (set in code): wrap it rather than throw.
    const wrapped = wrapInt(v, range.bits, range.signed);
    v = range.bits === 64 ? wrapped : Number(wrapped);
  }
  switch (tag) {
    case 't':
      return w.u8(v ? 1 : 0);
    case 'b':
      w.ensure(1);
      w.buf.writeInt8(Number(v), w.pos);
      w.pos += 1;
      return;
    case 'B':
      return w.u8(Number(v));
    case 's':
      w.ensure(2);
      w.buf.writeInt16BE(Number(v), w.pos);
      w.pos += 2;
      return;
    case 'u':
      return w.u16(Number(v));
    case 'I':
      w.ensure(4);
      w.buf.writeInt32BE(Number(v), w.pos);
      w.pos += 4;
      return;
    case 'i':
      return w.u32(Number(v));
    case 'l':
    case 'L':
      w.ensure(8);
      w.buf.writeBigInt64BE(BigInt(v as number | bigint), w.pos);
      w.pos += 8;
      return;
    case 'f':
      w.ensure(4);
      w.buf.writeFloatBE(Number(v), w.pos);
      w.pos += 4;
      return;
    case 'd':
      w.ensure(8);
      w.buf.writeDoubleBE(Number(v), w.pos);
      w.pos += 8;
      return;
    case 'D': {
      const d = v as Decimal;
      w.u8(d.scale);
      w.ensure(4);
      w.buf.writeInt32BE(d.value, w.pos);
      w.pos += 4;
      return;
    }
    case 'T': {
      const seconds = v instanceof Date ? Math.floor(v.getTime() / 1000) : Number(v);
      return w.u64(seconds);
    }
    case 'S':
      return w.longstr(typeof v === 'string' ? v : Buffer.isBuffer(v) ? v : String(v));
    case 'x':
      return w.longstr(v as Buffer);
    case 'F':
      return encodeTableInto(w, v as FieldTable);
    case 'A': {
      const arr = v as FieldArray;
      w.u32(0);
      const lengthAt = w.pos - 4;
      const types = arr[FIELD_TYPES];
      arr.forEach((item, i) => encodeValue(w, types?.[i] ?? inferType(item), item));
      w.buf.writeUInt32BE(w.pos - lengthAt - 4, lengthAt);
      return;
    }
    case 'V':
      return;
    default:
      throw new Error(`cannot encode field type '${tag}'`);
  }
}

interface IntegerRange {
  bits: 8 | 16 | 32 | 64;
  signed: boolean;
  min: number;
  max: number;
}

const INTEGER_RANGES: Record<string, IntegerRange | undefined> = {
  b: { bits: 8, signed: true, min: -0x80, max: 0x7f },
  B: { bits: 8, signed: false, min: 0, max: 0xff },
  s: { bits: 16, signed: true, min: -0x8000, max: 0x7fff },
  u: { bits: 16, signed: false, min: 0, max: 0xffff },
  I: { bits: 32, signed: true, min: -0x8000_0000, max: 0x7fff_ffff },
  i: { bits: 32, signed: false, min: 0, max: 0xffff_ffff },
  l: { bits: 64, signed: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  L: { bits: 64, signed: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
};
