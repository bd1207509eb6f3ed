import type { Socket } from 'node:net';
import { ByteWriter } from '../protocol/byte-writer';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD, type AmqpMethod } from '../protocol/methods.generated';
import { writeBodyFrameHeader, writeHeaderFrame, writeMethodFrame } from '../protocol/frame-writer';

/** Bodies at least this large are handed to the socket as their own buffer rather than copied. */
const ZERO_COPY_BODY_BYTES = 16 * 1024;
/** Above this many bytes queued in the socket, the connection counts as congested. */
const CONGESTED_BYTES = 4 * 1024 * 1024;
/**
 * A peer congested this long without draining is stuck (a consumer that stopped reading):
 * it no longer slows the publishers of its queues, which keep taking messages (paging as they
 * grow) until a memory or disk alarm, as RabbitMQ's do.
 */
export const STUCK_OUTPUT_MS = 5000;

/**
 * The one choke point through which a connection writes. Frames are appended to a buffer
 * and written once per event-loop turn (setImmediate), so a burst of deliveries becomes one
 * socket write. Large bodies are passed by reference.
 */
export class FrameOutput {
  private readonly w = new ByteWriter(64 * 1024);
  private readonly pending: Buffer[] = [];
  private scheduled = false;
  /** Someone saw `congested`; onDrain must follow once the bytes are out. */
  private awaitingDrain = false;
  private closed = false;
  /** When the current congestion was first seen (0 when not congested). */
  private congestedSinceMs = 0;
  frameMaxBytes: number;
  lastWriteMs = Date.now();

  constructor(
    private readonly socket: Socket,
    frameMaxBytes: number,
    private readonly onDrain: () => void,
  ) {
    this.frameMaxBytes = frameMaxBytes;
    socket.on('drain', () => this.drained());
  }

  /** True when the peer reads slower than we write; consumers pause until onDrain is called. */
  get congested(): boolean {
    if (this.socket.writableLength + this.w.pos <= CONGESTED_BYTES) return false;
    this.awaitingDrain = true;
    if (this.congestedSinceMs === 0) this.congestedSinceMs = Date.now();
    return true;
  }

  /** Congested for STUCK_OUTPUT_MS or more without a drain. */
  get stuck(): boolean {
    return this.congestedSinceMs !== 0 && Date.now() - this.congestedSinceMs >= STUCK_OUTPUT_MS && this.congested;
  }

  method(channel: number, method: AmqpMethod): void {
    writeMethodFrame(this.w, channel, method);
    this.schedule();
  }

  /** A content-bearing method: the method frame, the content header and the body frames. */
  content(channel: number, method: AmqpMethod, rawProperties: Buffer, body: Buffer): void {
    writeMethodFrame(this.w, channel, method);
    this.contentFrames(channel, rawProperties, body);
  }

  /**
   * basic.deliver and its content, written field by field: the hot path allocates nothing
   * per message here. `consumerTag` is the tag's encoded shortstr (length byte included).
   */
  deliver(channel: number, consumerTag: Buffer, deliveryTag: number, redelivered: boolean, routingBytes: Buffer, rawProperties: Buffer, body: Buffer): void {
    const bodyBytes = body.length;
    if (bodyBytes < ZERO_COPY_BODY_BYTES && bodyBytes <= this.frameMaxBytes - 8) {
      return this.deliverSmall(channel, consumerTag, deliveryTag, redelivered, routingBytes, rawProperties, body);
    }
    const w = this.w;
    w.ensure(7 + 4 + consumerTag.length + 9 + routingBytes.length + 1);
    const buf = w.buf;
    buf[w.pos] = FRAME_METHOD;
    buf.writeUInt16BE(channel, w.pos + 1);
    const payloadStart = w.pos + 7;
    buf.writeUInt32BE(0x003c003c, payloadStart); // class 60 (basic), method 60 (deliver)
    w.pos = payloadStart + 4;
    w.bytes(consumerTag);
    w.u64(deliveryTag);
    w.u8(redelivered ? 1 : 0);
    w.bytes(routingBytes);
    w.buf.writeUInt32BE(w.pos - payloadStart, payloadStart - 4);
    w.u8(FRAME_END);
    this.contentFrames(channel, rawProperties, body);
  }

  /**
   * deliver() of a body that fits one body frame and is copied: the three frames are written
   * in one pass into space reserved once.
   */
  private deliverSmall(channel: number, consumerTag: Buffer, deliveryTag: number, redelivered: boolean, routingBytes: Buffer, rawProperties: Buffer, body: Buffer): void {
    const bodyBytes = body.length;
    const methodBytes = 4 + consumerTag.length + 9 + routingBytes.length;
    const headerBytes = 12 + rawProperties.length;
    const w = this.w;
    w.ensure(8 + methodBytes + 8 + headerBytes + (bodyBytes > 0 ? 8 + bodyBytes : 0));
    const buf = w.buf;
    let p = w.pos;
    // method frame: basic.deliver
    buf[p] = FRAME_METHOD;
    buf[p + 1] = channel >>> 8;
    buf[p + 2] = channel & 0xff;
    put32(buf, p + 3, methodBytes);
    put32(buf, p + 7, 0x003c003c); // class 60 (basic), method 60 (deliver)
    p = copyInto(consumerTag, buf, p + 11);
    put32(buf, p, Math.floor(deliveryTag / 0x1_0000_0000) >>> 0);
    put32(buf, p + 4, deliveryTag >>> 0);
    buf[p + 8] = redelivered ? 1 : 0;
    p = copyInto(routingBytes, buf, p + 9);
    buf[p++] = FRAME_END;
    // content header: class 60, weight 0, body size (under 2^32 here), properties as published
    buf[p] = FRAME_HEADER;
    buf[p + 1] = channel >>> 8;
    buf[p + 2] = channel & 0xff;
    put32(buf, p + 3, headerBytes);
    put32(buf, p + 7, 0x003c0000);
    put32(buf, p + 11, 0);
    put32(buf, p + 15, bodyBytes);
    p = copyInto(rawProperties, buf, p + 19);
    buf[p++] = FRAME_END;
    if (bodyBytes > 0) {
      buf[p] = FRAME_BODY;
      buf[p + 1] = channel >>> 8;
      buf[p + 2] = channel & 0xff;
      put32(buf, p + 3, bodyBytes);
      p = copyInto(body, buf, p + 7);
      buf[p++] = FRAME_END;
    }
    w.pos = p;
    this.schedule();
  }

  private contentFrames(channel: number, rawProperties: Buffer, body: Buffer): void {
    writeHeaderFrame(this.w, channel, 60, body.length, rawProperties);
    const maxPayload = this.frameMaxBytes - 8;
    for (let offset = 0; offset < body.length; offset += maxPayload) {
      const end = Math.min(body.length, offset + maxPayload);
      writeBodyFrameHeader(this.w, channel, end - offset);
      if (end - offset >= ZERO_COPY_BODY_BYTES) {
        this.pending.push(this.w.take(), offset === 0 && end === body.length ? body : body.subarray(offset, end));
        this.w.reset();
      } else {
        this.w.ensure(end - offset);
        body.copy(this.w.buf, this.w.pos, offset, end);
        this.w.pos += end - offset;
      }
      this.w.u8(FRAME_END);
    }
    this.schedule();
  }

  raw(bytes: Buffer): void {
    this.w.bytes(bytes);
    this.schedule();
  }

  /** Writes everything queued now. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.w.pos > 0) {
      this.pending.push(this.w.take());
      this.w.reset();
    }
    if (this.pending.length === 0) return;
    this.lastWriteMs = Date.now();
    if (this.pending.length === 1) {
      this.socket.write(this.pending[0]);
    } else {
      this.socket.cork();
      for (const b of this.pending) this.socket.write(b);
      this.socket.uncork();
    }
    this.pending.length = 0;
    // The kernel may take everything at once, in which case no 'drain' event comes.
    if (this.awaitingDrain && !this.socket.writableNeedDrain) this.drained();
  }

  private drained(): void {
    this.awaitingDrain = false;
    this.congestedSinceMs = 0;
    this.onDrain();
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}

/** Copies `src` into `dst` at `at` and returns the position after it; short runs by a loop, cheaper than the native copy's call. */
function copyInto(src: Buffer, dst: Buffer, at: number): number {
  const n = src.length;
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[at + i] = src[i];
  } else {
    src.copy(dst, at);
  }
  return at + n;
}

/** Writes `v` (0 to 2^32 - 1) big-endian at `at`: plain stores, which the optimizer inlines (Buffer's writer checks its arguments). */
function put32(buf: Buffer, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}
