import type { FieldTable } from '../../protocol/field-table';
import { Deque } from '../../util/deque';
import { AccessRefused } from '../errors';
import type { Message } from '../message';
import type { QueueHandle } from '../ports';
import type { Consumer, QueuedMessage } from './consumer';

export interface QueueDefinition {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (node-unique id). */
  exclusiveOwner?: string;
}

/**
 * A classic queue held by this node: ready messages in FIFO order, consumers served
 * round-robin as their prefetch allows. Every method runs to completion synchronously.
 */
export class Queue implements QueueHandle {
  private readonly ready = new Deque<QueuedMessage>();
  private consumers: Consumer[] = [];
  private nextConsumer = 0;
  private draining = false;
  /** Delivered to consumers (or basic.get) with manual ack, not yet settled. */
  unackedCount = 0;
  hadConsumers = false;
  deleted = false;

  constructor(
    readonly vhost: string,
    readonly def: QueueDefinition,
  ) {}

  get name(): string {
    return this.def.name;
  }

  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  enqueue(message: Message): boolean {
    if (this.deleted) return false;
    this.ready.push({ message, redelivered: false });
    if (this.consumers.length > 0) this.drain();
    return true;
  }

  /** basic.get: the head message, or undefined when the queue is empty. */
  get(noAck: boolean): QueuedMessage | undefined {
    const entry = this.ready.shift();
    if (entry && !noAck) this.unackedCount++;
    return entry;
  }

  /** Settles a delivered message (ack, or reject/nack without requeue). */
  settle(_entry: QueuedMessage): void {
    if (this.unackedCount > 0) this.unackedCount--;
  }

  /** Puts delivered messages back, oldest first at the head, marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    if (this.deleted) return;
    for (let i = entries.length - 1; i >= 0; i--) {
      entries[i].redelivered = true;
      this.ready.unshift(entries[i]);
      if (this.unackedCount > 0) this.unackedCount--;
    }
    this.drain();
  }

  purge(): number {
    const count = this.ready.length;
    this.ready.clear();
    return count;
  }

  /** Throws 403 when an exclusive consumer holds the queue, or an exclusive one is asked while others consume. */
  checkConsumable(exclusive: boolean): void {
    if (this.consumers.some((c) => c.exclusive) || (exclusive && this.consumers.length > 0)) {
      throw new AccessRefused(`queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.checkConsumable(consumer.exclusive);
    this.consumers.push(consumer);
    this.hadConsumers = true;
    this.drain();
  }

  /** Removes a consumer; returns true when the queue should now be auto-deleted. */
  removeConsumer(consumer: Consumer): boolean {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return false;
    this.consumers.splice(i, 1);
    if (this.nextConsumer > i) this.nextConsumer--;
    return this.def.autoDelete && this.consumers.length === 0;
  }

  /** Called when the queue is deleted: drops messages and tells consumers. */
  markDeleted(): number {
    this.deleted = true;
    const count = this.ready.length;
    this.ready.clear();
    const consumers = this.consumers;
    this.consumers = [];
    for (const c of consumers) c.cancelledByQueue(this);
    return count;
  }

  /** Hands ready messages to consumers that have credit, round-robin. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.ready.length > 0) {
        const consumer = this.pickConsumer();
        if (!consumer) break;
        const entry = this.ready.shift()!;
        if (!consumer.noAck) this.unackedCount++;
        consumer.deliver(this, entry);
      }
    } finally {
      this.draining = false;
    }
  }

  private pickConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    for (let tried = 0; tried < n; tried++) {
      if (this.nextConsumer >= n) this.nextConsumer = 0;
      const c = this.consumers[this.nextConsumer++];
      if (c.canTake()) return c;
    }
    return undefined;
  }
}
