/**
 * {@link MessageStore} kept in memory: nothing survives the process. For transient
 * queues and tests. It keeps the same asynchronous durability contract as the segment
 * store (the watermark moves on a later event-loop turn, once per group of writes), so
 * code written against it does not come to rely on synchronous durability.
 */
import { type MessageId, type MessageStore, type StoreStats, type StoredMessage, type Ticket, emptyStats } from './message-store';
import { StoreClosedError } from './store-errors';

interface MemoryEntry {
  message: StoredMessage;
  refs: number;
}

export class MemoryMessageStore implements MessageStore {
  private readonly entries = new Map<MessageId, MemoryEntry>();
  private readonly queues = new Map<string, Set<MessageId>>();
  private readonly counters = emptyStats();
  private readonly durableListeners: ((ticket: Ticket) => void)[] = [];
  private readonly waiters: ((ticket: Ticket) => void)[] = [];
  private seq = 0;
  private durable = 0;
  private flushScheduled = false;
  private closed = false;

  get durableTicket(): Ticket {
    return this.durable;
  }

  get lastTicket(): Ticket {
    return this.seq;
  }

  storeMessage(queues: readonly string[], routing: Buffer, properties: Buffer, body: Buffer): MessageId {
    this.checkOpen();
    if (queues.length === 0) throw new RangeError('a message needs at least one queue');
    for (const queue of queues) {
      if (Buffer.byteLength(queue, 'utf8') > 255) throw new RangeError('queue name longer than 255 bytes');
    }
    const id = this.appended();
    let refs = 0;
    for (const queue of queues) {
      const held = this.queueIds(queue);
      if (!held.has(id)) {
        held.add(id);
        refs++;
      }
    }
    this.entries.set(id, { message: { routing, properties, body }, refs });
    return id;
  }

  ack(queue: string, id: MessageId): Ticket {
    return this.ackMany(queue, [id]);
  }

  ackMany(queue: string, ids: readonly MessageId[]): Ticket {
    this.checkOpen();
    const held = this.queues.get(queue);
    if (held === undefined) return this.seq;
    let released = 0;
    for (const id of ids) {
      if (held.delete(id)) {
        this.release(id);
        released++;
      }
    }
    return released > 0 ? this.appended() : this.seq;
  }

  deleteQueue(queue: string): Ticket {
    this.checkOpen();
    const held = this.queues.get(queue);
    if (held === undefined) return this.seq;
    this.queues.delete(queue);
    if (held.size === 0) return this.seq;
    for (const id of held) this.release(id);
    return this.appended();
  }

  read(id: MessageId): StoredMessage | undefined {
    this.checkOpen();
    return this.entries.get(id)?.message;
  }

  has(id: MessageId): boolean {
    return this.entries.has(id);
  }

  queueMessageIds(queue: string): MessageId[] {
    const held = this.queues.get(queue);
    return held === undefined ? [] : [...held];
  }

  onDurable(listener: (durableTicket: Ticket) => void): void {
    this.durableListeners.push(listener);
  }

  onFailure(_listener: (error: Error) => void): void {
    // Memory does not fail.
  }

  flush(): Promise<Ticket> {
    if (this.durable === this.seq) return Promise.resolve(this.durable);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stats(): StoreStats {
    const s = { ...this.counters };
    s.liveMessages = this.entries.size;
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.durable !== this.seq) await this.flush();
    this.closed = true;
    this.entries.clear();
    this.queues.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private release(id: MessageId): void {
    const entry = this.entries.get(id);
    if (entry !== undefined && --entry.refs === 0) this.entries.delete(id);
  }

  private appended(): Ticket {
    const ticket = ++this.seq;
    this.counters.records++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.commit);
    }
    return ticket;
  }

  private readonly commit = (): void => {
    this.flushScheduled = false;
    this.durable = this.seq;
    this.counters.flushes++;
    for (const resolve of this.waiters.splice(0)) resolve(this.durable);
    for (const listener of this.durableListeners) listener(this.durable);
  };

  private queueIds(queue: string): Set<MessageId> {
    let ids = this.queues.get(queue);
    if (ids === undefined) {
      ids = new Set();
      this.queues.set(queue, ids);
    }
    return ids;
  }
}
