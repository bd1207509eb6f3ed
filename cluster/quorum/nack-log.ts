/**
 * Counts the publishes a quorum queue nacked on this node, by reason, and logs them at most
 * once a second (a warning: a nack is what the drills count), so a drill's node logs tell
 * which path said nack without a log line per message.
 */
import type { Logger } from '../../src/log/logger';

const EVERY_MS = 1000;

export class NackLog {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly queue: string,
  ) {}

  add(count: number, reason: string): void {
    if (count <= 0) return;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), EVERY_MS);
    this.timer.unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [reason, count] of this.counts) this.log.warn({ queue: this.queue, count, reason }, 'quorum queue publishes nacked');
    this.counts.clear();
  }
}
