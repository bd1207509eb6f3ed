/**
 * Consumer timeouts (RabbitMQ's `consumer_timeout`, 30 minutes by default): what happens to a
 * delivery left unacknowledged past its timeout.
 *
 * - A quorum queue's delivery to a consumer whose connection announced the
 *   `consumer_cancel_notify` capability (RabbitMQ 4.3's form): the consumer alone is cancelled
 *   (a basic.cancel goes to the client, the channel stays open) and its timed-out deliveries go
 *   back to the queue. Its other deliveries stay with the channel, acknowledgeable, until they
 *   time out in turn (then returned without further notice). Late acks of returned deliveries
 *   are ignored rather than answered with an unknown-tag 406.
 * - Any other timed-out delivery (classic queues, basic.get, clients without the capability,
 *   consumers the client itself cancelled) closes its channel with 406 PRECONDITION_FAILED, as
 *   RabbitMQ 4.2 and earlier do, and its unacked messages go back to their queues. (RabbitMQ
 *   4.3 no longer times out classic queue deliveries; Warren keeps 4.2's channel close there.)
 *
 * Nothing is done per delivery. One timer per listener sweeps every channel every few
 * seconds; each sweep writes down, per channel, the last delivery tag handed out so far and
 * the time (a DeliveryClock mark). A delivery's tag is then known to have gone out no later
 * than the first mark at or above it, so a delivery times out at most one sweep late, never
 * early. RabbitMQ checks once a minute; this is finer.
 *
 * The timeout of a delivery is its consumer's `x-consumer-timeout` argument (RabbitMQ 4.3:
 * it takes precedence over everything else), else its queue's `x-consumer-timeout` argument or
 * `consumer-timeout` policy key (the smaller when both are set), else the node's setting.
 */
import { PreconditionFailed, type AmqpError } from '../broker/errors';
import { matchingPolicy, queuePolicyKind } from '../broker/policy';
import type { QueueHandle } from '../broker/ports';
import type { VirtualHost } from '../broker/vhost';
import { isQuorum } from '../broker/queue/quorum-arguments';

/** RabbitMQ's consumer_timeout default: 30 minutes. */
export const DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
/** Longest pause between two sweeps. */
const MAX_SWEEP_MS = 5000;
/** Shortest pause between two sweeps (tests use timeouts of a second or less). */
const MIN_SWEEP_MS = 50;

/** How often channels are swept for a node-wide timeout of `timeoutMs` (0 = off). */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(timeoutMs / 4)));
}

/**
 * When a channel's deliveries went out, to a sweep's precision: marks of (last delivery tag
 * so far, time), oldest first. Marks older than the oldest unacked delivery are dropped, so
 * at most timeout ÷ sweep interval + 1 marks are kept.
 */
export class DeliveryClock {
  private tags: number[] = [];
  private times: number[] = [];
  private head = 0;

  /** Records that every tag up to `lastTag` had gone out by `nowMs`. */
  mark(lastTag: number, nowMs: number): void {
    const n = this.tags.length;
    if (n > this.head && this.tags[n - 1] === lastTag) return;
    this.tags.push(lastTag);
    this.times.push(nowMs);
  }

  /** The time by which delivery `tag` had gone out (undefined when not yet marked); forgets nothing. */
  timeOf(tag: number): number | undefined {
    let lo = this.head;
    let hi = this.tags.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tags[mid] < tag) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.tags.length ? this.times[lo] : undefined;
  }

  /** The time by which delivery `tag` had gone out (undefined when not yet marked); forgets older marks. */
  deliveredBy(tag: number): number | undefined {
    while (this.head < this.tags.length && this.tags[this.head] < tag) this.head++;
    if (this.head > 64 && this.head * 2 > this.tags.length) {
      this.tags = this.tags.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.head < this.tags.length ? this.times[this.head] : undefined;
  }
}

const INTEGER = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : typeof v === 'bigint' && v >= 0n ? Number(v) : undefined);

/** The consumer timeout of deliveries from `queue`: its argument or policy key (smaller wins), else `fallbackMs`; 0 = none. */
export function queueConsumerTimeoutMs(queue: QueueHandle, vhost: VirtualHost | undefined, fallbackMs: number): number {
  const arg = INTEGER(queue.def.arguments['x-consumer-timeout']);
  const policy = vhost ? INTEGER(matchingPolicy(vhost.policies.values(), queuePolicyKind(queue.def.arguments), queue.name)?.definition['consumer-timeout']) : undefined;
  if (arg === undefined && policy === undefined) return fallbackMs;
  return Math.min(arg ?? Infinity, policy ?? Infinity);
}

/** The error a timed-out channel is closed with (RabbitMQ's text). */
export function consumerTimedOut(channel: number, timeoutMs: number): AmqpError {
  return new PreconditionFailed(`delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`);
}

/** What the sweeper needs of a consumer (ChannelConsumer). */
export interface TimedConsumer {
  readonly tag: string;
  /** Its own x-consumer-timeout, ms (0 = none); undefined when it has none. */
  readonly timeoutMs: number | undefined;
  /** Set once the sweep has cancelled it for a timeout. */
  timedOut: boolean;
}

/** One unacknowledged delivery of a channel, as the sweeper sees it. */
export interface TimedDelivery {
  readonly deliveryTag: number;
  readonly queue: QueueHandle;
  /** Undefined for basic.get deliveries. */
  readonly consumer: TimedConsumer | undefined;
}

/** What the sweeper needs of a channel. */
export interface TimedChannel {
  readonly id: number;
  readonly state: string;
  /** The last delivery tag handed out (0 before any). */
  readonly lastDeliveryTag: number;
  /** The client announced consumer_cancel_notify. */
  readonly cancelNotify: boolean;
  /** The oldest (lowest tag) unacknowledged delivery, if any. */
  oldestUnacked(): TimedDelivery | undefined;
  /** Unacknowledged deliveries, oldest (lowest tag) first. */
  unackedInOrder(): Iterable<TimedDelivery>;
  /** The channel's consumers (those the client has not cancelled). */
  activeConsumers(): Iterable<TimedConsumer & { readonly queue: QueueHandle }>;
  /** True while `consumer` is one of the channel's consumers. */
  hasConsumer(consumer: TimedConsumer): boolean;
  deliveryClock: DeliveryClock | undefined;
  closeWithError(err: AmqpError, classId: number, methodId: number): void;
  /** Cancels `consumer` from the server's side: basic.cancel to the client, removed from its queue. */
  cancelTimedOutConsumer(consumer: TimedConsumer): void;
  /** Returns these deliveries to their queues; later acks of their tags are ignored. */
  reclaimTimedOut(deliveries: TimedDelivery[]): void;
}

/** What one sweep of a channel did. */
export interface SweepResult {
  /** The timeout that expired first. */
  timeoutMs: number;
  /** The channel was closed (406). */
  closed: boolean;
  /** Consumers cancelled with basic.cancel (RabbitMQ 4.3's form), by tag. */
  cancelled: string[];
  /** Deliveries returned to their queues without closing the channel. */
  returned: number;
}

/** Most deliveries one sweep of a channel looks at (the rest wait for the next sweep). */
const MAX_SCAN = 10_000;

/** A timed-out delivery that gets RabbitMQ 4.3's form: a quorum queue's consumer, on a client that takes basic.cancel. */
function cancellable(ch: TimedChannel, d: TimedDelivery): boolean {
  const c = d.consumer;
  if (!c || !ch.cancelNotify || !isQuorum(d.queue.def.arguments)) return false;
  return c.timedOut || ch.hasConsumer(c);
}

/**
 * One sweep of a channel at `nowMs`: marks its clock, then deals with its deliveries past
 * their timeout (see the top of this file). Returns undefined when none was.
 */
export function sweepChannel(ch: TimedChannel, vhost: VirtualHost | undefined, defaultMs: number, nowMs: number): SweepResult | undefined {
  if (ch.state !== 'open' || ch.lastDeliveryTag === 0) return undefined;
  const first = ch.oldestUnacked();
  if (!first) {
    // Every later delivery has a higher tag than any mark so far: none is needed any more.
    ch.deliveryClock = undefined;
    return undefined;
  }
  const clock = (ch.deliveryClock ??= new DeliveryClock());
  clock.mark(ch.lastDeliveryTag, nowMs);
  if (clock.deliveredBy(first.deliveryTag) === undefined) return undefined;
  const byQueue = new Map<QueueHandle, number>();
  const timeoutOf = (d: { queue: QueueHandle; consumer: TimedConsumer | undefined }): number => {
    const own = d.consumer?.timeoutMs;
    if (own !== undefined) return own;
    let ms = byQueue.get(d.queue);
    if (ms === undefined) byQueue.set(d.queue, (ms = queueConsumerTimeoutMs(d.queue, vhost, defaultMs)));
    return ms;
  };
  // Deliveries go out in tag order, so the scan stops at the first one younger than every
  // timeout in play (the channel's consumers' and those of the deliveries seen so far).
  let floorMs = Infinity;
  for (const c of ch.activeConsumers()) {
    const ms = timeoutOf({ queue: c.queue, consumer: c });
    if (ms > 0) floorMs = Math.min(floorMs, ms);
  }
  const expired: TimedDelivery[] = [];
  let scanned = 0;
  for (const d of ch.unackedInOrder()) {
    if (++scanned > MAX_SCAN) break;
    const sentBy = clock.timeOf(d.deliveryTag);
    if (sentBy === undefined) break;
    const age = nowMs - sentBy;
    const ms = timeoutOf(d);
    if (ms > 0) floorMs = Math.min(floorMs, ms);
    if (ms > 0 && age >= ms) {
      if (!cancellable(ch, d)) {
        ch.closeWithError(consumerTimedOut(ch.id, ms), 0, 0);
        return { timeoutMs: ms, closed: true, cancelled: [], returned: 0 };
      }
      expired.push(d);
    } else if (age < floorMs) break;
  }
  if (expired.length === 0) return undefined;
  const cancelled: string[] = [];
  for (const d of expired) {
    const c = d.consumer!;
    if (c.timedOut) continue;
    c.timedOut = true;
    cancelled.push(c.tag);
    ch.cancelTimedOutConsumer(c);
  }
  ch.reclaimTimedOut(expired);
  return { timeoutMs: timeoutOf(expired[0]), closed: false, cancelled, returned: expired.length };
}
