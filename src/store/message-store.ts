/**
 * The message store seam: what a vhost's durable queues use to make persistent
 * messages survive a restart. Two implementations: {@link SegmentMessageStore}
 * (append-only segment files, group-committed fsync) and {@link MemoryMessageStore}
 * (transient, for tests and non-durable use). Both pass test/store/store-contract.ts.
 */

/**
 * Identifies one stored message within one store. Assigned by the store, strictly
 * increasing in write order, never reused (also across restarts). A safe integer.
 */
export type MessageId = number;

/**
 * A write's position in the store's record sequence. Every mutating call returns one;
 * the write is durable once {@link MessageStore.durableTicket} is >= its ticket.
 * Tickets are in-memory only: compare them only within one open store.
 * A message's id is also the ticket of its store record.
 */
export type Ticket = number;

/**
 * The bytes of a stored message. The store never interprets them: `routing` is the
 * broker's exchange/routing-key blob, `properties` the encoded content header,
 * `body` the content.
 */
export interface StoredMessage {
  readonly routing: Buffer;
  readonly properties: Buffer;
  readonly body: Buffer;
}

/** What {@link SegmentMessageStore} found on open. */
export interface RecoveryResult {
  /**
   * For every queue holding at least one live message: its message ids, oldest first
   * (the order they were stored). The broker rebuilds each queue from this list,
   * marking every message redelivered.
   */
  readonly queues: Map<string, MessageId[]>;
  /** Live messages (referenced by at least one queue). */
  readonly messageCount: number;
  /** Records read during the scan (valid ones). */
  readonly recordCount: number;
  /** Byte ranges skipped because they failed the CRC or framing check (reported). */
  readonly corruptRegions: number;
  /** Bytes cut from the end of the newest segment (a torn final write). */
  readonly truncatedBytes: number;
  readonly segmentCount: number;
  readonly durationMs: number;
}

/** Counters since open; cheap to read, for metrics and tests. */
export interface StoreStats {
  /** Records appended (messages, acks, queue deletions). */
  records: number;
  /** Group commits: one write (per touched segment) + one fsync each. */
  flushes: number;
  fsyncs: number;
  bytesWritten: number;
  /** Bytes appended but not yet durable (the broker's flow-control signal). */
  pendingBytes: number;
  liveMessages: number;
  segments: number;
  segmentsCreated: number;
  segmentsDeleted: number;
  cacheHits: number;
  cacheMisses: number;
  cacheBytes: number;
  /** Reads that found a CRC mismatch on disk (the message is not returned). */
  corruptReads: number;
  /** Heap bytes of the store's own message index (per-segment columns, per-queue id lists). */
  indexBytes: number;
}

/**
 * One vhost's persistent message storage.
 *
 * Ordering: records become durable in call order; the durable watermark only moves
 * forward. Messages are listed per queue in the order they were stored.
 *
 * Concurrency: single-threaded, like the rest of the broker. All mutating calls are
 * synchronous and cheap (they append to an in-memory batch); durability is reported
 * asynchronously through {@link onDurable}. No call allocates a promise per message.
 *
 * Errors: arguments out of range throw RangeError. After close, calls throw
 * StoreClosedError. After an I/O failure (write or fsync), the store is failed: the
 * watermark stops, {@link onFailure} listeners run, pending flush() promises reject,
 * and further writes throw StoreFailedError (fsync failures cannot be retried safely).
 */
export interface MessageStore {
  /**
   * Stores one message referenced by every queue in `queues` (distinct durable queue
   * names, at least one; a name listed twice counts once). The message is written once
   * whatever the number of queues. Buffers are copied into the write batch and may be
   * retained by the read cache: treat them as immutable afterwards.
   * Returns the message id, which is also its durability ticket.
   */
  storeMessage(queues: readonly string[], routing: Buffer, properties: Buffer, body: Buffer): MessageId;

  /**
   * Removes `id` from `queue` (basic.ack, or reject/nack without requeue, or expiry).
   * When no queue references a message any more, its space becomes reclaimable.
   * A message that `queue` does not hold is ignored (no record written).
   */
  ack(queue: string, id: MessageId): Ticket;

  /** {@link ack} for many ids of one queue, written as one record (basic.ack multiple). */
  ackMany(queue: string, ids: readonly MessageId[]): Ticket;

  /** Drops every message reference held by `queue` (queue.delete, queue.purge). */
  deleteQueue(queue: string): Ticket;

  /**
   * The bytes of a live message: from the cache, else read from disk (a synchronous
   * positional read). Undefined when no queue holds `id`. Throws CorruptRecordError if
   * the bytes on disk fail their CRC; corrupt data is never returned.
   */
  read(id: MessageId): StoredMessage | undefined;

  /** True if some queue still references `id`. */
  has(id: MessageId): boolean;

  /** Ids `queue` holds, oldest first (a copy). Used by tests and by queue rebuilds. */
  queueMessageIds(queue: string): MessageId[];

  /** Highest ticket such that it and every earlier ticket are durable. */
  readonly durableTicket: Ticket;
  /** The ticket of the most recent write (durableTicket catches up to it). */
  readonly lastTicket: Ticket;

  /**
   * Subscribes to watermark moves; called once per group commit with the new
   * durableTicket. Subscribe once (e.g. per vhost), not per message.
   */
  onDurable(listener: (durableTicket: Ticket) => void): void;

  /** Subscribes to the store failing (see the class contract). */
  onFailure(listener: (error: Error) => void): void;

  /** Resolves with the durable watermark once every write made so far is durable. */
  flush(): Promise<Ticket>;

  stats(): StoreStats;

  /** Flushes pending writes and releases files. Idempotent. */
  close(): Promise<void>;
}

/** Stats with every counter at zero. */
export function emptyStats(): StoreStats {
  return {
    records: 0,
    flushes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    pendingBytes: 0,
    liveMessages: 0,
    segments: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheBytes: 0,
    corruptReads: 0,
    indexBytes: 0,
  };
}
