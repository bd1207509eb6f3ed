import type { Duplex } from 'node:stream';

/** What a SerialInbox runs its items with. */
export interface InboxHandler<T> {
  /** Handles one item; a promise holds the next ones back until it settles. */
  handle(item: T): Promise<void> | void;
  /** The item's handling threw or rejected. */
  failed(item: T, err: unknown): void;
  /** Nothing more is run once the connection is closed. */
  isClosed(): boolean;
}

/**
 * Inbound frames (MQTT packets, STOMP frames) run one at a time in arrival order: while one is
 * asynchronous (a login, a subscribe declaring its queue) the next ones wait, and past
 * `maxQueued` of them the stream stops being read until the backlog is gone.
 */
export class SerialInbox<T> {
  private readonly queued: T[] = [];
  private busy = false;
  private pausedForBacklog = false;

  constructor(
    private readonly stream: Duplex,
    private readonly maxQueued: number,
    private readonly handler: InboxHandler<T>,
  ) {}

  push(item: T): void {
    if (this.handler.isClosed()) return;
    if (this.busy) {
      this.queued.push(item);
      if (this.queued.length > this.maxQueued && !this.pausedForBacklog) {
        this.pausedForBacklog = true;
        this.stream.pause();
      }
      return;
    }
    this.run(item);
  }

  /** Drops what waits (the connection is gone). */
  clear(): void {
    this.queued.length = 0;
  }

  private run(item: T): void {
    let pending: Promise<void> | void;
    try {
      pending = this.handler.handle(item);
    } catch (err) {
      return this.handler.failed(item, err);
    }
    if (!pending) return;
    this.busy = true;
    pending.then(
      () => this.next(),
      (err) => {
        this.busy = false;
        this.handler.failed(item, err);
        this.next();
      },
    );
  }

  private next(): void {
    this.busy = false;
    while (!this.busy && this.queued.length > 0 && !this.handler.isClosed()) this.run(this.queued.shift()!);
    if (this.queued.length === 0 && this.pausedForBacklog) {
      this.pausedForBacklog = false;
      this.stream.resume();
    }
  }
}
