/**
 * One timer for the Raft groups of every quorum queue on a node (a thousand queues do not
 * mean a thousand timers). A tick function that throws is counted and logged, never lets
 * the others miss their tick.
 */
import type { Ticker } from '../raft';
import type { Logger } from '../../src/log/logger';

export class SharedTicker implements Ticker {
  private readonly ticks = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  failures = 0;

  constructor(
    private readonly tickMs: number,
    private readonly log: Logger,
  ) {}

  add(tick: () => void): () => void {
    this.ticks.add(tick);
    this.timer ??= setInterval(() => this.run(), this.tickMs);
    return () => {
      this.ticks.delete(tick);
      if (this.ticks.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    for (const tick of this.ticks) {
      try {
        tick();
      } catch (err) {
        if (this.failures++ % 1000 === 0) this.log.error({ err, failures: this.failures }, 'quorum queue tick failed');
      }
    }
  }
}
