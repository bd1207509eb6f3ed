import type { FieldTable } from '../protocol/field-table';
import type { Consumer, FlowGate, QueuedMessage } from '../broker/ports';
import type { QueueHandle } from '../broker/ports';
import type { FrameOutput } from './writer';
import type { MessageCounters } from '../broker/message-stats';

/** What a consumer uses of its channel (ChannelState implements it). */
export interface ConsumerChannel {
  readonly id: number;
  readonly connection: FlowGate & { readonly out: FrameOutput };
  canDeliver(): boolean;
  hasGlobalCredit(): boolean;
  nextDeliveryTag(): number;
  trackUnacked(deliveryTag: number, queue: QueueHandle, entry: QueuedMessage, consumer: ChannelConsumer): void;
  consumerCancelledByServer(consumer: ChannelConsumer): void;
  /** The channel's and its vhost's message counters (management statistics). */
  readonly stats: MessageCounters;
  readonly vhostStats: MessageCounters;
}

/** A basic.consume on a channel: the bridge from a queue's dispatch loop to the socket. */
export class ChannelConsumer implements Consumer {
  /** Deliveries to this consumer not yet acknowledged. */
  unacked = 0;
  /** False until basic.consume-ok is out: nothing is delivered before it (and again once cancelled for a timeout). */
  active = false;
  /** Set once cancelled by the server for a consumer timeout (consumer-timeout.ts). */
  timedOut = false;
  /** The consumer tag as an encoded shortstr, written into every basic.deliver. */
  private readonly tagBytes: Buffer;

  constructor(
    readonly channel: ConsumerChannel,
    readonly queue: QueueHandle,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly args: FieldTable,
    /** basic.qos prefetch-count (global=false) in force when the consumer was created; 0 = unlimited. */
    readonly prefetchCount: number,
    readonly priority: number,
    /** Its x-consumer-timeout argument, ms (0 = none); undefined without one. */
    readonly timeoutMs: number | undefined = undefined,
  ) {
    const tagBytes = Buffer.from(tag, 'utf8').subarray(0, 255);
    this.tagBytes = Buffer.concat([Buffer.from([tagBytes.length]), tagBytes]);
  }

  canTake(): boolean {
    if (!this.active) return false;
    if (this.noAck) return this.channel.canDeliver();
    if (this.prefetchCount !== 0 && this.unacked >= this.prefetchCount) return false;
    return this.channel.canDeliver() && this.channel.hasGlobalCredit();
  }

  congestion(): FlowGate | undefined {
    const connection = this.channel.connection;
    return connection.out.congested && !connection.out.stuck ? connection : undefined;
  }

  deliver(queue: QueueHandle, entry: QueuedMessage): void {
    const deliveryTag = this.channel.nextDeliveryTag();
    countDelivery(this.channel.stats, this.channel.vhostStats, this.noAck, entry.redelivered, false);
    if (!this.noAck) {
      this.unacked++;
      this.channel.trackUnacked(deliveryTag, queue, entry, this);
    }
    const m = entry.message;
    this.channel.connection.out.deliver(this.channel.id, this.tagBytes, deliveryTag, entry.redelivered, m.routingBytes, m.rawProperties, m.body);
  }

  cancelledByQueue(_queue: QueueHandle): void {
    this.channel.consumerCancelledByServer(this);
  }
}

/** Management statistics of one delivery or basic.get-ok, on the channel and its vhost (the queue counts its own). */
export function countDelivery(ch: MessageCounters, v: MessageCounters, noAck: boolean, redelivered: boolean, get: boolean): void {
  if (get) {
    if (noAck) {
      ch.getNoAck++;
      v.getNoAck++;
    } else {
      ch.get++;
      v.get++;
    }
  } else if (noAck) {
    ch.deliverNoAck++;
    v.deliverNoAck++;
  } else {
    ch.deliver++;
    v.deliver++;
  }
  if (redelivered) {
    ch.redeliver++;
    v.redeliver++;
  }
}
