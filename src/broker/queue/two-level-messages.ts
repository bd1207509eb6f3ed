/**
 * Ready messages of a quorum queue, ordered as RabbitMQ 4.0–4.2 orders them: every message
 * with a priority above 4 is "high", every other one (no priority included) "normal"; while
 * both kinds wait, two high go out for each normal one, and on the normal one's turn the
 * older of the two heads goes (so a high message never waits behind a younger normal one).
 * Returned (requeued) messages come first, in their original order, as RabbitMQ's returns
 * list does. No opt-in: queues without priorities pay one property-flag test per message.
 *
 * Each level is its own ReadyMessages (paged, for the live queue); the high one is made on
 * the first high message.
 */
import type { QueuedMessage } from '../ports';
import { FifoMessages, type ReadyMessages } from './ready-messages';

/** Priorities above this are high (RabbitMQ 4.0–4.2). */
export const HIGH_PRIORITY_ABOVE = 4;
/** High messages dispatched for each normal one while both wait. */
const WEIGHT = 2;

/** ReadyMessages that can take a message by store id only (its body read back when its turn comes). */
export interface PagingReadyMessages extends ReadyMessages {
  pushPaged(storeId: number, size: number, expiresAtMs: number, priority: number): void;
}

export function isPaging(ready: ReadyMessages): ready is PagingReadyMessages {
  return typeof (ready as Partial<PagingReadyMessages>).pushPaged === 'function';
}

export class TwoLevelMessages implements PagingReadyMessages {
  private readonly normal: ReadyMessages;
  private high: ReadyMessages | undefined;
  private readonly returns = new FifoMessages();
  /** Counts dispatches 0, 1, …, WEIGHT, 0, …: on WEIGHT the normal level may go (RabbitMQ's dequeue counter). */
  private counter = 0;

  constructor(private readonly newLevel: () => ReadyMessages) {
    this.normal = newLevel();
  }

  get length(): number {
    return this.returns.length + this.normal.length + (this.high?.length ?? 0);
  }

  get bytes(): number {
    return this.returns.bytes + this.normal.bytes + (this.high?.bytes ?? 0);
  }

  push(entry: QueuedMessage): void {
    if (entry.message.priority > HIGH_PRIORITY_ABOVE) (this.high ??= this.newLevel()).push(entry);
    else this.normal.push(entry);
  }

  pushPaged(storeId: number, size: number, expiresAtMs: number, priority: number): void {
    const level = priority > HIGH_PRIORITY_ABOVE ? (this.high ??= this.newLevel()) : this.normal;
    if (!isPaging(level)) throw new Error('pushPaged on a level that does not page');
    level.pushPaged(storeId, size, expiresAtMs, priority);
  }

  unshift(entry: QueuedMessage): void {
    this.returns.unshift(entry);
  }

  shift(): QueuedMessage | undefined {
    // Queues that never saw a high message: the normal level alone (the counter only matters with both).
    if (this.high === undefined && this.returns.length === 0) return this.normal.shift();
    if (this.returns.length > 0) return this.returns.shift();
    const level = this.next();
    if (level === undefined) return undefined;
    this.counter = this.counter === WEIGHT ? 0 : this.counter + 1;
    return level.shift();
  }

  peek(): QueuedMessage | undefined {
    if (this.returns.length > 0) return this.returns.peek();
    return this.next()?.peek();
  }

  clear(): QueuedMessage[] {
    this.counter = 0;
    const out = this.returns.clear();
    for (const e of this.normal.clear()) out.push(e);
    if (this.high) for (const e of this.high.clear()) out.push(e);
    return out;
  }

  /** The level the next message comes from (returns aside). */
  private next(): ReadyMessages | undefined {
    const high = this.high;
    if (high === undefined || high.length === 0) return this.normal.length > 0 ? this.normal : undefined;
    if (this.normal.length === 0 || this.counter !== WEIGHT) return high;
    // The normal level's turn: the older head goes (ids follow the log's order).
    const h = high.peek()?.message.storeId;
    const n = this.normal.peek()?.message.storeId;
    return h !== undefined && n !== undefined && h < n ? high : this.normal;
  }
}
