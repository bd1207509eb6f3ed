import { Deque } from '../../util/deque';
import type { QueuedMessage } from '../ports';
import { markTaken, putBack } from './requeue-order';

/** A queue's ready (not yet delivered) messages, in delivery order. */
export interface ReadyMessages {
  readonly length: number;
  /** Sum of body sizes, for x-max-length-bytes. */
  readonly bytes: number;
  push(entry: QueuedMessage): void;
  /** Puts a message back at its original position among the others of its kind (requeue). */
  unshift(entry: QueuedMessage): void;
  shift(): QueuedMessage | undefined;
  peek(): QueuedMessage | undefined;
  clear(): QueuedMessage[];
}

export class FifoMessages implements ReadyMessages {
  private readonly items = new Deque<QueuedMessage>();
  bytes = 0;

  get length(): number {
    return this.items.length;
  }

  push(entry: QueuedMessage): void {
    this.items.push(entry);
    this.bytes += entry.message.body.length;
  }

  unshift(entry: QueuedMessage): void {
    putBack(this.items, entry);
    this.bytes += entry.message.body.length;
  }

  shift(): QueuedMessage | undefined {
    const entry = this.items.shift();
    if (entry) {
      markTaken(entry);
      this.bytes -= entry.message.body.length;
    }
    return entry;
  }

  peek(): QueuedMessage | undefined {
    return this.items.peek();
  }

  clear(): QueuedMessage[] {
    this.bytes = 0;
    return this.items.clear();
  }
}

/** One FIFO per priority level (x-max-priority); the highest non-empty level is served first. */
export class PriorityMessages implements ReadyMessages {
  private readonly levels: FifoMessages[];
  private count = 0;

  constructor(readonly maxPriority: number) {
    this.levels = Array.from({ length: maxPriority + 1 }, () => new FifoMessages());
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    let sum = 0;
    for (const level of this.levels) sum += level.bytes;
    return sum;
  }

  private levelOf(entry: QueuedMessage): FifoMessages {
    const p = entry.message.properties.priority ?? 0;
    return this.levels[Math.min(p, this.maxPriority)];
  }

  push(entry: QueuedMessage): void {
    this.levelOf(entry).push(entry);
    this.count++;
  }

  unshift(entry: QueuedMessage): void {
    this.levelOf(entry).unshift(entry);
    this.count++;
  }

  shift(): QueuedMessage | undefined {
    for (let p = this.maxPriority; p >= 0; p--) {
      if (this.levels[p].length > 0) {
        this.count--;
        return this.levels[p].shift();
      }
    }
    return undefined;
  }

  peek(): QueuedMessage | undefined {
    for (let p = this.maxPriority; p >= 0; p--) if (this.levels[p].length > 0) return this.levels[p].peek();
    return undefined;
  }

  clear(): QueuedMessage[] {
    this.count = 0;
    return this.levels.flatMap((l) => l.clear());
  }
}
