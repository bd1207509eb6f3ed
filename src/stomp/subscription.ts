import type { FieldTable } from '../protocol/field-table';
import type { Consumer, FlowGate, Queue, QueuedMessage } from '../adapter/broker-session';

export type AckMode = 'auto' | 'client' | 'client-individual';

/** Where a subscription hands its deliveries: the STOMP session. */
export interface DeliveryTarget {
  readonly congested: boolean;
  /** What publishers wait on while `congested`. */
  readonly gate: FlowGate;
  deliver(subscription: StompSubscription, queue: Queue, entry: QueuedMessage): void;
  subscriptionCancelled(subscription: StompSubscription): void;
}

/** A SUBSCRIBE: a consumer on one queue, with its ack mode and prefetch. */
export class StompSubscription implements Consumer {
  readonly exclusive = false;
  readonly priority: number;
  /** Deliveries not yet acknowledged (client modes). */
  unacked = 0;

  constructor(
    private readonly target: DeliveryTarget,
    /** The SUBSCRIBE `id`, or undefined (STOMP 1.0 without one: keyed by destination). */
    readonly id: string | undefined,
    /** The consumer tag: `T_<id>` or `Q_<destination>`. */
    readonly tag: string,
    readonly destination: string,
    readonly queue: Queue,
    readonly ackMode: AckMode,
    /** prefetch-count; 0 = unlimited. */
    readonly prefetch: number,
    readonly args: FieldTable,
    /** A durable /topic subscription: UNSUBSCRIBE with durable:true deletes its queue. */
    readonly durableTopic: boolean,
  ) {
    this.priority = typeof args['x-priority'] === 'number' ? args['x-priority'] : 0;
  }

  get noAck(): boolean {
    return this.ackMode === 'auto';
  }

  canTake(): boolean {
    if (this.target.congested) return false;
    return this.noAck || this.prefetch === 0 || this.unacked < this.prefetch;
  }

  get prefetchCount(): number {
    return this.noAck ? 0 : this.prefetch;
  }

  congestion(): FlowGate | undefined {
    return this.target.congested ? this.target.gate : undefined;
  }

  deliver(queue: Queue, entry: QueuedMessage): void {
    this.target.deliver(this, queue, entry);
  }

  cancelledByQueue(): void {
    this.target.subscriptionCancelled(this);
  }
}
