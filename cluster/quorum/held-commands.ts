/**
 * The commands other than enqueues (checkouts, settles, returns, dead-letter marks) a
 * quorum queue's leader holds, in the order made, for its next enqueue batch: they go in
 * the same entry (CMD_WITH), so a batch costs one entry, one append per follower and one
 * durable write per member instead of up to three. When no enqueue comes they are proposed
 * alone at the next tick, and at once past MAX_HELD_IDS ids.
 */
import type { Ticker } from '../raft';

/** Ids in held commands above which they are proposed without waiting for an enqueue. */
const MAX_HELD_IDS = 4096;

export class HeldCommands {
  private held: Buffer[] = [];
  private ids = 0;
  private offTick: (() => void) | undefined;

  constructor(
    private readonly ticker: Ticker,
    /** Proposes `commands` (in order, at least one) as one entry. */
    private readonly proposeAlone: (commands: Buffer[]) => void,
  ) {}

  /** Holds `command`, which names `ids` messages. */
  hold(command: Buffer, ids: number): void {
    this.held.push(command);
    this.ids += ids;
    if (this.ids >= MAX_HELD_IDS) return this.flush();
    this.offTick ??= this.ticker.add(() => this.flush());
  }

  /** The held commands, in order (for the entry of an enqueue batch); none held afterwards. */
  take(): Buffer[] {
    const held = this.held;
    if (held.length === 0) return held;
    this.held = [];
    this.ids = 0;
    this.offTick?.();
    this.offTick = undefined;
    return held;
  }

  /** Proposes the held commands now, alone. */
  flush(): void {
    const held = this.take();
    if (held.length > 0) this.proposeAlone(held);
  }
}
