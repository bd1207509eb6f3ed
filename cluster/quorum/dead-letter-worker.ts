/**
 * At-least-once dead lettering of a quorum queue, on its leader (RabbitMQ's dead-letter
 * worker): messages dead-lettered under `dead-letter-strategy: at-least-once` stay in the
 * source queue (marked in the log, counted against its limits) while this worker publishes
 * them to the dead-letter exchange with confirms, at most PREFETCH at a time. A message is
 * settled in the source queue only once every target queue confirmed it; a missing
 * exchange, a message routed nowhere or a refusing target is retried after RETRY_MS. A new
 * leader starts a worker with the messages the log marks as dead-lettered, so duplicates
 * in the targets are possible, losses are not.
 */
import type { Message } from '../../src/broker/message';
import type { DeathReason } from '../../src/broker/queue/dead-letter';

/** Dead-lettered messages published and not yet confirmed, at most (RabbitMQ: 32). */
const PREFETCH = 32;
/** How long a message whose dead lettering failed waits before the next attempt. */
const RETRY_MS = 1000;

export interface DeadLetterTarget {
  /** The message `id` (its body read back if needed); undefined when it is gone. */
  read(id: number): Message | undefined;
  /** Publishes to the dead-letter exchange; `done(true)` once every target confirmed. */
  publish(message: Message, reason: DeathReason, done: (ok: boolean) => void): void;
  /** The message reached its targets (or is gone): settle it in the source queue. */
  settle(id: number): void;
}

interface Waiting {
  id: number;
  reason: DeathReason;
  bytes: number;
}

export class DeadLetterWorker {
  private waiting: Waiting[] = [];
  private inflight = 0;
  private retrying: Waiting[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping = false;
  /** Messages held for dead lettering (RabbitMQ's messages_dlx) and their body bytes. */
  count = 0;
  bytes = 0;

  constructor(private readonly target: DeadLetterTarget) {}

  add(id: number, reason: DeathReason, bytes: number): void {
    if (this.stopped) return;
    this.waiting.push({ id, reason, bytes });
    this.count++;
    this.bytes += bytes;
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private pump(): void {
    // Confirms that come back at once (local targets) continue this loop instead of recursing.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpNow();
    } finally {
      this.pumping = false;
    }
  }

  private pumpNow(): void {
    while (!this.stopped && this.inflight < PREFETCH && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      const message = this.target.read(w.id);
      if (!message) {
        this.finish(w);
        continue;
      }
      this.inflight++;
      this.target.publish(message, w.reason, (ok) => {
        this.inflight--;
        if (this.stopped) return;
        if (ok) this.finish(w);
        else this.retryLater(w);
        this.pump();
      });
    }
  }

  private finish(w: Waiting): void {
    this.count--;
    this.bytes -= w.bytes;
    this.target.settle(w.id);
  }

  private retryLater(w: Waiting): void {
    this.retrying.push(w);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      const again = this.retrying;
      this.retrying = [];
      this.waiting.push(...again);
      this.pump();
    }, RETRY_MS);
  }
}
