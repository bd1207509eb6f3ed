/**
 * Frames to one peer gathered into one mesh message: `u32 length | frame` repeated. The hot
 * frames of clustered messaging (forwards, deliveries) are written straight into the batch,
 * one copy per message, and the batch goes to the mesh once the current burst of work is
 * done (process.nextTick: after the socket read that produced them), or as soon as it holds
 * BATCH_FLUSH_BYTES. Whoever sends another kind of frame to the same peer that must not
 * overtake these flushes the batch first.
 */

const BATCH_FLUSH_BYTES = 256 * 1024;
const INITIAL_BYTES = 16 * 1024;

export class FrameBatch {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private pos = 0;
  private scheduled = false;

  constructor(private readonly send: (payload: Buffer) => void) {}

  /** The buffer the last reserve() made room in: read it after reserve(), which may replace it. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Makes room for a frame of `size` bytes in `buffer`; returns the offset to write it at. */
  reserve(size: number): number {
    if (this.pos > 0 && this.pos + 4 + size > BATCH_FLUSH_BYTES) this.flush();
    if (this.pos + 4 + size > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + 4 + size));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    this.buf.writeUInt32BE(size, this.pos);
    const at = this.pos + 4;
    this.pos = at + size;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return at;
  }

  /** Hands what is gathered to the mesh (which copies it when it writes, so the buffer is not reused). */
  flush(): void {
    this.scheduled = false;
    if (this.pos === 0) return;
    const payload = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(INITIAL_BYTES, Math.min(this.buf.length, BATCH_FLUSH_BYTES)));
    this.pos = 0;
    this.send(payload);
  }

  /** Drops what is gathered (the peer went down). */
  discard(): void {
    this.pos = 0;
  }
}

/** Calls `each` with every frame of a batch. */
export function forEachFrame(batch: Buffer, each: (frame: Buffer) => void): void {
  let pos = 0;
  while (pos + 4 <= batch.length) {
    const size = batch.readUInt32BE(pos);
    const end = pos + 4 + size;
    if (end > batch.length) throw new Error('truncated frame batch');
    each(batch.subarray(pos + 4, end));
    pos = end;
  }
}
