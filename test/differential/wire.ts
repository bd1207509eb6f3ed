// Bytes for the differential harness: method arguments from plain objects (tables with explicit field
// types where it matters), and server frames decoded into stable text that keeps every field's type tag,
// so a header sent back as a long instead of an int shows up as a difference. Independent of Warren's
// codec (only the method list and argument schema are shared with the protocol fuzzer).
import { METHOD_BY_NAME, METHODS, encodeArgs, type ArgValue, type MethodSpec } from '../fuzz/fuzz-frames';
import { frame, FRAME_BODY, FRAME_HEADER, methodFrame, u16, u32, u64 } from '../helpers/raw-amqp';

/** A field value with an explicit AMQP type tag, e.g. typed('b', 5) for a signed byte. */
export interface Typed {
  readonly $type: string;
  readonly value: unknown;
}
export function typed(tag: string, value: unknown): Typed {
  return { $type: tag, value };
}

export type Value = string | number | boolean | bigint | Buffer | null | Date | Typed | Value[] | { [key: string]: Value };
export type Table = Record<string, Value>;

// ---- encoding -----------------------------------------------------------------------------------------------

function shortstr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function encodeValue(v: Value): Buffer {
  if (v !== null && typeof v === 'object' && '$type' in v && typeof (v as Typed).$type === 'string') return encodeTyped(v as Typed);
  if (v === null) return Buffer.from('V');
  if (typeof v === 'string') return encodeTyped(typed('S', v));
  if (typeof v === 'boolean') return encodeTyped(typed('t', v));
  if (typeof v === 'bigint') return encodeTyped(typed('l', v));
  if (typeof v === 'number') return encodeTyped(typed(Number.isInteger(v) ? (v >= -(2 ** 31) && v < 2 ** 31 ? 'I' : 'l') : 'd', v));
  if (Buffer.isBuffer(v)) return encodeTyped(typed('x', v));
  if (v instanceof Date) return encodeTyped(typed('T', v));
  if (Array.isArray(v)) return encodeTyped(typed('A', v));
  return encodeTyped(typed('F', v));
}

function encodeTyped({ $type: tag, value }: Typed): Buffer {
  const t = Buffer.from(tag);
  const n = (size: number, write: (b: Buffer) => void) => {
    const b = Buffer.alloc(size);
    write(b);
    return Buffer.concat([t, b]);
  };
  switch (tag) {
    case 't':
      return Buffer.concat([t, Buffer.from([value ? 1 : 0])]);
    case 'b':
      return n(1, (b) => b.writeInt8(Number(value)));
    case 'B':
      return n(1, (b) => b.writeUInt8(Number(value)));
    case 's':
      return n(2, (b) => b.writeInt16BE(Number(value)));
    case 'u':
      return n(2, (b) => b.writeUInt16BE(Number(value)));
    case 'I':
      return n(4, (b) => b.writeInt32BE(Number(value)));
    case 'i':
      return n(4, (b) => b.writeUInt32BE(Number(value)));
    case 'l':
      return n(8, (b) => b.writeBigInt64BE(BigInt(value as number)));
    case 'f':
      return n(4, (b) => b.writeFloatBE(Number(value)));
    case 'd':
      return n(8, (b) => b.writeDoubleBE(Number(value)));
    case 'D': {
      const [scale, unscaled] = value as [number, number];
      return n(5, (b) => {
        b.writeUInt8(scale, 0);
        b.writeInt32BE(unscaled, 1);
      });
    }
    case 'T':
      return n(8, (b) => b.writeBigUInt64BE(BigInt(Math.floor((value as Date).getTime() / 1000))));
    case 'S':
    case 'x': {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
      return Buffer.concat([t, u32(bytes.length), bytes]);
    }
    case 'A': {
      const body = Buffer.concat((value as Value[]).map(encodeValue));
      return Buffer.concat([t, u32(body.length), body]);
    }
    case 'F':
      return Buffer.concat([t, encodeTable(value as Table)]);
    case 'V':
      return t;
    default:
      throw new Error(`cannot encode field type ${tag}`);
  }
}

export function encodeTable(table: Table): Buffer {
  const body = Buffer.concat(Object.entries(table).flatMap(([k, v]) => [shortstr(k), encodeValue(v)]));
  return Buffer.concat([u32(body.length), body]);
}

/** Arguments by name; strings for shortstr/longstr, objects for tables, missing ones zero or empty. */
export type Args = Record<string, string | number | bigint | boolean | Buffer | Table | undefined>;

export function spec(name: string): MethodSpec {
  const s = METHOD_BY_NAME.get(name);
  if (!s) throw new Error(`unknown method ${name}`);
  return s;
}

export function methodBytes(channel: number, name: string, args: Args = {}): Buffer {
  const s = spec(name);
  const values: Record<string, ArgValue> = {};
  for (const f of s.fields) {
    const v = args[f.name];
    if (f.type === 'table') values[f.name] = encodeTable((v as Table | undefined) ?? {});
    else if (f.type === 'shortstr' || f.type === 'longstr') values[f.name] = Buffer.isBuffer(v) ? v : Buffer.from(String(v ?? ''), 'utf8');
    else if (f.type === 'bit') values[f.name] = Boolean(v);
    else values[f.name] = (v as number | bigint | undefined) ?? 0;
  }
  return methodFrame(channel, s.classId, s.methodId, encodeArgs(s, values));
}

/** Basic properties in flag order (amqp 0-9-1 basic class). */
export interface Properties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Table;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: Date;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

const PROPERTY_ORDER: [keyof Properties, 'shortstr' | 'table' | 'octet' | 'timestamp'][] = [
  ['contentType', 'shortstr'],
  ['contentEncoding', 'shortstr'],
  ['headers', 'table'],
  ['deliveryMode', 'octet'],
  ['priority', 'octet'],
  ['correlationId', 'shortstr'],
  ['replyTo', 'shortstr'],
  ['expiration', 'shortstr'],
  ['messageId', 'shortstr'],
  ['timestamp', 'timestamp'],
  ['type', 'shortstr'],
  ['userId', 'shortstr'],
  ['appId', 'shortstr'],
  ['clusterId', 'shortstr'],
];

export function encodeProperties(p: Properties): Buffer {
  let flags = 0;
  const parts: Buffer[] = [];
  PROPERTY_ORDER.forEach(([key, type], i) => {
    const v = p[key];
    if (v === undefined) return;
    flags |= 1 << (15 - i);
    if (type === 'shortstr') parts.push(shortstr(String(v)));
    else if (type === 'table') parts.push(encodeTable(v as Table));
    else if (type === 'octet') parts.push(Buffer.from([Number(v)]));
    else parts.push(u64(Math.floor((v as Date).getTime() / 1000)));
  });
  return Buffer.concat([u16(flags), ...parts]);
}

/** method + content header + one body frame (bodies here are small). */
export function publishBytes(channel: number, args: Args, body: string | Buffer, props: Properties = {}): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const header = frame(FRAME_HEADER, channel, Buffer.concat([u16(60), u16(0), u64(bytes.length), encodeProperties(props)]));
  const parts = [methodBytes(channel, 'basic.publish', args), header];
  if (bytes.length > 0) parts.push(frame(FRAME_BODY, channel, bytes));
  return Buffer.concat(parts);
}

// ---- decoding into text -------------------------------------------------------------------------------------

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  u8 = () => this.take(1).readUInt8(0);
  u16 = () => this.take(2).readUInt16BE(0);
  u32 = () => this.take(4).readUInt32BE(0);
  u64 = () => this.take(8).readBigUInt64BE(0);
  shortstr = () => this.take(this.u8()).toString('utf8');
  longstr = () => this.take(this.u32());
}

/** A field value as `tag:value` (tables and arrays nested), e.g. `I:5`, `S:"x"`, `F:{a=t:true}`. */
function decodeValue(c: Cursor): string {
  const tag = String.fromCharCode(c.u8());
  const b = (n: number) => c.take(n);
  switch (tag) {
    case 't':
      return `t:${c.u8() !== 0}`;
    case 'b':
      return `b:${b(1).readInt8(0)}`;
    case 'B':
      return `B:${b(1).readUInt8(0)}`;
    case 's':
      return `s:${b(2).readInt16BE(0)}`;
    case 'u':
      return `u:${b(2).readUInt16BE(0)}`;
    case 'I':
      return `I:${b(4).readInt32BE(0)}`;
    case 'i':
      return `i:${b(4).readUInt32BE(0)}`;
    case 'l':
    case 'L':
      return `${tag}:${b(8).readBigInt64BE(0)}`;
    case 'f':
      return `f:${b(4).readFloatBE(0)}`;
    case 'd':
      return `d:${b(8).readDoubleBE(0)}`;
    case 'D': {
      const scale = c.u8();
      return `D:${scale}/${b(4).readInt32BE(0)}`;
    }
    case 'T':
      return `T:${c.u64()}`;
    case 'S':
      return `S:${JSON.stringify(c.longstr().toString('utf8'))}`;
    case 'x':
      return `x:${c.longstr().toString('hex')}`;
    case 'F':
      return `F:${decodeTable(c)}`;
    case 'A': {
      const end = c.u32() + c.pos;
      const items: string[] = [];
      while (c.pos < end) items.push(decodeValue(c));
      return `A:[${items.join(',')}]`;
    }
    case 'V':
      return 'V';
    default:
      throw new Error(`unknown field type ${JSON.stringify(tag)}`);
  }
}

/** A table as `{key=value,...}` with keys sorted (RabbitMQ and Warren need not agree on key order). */
function decodeTable(c: Cursor): string {
  const end = c.u32() + c.pos;
  const entries: string[] = [];
  while (c.pos < end) {
    const key = c.shortstr();
    entries.push(`${key}=${decodeValue(c)}`);
  }
  return `{${entries.sort().join(',')}}`;
}

export const METHOD_NAMES = new Map(METHODS.map((m) => [(m.classId << 16) | m.methodId, m]));

/** A method frame's payload as `name {field=value,...}`; tables via decodeTable. */
export function describeMethod(payload: Buffer): { name: string; fields: Record<string, string> } {
  const key = payload.readUInt32BE(0);
  const s = METHOD_NAMES.get(key);
  if (!s) return { name: `unknown ${key >>> 16}/${key & 0xffff}`, fields: {} };
  const c = new Cursor(payload.subarray(4));
  const fields: Record<string, string> = {};
  let bitByte = 0;
  let bitIndex = 8;
  for (const f of s.fields) {
    if (f.type === 'bit') {
      if (bitIndex === 8) {
        bitByte = c.u8();
        bitIndex = 0;
      }
      fields[f.name] = String(((bitByte >> bitIndex++) & 1) === 1);
      continue;
    }
    bitIndex = 8;
    switch (f.type) {
      case 'octet':
        fields[f.name] = String(c.u8());
        break;
      case 'short':
        fields[f.name] = String(c.u16());
        break;
      case 'long':
        fields[f.name] = String(c.u32());
        break;
      case 'longlong':
      case 'timestamp':
        fields[f.name] = String(c.u64());
        break;
      case 'shortstr':
        fields[f.name] = c.shortstr();
        break;
      case 'longstr':
        fields[f.name] = c.longstr().toString('utf8');
        break;
      case 'table':
        fields[f.name] = decodeTable(c);
        break;
    }
  }
  return { name: s.name, fields };
}

/** A content header's properties as `key=value` pairs in flag order, plus the announced body size. */
export function describeHeader(payload: Buffer): { bodySize: bigint; properties: string[] } {
  const c = new Cursor(payload);
  c.u16();
  c.u16();
  const bodySize = c.u64();
  const flags = c.u16();
  const properties: string[] = [];
  PROPERTY_ORDER.forEach(([key, type], i) => {
    if ((flags & (1 << (15 - i))) === 0) return;
    if (type === 'shortstr') properties.push(`${key}=${c.shortstr()}`);
    else if (type === 'table') properties.push(`${key}=${decodeTable(c)}`);
    else if (type === 'octet') properties.push(`${key}=${c.u8()}`);
    else properties.push(`${key}=${c.u64()}`);
  });
  return { bodySize, properties };
}
