// A deliberately small AMQP 0-9-1 client that speaks raw bytes over a node:net socket, so tests can send
// exactly the frames they want (including malformed ones) and read exactly what the server answers.
// It shares no code with Warren's codec on purpose: the suites must judge the broker independently.
import { connect, type Socket } from 'node:net';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

export interface MethodFrame extends Frame {
  classId: number;
  methodId: number;
  args: Buffer;
}

export interface CloseInfo {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

export type FieldValue =
  | string
  | number
  | boolean
  | bigint
  | Buffer
  | null
  | Date
  | FieldValue[]
  | { [key: string]: FieldValue };

// ---- encoding ---------------------------------------------------------------------------------------------

export function shortstr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 255) throw new RangeError('shortstr too long');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

export function longstr(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** A field table with longstr, boolean, signed 32-bit and nested table values (enough for handshakes). */
export function table(entries: Record<string, string | boolean | number | Record<string, boolean>>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(entries)) {
    parts.push(shortstr(key));
    if (typeof value === 'string') parts.push(Buffer.from('S'), longstr(value));
    else if (typeof value === 'boolean') parts.push(Buffer.from('t'), u8(value ? 1 : 0));
    else if (typeof value === 'number') {
      const b = Buffer.alloc(4);
      b.writeInt32BE(value);
      parts.push(Buffer.from('I'), b);
    } else parts.push(Buffer.from('F'), table(value));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

export function frame(type: number, channel: number, payload: Buffer, frameEnd = FRAME_END): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([frameEnd])]);
}

export function methodFrame(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  return frame(FRAME_METHOD, channel, Buffer.concat([u16(classId), u16(methodId), args]));
}

/** A content header frame for class 60 (basic) with no properties set. */
export function contentHeaderFrame(channel: number, bodySize: number): Buffer {
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(60), u16(0), u64(bodySize), u16(0)]));
}

export function bodyFrame(channel: number, body: Buffer): Buffer {
  return frame(FRAME_BODY, channel, body);
}

export function heartbeatFrame(): Buffer {
  return frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
}

// Method argument builders for the methods the raw tests need.
export const methods = {
  channelOpen: (channel: number) => methodFrame(channel, 20, 10, shortstr('')),
  channelCloseOk: (channel: number) => methodFrame(channel, 20, 41),
  connectionCloseOk: () => methodFrame(0, 10, 51),
  connectionClose: (code = 200, text = 'bye') =>
    methodFrame(0, 10, 50, Buffer.concat([u16(code), shortstr(text), u16(0), u16(0)])),
  queueDeclare: (channel: number, name: string, flags = { exclusive: false, autoDelete: false }) => {
    let bits = 0;
    if (flags.exclusive) bits |= 4;
    if (flags.autoDelete) bits |= 8;
    return methodFrame(channel, 50, 10, Buffer.concat([u16(0), shortstr(name), u8(bits), u32(0)]));
  },
  basicPublish: (channel: number, exchange: string, routingKey: string) =>
    methodFrame(channel, 60, 40, Buffer.concat([u16(0), shortstr(exchange), shortstr(routingKey), u8(0)])),
  basicGet: (channel: number, queue: string) =>
    methodFrame(channel, 60, 70, Buffer.concat([u16(0), shortstr(queue), u8(1)])),
};

// ---- decoding ---------------------------------------------------------------------------------------------

export class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.offset++);
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.offset, this.offset + n);
    if (v.length !== n) throw new RangeError('truncated');
    this.offset += n;
    return v;
  }
  shortstr(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  longstr(): Buffer {
    return this.bytes(this.u32());
  }
  table(): Record<string, FieldValue> {
    const end = this.u32() + this.offset;
    const out: Record<string, FieldValue> = {};
    while (this.offset < end) {
      const key = this.shortstr();
      out[key] = this.value();
    }
    return out;
  }
  value(): FieldValue {
    const tag = String.fromCharCode(this.u8());
    const b = this.buf;
    const at = (n: number) => {
      const o = this.offset;
      this.offset += n;
      return o;
    };
    switch (tag) {
      case 't':
        return this.u8() !== 0;
      case 'b':
        return b.readInt8(at(1));
      case 'B':
        return b.readUInt8(at(1));
      case 's':
        return b.readInt16BE(at(2));
      case 'u':
        return b.readUInt16BE(at(2));
      case 'I':
        return b.readInt32BE(at(4));
      case 'i':
        return b.readUInt32BE(at(4));
      case 'l':
      case 'L':
        return b.readBigInt64BE(at(8));
      case 'f':
        return b.readFloatBE(at(4));
      case 'd':
        return b.readDoubleBE(at(8));
      case 'D': {
        const scale = this.u8();
        return b.readInt32BE(at(4)) / 10 ** scale;
      }
      case 'S':
        return this.longstr().toString('utf8');
      case 'x':
        return Buffer.from(this.longstr());
      case 'T':
        return new Date(Number(this.u64()) * 1000);
      case 'F':
        return this.table();
      case 'A': {
        const end = this.u32() + this.offset;
        const arr: FieldValue[] = [];
        while (this.offset < end) arr.push(this.value());
        return arr;
      }
      case 'V':
        return null;
      default:
        throw new Error(`unknown field type ${JSON.stringify(tag)}`);
    }
  }
}

export function asMethod(f: Frame): MethodFrame | undefined {
  if (f.type !== FRAME_METHOD || f.payload.length < 4) return undefined;
  return { ...f, classId: f.payload.readUInt16BE(0), methodId: f.payload.readUInt16BE(2), args: f.payload.subarray(4) };
}

export function parseClose(m: MethodFrame): CloseInfo {
  const r = new Reader(m.args);
  return { replyCode: r.u16(), replyText: r.shortstr(), classId: r.u16(), methodId: r.u16() };
}

// ---- the client -------------------------------------------------------------------------------------------

export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  /** Values sent in tune-ok; undefined = echo the server's proposal. */
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
}

export interface HandshakeResult {
  versionMajor: number;
  versionMinor: number;
  serverProperties: Record<string, FieldValue>;
  mechanisms: string;
  locales: string;
  tune: { channelMax: number; frameMax: number; heartbeat: number };
}

/** A raw socket with a frame reader. Reads are pull-based: nextFrame() waits for the next complete frame. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  /** Every chunk the server sent, concatenated; lets tests inspect non-frame answers such as a protocol header. */
  received = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((ok, fail) => {
      const socket = connect(port, host);
      socket.setNoDelay(true);
      socket.once('connect', () => ok(new RawClient(socket)));
      socket.once('error', fail);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitForData(deadline: number): Promise<void> {
    return new Promise((ok) => {
      const timer = setTimeout(ok, Math.max(0, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(timer);
        ok();
      });
    });
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Resolves with the next frame, or undefined if the socket closed or timeoutMs passed first. */
  async nextFrame(timeoutMs = 5000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 7) {
        const size = this.buf.readUInt32BE(3);
        if (this.buf.length >= size + 8) {
          const f: Frame = {
            type: this.buf.readUInt8(0),
            channel: this.buf.readUInt16BE(1),
            payload: Buffer.from(this.buf.subarray(7, 7 + size)),
          };
          if (this.buf[7 + size] !== FRAME_END) throw new Error(`server sent a bad frame-end octet ${this.buf[7 + size]}`);
          this.buf = this.buf.subarray(size + 8);
          return f;
        }
      }
      if (this.closed || Date.now() >= deadline) return undefined;
      await this.waitForData(deadline);
    }
  }

  /** Next method frame, skipping heartbeats (and any content frames when skipContent). */
  async nextMethod(timeoutMs = 5000): Promise<MethodFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.nextFrame(Math.max(0, deadline - Date.now()));
      if (!f) return undefined;
      const m = asMethod(f);
      if (m) return m;
    }
  }

  /** Waits for a method of the given class/method id; throws with what arrived instead. */
  async expectMethod(classId: number, methodId: number, timeoutMs = 5000): Promise<MethodFrame> {
    const m = await this.nextMethod(timeoutMs);
    if (!m) throw new Error(`expected method ${classId}/${methodId}, got ${this.closed ? 'socket closed' : 'timeout'}`);
    if (m.classId === 10 && m.methodId === 50 && !(classId === 10 && methodId === 50)) {
      const c = parseClose(m);
      throw new Error(`expected method ${classId}/${methodId}, got connection.close ${c.replyCode} ${c.replyText}`);
    }
    if (m.classId !== classId || m.methodId !== methodId) {
      throw new Error(`expected method ${classId}/${methodId}, got ${m.classId}/${m.methodId}`);
    }
    return m;
  }

  /**
   * Waits for connection.close (skipping other frames), answers close-ok unless told not to, and returns its
   * fields. Throws if the socket closes or times out without one.
   */
  async expectConnectionClose(timeoutMs = 5000, { answer = true } = {}): Promise<CloseInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.nextMethod(Math.max(0, deadline - Date.now()));
      if (!m) throw new Error(`expected connection.close, got ${this.closed ? 'socket closed' : 'timeout'}`);
      if (m.classId === 10 && m.methodId === 50) {
        const info = parseClose(m);
        if (answer) this.write(methods.connectionCloseOk());
        return info;
      }
    }
  }

  /** Resolves true once the server has closed the socket, false if still open after timeoutMs. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.waitForData(deadline);
    return this.closed;
  }

  /** Full opening handshake: header, start/start-ok (PLAIN), tune/tune-ok, open/open-ok. */
  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    this.write(PROTOCOL_HEADER);
    const start = await this.expectMethod(10, 10);
    const r = new Reader(start.args);
    const versionMajor = r.u8();
    const versionMinor = r.u8();
    const serverProperties = r.table();
    const mechanisms = r.longstr().toString();
    const locales = r.longstr().toString();
    const response = Buffer.from(`\u0000${opts.user ?? 'guest'}\u0000${opts.password ?? 'guest'}`);
    const clientProperties = table({
      product: 'warren-raw-test',
      capabilities: { authentication_failure_close: true, consumer_cancel_notify: true },
    });
    this.write(
      methodFrame(0, 10, 11, Buffer.concat([clientProperties, shortstr('PLAIN'), longstr(response), shortstr('en_US')])),
    );
    const tuneFrame = await this.expectMethod(10, 30);
    const t = new Reader(tuneFrame.args);
    const tune = { channelMax: t.u16(), frameMax: t.u32(), heartbeat: t.u16() };
    this.write(
      methodFrame(
        0,
        10,
        31,
        Buffer.concat([
          u16(opts.channelMax ?? tune.channelMax),
          u32(opts.frameMax ?? tune.frameMax),
          u16(opts.heartbeat ?? tune.heartbeat),
        ]),
      ),
    );
    this.write(methodFrame(0, 10, 40, Buffer.concat([shortstr(opts.vhost ?? '/'), shortstr(''), u8(0)])));
    await this.expectMethod(10, 41);
    return { versionMajor, versionMinor, serverProperties, mechanisms, locales, tune };
  }

  /** channel.open + wait for channel.open-ok. */
  async openChannel(channel: number): Promise<void> {
    this.write(methods.channelOpen(channel));
    await this.expectMethod(20, 11);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
