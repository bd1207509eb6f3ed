/**
 * At a queue's home, the stand-in for a consumer whose channel is on another node. The home
 * queue serves it like any consumer (priority, single active, exclusive); it enforces the
 * consumer's prefetch here, and takes only as many messages as the consumer's node has
 * granted credit for, so a consumer node that cannot write to its client holds the queue
 * back instead of buffering without bound.
 */
import type { Consumer, FlowGate, FlowWaiter, QueueHandle, QueuedMessage } from '../../src/broker/ports';
import type { FieldTable } from '../../src/protocol/field-table';
import type { ConsumeRequest } from './forward-codec';

/** Deliveries a consumer node may have in flight or buffered for one consumer without a prefetch. */
export const DEFAULT_WINDOW = 1000;
const MAX_WINDOW = 2000;
/**
 * A consumer node that returns no credit for this long is stuck (its client stopped reading):
 * like a local consumer whose socket stays congested (src/amqp/writer.ts STUCK_OUTPUT_MS), it
 * then no longer slows the queue's publishers, and the queue keeps taking messages.
 */
const STUCK_CREDIT_MS = 5000;

/** The credit window of a consumer: its prefetch when it has one (bounded), else DEFAULT_WINDOW. */
export function creditWindow(prefetchCount: number): number {
  return prefetchCount > 0 ? Math.min(prefetchCount, MAX_WINDOW) : DEFAULT_WINDOW;
}

export interface ProxyHost {
  deliver(proxy: ProxyConsumer, queue: QueueHandle, entry: QueuedMessage): void;
  cancelled(proxy: ProxyConsumer): void;
  isUp(node: string): boolean;
}

export class ProxyConsumer implements Consumer, FlowGate {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly args: FieldTable;
  readonly priority: number;
  readonly prefetchCount: number;
  /** False until the consumer node has been answered: deliveries must follow consume-ok. */
  active = false;
  credit: number;
  unacked = 0;
  private readonly waiters = new Set<FlowWaiter>();
  /** When the credit ran out (0 while there is credit). */
  private noCreditSinceMs = 0;
  private stuckTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly node: string,
    readonly consumerId: number,
    readonly queue: QueueHandle,
    req: ConsumeRequest,
    private readonly host: ProxyHost,
  ) {
    this.tag = req.tag;
    this.noAck = req.noAck;
    this.exclusive = req.exclusive;
    this.args = req.args;
    this.priority = req.priority;
    this.prefetchCount = req.prefetchCount;
    this.credit = creditWindow(req.prefetchCount);
  }

  private withinPrefetch(): boolean {
    return this.noAck || this.prefetchCount === 0 || this.unacked < this.prefetchCount;
  }

  canTake(): boolean {
    // A proxy whose node went down is removed from its queue at once (HomeDeliveries.nodeDown).
    return this.active && this.credit > 0 && this.withinPrefetch();
  }

  congestion(): FlowGate | undefined {
    if (!this.active || this.credit > 0 || !this.withinPrefetch()) return undefined;
    return Date.now() - this.noCreditSinceMs >= STUCK_CREDIT_MS ? undefined : this;
  }

  deliver(queue: QueueHandle, entry: QueuedMessage): void {
    if (--this.credit === 0) this.noCreditSinceMs = Date.now();
    this.host.deliver(this, queue, entry);
  }

  cancelledByQueue(_queue: QueueHandle): void {
    this.host.cancelled(this);
    this.releaseWaiters();
  }

  addCredit(n: number): void {
    this.credit += n;
    if (this.credit > 0) {
      this.noCreditSinceMs = 0;
      this.releaseWaiters();
    }
  }

  addFlowWaiter(waiter: FlowWaiter): void {
    if (this.credit > 0) return waiter.resumeFlow();
    this.waiters.add(waiter);
    this.stuckTimer ??= setTimeout(() => {
      this.stuckTimer = undefined;
      this.releaseWaiters();
    }, STUCK_CREDIT_MS);
  }

  releaseWaiters(): void {
    clearTimeout(this.stuckTimer);
    this.stuckTimer = undefined;
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.resumeFlow();
  }
}
