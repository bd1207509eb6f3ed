/**
 * The store's compact index of live messages: where each message record is and how many
 * queues still reference it, kept as typed-array columns per segment instead of one
 * object per message (14 bytes a message plus growth slack, instead of ~100).
 *
 * Ids are assigned in write order and a segment is only appended to until the next one
 * starts, so every segment holds an increasing run of ids and the segments, in creation
 * order, hold increasing id ranges. Finding a message is therefore two binary searches:
 * the segment by its first id, then the id within the segment.
 */
import type { MessageId } from './message-store';

const INITIAL_CAPACITY = 64;

/** Columns of the message records stored in one segment, in id order. */
export class SegmentMessages {
  /** Id of the first message record of the segment; -1 while it holds none. */
  base = -1;
  count = 0;
  private deltas = new Uint32Array(INITIAL_CAPACITY);
  private offsets = new Uint32Array(INITIAL_CAPACITY);
  private lengths = new Uint32Array(INITIAL_CAPACITY);
  /** Queues still referencing the message; 0 once it is gone. */
  private refCounts = new Uint16Array(INITIAL_CAPACITY);

  /** Appends a record; ids must increase within a segment (RangeError otherwise). */
  add(id: MessageId, offset: number, length: number, refs: number): void {
    if (this.base === -1) this.base = id;
    const delta = id - this.base;
    if (this.count > 0 && delta <= this.deltas[this.count - 1]) throw new RangeError('message ids must increase within a segment');
    if (delta > 0xffffffff || offset > 0xffffffff || refs > 0xffff) throw new RangeError('message index field out of range');
    if (this.count === this.deltas.length) this.resize(this.count * 2);
    const i = this.count++;
    this.deltas[i] = delta;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.refCounts[i] = refs;
  }

  /** Position of `id` in the columns, or -1. */
  indexOf(id: MessageId): number {
    const delta = id - this.base;
    if (this.base === -1 || delta < 0 || delta > 0xffffffff) return -1;
    let lo = 0;
    let hi = this.count - 1;
    const deltas = this.deltas;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = deltas[mid];
      if (d === delta) return mid;
      if (d < delta) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  offset(i: number): number {
    return this.offsets[i];
  }

  length(i: number): number {
    return this.lengths[i];
  }

  refs(i: number): number {
    return this.refCounts[i];
  }

  /** Drops one reference; returns the references left. */
  unref(i: number): number {
    return --this.refCounts[i];
  }

  /** Gives back growth slack once the segment is no longer appended to. */
  trim(): void {
    if (this.deltas.length > this.count + 16) this.resize(Math.max(this.count, 1));
  }

  /** Heap bytes of the columns (for stats and tests). */
  get sizeBytes(): number {
    return this.deltas.length * 14;
  }

  private resize(capacity: number): void {
    const grow = <T extends Uint32Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, Math.min(this.count, capacity)));
      return next;
    };
    this.deltas = grow(this.deltas, (n) => new Uint32Array(n));
    this.offsets = grow(this.offsets, (n) => new Uint32Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    this.refCounts = grow(this.refCounts, (n) => new Uint16Array(n));
  }
}

/**
 * Every live message of one store, by id. Segments are registered in creation order
 * ({@link addSegment}) and dropped when their file is deleted ({@link removeSegment}).
 * Lookups set {@link foundSegment} and {@link foundIndex} rather than allocating a result.
 */
/** What the index needs of a segment (segment-ledger's Segment is one). */
export interface IndexedSegment {
  readonly messages: SegmentMessages;
  live: number;
}

export class MessageIndex<Segment extends IndexedSegment = IndexedSegment> {
  /** Segments that hold message records, in id order. */
  private readonly segments: Segment[] = [];
  /** Messages referenced by at least one queue. */
  live = 0;
  foundSegment: Segment | undefined;
  foundIndex = -1;

  /** Registers a message record in `segment` (the newest segment with messages). */
  add(segment: Segment, id: MessageId, offset: number, length: number, refs: number): void {
    const last = this.segments[this.segments.length - 1];
    if (last !== segment) {
      if (last !== undefined && last.messages.count > 0 && id <= last.messages.base) throw new RangeError('segments must hold increasing ids');
      this.segments.push(segment);
    }
    segment.messages.add(id, offset, length, refs);
    if (refs > 0) {
      segment.live++;
      this.live++;
    }
  }

  /** Finds a live message; on success sets foundSegment/foundIndex and returns true. */
  find(id: MessageId): boolean {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segments[mid].messages.base <= id) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at === -1) return false;
    const segment = segments[at];
    const i = segment.messages.indexOf(id);
    if (i === -1 || segment.messages.refs(i) === 0) return false;
    this.foundSegment = segment;
    this.foundIndex = i;
    return true;
  }

  has(id: MessageId): boolean {
    return this.find(id);
  }

  /**
   * Drops one reference to a message found by {@link find}; returns true when that was
   * the last one (the message is now dead and its segment's live count lower).
   */
  unrefFound(): boolean {
    const segment = this.foundSegment!;
    if (segment.messages.unref(this.foundIndex) > 0) return false;
    segment.live--;
    this.live--;
    return true;
  }

  removeSegment(segment: Segment): void {
    const at = this.segments.indexOf(segment);
    if (at !== -1) this.segments.splice(at, 1);
  }

  /** Heap bytes held by the per-segment columns. */
  get sizeBytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.messages.sizeBytes;
    return sum;
  }
}
