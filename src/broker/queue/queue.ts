export type { QueueDefinition } from './queue-definition';
import { AccessRefused } from '../errors';
import type { Message } from '../message';
import type { Consumer, FlowGate, GetResult, QueueCounts, QueueHandle, QueuedMessage } from '../ports';
import type { QueueDefinition } from './queue-definition';
import type { DeathReason } from './dead-letter';
import { effectiveQueueConfig, type QueueConfig } from './queue-config';
import { safeTimeout } from '../../util/timers';
import { FifoMessages, PriorityMessages, type ReadyMessages } from './ready-messages';
import { PagedMessages, type MessageStoreSource } from './paged-messages';
import { isPaging } from './strict-priority-messages';
import { MessageCounters } from '../message-stats';

/** Ready messages above which a queue whose consumers are backed up slows its publishers. */
const FLOW_BACKLOG_MESSAGES = 1000;

/** What a queue asks of its vhost. */
export interface QueueHooks extends MessageStoreSource {
  /** Publishes a message that died in `queue` to the queue's dead-letter exchange. */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void;
  /** The queue was unused for its x-expires time and should be deleted. */
  expired(queue: Queue): void;
  /** A message left the queue for good (acked, rejected, expired, dropped, purged). */
  released(queue: Queue, message: Message): void;
}

/**
 * A classic queue held by this node: ready messages in FIFO (or priority) order, consumers
 * served by consumer priority and round-robin as their prefetch allows, TTL, length limits
 * and dead lettering. Every method runs to completion synchronously.
 */
export class Queue implements QueueHandle {
  private readonly ready: ReadyMessages;
  private consumers: Consumer[] = [];
  private nextConsumer = 0;
  private draining = false;
  private ttlTimer: NodeJS.Timeout | undefined;
  private ttlTimerAtMs = Infinity;
  private expiresTimer: NodeJS.Timeout | undefined;
  /** When the queue was last used (declared, consumed from, got from), for x-expires. */
  private lastUsedMs = Date.now();
  config: QueueConfig;
  /** Delivered to consumers (or basic.get) with manual ack, not yet settled. */
  unackedCount = 0;
  hadConsumers = false;
  deleted = false;
  /** Scratch mark used by VirtualHost.route to add each queue once per routed message. */
  routeMark = 0;
  readonly isLocal = true;
  /** Message counters (management statistics). */
  readonly stats = new MessageCounters();

  constructor(
    readonly vhost: string,
    readonly def: QueueDefinition,
    protected readonly hooks: QueueHooks,
    policy?: Record<string, unknown>,
  ) {
    this.config = effectiveQueueConfig(def.arguments, policy);
    this.ready = this.newReadyMessages();
    this.touch();
  }

  /** The ready list this queue keeps (called once, from the constructor: only def, config and hooks are set). */
  protected newReadyMessages(): ReadyMessages {
    if (this.config.maxPriority) return new PriorityMessages(this.config.maxPriority);
    return this.def.durable ? new PagedMessages(this.def.name, this.hooks) : new FifoMessages();
  }

  get name(): string {
    return this.def.name;
  }

  get messageCount(): number {
    return this.ready.length;
  }

  get messageBytes(): number {
    return this.ready.bytes;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Always available: this node holds the queue. */
  checkAvailable(): void {}

  counts(): QueueCounts {
    return { messageCount: this.ready.length, consumerCount: this.consumers.length, unackedCount: this.unackedCount, messageBytes: this.ready.bytes };
  }

  /** Re-reads settings after a policy change. */
  applyPolicy(policy: Record<string, unknown> | undefined): void {
    this.config = effectiveQueueConfig(this.def.arguments, policy);
    this.enforceLimits();
    this.expireHead();
    this.touch();
  }

  enqueue(message: Message): boolean {
    if (this.deleted) return false;
    const c = this.config;
    if (c.overflow !== 'drop-head' && this.isFull(1, message.body.length)) {
      if (c.overflow === 'reject-publish-dlx') this.deadLetter(message, 'maxlen');
      return false;
    }
    const expiresAtMs = this.expiryFor(message);
    this.ready.push({ message, redelivered: false, expiresAtMs, seq: 0 });
    this.stats.publish++;
    // Judged against the same instant as its expiry, so TTL 0 still reaches a waiting consumer.
    if (this.consumers.length > 0) this.drain(expiresAtMs === Infinity ? undefined : Math.min(Date.now(), expiresAtMs));
    this.enforceLimits();
    this.expireHead();
    return true;
  }

  private expiryFor(message: Message): number {
    return this.expiryAt(message.expirationMs);
  }

  /** When a message with TTL property `perMessage` enqueued at `sinceMs` (default now) expires here. */
  expiryAt(perMessage: number | undefined, sinceMs?: number): number {
    const ttl = this.config.messageTtlMs;
    if (perMessage === undefined && ttl === undefined) return Infinity;
    return (sinceMs || Date.now()) + Math.min(perMessage ?? Infinity, ttl ?? Infinity);
  }

  private isFull(extraMessages: number, extraBytes: number): boolean {
    const { maxLength, maxLengthBytes } = this.config;
    return (
      (maxLength !== undefined && this.ready.length + extraMessages > maxLength) ||
      (maxLengthBytes !== undefined && this.ready.bytes + extraBytes > maxLengthBytes)
    );
  }

  /** drop-head: the oldest ready messages go (dead-lettered as maxlen) until the limits hold. */
  private enforceLimits(): void {
    if (this.config.overflow !== 'drop-head') return;
    while (this.ready.length > 0 && this.isFull(0, 0)) this.drop(this.ready.shift()!.message, 'maxlen');
  }

  private deadLetter(message: Message, reason: DeathReason): void {
    if (this.config.deadLetterExchange !== undefined) this.hooks.deadLetter(this, message, reason);
  }

  /** A message leaves the queue without being consumed: dead-lettered when configured, then released. */
  private drop(message: Message, reason: DeathReason): void {
    this.deadLetter(message, reason);
    if (message.storeId !== undefined) this.hooks.released(this, message);
  }

  /** Expires the head now if due and arms the timer (after messages were restored with their expiry). */
  checkExpiry(): void {
    this.expireHead();
  }

  /** Removes expired messages from the head (RabbitMQ expires at the head only) and arms the timer for the next. */
  private expireHead(): void {
    let head = this.ready.peek();
    if ((head === undefined || head.expiresAtMs === Infinity) && this.ttlTimerAtMs === Infinity) return;
    const now = Date.now();
    while (head && head.expiresAtMs <= now) {
      this.ready.shift();
      this.drop(head.message, 'expired');
      head = this.ready.peek();
    }
    const next = head ? head.expiresAtMs : Infinity;
    if (next === this.ttlTimerAtMs) return;
    clearTimeout(this.ttlTimer);
    this.ttlTimerAtMs = next;
    if (next !== Infinity) {
      // Fires no later than the head's expiry (clamped for far-off ones); expireHead re-arms.
      this.ttlTimer = safeTimeout(() => {
        this.ttlTimerAtMs = Infinity;
        this.expireHead();
      }, next - now + 1);
    }
  }

  /** basic.get: the head message, or undefined when the queue is empty. */
  get(noAck: boolean): GetResult | undefined {
    this.touch();
    this.expireHead();
    const entry = this.ready.shift();
    if (entry && !noAck) this.unackedCount++;
    this.countGet(entry, noAck);
    this.expireHead();
    return entry && { entry, messageCount: this.ready.length };
  }

  private countGet(entry: QueuedMessage | undefined, noAck: boolean): void {
    const s = this.stats;
    if (!entry) s.getEmpty++;
    else if (noAck) s.getNoAck++;
    else s.get++;
    if (entry?.redelivered) s.redeliver++;
  }

  /** Settles delivered messages: ack, or reject/nack without requeue (dead-lettered as rejected). */
  settle(entries: QueuedMessage[], rejected: boolean): void {
    for (let i = 0; i < entries.length; i++) this.settleOne(entries[i], rejected);
  }

  private settleOne(entry: QueuedMessage, rejected: boolean): void {
    if (this.unackedCount > 0) this.unackedCount--;
    if (!rejected) this.stats.ack++;
    if (this.deleted) return;
    if (rejected) this.deadLetter(entry.message, 'rejected');
    if (entry.message.storeId !== undefined) this.hooks.released(this, entry.message);
  }

  /**
   * Puts back a message recovered from the store after a restart (redelivered, as RabbitMQ
   * marks it); its TTL counts from `sinceMs` when known (a quorum queue's enqueue time).
   */
  restore(message: Message, sinceMs?: number): void {
    this.ready.push({ message, redelivered: true, expiresAtMs: this.expiryAt(message.expirationMs, sinceMs), seq: 0 });
  }

  /**
   * restore() of a message whose body stays in the store until its turn (the queue keeps
   * its id, size and expiry); false when this queue does not page (the caller passes the
   * message itself then). `expirationMs` is the message's own TTL property.
   */
  restorePaged(storeId: number, size: number, expirationMs: number | undefined, priority = 0, sinceMs?: number): boolean {
    if (!isPaging(this.ready)) return false;
    this.ready.pushPaged(storeId, size, this.expiryAt(expirationMs, sinceMs), priority);
    return true;
  }

  /** Puts delivered messages back at their original positions (ahead of the never delivered), marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      if (this.unackedCount > 0) this.unackedCount--;
      if (this.deleted) continue;
      entries[i].redelivered = true;
      this.ready.unshift(entries[i]);
    }
    if (this.deleted) return;
    this.expireHead();
    this.drain();
  }

  purge(): number {
    const purged = this.ready.clear();
    for (const entry of purged) if (entry.message.storeId !== undefined) this.hooks.released(this, entry.message);
    return purged.length;
  }

  /** Throws 403 when an exclusive consumer holds the queue, or an exclusive one is asked while others consume. */
  checkConsumable(exclusive: boolean): void {
    const exclusiveRefused = exclusive && (this.consumers.length > 0 || this.config.singleActiveConsumer);
    if (exclusiveRefused || this.consumers.some((c) => c.exclusive)) {
      throw new AccessRefused(`queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.checkConsumable(consumer.exclusive);
    // Keep consumers ordered by priority, highest first; equal priorities in arrival order.
    let at = this.consumers.length;
    while (at > 0 && this.consumers[at - 1].priority < consumer.priority) at--;
    this.consumers.splice(at, 0, consumer);
    this.hadConsumers = true;
    this.touch();
    this.drain();
  }

  /** Removes a consumer; returns true when the queue should now be auto-deleted. */
  removeConsumer(consumer: Consumer): boolean {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return false;
    this.consumers.splice(i, 1);
    if (this.nextConsumer > i) this.nextConsumer--;
    this.touch();
    if (this.config.singleActiveConsumer && i === 0) this.drain();
    return this.def.autoDelete && this.consumers.length === 0;
  }

  /** The gate of a consumer that would take messages but for its backed-up connection, if the queue has a backlog. */
  flowGate(): FlowGate | undefined {
    if (this.ready.length < FLOW_BACKLOG_MESSAGES) return undefined;
    for (const c of this.consumers) {
      const gate = c.congestion();
      if (gate) return gate;
    }
    return undefined;
  }

  /** Whether `consumer` is the one receiving on a single-active-consumer queue (always true otherwise). */
  isActive(consumer: Consumer): boolean {
    return !this.config.singleActiveConsumer || this.consumers[0] === consumer;
  }

  /** Restarts the x-expires lease: the queue was used. */
  touch(): void {
    this.lastUsedMs = Date.now();
    this.armExpiry();
  }

  private armExpiry(): void {
    const expiresMs = this.config.expiresMs;
    clearTimeout(this.expiresTimer);
    this.expiresTimer = undefined;
    if (expiresMs === undefined || this.deleted) return;
    this.expiresTimer = safeTimeout(() => {
      if (this.deleted) return;
      if (this.consumers.length > 0) return this.touch();
      // A lease longer than a timer can wait is checked again until it has really run out.
      if (Date.now() - this.lastUsedMs < expiresMs) return this.armExpiry();
      this.hooks.expired(this);
    }, this.lastUsedMs + expiresMs - Date.now());
  }

  /** Called when the queue is deleted: drops messages, stops timers and tells consumers. */
  markDeleted(): number {
    this.deleted = true;
    clearTimeout(this.ttlTimer);
    clearTimeout(this.expiresTimer);
    const count = this.ready.length;
    this.ready.clear();
    const consumers = this.consumers;
    this.consumers = [];
    for (const c of consumers) c.cancelledByQueue(this);
    return count;
  }

  /** Hands ready messages to consumers that have credit. */
  /** `nowMs` overrides the clock used to judge expiry (see enqueue). */
  drain(nowMs?: number): void {
    if (this.draining || this.deleted) return;
    this.draining = true;
    try {
      while (this.ready.length > 0) {
        const consumer = this.pickConsumer();
        if (!consumer) break;
        const entry = this.ready.shift()!;
        // TTL 0 means "deliver now or never": a message expiring this very millisecond may still go out.
        if (entry.expiresAtMs !== Infinity && entry.expiresAtMs < (nowMs ?? Date.now())) {
          this.drop(entry.message, 'expired');
          continue;
        }
        if (this.settledElsewhere(entry)) continue;
        if (consumer.noAck) this.stats.deliverNoAck++;
        else {
          this.unackedCount++;
          this.stats.deliver++;
          this.delivered(consumer, entry);
        }
        if (entry.redelivered) this.stats.redeliver++;
        consumer.deliver(this, entry);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * A ready message turns out settled already (a quorum queue's consumer acked it after a
   * leader change): true when the queue released it instead of delivering it.
   */
  protected settledElsewhere(_entry: QueuedMessage): boolean {
    return false;
  }

  /** A message is handed to `consumer` with manual ack (a quorum queue's leader logs who holds it). */
  protected delivered(_consumer: Consumer, _entry: QueuedMessage): void {}

  /** The highest-priority consumer with credit; round-robin among equals. */
  private pickConsumer(): Consumer | undefined {
    const consumers = this.consumers;
    const n = consumers.length;
    if (n === 0) return undefined;
    if (this.config.singleActiveConsumer) return consumers[0].canTake() ? consumers[0] : undefined;
    if (consumers[0].priority === consumers[n - 1].priority) {
      for (let tried = 0; tried < n; tried++) {
        if (this.nextConsumer >= n) this.nextConsumer = 0;
        const c = consumers[this.nextConsumer++];
        if (c.canTake()) return c;
      }
      return undefined;
    }
    let start = 0;
    while (start < n) {
      let end = start;
      while (end < n && consumers[end].priority === consumers[start].priority) end++;
      const size = end - start;
      for (let tried = 0; tried < size; tried++) {
        const c = consumers[start + ((this.nextConsumer + tried) % size)];
        if (c.canTake()) {
          this.nextConsumer = (this.nextConsumer + tried + 1) % size;
          return c;
        }
      }
      start = end;
    }
    return undefined;
  }
}
