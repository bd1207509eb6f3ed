/**
 * A bounded cache of message bytes keyed by message id, with CLOCK (second-chance)
 * eviction: entries leave roughly in insertion order, but one read since the hand last
 * passed buys another round. Every operation is O(1) amortised. (A Map used as an LRU
 * list is not: V8 leaves deleted entries as holes that iteration from the front must
 * skip, which made eviction linear in the cache size.)
 *
 * It holds references to the buffers it is given (no copies); its bound counts their
 * lengths plus `entryOverheadBytes` per entry (the objects, Map slot and buffer headers:
 * for small messages these outweigh the bytes, ~300 bytes an entry).
 */
import type { MessageId, StoredMessage } from './message-store';

interface CacheEntry {
  message: StoredMessage;
  bytes: number;
  referenced: boolean;
}

export class MessageCache {
  private readonly entries = new Map<MessageId, CacheEntry>();
  /** Ids in clock order from `head`; may hold ids already deleted (skipped on eviction). */
  private order: MessageId[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly entryOverheadBytes = 0,
  ) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get(id: MessageId): StoredMessage | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    entry.referenced = true;
    return entry.message;
  }

  set(id: MessageId, message: StoredMessage): void {
    const size = message.routing.length + message.properties.length + message.body.length + this.entryOverheadBytes;
    const existing = this.entries.get(id);
    if (existing !== undefined) {
      this.bytes += size - existing.bytes;
      existing.message = message;
      existing.bytes = size;
    } else {
      if (size > this.maxBytes) return;
      this.entries.set(id, { message, bytes: size, referenced: false });
      this.order.push(id);
      this.bytes += size;
    }
    if (this.bytes > this.maxBytes) this.evict();
  }

  delete(id: MessageId): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    if (this.entries.size === 0) this.clear();
    else if (this.order.length - this.head > 2 * this.entries.size + 4096) this.compact();
  }

  /** Ids the clock still visits (live ones, possibly repeated); for tests. */
  get orderLength(): number {
    return this.order.length - this.head;
  }

  /** Drops deleted ids from the clock so acked messages do not pile up there. */
  private compact(): void {
    const kept: MessageId[] = [];
    for (let i = this.head; i < this.order.length; i++) if (this.entries.has(this.order[i])) kept.push(this.order[i]);
    this.order = kept;
    this.head = 0;
  }

  clear(): void {
    this.entries.clear();
    this.order = [];
    this.head = 0;
    this.bytes = 0;
  }

  private evict(): void {
    while (this.bytes > this.maxBytes && this.head < this.order.length) {
      const id = this.order[this.head++];
      const entry = this.entries.get(id);
      if (entry === undefined) continue;
      if (entry.referenced) {
        entry.referenced = false;
        this.order.push(id);
        continue;
      }
      this.entries.delete(id);
      this.bytes -= entry.bytes;
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
