import type { LogEntry, SnapshotMeta } from './types';

/**
 * The core's in-memory view of the log: the entries after the last snapshot, plus the
 * snapshot's (index, term) as the base. It also tracks which suffix has not yet been
 * handed to the application for persistence (`unstableFrom`).
 *
 * Not thread-safe by nature of being single-threaded JS; owned by one RaftCore.
 */
export class RaftLog {
  /** Index and term of the entry just before entries[0] (the snapshot's last entry). */
  private baseIndex: number;
  private baseTerm: number;
  private entries: LogEntry[];
  /** The first index not yet returned by takeUnstable(). */
  private unstableFrom: number;

  constructor(snapshot: SnapshotMeta | undefined, entries: LogEntry[]) {
    this.baseIndex = snapshot?.index ?? 0;
    this.baseTerm = snapshot?.term ?? 0;
    this.entries = entries.filter((e) => e.index > this.baseIndex);
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i].index !== this.baseIndex + 1 + i) {
        throw new Error(`raft log: gap at index ${this.baseIndex + 1 + i}`);
      }
    }
    this.unstableFrom = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  lastIndex(): number {
    return this.baseIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.baseTerm : this.entries[this.entries.length - 1].term;
  }

  snapshotIndex(): number {
    return this.baseIndex;
  }

  /** The term of `index`, or undefined if it is compacted away (below the base) or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseTerm;
    if (index < this.baseIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.baseIndex - 1].term;
  }

  entry(index: number): LogEntry | undefined {
    if (index <= this.baseIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.baseIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [lo, hi] (inclusive), at most `max` of them. lo must be above the base. */
  slice(lo: number, hi: number, max = Infinity): LogEntry[] {
    const end = Math.min(hi, this.lastIndex(), lo + max - 1);
    if (lo <= this.baseIndex) throw new Error(`raft log: slice from compacted index ${lo}`);
    if (end < lo) return [];
    return this.entries.slice(lo - this.baseIndex - 1, end - this.baseIndex);
  }

  /** Appends entries that directly follow the last one. */
  append(entries: LogEntry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`raft log: append ${e.index} after ${this.lastIndex()}`);
      this.entries.push(e);
    }
  }

  /** Removes every entry at or above `index` (a conflicting suffix). */
  truncateFrom(index: number): void {
    if (index <= this.baseIndex) throw new Error(`raft log: truncate into snapshot at ${index}`);
    this.entries.length = Math.max(0, index - this.baseIndex - 1);
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  /** Drops entries up to `index` after a local snapshot; `index` must be in the log. */
  compact(index: number, term: number): void {
    if (index <= this.baseIndex) return;
    if (index > this.lastIndex()) throw new Error(`raft log: compact beyond last index ${index}`);
    this.entries = this.entries.slice(index - this.baseIndex);
    this.baseIndex = index;
    this.baseTerm = term;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(meta: SnapshotMeta): void {
    this.entries = [];
    this.baseIndex = meta.index;
    this.baseTerm = meta.term;
    this.unstableFrom = meta.index + 1;
  }

  /** Returns the entries not yet handed out for persistence and marks them handed out. */
  takeUnstable(): LogEntry[] {
    if (this.unstableFrom > this.lastIndex()) return [];
    const out = this.slice(Math.max(this.unstableFrom, this.firstIndex()), this.lastIndex());
    this.unstableFrom = this.lastIndex() + 1;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** True if a log ending at (lastIndex, lastTerm) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }
}
