import type { CommandResult } from '../broker/definitions';
import { NotFound } from '../broker/errors';
import type { Binding } from '../broker/binding';
import type { MetadataStore } from '../broker/ports';
import type { Consumer, QueuedMessage } from '../broker/queue/consumer';
import type { Queue, QueueDefinition } from '../broker/queue/queue';
import type { DurabilityWaiter, VirtualHost } from '../broker/vhost';
import type { Message } from '../broker/message';
import type { FieldTable } from '../protocol/field-table';
import { Deque } from '../util/deque';

export type { Queue, QueuedMessage, Consumer };

/** What a publish came to: 'pending' means settleDurable(token) follows once the store has fsynced it. */
export type PublishOutcome = 'unroutable' | 'accepted' | 'rejected' | 'pending';

/** Told when a publish that waited for the message store's fsync is safe. */
export interface DurableSettler {
  settleDurable(token: number, accepted: boolean): void;
}

interface AwaitingDisk {
  storeId: number;
  token: number;
  accepted: boolean;
}

const routeScratch: Queue[] = [];

/**
 * Everything the MQTT adapter does to the broker, in one place: declares, bindings and deletes
 * through the MetadataStore; publishes through the vhost's routing; consumption through the
 * queue's Consumer interface. When the queue core changes, this file is what gets re-pointed.
 */
export class BrokerSession implements DurabilityWaiter {
  private readonly awaitingDisk = new Deque<AwaitingDisk>();
  private registered = false;
  /** A consumer whose socket is backed up, met by the last publish (RabbitMQ's credit flow). */
  congestedConsumer: Consumer | undefined;

  constructor(
    private readonly metadata: MetadataStore,
    readonly vhost: VirtualHost,
    /** Owner id of the connection's exclusive queues. */
    readonly connectionId: string,
    private readonly settler: DurableSettler,
  ) {}

  queue(name: string): Queue | undefined {
    return this.vhost.queues.get(name);
  }

  hasExchange(name: string): boolean {
    return this.vhost.exchanges.has(name);
  }

  declareQueue(def: QueueDefinition): Promise<CommandResult> {
    return this.metadata.apply({ op: 'queue.declare', vhost: this.vhost.name, queue: def, connectionId: this.connectionId });
  }

  async deleteQueue(name: string): Promise<void> {
    if (!this.vhost.queues.has(name)) return;
    await this.metadata.apply({ op: 'queue.delete', vhost: this.vhost.name, name, ifUnused: false, ifEmpty: false });
  }

  async bind(queue: string, exchange: string, routingKey: string, args: FieldTable): Promise<void> {
    await this.metadata.apply({ op: 'binding.add', vhost: this.vhost.name, binding: { source: exchange, destination: queue, destinationKind: 'queue', routingKey, args } });
  }

  async unbind(binding: Binding): Promise<void> {
    await this.metadata.apply({ op: 'binding.remove', vhost: this.vhost.name, binding });
  }

  /** The bindings to `queue` from `exchange`. */
  bindingsOf(queue: string, exchange: string): Binding[] {
    return this.vhost.bindingsToDestination('queue', queue).filter((b) => b.source === exchange);
  }

  /**
   * Routes `message` from its exchange and enqueues it. A persistent message bound for a
   * durable queue is 'pending' until the store's fsync; settleDurable(token) then follows.
   */
  publish(message: Message, token: number): PublishOutcome {
    const exchange = this.vhost.exchanges.get(message.exchange);
    if (!exchange) throw new NotFound(`no exchange '${message.exchange}' in vhost '${this.vhost.name}'`);
    const queues = routeScratch;
    let accepted: boolean;
    try {
      this.vhost.route(exchange, message, queues);
      if (queues.length === 0) return 'unroutable';
      accepted = this.vhost.enqueueAll(queues, message);
      for (let i = 0; i < queues.length; i++) {
        const slow = queues[i].congestedConsumer();
        if (slow) this.congestedConsumer = slow;
      }
    } finally {
      queues.length = 0;
    }
    const store = this.vhost.messageStore;
    const storeId = message.storeId;
    if (storeId === undefined || !store || store.durableTicket >= storeId) return accepted ? 'accepted' : 'rejected';
    this.awaitingDisk.push({ storeId, token, accepted });
    if (!this.registered) {
      this.registered = true;
      this.vhost.waitForDurability(this);
    }
    return 'pending';
  }

  durableUpTo(ticket: number): void {
    while (this.awaitingDisk.length > 0 && this.awaitingDisk.peek()!.storeId <= ticket) {
      const a = this.awaitingDisk.shift()!;
      this.settler.settleDurable(a.token, a.accepted);
    }
    if (this.awaitingDisk.length === 0) this.unregister();
  }

  consume(queue: Queue, consumer: Consumer): void {
    queue.addConsumer(consumer);
  }

  /** Stops a consumer; an auto-delete queue left without consumers is deleted. */
  cancel(queue: Queue, consumer: Consumer): void {
    if (queue.removeConsumer(consumer) && !queue.deleted) void this.deleteQueue(queue.name).catch(() => undefined);
  }

  ack(queue: Queue, entry: QueuedMessage): void {
    queue.settle(entry, false);
    queue.drain();
  }

  /** Settles without requeue: dead-lettered as rejected when the queue has a DLX. */
  reject(queue: Queue, entry: QueuedMessage): void {
    queue.settle(entry, true);
    queue.drain();
  }

  requeue(queue: Queue, entries: QueuedMessage[]): void {
    queue.requeue(entries);
  }

  /** Lets a queue deliver again after its consumer regained credit. */
  drain(queue: Queue): void {
    queue.drain();
  }

  close(): void {
    this.awaitingDisk.clear();
    this.unregister();
  }

  private unregister(): void {
    if (!this.registered) return;
    this.registered = false;
    this.vhost.forgetWaiter(this);
  }
}
