/**
 * Ready messages of a quorum queue, ordered as RabbitMQ 4.3 orders them: 32 strict priority
 * levels. A message's level is its `priority` property capped at 31, or 4 without one; the
 * highest non-empty level always goes first, in publish order within a level. Returned
 * (requeued) messages come before every level, in their original order, whatever their
 * priority (RabbitMQ's returns list). No opt-in: a queue whose messages carry no priority
 * uses one level and pays one property-flag test per message.
 *
 * Each level is its own ReadyMessages (paged, for the live queue), made on its first message.
 */
import type { Message } from '../message';
import type { QueuedMessage } from '../ports';
import { FifoMessages, type ReadyMessages } from './ready-messages';

/** The highest level (RabbitMQ 4.3: 32 levels, 0–31). */
export const MAX_PRIORITY_LEVEL = 31;
/** The level of a message without a priority property. */
export const DEFAULT_PRIORITY_LEVEL = 4;
/** A stored priority meaning "no priority property" (see storedPriority). */
export const NO_PRIORITY = -1;

/** A message's priority as a quorum queue's state keeps it: the property's value, or NO_PRIORITY without one. */
export function storedPriority(message: Message): number {
  return message.hasPriority ? message.priority : NO_PRIORITY;
}

/** The level of a stored priority. */
export function priorityLevel(stored: number): number {
  return stored < 0 ? DEFAULT_PRIORITY_LEVEL : Math.min(stored, MAX_PRIORITY_LEVEL);
}

/** ReadyMessages that can take a message by store id only (its body read back when its turn comes). */
export interface PagingReadyMessages extends ReadyMessages {
  /** `priority` is a stored priority (storedPriority), used by queues that order by it. */
  pushPaged(storeId: number, size: number, expiresAtMs: number, priority: number): void;
}

export function isPaging(ready: ReadyMessages): ready is PagingReadyMessages {
  return typeof (ready as Partial<PagingReadyMessages>).pushPaged === 'function';
}

export class StrictPriorityMessages implements PagingReadyMessages {
  private readonly levels: (ReadyMessages | undefined)[] = new Array(MAX_PRIORITY_LEVEL + 1).fill(undefined);
  /** The levels made so far, highest first (usually one or two). */
  private made: ReadyMessages[] = [];
  private readonly returns = new FifoMessages();

  constructor(private readonly newLevel: () => ReadyMessages) {}

  get length(): number {
    let n = this.returns.length;
    for (const level of this.made) n += level.length;
    return n;
  }

  get bytes(): number {
    let n = this.returns.bytes;
    for (const level of this.made) n += level.bytes;
    return n;
  }

  push(entry: QueuedMessage): void {
    this.level(priorityLevel(storedPriority(entry.message))).push(entry);
  }

  pushPaged(storeId: number, size: number, expiresAtMs: number, priority: number): void {
    const level = this.level(priorityLevel(priority));
    if (!isPaging(level)) throw new Error('pushPaged on a level that does not page');
    level.pushPaged(storeId, size, expiresAtMs, priority);
  }

  unshift(entry: QueuedMessage): void {
    this.returns.unshift(entry);
  }

  shift(): QueuedMessage | undefined {
    if (this.returns.length > 0) return this.returns.shift();
    return this.next()?.shift();
  }

  peek(): QueuedMessage | undefined {
    if (this.returns.length > 0) return this.returns.peek();
    return this.next()?.peek();
  }

  clear(): QueuedMessage[] {
    const out = this.returns.clear();
    for (const level of this.made) for (const e of level.clear()) out.push(e);
    return out;
  }

  /** The highest level with a message. */
  private next(): ReadyMessages | undefined {
    for (const level of this.made) if (level.length > 0) return level;
    return undefined;
  }

  private level(index: number): ReadyMessages {
    let level = this.levels[index];
    if (level === undefined) {
      level = this.levels[index] = this.newLevel();
      this.made = this.levels.filter((l): l is ReadyMessages => l !== undefined).reverse();
    }
    return level;
  }
}
