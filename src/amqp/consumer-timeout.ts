/**
 * Consumer timeouts (RabbitMQ's `consumer_timeout`, 30 minutes by default): a channel whose
 * oldest unacknowledged delivery has waited longer than the timeout is closed with 406
 * PRECONDITION_FAILED, and its unacked messages go back to their queues.
 *
 * Nothing is done per delivery. One timer per listener sweeps every channel every few
 * seconds; each sweep writes down, per channel, the last delivery tag handed out so far and
 * the time (a DeliveryClock mark). A delivery's tag is then known to have gone out no later
 * than the first mark at or above it, so the oldest unacked delivery times out at most one
 * sweep late, never early. RabbitMQ checks once a minute; this is finer.
 *
 * The timeout of a delivery is its queue's `x-consumer-timeout` argument or
 * `consumer-timeout` policy key (the smaller when both are set), else the node's setting.
 */
import { PreconditionFailed, type AmqpError } from '../broker/errors';
import { matchingPolicy, queuePolicyKind } from '../broker/policy';
import type { QueueHandle } from '../broker/ports';
import type { VirtualHost } from '../broker/vhost';

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

/** What the sweeper needs of a channel. */
export interface TimedChannel {
  readonly id: number;
  readonly state: string;
  /** The last delivery tag handed out (0 before any). */
  readonly lastDeliveryTag: number;
  /** The oldest unacknowledged delivery, if any. */
  oldestUnacked(): { deliveryTag: number; queue: QueueHandle } | undefined;
  deliveryClock: DeliveryClock | undefined;
  closeWithError(err: AmqpError, classId: number, methodId: number): void;
}

/**
 * One sweep of a channel at `nowMs`: marks its clock, and closes it when its oldest unacked
 * delivery is past its timeout. Returns the timeout used when it closed the channel.
 */
export function sweepChannel(ch: TimedChannel, vhost: VirtualHost | undefined, defaultMs: number, nowMs: number): number | undefined {
  if (ch.state !== 'open' || ch.lastDeliveryTag === 0) return undefined;
  const oldest = ch.oldestUnacked();
  if (!oldest) {
    // Every later delivery has a higher tag than any mark so far: none is needed any more.
    ch.deliveryClock = undefined;
    return undefined;
  }
  const clock = (ch.deliveryClock ??= new DeliveryClock());
  clock.mark(ch.lastDeliveryTag, nowMs);
  const timeoutMs = queueConsumerTimeoutMs(oldest.queue, vhost, defaultMs);
  if (timeoutMs === 0) return undefined;
  const sentBy = clock.deliveredBy(oldest.deliveryTag);
  if (sentBy === undefined || nowMs - sentBy < timeoutMs) return undefined;
  ch.closeWithError(consumerTimedOut(ch.id, timeoutMs), 0, 0);
  return timeoutMs;
}
