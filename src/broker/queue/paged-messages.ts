/**
 * Ready messages of a durable queue that may hold more than fits in memory (RabbitMQ's
 * lazy mode / classic queues v2). The front of the queue is held as ordinary
 * QueuedMessage objects; once it reaches a message or byte limit, later persistent
 * messages are "paged out": the queue keeps only their store id, body size and
 * delivery fields in typed-array rings (13 bytes a message, 21 with a TTL) and
 * drops its reference to the Message, whose bytes are on disk in the message store.
 * When the in-memory front runs dry, a batch is paged back in with store.read().
 *
 * Transient messages (not in the store) cannot be paged: once paging has begun they
 * wait in a side list, holding their place in the ring, so delivery order is kept.
 */
import { Deque } from '../../util/deque';
import { logger } from '../../log/logger';
import type { MessageStore } from '../../store/message-store';
import { Message } from '../message';
import { parseRoutingBlob } from '../routing-blob';
import type { QueuedMessage } from '../ports';
import type { ReadyMessages } from './ready-messages';
import { markTaken, putBack } from './requeue-order';

const log = logger.child({ module: 'queue.paging' });

/** When a queue starts keeping message bodies on disk only. */
export interface PagingLimits {
  /** Ready messages held in memory before later ones are paged out. */
  maxMessages: number;
  /** Body bytes of ready messages held in memory before later ones are paged out. */
  maxBytes: number;
  /** Messages read back from the store at a time when the in-memory front is empty. */
  pageBatch: number;
}

/**
 * Limits from WARREN_QUEUE_MEMORY_MESSAGES (default 100000), WARREN_QUEUE_MEMORY_BYTES
 * (default 32 MiB) and WARREN_QUEUE_PAGE_BATCH (default 256).
 */
export function pagingLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): PagingLimits {
  const read = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got '${text}'`);
    return value;
  };
  return {
    maxMessages: read('WARREN_QUEUE_MEMORY_MESSAGES', 100_000),
    maxBytes: read('WARREN_QUEUE_MEMORY_BYTES', 32 * 1024 * 1024),
    pageBatch: Math.max(1, read('WARREN_QUEUE_PAGE_BATCH', 256)),
  };
}

let defaultLimits: PagingLimits | undefined;

/** The limits queues use unless given their own (set by the node from its configuration). */
export function setDefaultPagingLimits(limits: PagingLimits): void {
  defaultLimits = limits;
}

/** What paging needs of a store: read back, and release what a purge drops unread. */
export type PagingStore = Pick<MessageStore, 'read' | 'ack' | 'ackMany'>;

/** Where a queue finds its vhost's message store (the VirtualHost; undefined until attached). */
export interface MessageStoreSource {
  readonly messageStore?: PagingStore | undefined;
}

const REDELIVERED = 1;
const PINNED = 2;
const INITIAL_RING = 1024;
/** Stands in for each paged-out message that clear() released itself (see clear). */
const RELEASED_STUB: QueuedMessage = Object.freeze({
  message: new Message('', '', Buffer.from([0, 0]), Buffer.alloc(0)),
  redelivered: false,
  expiresAtMs: Infinity,
  seq: 0,
});

/**
 * {@link ReadyMessages} for a durable queue, paging persistent messages out to the
 * vhost's message store past {@link PagingLimits}. Without a store it behaves as a FIFO.
 *
 * Contract with the queue: every message pushed with a storeId is held in the store by
 * this queue (`queueName`) until the queue releases it. Page-in reads are synchronous.
 * A message that cannot be read back (CRC failure on disk) is logged, released from the
 * store and skipped. Not thread-safe; like the rest of the broker, single-threaded.
 */
export class PagedMessages implements ReadyMessages {
  private readonly limits: PagingLimits;
  private readonly front = new Deque<QueuedMessage>();
  private frontBytes = 0;
  /** Transient messages that arrived while paging: their ring slots carry PINNED. */
  private readonly pinned = new Deque<QueuedMessage>();
  // The ring is allocated on the first page-out: most durable queues never page, and an
  // empty queue should cost little (100,000 queues × 13 KiB of rings would be 1.3 GB).
  private ids = new Float64Array(0);
  private sizes = new Uint32Array(0);
  private flags = new Uint8Array(0);
  /** Allocated on the first finite expiry (TTL); Infinity elsewhere. */
  private expires: Float64Array | undefined;
  private ringHead = 0;
  private ringCount = 0;
  bytes = 0;
  /** Messages read back from the store since creation (for tests and metrics). */
  pagedIn = 0;

  constructor(
    readonly queueName: string,
    private readonly source: MessageStoreSource,
    limits?: PagingLimits,
  ) {
    this.limits = limits ?? (defaultLimits ??= pagingLimitsFromEnv());
  }

  get length(): number {
    return this.front.length + this.ringCount;
  }

  /** Messages currently held only as ids (paged out or pinned behind the paged ones). */
  get pagedCount(): number {
    return this.ringCount;
  }

  push(entry: QueuedMessage): void {
    const size = entry.message.body.length;
    this.bytes += size;
    if (this.ringCount === 0 && this.front.length < this.limits.maxMessages && this.frontBytes + size <= this.limits.maxBytes) {
      this.front.push(entry);
      this.frontBytes += size;
      return;
    }
    const store = this.source.messageStore;
    const storeId = entry.message.storeId;
    if (store !== undefined && storeId !== undefined) this.ringPush(storeId, size, entry.redelivered ? REDELIVERED : 0, entry.expiresAtMs);
    else {
      this.pinned.push(entry);
      this.ringPush(0, size, PINNED, Infinity);
    }
  }

  /** Appends a redelivered message by id only: read back from the store when its turn comes (`_priority`: see StrictPriorityMessages). */
  pushPaged(storeId: number, size: number, expiresAtMs: number, _priority = 0): void {
    this.bytes += size;
    this.ringPush(storeId, size, REDELIVERED, expiresAtMs);
  }

  unshift(entry: QueuedMessage): void {
    const size = entry.message.body.length;
    putBack(this.front, entry);
    this.frontBytes += size;
    this.bytes += size;
  }

  shift(): QueuedMessage | undefined {
    if (this.front.length === 0 && this.ringCount > 0) this.pageIn();
    const entry = this.front.shift();
    if (entry !== undefined) {
      markTaken(entry);
      const size = entry.message.body.length;
      this.frontBytes -= size;
      this.bytes -= size;
    }
    return entry;
  }

  peek(): QueuedMessage | undefined {
    if (this.front.length === 0 && this.ringCount > 0) this.pageIn();
    return this.front.peek();
  }

  /**
   * Empties the queue. In-memory entries are returned as they are. Paged-out messages
   * are not read back: this releases them from the store itself (one ack record per
   * chunk; a no-op when the queue was already deleted from the store) and returns a
   * shared stub without storeId for each, so callers see the right count and release
   * nothing twice.
   */
  clear(): QueuedMessage[] {
    const out = this.front.clear();
    const store = this.source.messageStore;
    const chunk: number[] = [];
    for (let n = 0; n < this.ringCount; n++) {
      const at = (this.ringHead + n) % this.ids.length;
      if (this.flags[at] & PINNED) {
        out.push(this.pinned.shift()!);
        continue;
      }
      out.push(RELEASED_STUB);
      chunk.push(this.ids[at]);
      if (chunk.length === 65536) {
        store?.ackMany(this.queueName, chunk);
        chunk.length = 0;
      }
    }
    if (chunk.length > 0) store?.ackMany(this.queueName, chunk);
    this.frontBytes = 0;
    this.bytes = 0;
    this.resetRing();
    return out;
  }

  // ---- the paged ring ----

  private ringPush(id: number, size: number, flags: number, expiresAtMs: number): void {
    if (this.ringCount === this.ids.length) this.resizeRing(Math.max(INITIAL_RING, this.ids.length * 2));
    const at = (this.ringHead + this.ringCount) % this.ids.length;
    this.ids[at] = id;
    this.sizes[at] = size;
    this.flags[at] = flags;
    if (expiresAtMs !== Infinity && this.expires === undefined) this.expires = new Float64Array(this.ids.length).fill(Infinity);
    if (this.expires !== undefined) this.expires[at] = expiresAtMs;
    this.ringCount++;
  }

  /** Moves up to pageBatch entries from the ring to the in-memory front. */
  private pageIn(): void {
    const store = this.source.messageStore;
    let budget = this.limits.pageBatch;
    while (budget > 0 && this.ringCount > 0) {
      const at = this.ringHead;
      const flags = this.flags[at];
      const size = this.sizes[at];
      const id = this.ids[at];
      const expiresAtMs = this.expires === undefined ? Infinity : this.expires[at];
      this.ringHead = (this.ringHead + 1) % this.ids.length;
      this.ringCount--;
      budget--;
      if (flags & PINNED) {
        const entry = this.pinned.shift()!;
        this.front.push(entry);
        this.frontBytes += size;
        continue;
      }
      const message = store === undefined ? undefined : this.readBack(store, id);
      if (message === undefined) {
        this.bytes -= size;
        continue;
      }
      this.front.push({ message, redelivered: (flags & REDELIVERED) !== 0, expiresAtMs, seq: 0 });
      this.frontBytes += size;
      this.pagedIn++;
    }
    if (this.ringCount === 0) this.resetRing();
    else if (this.ids.length > INITIAL_RING && this.ringCount < this.ids.length / 4) this.resizeRing(this.ids.length / 2);
  }

  private readBack(store: PagingStore, id: number): Message | undefined {
    let stored;
    try {
      stored = store.read(id);
    } catch (error) {
      log.error({ err: error, queue: this.queueName, id }, 'paged message could not be read back; dropped');
      try {
        store.ack(this.queueName, id);
      } catch {
        // The store is failed or closed; it reports that itself.
      }
      return undefined;
    }
    if (stored === undefined) {
      log.error({ queue: this.queueName, id }, 'paged message missing from the store; dropped');
      return undefined;
    }
    const { exchange, routingKey } = parseRoutingBlob(stored.routing);
    const message = new Message(exchange, routingKey, stored.properties, stored.body);
    message.storeId = id;
    return message;
  }

  private resizeRing(capacity: number): void {
    const ids = new Float64Array(capacity);
    const sizes = new Uint32Array(capacity);
    const flags = new Uint8Array(capacity);
    const expires = this.expires === undefined ? undefined : new Float64Array(capacity).fill(Infinity);
    for (let n = 0; n < this.ringCount; n++) {
      const at = (this.ringHead + n) % this.ids.length;
      ids[n] = this.ids[at];
      sizes[n] = this.sizes[at];
      flags[n] = this.flags[at];
      if (expires !== undefined) expires[n] = this.expires![at];
    }
    this.ids = ids;
    this.sizes = sizes;
    this.flags = flags;
    this.expires = expires;
    this.ringHead = 0;
  }

  private resetRing(): void {
    this.ringHead = 0;
    this.ringCount = 0;
    if (this.ids.length > 0) {
      this.ids = new Float64Array(0);
      this.sizes = new Uint32Array(0);
      this.flags = new Uint8Array(0);
    }
    this.expires = undefined;
  }
}
