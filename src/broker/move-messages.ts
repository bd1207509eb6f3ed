/**
 * Moves messages from one queue to another inside the broker, as RabbitMQ's "Move messages"
 * does with a dynamic shovel (src-queue → dest-queue, ack-mode on-confirm): each message is
 * taken from the source with a manual-ack get, published to the destination through the
 * default exchange (routing key = destination name, properties and body unchanged), and
 * acknowledged at the source only once the destination took it (for a queue homed on another
 * node: once that home confirmed). A message the destination refuses goes back to the source.
 *
 * Works through QueueHandle alone, so either queue may be homed on any node of a cluster.
 * Runs in batches off the message path; stop() ends it after the batch in flight.
 */
import { NotFound } from './errors';
import { Message } from './message';
import type { ConfirmParts, QueueHandle, QueuedMessage } from './ports';
import type { VirtualHost } from './vhost';

export interface MoveProgress {
  moved: number;
  /** Messages the destination refused (put back at the source); the move stops at the first. */
  refused: number;
  done: boolean;
}

/** Confirm parts of one batch: remote homes hold parts; each settles once. */
class BatchConfirms implements ConfirmParts {
  private readonly pending = new Map<number, number>();
  private readonly failed = new Set<number>();
  private wake: (() => void) | undefined;

  hold(seq: number): void {
    this.pending.set(seq, (this.pending.get(seq) ?? 0) + 1);
  }

  partDone(seq: number, ok: boolean): void {
    if (!ok) this.failed.add(seq);
    const left = (this.pending.get(seq) ?? 1) - 1;
    if (left > 0) this.pending.set(seq, left);
    else this.pending.delete(seq);
    if (this.pending.size === 0) this.wake?.();
  }

  isFailed(seq: number): boolean {
    return this.failed.has(seq);
  }

  /** Resolves when every held part is done, or after `timeoutMs` (the rest count as failed). */
  settled(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const seq of this.pending.keys()) this.failed.add(seq);
        this.pending.clear();
        resolve();
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export interface MoveOptions {
  /** Messages to move at most (RabbitMQ's src-delete-after: the queue length at the start, or a number). */
  limit: number;
  /** Messages taken per batch (src-prefetch-count). */
  batch: number;
  /** How long a batch waits for remote homes to confirm. */
  confirmTimeoutMs: number;
}

export class MessageMover {
  readonly progress: MoveProgress = { moved: 0, refused: 0, done: false };
  private stopped = false;

  constructor(
    private readonly vhost: VirtualHost,
    private readonly source: string,
    private readonly destination: string,
    private readonly o: MoveOptions,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** Runs until `limit` messages moved, the source is empty, a message is refused, stop(), or a queue is gone. */
  async run(): Promise<MoveProgress> {
    try {
      while (!this.stopped && this.progress.moved < this.o.limit) {
        const moved = await this.batch(Math.min(this.o.batch, this.o.limit - this.progress.moved));
        if (moved === 0 || this.progress.refused > 0) break;
        // Let other work run between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.progress.done = true;
    }
    return this.progress;
  }

  private handle(name: string): QueueHandle {
    const q = this.vhost.queues.get(name);
    if (!q || q.deleted) throw new NotFound(`no queue '${name}' in vhost '${this.vhost.name}'`);
    q.checkAvailable();
    return q;
  }

  /** Moves up to `n` messages; returns how many left the source for good. */
  private async batch(n: number): Promise<number> {
    const source = this.handle(this.source);
    const taken: QueuedMessage[] = [];
    for (let i = 0; i < n; i++) {
      const got = await source.get(false);
      if (!got) break;
      taken.push(got.entry);
    }
    if (taken.length === 0) return 0;
    let destination: QueueHandle;
    try {
      destination = this.handle(this.destination);
    } catch (err) {
      source.requeue(taken);
      throw err;
    }
    const confirms = new BatchConfirms();
    const accepted: boolean[] = taken.map((entry, seq) => {
      const m = entry.message;
      const copy = new Message('', this.destination, m.rawProperties, m.body);
      return this.vhost.enqueueAll([destination], copy, confirms, seq + 1);
    });
    await confirms.settled(this.o.confirmTimeoutMs);
    const done: QueuedMessage[] = [];
    const back: QueuedMessage[] = [];
    taken.forEach((entry, i) => (accepted[i] && !confirms.isFailed(i + 1) ? done : back).push(entry));
    if (done.length > 0) source.settle(done, false);
    if (back.length > 0) source.requeue(back);
    this.progress.moved += done.length;
    this.progress.refused += back.length;
    return done.length;
  }
}
