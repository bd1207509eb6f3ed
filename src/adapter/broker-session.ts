import type { Duplex } from 'node:stream';
import type { CommandResult } from '../broker/definitions';
import { AccessRefused, NotFound } from '../broker/errors';
import type { Binding } from '../broker/binding';
import type { ConfirmParts, Consumer, FlowGate, MetadataStore, QueuedMessage, QueueHandle } from '../broker/ports';
import type { QueueDefinition } from '../broker/queue/queue-definition';
import type { DurabilityWaiter, VirtualHost } from '../broker/vhost';
import type { Broker } from '../broker/broker';
import { checkResource, checkTopic, topicMatcher, topicRefusal } from '../auth/permissions';
import type { Message } from '../broker/message';
import type { FieldTable } from '../protocol/field-table';
import { Deque } from '../util/deque';

export type { QueuedMessage, Consumer, FlowGate };
export type Queue = QueueHandle;

/** What a publish came to: 'pending' means settleDurable(token) follows once every queue (home) has it. */
export type PublishOutcome = 'unroutable' | 'accepted' | 'rejected' | 'pending';

/** Told when a publish that waited (for the store's fsync, or for remote homes) is settled. */
export interface DurableSettler {
  settleDurable(token: number, accepted: boolean): void;
}

interface AwaitingDisk {
  storeId: number;
  token: number;
}

/** A publish waiting on parts (an fsync, remote homes), settled when every part is done after finish. */
interface PendingParts {
  parts: number;
  ok: boolean;
  finished: boolean;
}

const routeScratch: QueueHandle[] = [];

/**
 * Everything a protocol adapter (MQTT, STOMP) does to the broker, in one place: declares, bindings and deletes
 * through the MetadataStore; publishes through the vhost's routing to QueueHandles (local or
 * homed on another node), with the acknowledgement held until every part is done; consumption
 * through the QueueHandle's Consumer interface.
 */
export class BrokerSession implements DurabilityWaiter, ConfirmParts {
  private readonly awaitingDisk = new Deque<AwaitingDisk>();
  private readonly pending = new Map<number, PendingParts>();
  private registered = false;
  /** What the last publish should wait on before the publisher is read again (RabbitMQ's credit flow). */
  private gate: FlowGate | undefined;
  /**
   * Publish grants by exchange name, as src/amqp keeps them: true (write, no topic permission),
   * a topic pattern the routing key must match, or false; valid while the access model's
   * version stays the same.
   */
  private grants = new Map<string, boolean | RegExp>();
  private grantsVersion = -1;

  constructor(
    private readonly metadata: MetadataStore,
    readonly vhost: VirtualHost,
    /** Owner id of the connection's exclusive queues. */
    readonly connectionId: string,
    private readonly settler: DurableSettler,
    private readonly broker: Broker,
    /** The logged-in user, whose permissions in the vhost (and topic permissions) apply. */
    private readonly user: string,
    /** STOMP checks exclusive ownership when subscribing; MQTT consumes only its own session queues. */
    private readonly checkExclusiveOnConsume = false,
  ) {}

  /** Throws AccessRefused unless the user holds `perm` on the resource (RabbitMQ's texts). */
  private check(perm: 'configure' | 'write' | 'read', kind: 'queue' | 'exchange', name: string): void {
    checkResource(this.broker, this.user, this.vhost.name, perm, kind, name);
  }

  queue(name: string): Queue | undefined {
    return this.vhost.queues.get(name);
  }

  hasExchange(name: string): boolean {
    return this.vhost.exchanges.has(name);
  }

  /** Throws NotFound for a missing exchange and AccessRefused for an internal one. */
  checkPublishable(exchange: string): void {
    const e = this.vhost.exchanges.get(exchange);
    if (!e) throw new NotFound(`no exchange '${exchange}' in vhost '${this.vhost.name}'`);
    if (e.def.internal) throw new AccessRefused(`cannot publish to internal exchange '${exchange}' in vhost '${this.vhost.name}'`);
  }

  /** Throws NotFound when the queue does not exist (or its home is down), ResourceLocked for another connection's exclusive queue. */
  checkQueue(name: string): Queue {
    const q = this.vhost.queue(name);
    this.vhost.checkExclusiveAccess(q, this.connectionId);
    q.checkAvailable();
    return q;
  }

  declareQueue(def: QueueDefinition): Promise<CommandResult> {
    this.check('configure', 'queue', def.name);
    return this.metadata.apply({ op: 'queue.declare', vhost: this.vhost.name, queue: def, connectionId: this.connectionId });
  }

  async deleteQueue(name: string): Promise<void> {
    if (!this.vhost.queues.has(name)) return;
    await this.metadata.apply({ op: 'queue.delete', vhost: this.vhost.name, name, ifUnused: false, ifEmpty: false });
  }

  async bind(queue: string, exchange: string, routingKey: string, args: FieldTable): Promise<void> {
    this.check('write', 'queue', queue);
    this.check('read', 'exchange', exchange);
    if (this.vhost.exchanges.get(exchange)?.def.type === 'topic') checkTopic(this.broker, this.user, this.vhost.name, exchange, 'read', routingKey);
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
   * Routes `message` from its exchange and enqueues it. With a `token` (the publisher wants an
   * acknowledgement), a publish that must wait for the store's fsync or for remote homes is
   * 'pending' and settleDurable(token) follows.
   */
  publish(message: Message, token: number | undefined): PublishOutcome {
    const exchange = this.vhost.exchanges.get(message.exchange);
    if (!exchange) throw new NotFound(`no exchange '${message.exchange}' in vhost '${this.vhost.name}'`);
    this.authorizePublish(message.exchange, exchange.def.type === 'topic' && !exchange.def.internal, message.routingKey);
    const queues = routeScratch;
    let accepted: boolean;
    try {
      this.vhost.route(exchange, message, queues);
      if (queues.length === 0) return 'unroutable';
      accepted = this.vhost.enqueueAll(queues, message, token === undefined ? undefined : this, token ?? 0);
      for (let i = 0; i < queues.length; i++) {
        const gate = queues[i].flowGate();
        if (gate) this.gate = gate;
      }
    } finally {
      queues.length = 0;
    }
    if (token === undefined) return accepted ? 'accepted' : 'rejected';
    const store = this.vhost.messageStore;
    const storeId = message.storeId;
    if (storeId !== undefined && store && store.durableTicket < storeId) {
      this.hold(token);
      this.awaitingDisk.push({ storeId, token });
      if (!this.registered) {
        this.registered = true;
        this.vhost.waitForDurability(this);
      }
    }
    const p = this.pending.get(token);
    if (!p) return accepted ? 'accepted' : 'rejected';
    if (!accepted) p.ok = false;
    p.finished = true;
    if (p.parts > 0) return 'pending';
    this.pending.delete(token);
    return p.ok ? 'accepted' : 'rejected';
  }

  /** Write on the exchange, then (a topic exchange) the topic write permission for the routing key. */
  private authorizePublish(exchange: string, topic: boolean, routingKey: string): void {
    const version = this.broker.access.version;
    if (version !== this.grantsVersion) {
      this.grants = new Map();
      this.grantsVersion = version;
    }
    let grant = this.grants.get(exchange);
    if (grant === undefined) {
      try {
        this.check('write', 'exchange', exchange);
        const pattern = topic ? topicMatcher(this.broker, this.user, this.vhost.name, exchange, 'write') : undefined;
        grant = pattern === undefined ? true : (pattern ?? false);
      } catch {
        grant = false;
      }
      this.grants.set(exchange, grant);
    }
    if (grant === true) return;
    if (grant === false) {
      this.check('write', 'exchange', exchange);
      throw topicRefusal('write', routingKey, exchange, this.vhost.name, this.user);
    }
    if (!grant.test(routingKey)) throw topicRefusal('write', routingKey, exchange, this.vhost.name, this.user);
  }

  /** Stops reading `stream` until what the last publish met (a backed-up consumer, a remote home) lets it go on. */
  throttle(stream: Duplex): void {
    const gate = this.gate;
    if (!gate) return;
    this.gate = undefined;
    if (stream.isPaused()) return;
    stream.pause();
    gate.addFlowWaiter({ resumeFlow: () => stream.resume() });
  }

  hold(token: number): void {
    const p = this.pending.get(token);
    if (p) p.parts++;
    else this.pending.set(token, { parts: 1, ok: true, finished: false });
  }

  partDone(token: number, ok: boolean): void {
    const p = this.pending.get(token);
    if (!p) return;
    if (!ok) p.ok = false;
    if (--p.parts === 0 && p.finished) {
      this.pending.delete(token);
      this.settler.settleDurable(token, p.ok);
    }
  }

  durableUpTo(ticket: number): void {
    while (this.awaitingDisk.length > 0 && this.awaitingDisk.peek()!.storeId <= ticket) this.partDone(this.awaitingDisk.shift()!.token, true);
    if (this.awaitingDisk.length === 0) this.unregister();
  }

  consume(queue: Queue, consumer: Consumer): void | Promise<void> {
    this.check('read', 'queue', queue.name);
    if (this.checkExclusiveOnConsume) this.vhost.checkExclusiveAccess(queue, this.connectionId);
    return queue.addConsumer(consumer);
  }

  /** Stops a consumer; an auto-delete queue left without consumers is deleted. */
  async cancel(queue: Queue, consumer: Consumer): Promise<void> {
    if ((await queue.removeConsumer(consumer)) && !queue.deleted) await this.deleteQueue(queue.name).catch(() => undefined);
  }

  ack(queue: Queue, entry: QueuedMessage): void {
    queue.settle([entry], false);
    queue.drain();
  }

  /** Settles without requeue: dead-lettered as rejected when the queue has a DLX. */
  reject(queue: Queue, entry: QueuedMessage): void {
    queue.settle([entry], true);
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
    this.pending.clear();
    this.unregister();
  }

  private unregister(): void {
    if (!this.registered) return;
    this.registered = false;
    this.vhost.forgetWaiter(this);
  }
}

