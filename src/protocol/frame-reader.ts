import { FrameError } from './errors';
import { FRAME_END } from './methods.generated';

const HEADER_BYTES = 7;

/**
 * Receives each complete frame: its payload is `buf[start, end)`, where `buf` may be the read
 * buffer itself (valid only during the call unless copied). No slice is made per frame: a
 * handler slices or copies only what must outlive the call.
 */
export type FrameHandler = (type: number, channel: number, buf: Buffer, start: number, end: number) => void;

/**
 * Incremental frame parser. Whole frames inside a chunk are handed out as ranges of it without
 * copying; only a frame that straddles two reads is copied, once, into a buffer of its exact size.
 */
export class FrameReader {
  /** Largest accepted frame payload in bytes; raised or lowered by connection.tune-ok. */
  frameMaxBytes: number;
  private partial: Buffer | null = null;
  private partialFilled = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    frameMaxBytes: number,
  ) {
    this.frameMaxBytes = frameMaxBytes;
  }

  /** Bytes held from an incomplete frame. */
  get bufferedBytes(): number {
    return this.partialFilled;
  }

  /** Parses a chunk; throws FrameError on a frame over frameMaxBytes or with a bad frame-end octet. */
  push(chunk: Buffer): void {
    let pos = 0;
    if (this.partial !== null) {
      pos = this.continuePartial(chunk);
      if (this.partial !== null) return;
    }
    const len = chunk.length;
    while (pos + HEADER_BYTES <= len) {
      // Plain byte reads: Buffer's readers check their arguments on every call.
      const size = (chunk[pos + 3] * 0x1000000 + ((chunk[pos + 4] << 16) | (chunk[pos + 5] << 8) | chunk[pos + 6]));
      if (size > this.frameMaxBytes) this.checkSize(size);
      const end = pos + HEADER_BYTES + size;
      if (end >= len) break;
      if (chunk[end] !== FRAME_END) throw new FrameError(`bad frame end octet ${chunk[end]}`);
      this.onFrame(chunk[pos], (chunk[pos + 1] << 8) | chunk[pos + 2], chunk, pos + HEADER_BYTES, end);
      pos = end + 1;
    }
    if (pos < len) this.startPartial(chunk, pos);
  }

  private checkSize(size: number): void {
    // A payload of exactly frame-max bytes is tolerated, as RabbitMQ allows a small fudge.
    if (size > this.frameMaxBytes) {
      throw new FrameError(`frame size ${size} exceeds frame_max ${this.frameMaxBytes}`);
    }
  }

  private startPartial(chunk: Buffer, pos: number): void {
    const rest = chunk.length - pos;
    if (rest >= HEADER_BYTES) {
      this.partial = Buffer.allocUnsafe(HEADER_BYTES + chunk.readUInt32BE(pos + 3) + 1);
    } else {
      this.partial = Buffer.allocUnsafe(HEADER_BYTES);
    }
    chunk.copy(this.partial, 0, pos);
    this.partialFilled = rest;
  }

  /** Fills the straddling frame from the new chunk; returns how many bytes of the chunk were used. */
  private continuePartial(chunk: Buffer): number {
    let used = 0;
    let partial = this.partial!;
    if (this.partialFilled < HEADER_BYTES) {
      used = Math.min(HEADER_BYTES - this.partialFilled, chunk.length);
      chunk.copy(partial, this.partialFilled, 0, used);
      this.partialFilled += used;
      if (this.partialFilled < HEADER_BYTES) return used;
      const size = partial.readUInt32BE(3);
      this.checkSize(size);
      const whole = Buffer.allocUnsafe(HEADER_BYTES + size + 1);
      partial.copy(whole, 0, 0, HEADER_BYTES);
      this.partial = partial = whole;
    }
    const take = Math.min(partial.length - this.partialFilled, chunk.length - used);
    chunk.copy(partial, this.partialFilled, used, used + take);
    this.partialFilled += take;
    used += take;
    if (this.partialFilled < partial.length) return used;
    this.partial = null;
    this.partialFilled = 0;
    const end = partial.length - 1;
    if (partial[end] !== FRAME_END) throw new FrameError(`bad frame end octet ${partial[end]}`);
    this.onFrame(partial[0], partial.readUInt16BE(1), partial, HEADER_BYTES, end);
    return used;
  }
}
