/** A growable ring buffer: O(1) push and shift at both ends, no per-item allocation. */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  /** Nothing is allocated for the items until the first push: empty queues stay small. */
  constructor(initialCapacity = 0) {
    this.items = new Array(initialCapacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.items[(this.head + index) % this.items.length];
  }

  /** Inserts at `index` (0 = the head), moving the items before it: O(index). */
  insertAt(index: number, item: T): void {
    if (index >= this.count) return this.push(item);
    this.unshift(item);
    const n = this.items.length;
    for (let i = 0; i < index; i++) this.items[(this.head + i) % n] = this.items[(this.head + i + 1) % n];
    this.items[(this.head + index) % n] = item;
  }

  clear(): T[] {
    const all = this.toArray();
    this.items = new Array(0);
    this.head = 0;
    this.count = 0;
    return all;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.head + i) % this.items.length] as T);
    return out;
  }

  private grow(): void {
    const bigger: (T | undefined)[] = new Array(Math.max(16, this.items.length * 2));
    for (let i = 0; i < this.count; i++) bigger[i] = this.items[(this.head + i) % this.items.length];
    this.items = bigger;
    this.head = 0;
  }
}
