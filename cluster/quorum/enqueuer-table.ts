/**
 * A quorum queue's de-duplication of publishes sent again after a leader change (part of
 * the replicated state, the same on every member): per enqueuer (one node's stream of
 * confirmed publishes into the queue, see enqueuer.ts), the highest number applied.
 *
 * A message with an origin is
 * - a duplicate when its number is at or below the highest applied: not added again, but
 *   reported applied (its confirm goes out);
 * - refused (a gap) when a number between the highest applied and its own may still come:
 *   one its enqueuer has not given up on (above the message's floor) and not applied. Added,
 *   it would make that earlier one a "duplicate" when it arrives, and lose it. The enqueuer
 *   sends the refused one again, in order, after the earlier ones;
 * - added otherwise, and becomes the highest applied.
 *
 * An enqueuer idle for MAX_IDLE_ENTRIES log entries is forgotten (checked every
 * PRUNE_EVERY entries, by log index, so every member forgets it at the same entry); one that
 * comes back is taken as new, which is safe because its floor covers everything it sent
 * that long ago.
 */
import type { EnqueueOrigin } from '../../src/broker/message';
import type { ByteReader } from '../../src/protocol/byte-reader';
import type { ByteWriter } from '../../src/protocol/byte-writer';

export const ORIGIN_NEW = 0;
export const ORIGIN_DUPLICATE = 1;
export const ORIGIN_GAP = 2;

/** The snapshot's tagged section holding this table (u8 tag, u32 length, bytes). */
export const SECTION_ENQUEUERS = 2;

/** Log entries after which an enqueuer that sent nothing is forgotten. */
const MAX_IDLE_ENTRIES = 1_000_000;
/** Log entries between two looks for idle enqueuers. */
const PRUNE_EVERY = 4096;

interface EnqueuerState {
  /** The highest number applied. */
  last: number;
  /** The log index of its latest message. */
  index: number;
}

export class EnqueuerTable {
  readonly enqueuers = new Map<number, EnqueuerState>();
  private prunedAt = 0;

  /** Decides on a message with origin `o` in the entry at `index`: ORIGIN_NEW, _DUPLICATE or _GAP. */
  admit(o: EnqueueOrigin, index: number): number {
    const e = this.enqueuers.get(o.enqueuer);
    const last = e ? e.last : 0;
    if (e) e.index = index;
    if (o.seq <= last) return ORIGIN_DUPLICATE;
    if (Math.max(last, o.floor) + 1 < o.seq) return ORIGIN_GAP;
    if (e) e.last = o.seq;
    else this.enqueuers.set(o.enqueuer, { last: o.seq, index });
    return ORIGIN_NEW;
  }

  /** Called with every entry applied: forgets enqueuers idle for long, every PRUNE_EVERY entries. */
  prune(index: number): void {
    if (index - this.prunedAt < PRUNE_EVERY) return;
    this.prunedAt = index;
    for (const [id, e] of this.enqueuers) if (index - e.index > MAX_IDLE_ENTRIES) this.enqueuers.delete(id);
  }

  clear(): void {
    this.enqueuers.clear();
    this.prunedAt = 0;
  }

  /** Writes the snapshot section (tag, length, body); nothing while the table is empty. */
  write(w: ByteWriter): void {
    if (this.enqueuers.size === 0 && this.prunedAt === 0) return;
    w.u8(SECTION_ENQUEUERS);
    w.u32(12 + this.enqueuers.size * 24);
    w.u64(this.prunedAt);
    w.u32(this.enqueuers.size);
    for (const [id, e] of this.enqueuers) {
      w.u64(id);
      w.u64(e.last);
      w.u64(e.index);
    }
  }

  /** Reads the body of a SECTION_ENQUEUERS section. */
  read(r: ByteReader): void {
    this.clear();
    this.prunedAt = r.u64();
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const id = r.u64();
      const last = r.u64();
      this.enqueuers.set(id, { last, index: r.u64() });
    }
  }
}
