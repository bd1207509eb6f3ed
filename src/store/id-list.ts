/**
 * The ids one queue holds in the store, oldest first, as a sorted Float64Array (8 bytes
 * an id) instead of a Set (~40). Removed ids are tombstoned by negating them (ids are
 * positive), the front advances past tombstones, and the array is compacted once
 * tombstones outnumber live ids, so a FIFO queue acked from the head stays dense.
 */
import type { MessageId } from './message-store';

const INITIAL_CAPACITY = 16;

export class IdList {
  private ids = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private tail = 0;
  /** Live (not removed) ids. */
  size = 0;

  /** Adds `id`; returns false if it is already held. Appending a new highest id is O(1). */
  add(id: MessageId): boolean {
    if (this.tail === this.head || id > Math.abs(this.ids[this.tail - 1])) {
      if (this.tail === this.ids.length) this.makeRoom();
      this.ids[this.tail++] = id;
      this.size++;
      return true;
    }
    // Out of order: only after damage was skipped during recovery. Insert in place.
    const at = this.search(id);
    if (at < this.tail && Math.abs(this.ids[at]) === id) {
      if (this.ids[at] > 0) return false;
      this.ids[at] = id;
      this.size++;
      return true;
    }
    if (this.tail === this.ids.length) this.makeRoom();
    const shift = this.search(id);
    this.ids.copyWithin(shift + 1, shift, this.tail);
    this.ids[shift] = id;
    this.tail++;
    this.size++;
    return true;
  }

  has(id: MessageId): boolean {
    const at = this.search(id);
    return at < this.tail && this.ids[at] === id;
  }

  /** Removes `id`; returns false if it was not held. */
  delete(id: MessageId): boolean {
    const at = this.search(id);
    if (at >= this.tail || this.ids[at] !== id) return false;
    this.ids[at] = -id;
    this.size--;
    while (this.head < this.tail && this.ids[this.head] < 0) this.head++;
    if (this.size === 0) {
      this.head = this.tail = 0;
      if (this.ids.length > 1024) this.ids = new Float64Array(INITIAL_CAPACITY);
    } else if (this.tail - this.head > 2 * this.size + 1024) this.compact(this.ids.length);
    return true;
  }

  /** Live ids, oldest first. */
  *[Symbol.iterator](): IterableIterator<MessageId> {
    for (let i = this.head; i < this.tail; i++) if (this.ids[i] > 0) yield this.ids[i];
  }

  toArray(): MessageId[] {
    const out: MessageId[] = [];
    for (let i = this.head; i < this.tail; i++) if (this.ids[i] > 0) out.push(this.ids[i]);
    return out;
  }

  /** Heap bytes of the array. */
  get sizeBytes(): number {
    return this.ids.byteLength;
  }

  /** First position in [head, tail) whose |id| >= `id`. */
  private search(id: MessageId): number {
    let lo = this.head;
    let hi = this.tail;
    const ids = this.ids;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Math.abs(ids[mid]) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private makeRoom(): void {
    const used = this.tail - this.head;
    // Reclaim tombstones and the consumed front before growing.
    if (this.size * 2 <= this.ids.length && this.head + (used - this.size) >= this.ids.length / 4) this.compact(this.ids.length);
    else this.compact(this.ids.length * 2);
  }

  /** Copies the live ids to the front of an array of `capacity`. */
  private compact(capacity: number): void {
    const next = capacity === this.ids.length ? this.ids : new Float64Array(capacity);
    let n = 0;
    for (let i = this.head; i < this.tail; i++) if (this.ids[i] > 0) next[n++] = this.ids[i];
    this.ids = next;
    this.head = 0;
    this.tail = n;
  }
}
