import type { FieldTable } from '../../protocol/field-table';
import type { Message } from '../message';
import type { Queue } from './queue';

/** A message in a queue, with what the queue knows of its delivery history. */
export interface QueuedMessage {
  readonly message: Message;
  redelivered: boolean;
  /** When the message expires (queue or per-message TTL), in ms since the epoch; Infinity for never. */
  readonly expiresAtMs: number;
}

/**
 * The receiving side of a basic.consume, implemented by src/amqp's channel. A queue calls
 * canTake() before each delivery and deliver() to hand the message over; both run
 * synchronously inside the queue's dispatch loop.
 */
export interface Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly args: FieldTable;
  /** x-priority of basic.consume; higher is served first. */
  readonly priority: number;
  /** True while prefetch (and the channel's flow state) allows another delivery. */
  canTake(): boolean;
  /**
   * True when the consumer could take more but its connection's socket is backed up.
   * Publishers into its queue are then slowed (RabbitMQ's credit flow).
   */
  congested(): boolean;
  deliver(queue: Queue, entry: QueuedMessage): void;
  /** The queue went away (deleted); the consumer is already removed from it. */
  cancelledByQueue(queue: Queue): void;
}
