/**
 * An in-memory batch of encoded records waiting for one group commit. Records are
 * encoded straight into one growable buffer; a batch can span a segment rollover, so
 * it is kept as chunks, each a contiguous byte range destined for one segment file.
 */
import type { Segment } from './segment-ledger';

/** A byte range of the batch buffer that goes to `segment` at `fileOffset`. */
export interface BatchChunk {
  segment: Segment;
  fileOffset: number;
  start: number;
  end: number;
}

const INITIAL_BYTES = 256 * 1024;

export class WriteBatch {
  buffer: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  length = 0;
  readonly chunks: BatchChunk[] = [];
  /** Ticket of the last record in this batch (0 when empty). */
  lastTicket = 0;
  records = 0;

  get empty(): boolean {
    return this.length === 0;
  }

  /**
   * Reserves `bytes` for a record appended to `segment` at its current logical end,
   * advances the segment's size, and returns the buffer position to encode at.
   */
  reserve(segment: Segment, bytes: number): number {
    this.ensureCapacity(bytes);
    const start = this.length;
    const last = this.chunks.length > 0 ? this.chunks[this.chunks.length - 1] : undefined;
    if (last !== undefined && last.segment === segment && last.fileOffset + (last.end - last.start) === segment.size) {
      last.end += bytes;
    } else {
      this.chunks.push({ segment, fileOffset: segment.size, start, end: start + bytes });
    }
    segment.size += bytes;
    this.length += bytes;
    this.records++;
    return start;
  }

  /**
   * Copies `length` bytes found at `fileOffset` of `segment` if this batch holds them,
   * into a fresh buffer; else undefined.
   */
  copyOut(segment: Segment, fileOffset: number, length: number): Buffer | undefined {
    for (const chunk of this.chunks) {
      if (chunk.segment !== segment) continue;
      const rel = fileOffset - chunk.fileOffset;
      if (rel >= 0 && rel + length <= chunk.end - chunk.start) {
        return Buffer.from(this.buffer.subarray(chunk.start + rel, chunk.start + rel + length));
      }
    }
    return undefined;
  }

  /** True if some chunk still has to be written to `segment`. */
  touches(segment: Segment): boolean {
    for (const chunk of this.chunks) if (chunk.segment === segment) return true;
    return false;
  }

  reset(): void {
    this.length = 0;
    this.chunks.length = 0;
    this.lastTicket = 0;
    this.records = 0;
    // Do not keep a huge buffer around after a burst.
    if (this.buffer.length > 16 * INITIAL_BYTES) this.buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  private ensureCapacity(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }
}
