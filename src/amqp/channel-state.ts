import type { Broker } from '../broker/broker';
import type { FlowGate, MetadataStore, QueueHandle, QueuedMessage } from '../broker/ports';
import type { Message } from '../broker/message';
import type { VirtualHost } from '../broker/vhost';
import { groupByQueue } from '../broker/queue/group-by-queue';
import { MethodKey, type AmqpMethod, type BasicPublish } from '../protocol/methods.generated';
import type { ChannelConsumer } from './channel-consumer';
import type { ConfirmTracker } from './confirms';
import type { ReplyConsumer } from './direct-reply-to';
import { ReclaimedTags, UnackedDeliveries } from './unacked';
import { MessageCounters } from '../broker/message-stats';
import type { FrameOutput } from './writer';
import type { DeliveryClock, TimedConsumer, TimedDelivery } from './consumer-timeout';

/** Why a connection's socket is not being read. */
export type PauseReason = 'alarm' | 'flow' | 'held' | 'output';

/**
 * What a channel and its method handlers use of their connection. Connection implements it;
 * handlers depend on this, not on the Connection class, so src/amqp has no import cycle.
 */
export interface ChannelConnection extends FlowGate {
  readonly id: string;
  readonly out: FrameOutput;
  readonly broker: Broker;
  readonly metadata: MetadataStore;
  readonly vhost: VirtualHost | undefined;
  readonly user: string;
  readonly exclusiveQueues: Set<string>;
  readonly capabilities: { consumerCancelNotify: boolean; connectionBlocked: boolean; authenticationFailureClose: boolean };
  removeConsumer(consumer: ChannelConsumer): Promise<void>;
  drainChannelQueues(channel: ChannelState): void;
  waitOn(gate: FlowGate): void;
  markConfirmsDirty(channel: ChannelState): void;
  pauseReading(reason: PauseReason): void;
  resumeReading(reason: PauseReason): void;
  notePublish(): void;
  decodeMethod(payload: Buffer): AmqpMethod;
  handleError(err: unknown, channelId: number, methodKey: number): void;
}

/** A basic.ack (requeue undefined) or basic.nack/reject (requeue set). */
export interface Settlement {
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean | undefined;
}

/** What a transactional channel holds back until tx.commit. */
export interface TxState {
  publishes: { method: BasicPublish; message: Message }[];
  settlements: Settlement[];
}

/** A channel's state: what its method handlers read and change. */
export class ChannelState {
  state: 'open' | 'closing' | 'closed' = 'open';
  readonly consumers = new Map<string, ChannelConsumer>();
  readonly unacked = new UnackedDeliveries();
  /** basic.qos prefetch-count for consumers created from now on (global=false). */
  consumerPrefetch = 0;
  /** basic.qos prefetch-count shared by the channel (global=true); 0 = unlimited. */
  globalPrefetch = 0;
  flowActive = true;
  /** The queue named by the last queue.declare: an empty queue name in later methods means it. */
  lastQueueName: string | undefined;
  confirms: ConfirmTracker | undefined;
  /** Set while this channel consumes from amq.rabbitmq.reply-to. */
  replyConsumer: ReplyConsumer | undefined;
  tx: TxState | undefined;
  /** The last exchange this channel was allowed to publish to, and the access version that allowed it (access.ts). */
  grantedExchange: string | undefined;
  grantedVersion = -1;
  /** Set while this channel deletes a queue: cancels of its own consumers follow delete-ok, as RabbitMQ sends them. */
  heldCancels: string[] | undefined;
  /** Message counters (management statistics), and the vhost's, fetched once. */
  readonly stats = new MessageCounters();
  readonly vhostStats: MessageCounters;
  /** When deliveries went out, to the consumer timeout sweep's precision (consumer-timeout.ts). */
  deliveryClock: DeliveryClock | undefined;
  /** Tags of timed-out deliveries returned to their queues: late acks of them are ignored. */
  reclaimed: ReclaimedTags | undefined;
  private deliveryTag = 0;

  constructor(
    readonly connection: ChannelConnection,
    readonly id: number,
  ) {
    // Channels open only on an open connection, whose vhost is set for good.
    this.vhostStats = connection.vhost?.stats ?? new MessageCounters();
  }

  get broker() {
    return this.connection.broker;
  }

  get vhost() {
    return this.connection.vhost!;
  }

  nextDeliveryTag(): number {
    return ++this.deliveryTag;
  }

  get lastDeliveryTag(): number {
    return this.deliveryTag;
  }

  oldestUnacked(): TimedDelivery | undefined {
    return this.unacked.oldest();
  }

  get cancelNotify(): boolean {
    return this.connection.capabilities.consumerCancelNotify;
  }

  unackedInOrder(): Iterable<TimedDelivery> {
    return this.unacked.inOrder();
  }

  activeConsumers(): Iterable<ChannelConsumer> {
    return this.consumers.values();
  }

  hasConsumer(consumer: TimedConsumer): boolean {
    return this.consumers.get(consumer.tag) === consumer;
  }

  /** A consumer timed out (RabbitMQ 4.3's form): it takes nothing more, leaves its queue, and the client gets basic.cancel. */
  cancelTimedOutConsumer(timed: TimedConsumer): void {
    const consumer = this.consumers.get(timed.tag);
    if (consumer !== timed) return;
    consumer.active = false;
    this.consumers.delete(consumer.tag);
    void this.connection.removeConsumer(consumer);
    this.sendCancel(consumer.tag);
  }

  /** Timed-out deliveries go back to their queues; their tags are remembered so late acks are ignored. */
  reclaimTimedOut(deliveries: TimedDelivery[]): void {
    const taken = this.unacked.remove(deliveries.map((d) => d.deliveryTag));
    const reclaimed = (this.reclaimed ??= new ReclaimedTags());
    for (const u of taken) {
      if (u.consumer) u.consumer.unacked--;
      reclaimed.add(u.deliveryTag);
    }
    requeueAll(taken);
    if (this.globalPrefetch !== 0) this.connection.drainChannelQueues(this);
  }

  canDeliver(): boolean {
    return this.state === 'open' && this.flowActive && !this.connection.out.congested;
  }

  hasGlobalCredit(): boolean {
    return this.globalPrefetch === 0 || this.unacked.size < this.globalPrefetch;
  }

  trackUnacked(deliveryTag: number, queue: QueueHandle, entry: QueuedMessage, consumer: ChannelConsumer | undefined): void {
    this.unacked.add({ deliveryTag, queue, entry, consumer });
  }

  /** A consumer the server cancelled (its queue was deleted). */
  consumerCancelledByServer(consumer: ChannelConsumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return;
    this.consumers.delete(consumer.tag);
    if (this.heldCancels) this.heldCancels.push(consumer.tag);
    else this.sendCancel(consumer.tag);
  }

  /** basic.cancel from the server, to clients that asked for consumer_cancel_notify. */
  sendCancel(consumerTag: string): void {
    if (this.connection.capabilities.consumerCancelNotify && this.state === 'open') {
      this.connection.out.method(this.id, { key: MethodKey.BasicCancel, args: { consumerTag, nowait: true } });
    }
  }
}

/** Requeues deliveries to their queues, preserving their order per queue. */
export function requeueAll(deliveries: { queue: QueueHandle; entry: QueuedMessage }[]): void {
  for (const [queue, entries] of groupByQueue(deliveries)) queue.requeue(entries);
}
