import { connect, type Socket } from 'node:net';
import { ByteReader } from '../../protocol/byte-reader';
import { ByteWriter } from '../../protocol/byte-writer';
import { FrameReader } from '../../protocol/frame-reader';
import { HEARTBEAT_FRAME, writeMethodFrame } from '../../protocol/frame-writer';
import {
  decodeMethodArgs,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  METHOD_INFO,
  MethodKey,
  type AmqpMethod,
} from '../../protocol/methods.generated';

/**
 * A minimal AMQP 0-9-1 client for load generation, built on Warren's codec. Setup calls
 * (open, declare, consume) are promise-based; the message path is not: deliveries and
 * confirms are handed to a per-channel listener synchronously from the socket's data
 * handler, and outgoing frames collect in one buffer that goes out in one socket write,
 * either explicitly (flush) or once per event-loop turn (schedule).
 */

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const DEFAULT_FRAME_MAX = 131072;
const OUT_INITIAL_BYTES = 64 * 1024;

/** Receives what arrives on a channel outside of RPC replies. Called synchronously; must not throw. */
export interface ChannelListener {
  /**
   * A basic.deliver with its first body frame (or an empty buffer for an empty body). The
   * buffer is a slice of the read buffer, valid only during the call.
   */
  onDelivery?(deliveryTag: number, firstBodyFrame: Buffer): void;
  /** basic.ack / basic.nack from the broker on a channel in confirm mode. */
  onConfirm?(deliveryTag: number, multiple: boolean, nack: boolean): void;
  /** After a whole socket read has been processed: the place to batch acks. */
  onReadEnd?(): void;
}

interface Waiter {
  key: number;
  resolve(m: AmqpMethod): void;
  reject(err: Error): void;
}

/** One channel of a PerfConnection. */
export class PerfChannel {
  listener: ChannelListener | null = null;
  readonly waiters: Waiter[] = [];
  /** Content assembly: 0 = none, 1 = expecting header, 2 = expecting first body frame, 3 = skipping body. */
  contentState = 0;
  contentIsDelivery = false;
  contentTag = 0;
  contentRemaining = 0;

  constructor(
    readonly conn: PerfConnection,
    readonly id: number,
  ) {}

  /** Sends a synchronous method and resolves with the reply whose key is `replyKey`. */
  rpc(method: AmqpMethod, replyKey: number): Promise<AmqpMethod> {
    return this.conn.rpc(this.id, method, replyKey);
  }

  /** Appends a method frame to the output buffer and schedules a write. */
  send(method: AmqpMethod): void {
    writeMethodFrame(this.conn.out, this.id, method);
    this.conn.schedule();
  }
}

/** Connection parameters from an amqp:// URI. */
export interface AmqpUri {
  host: string;
  port: number;
  user: string;
  password: string;
  vhost: string;
}

/** Parses amqp://user:pass@host:port/vhost (the vhost is percent-decoded; an empty path is "/"). */
export function parseAmqpUri(uri: string): AmqpUri {
  const u = new URL(uri);
  if (u.protocol !== 'amqp:') throw new Error(`unsupported URI scheme ${u.protocol}`);
  const path = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 5672 : Number(u.port),
    user: u.username === '' ? 'guest' : decodeURIComponent(u.username),
    password: u.password === '' ? 'guest' : decodeURIComponent(u.password),
    vhost: path === '' ? '/' : decodeURIComponent(path),
  };
}

/** An AMQP connection; see the module comment for the threading and batching contract. */
export class PerfConnection {
  readonly out = new ByteWriter(OUT_INITIAL_BYTES);
  frameMaxBytes = DEFAULT_FRAME_MAX;
  /** True while the broker has sent connection.blocked. */
  blocked = false;
  /** Set once the connection failed or closed; later calls reject with it. */
  error: Error | null = null;
  private readonly reader: FrameReader;
  private readonly channels: (PerfChannel | undefined)[] = [];
  private readonly readEndListeners: ChannelListener[] = [];
  private scheduled = false;
  private nextChannelId = 1;
  private closing = false;
  private readonly flushBound = () => this.flush();

  private constructor(readonly socket: Socket) {
    this.reader = new FrameReader((type, channel, buf, start, end) => this.onFrame(type, channel, buf.subarray(start, end)), DEFAULT_FRAME_MAX);
    this.channels[0] = new PerfChannel(this, 0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  /** Connects and runs the handshake (PLAIN, tune, open); heartbeats are disabled. */
  static async open(uri: string, connectionName = 'warren-perf'): Promise<PerfConnection> {
    const p = parseAmqpUri(uri);
    const socket = connect(p.port, p.host);
    await new Promise<void>((ok, fail) => {
      socket.once('connect', ok);
      socket.once('error', fail);
    });
    const conn = new PerfConnection(socket);
    try {
      await conn.handshake(p, connectionName);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return conn;
  }

  private async handshake(p: AmqpUri, name: string): Promise<void> {
    const ch0 = this.channels[0]!;
    const started = this.expect(0, MethodKey.ConnectionStart);
    this.socket.write(PROTOCOL_HEADER);
    await started;
    const tune = (await ch0.rpc(
      {
        key: MethodKey.ConnectionStartOk,
        args: {
          clientProperties: {
            product: 'warren-perf',
            connection_name: name,
            capabilities: {
              publisher_confirms: true,
              'basic.nack': true,
              consumer_cancel_notify: true,
              'connection.blocked': true,
              authentication_failure_close: true,
            },
          },
          mechanism: 'PLAIN',
          response: Buffer.from(`\0${p.user}\0${p.password}`),
          locale: 'en_US',
        },
      },
      MethodKey.ConnectionTune,
    )) as Extract<AmqpMethod, { key: typeof MethodKey.ConnectionTune }>;
    const frameMax = tune.args.frameMax === 0 ? DEFAULT_FRAME_MAX : Math.min(tune.args.frameMax, DEFAULT_FRAME_MAX);
    this.frameMaxBytes = frameMax;
    this.reader.frameMaxBytes = frameMax;
    const channelMax = tune.args.channelMax === 0 ? 2047 : tune.args.channelMax;
    ch0.send({ key: MethodKey.ConnectionTuneOk, args: { channelMax, frameMax, heartbeat: 0 } });
    await ch0.rpc(
      { key: MethodKey.ConnectionOpen, args: { virtualHost: p.vhost, capabilities: '', insist: false } },
      MethodKey.ConnectionOpenOk,
    );
  }

  /** Opens the next channel. */
  async openChannel(): Promise<PerfChannel> {
    const ch = new PerfChannel(this, this.nextChannelId++);
    this.channels[ch.id] = ch;
    await ch.rpc({ key: MethodKey.ChannelOpen, args: { outOfBand: '' } }, MethodKey.ChannelOpenOk);
    return ch;
  }

  /** Registers a listener whose onReadEnd runs after every processed socket read. */
  addReadEndListener(l: ChannelListener): void {
    this.readEndListeners.push(l);
  }

  /**
   * Sends a synchronous method and resolves with its reply (replies on a channel come in request
   * order). With flushNow = false the frame waits for flush(), so that requests can be pipelined.
   */
  rpc(channel: number, method: AmqpMethod, replyKey: number, flushNow = true): Promise<AmqpMethod> {
    const reply = this.expect(channel, replyKey);
    writeMethodFrame(this.out, channel, method);
    if (flushNow) this.flush();
    return reply;
  }

  private expect(channel: number, key: number): Promise<AmqpMethod> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.channels[channel]!.waiters.push({ key, resolve, reject }));
  }

  /** Bytes the socket has not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Writes everything buffered now, in one socket write. */
  flush(): void {
    this.scheduled = false;
    const w = this.out;
    if (w.pos === 0 || this.error) return;
    const chunk = w.buf.subarray(0, w.pos);
    // The socket keeps a reference to the chunk until written, so continue in a fresh buffer.
    w.buf = Buffer.allocUnsafe(w.buf.length > 4 * OUT_INITIAL_BYTES ? OUT_INITIAL_BYTES : w.buf.length);
    w.pos = 0;
    this.socket.write(chunk);
  }

  /** Flushes at the end of this event-loop turn (once, however many frames are added). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushBound);
  }

  /** connection.close / close-ok, then the socket ends; destroys it if the broker takes over `timeoutMs`. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.error || this.closing) {
      this.socket.destroy();
      return;
    }
    this.closing = true;
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    try {
      await this.rpc(
        0,
        { key: MethodKey.ConnectionClose, args: { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 } },
        MethodKey.ConnectionCloseOk,
      );
    } catch {
      // Closed anyway.
    } finally {
      clearTimeout(timer);
      this.socket.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    const listeners = this.readEndListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i].onReadEnd!();
  }

  private onFrame(type: number, channelId: number, payload: Buffer): void {
    const ch = this.channels[channelId];
    if (ch === undefined) return this.fail(new Error(`frame on unknown channel ${channelId}`));
    if (type === FRAME_BODY) return this.onBody(ch, payload);
    if (type === FRAME_METHOD) return this.onMethod(ch, payload);
    if (type === FRAME_HEADER) {
      if (ch.contentState !== 1) return this.fail(new Error('unexpected content header'));
      // class-id (2), weight (2), body-size (8)
      const size = payload.readUInt32BE(4) * 0x1_0000_0000 + payload.readUInt32BE(8);
      ch.contentRemaining = size;
      if (size === 0) {
        ch.contentState = 0;
        if (ch.contentIsDelivery) ch.listener?.onDelivery?.(ch.contentTag, payload.subarray(0, 0));
      } else {
        ch.contentState = ch.contentIsDelivery ? 2 : 3;
      }
      return;
    }
    if (type === FRAME_HEARTBEAT) {
      this.socket.write(HEARTBEAT_FRAME);
    }
  }

  private onBody(ch: PerfChannel, payload: Buffer): void {
    if (ch.contentState === 2) ch.listener?.onDelivery?.(ch.contentTag, payload);
    else if (ch.contentState !== 3) return this.fail(new Error('unexpected body frame'));
    ch.contentRemaining -= payload.length;
    ch.contentState = ch.contentRemaining > 0 ? 3 : 0;
  }

  private onMethod(ch: PerfChannel, p: Buffer): void {
    const key = p.readUInt32BE(0);
    // Fast paths for the per-message methods; no decoding into objects.
    if (key === MethodKey.BasicDeliver) {
      const tagAt = 5 + p[4];
      ch.contentTag = p.readUInt32BE(tagAt) * 0x1_0000_0000 + p.readUInt32BE(tagAt + 4);
      ch.contentIsDelivery = true;
      ch.contentState = 1;
      return;
    }
    if (key === MethodKey.BasicAck || key === MethodKey.BasicNack) {
      const tag = p.readUInt32BE(4) * 0x1_0000_0000 + p.readUInt32BE(8);
      ch.listener?.onConfirm?.(tag, (p[12] & 1) !== 0, key === MethodKey.BasicNack);
      return;
    }
    let m: AmqpMethod | null;
    try {
      m = decodeMethodArgs(key, new ByteReader(p, 4, p.length));
    } catch (err) {
      return this.fail(err as Error);
    }
    if (m === null) return this.fail(new Error(`unknown method 0x${key.toString(16)}`));
    if (METHOD_INFO.get(key)?.content) {
      // basic.return or basic.get-ok: the content is skipped.
      ch.contentIsDelivery = false;
      ch.contentState = 1;
      return;
    }
    switch (m.key) {
      case MethodKey.ConnectionClose:
        this.socket.write(connectionCloseOk());
        return this.fail(new Error(`connection closed by the broker: ${m.args.replyCode} ${m.args.replyText}`));
      case MethodKey.ChannelClose:
        return this.failChannel(ch, new Error(`channel ${ch.id} closed by the broker: ${m.args.replyCode} ${m.args.replyText}`));
      case MethodKey.ConnectionBlocked:
        this.blocked = true;
        return;
      case MethodKey.ConnectionUnblocked:
        this.blocked = false;
        return;
      case MethodKey.BasicCancel:
        return this.failChannel(ch, new Error(`consumer ${m.args.consumerTag} cancelled by the broker`));
    }
    const waiter = ch.waiters.shift();
    if (waiter === undefined) return;
    if (waiter.key !== key) {
      waiter.reject(new Error(`expected ${METHOD_INFO.get(waiter.key)?.name}, got ${METHOD_INFO.get(key)?.name}`));
      return;
    }
    waiter.resolve(m);
  }

  private failChannel(ch: PerfChannel, err: Error): void {
    for (const w of ch.waiters.splice(0)) w.reject(err);
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    for (const ch of this.channels) {
      if (ch) for (const w of ch.waiters.splice(0)) w.reject(err);
    }
    if (!this.closing) this.onError(err);
  }

  /** Called once when the connection fails other than by close(); by default the error is kept in `error`. */
  onError: (err: Error) => void = () => {};
}

function connectionCloseOk(): Buffer {
  const w = new ByteWriter(16);
  writeMethodFrame(w, 0, { key: MethodKey.ConnectionCloseOk, args: {} });
  return w.take();
}
