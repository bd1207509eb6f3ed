import { MethodKey } from '../protocol/methods.generated';
import type { FrameOutput } from './writer';
import type { DurabilityWaiter } from '../broker/vhost';
import { Deque } from '../util/deque';

interface AwaitingDisk {
  seq: number;
  storeId: number;
  ok: boolean;
}

/**
 * Publisher confirms for one channel. Every publish in confirm mode gets the next sequence
 * number; settle() records its outcome, and flush() (once per event-loop turn, before the
 * socket write) sends the outcomes, folding a run of acks into one `multiple` ack.
 */
export class ConfirmTracker implements DurabilityWaiter {
  private nextSeq = 1;
  /** Sequence numbers published but not yet settled. */
  private readonly outstanding = new Set<number>();
  private acked: number[] = [];
  private nacked: number[] = [];
  /** Highest sequence number acknowledged to the client so far. */
  private sentUpTo = 0;
  /** Publishes waiting for the message store's fsync, in store-id order. */
  private readonly awaitingDisk = new Deque<AwaitingDisk>();
  /** Called when nothing waits for the disk any more (unregister from the vhost). */
  onIdle: (() => void) | undefined;

  constructor(
    private readonly channel: number,
    private readonly out: FrameOutput,
    private readonly markDirty: () => void,
  ) {}

  next(): number {
    const seq = this.nextSeq++;
    this.outstanding.add(seq);
    return seq;
  }

  settle(seq: number, ok: boolean): void {
    if (!this.outstanding.delete(seq)) return;
    (ok ? this.acked : this.nacked).push(seq);
    this.markDirty();
  }

  /** Settles `seq` once the store's durable watermark reaches `storeId`. */
  settleWhenDurable(seq: number, storeId: number, ok: boolean): void {
    this.awaitingDisk.push({ seq, storeId, ok });
  }

  durableUpTo(ticket: number): void {
    while (this.awaitingDisk.length > 0 && this.awaitingDisk.peek()!.storeId <= ticket) {
      const a = this.awaitingDisk.shift()!;
      this.settle(a.seq, a.ok);
    }
    if (this.awaitingDisk.length === 0) this.onIdle?.();
  }

  flush(): void {
    for (const seq of this.nacked) {
      this.out.method(this.channel, { key: MethodKey.BasicNack, args: { deliveryTag: seq, multiple: false, requeue: false } });
    }
    this.nacked = [];
    if (this.acked.length === 0) return;
    const acked = this.acked.sort((a, b) => a - b);
    this.acked = [];
    const lowestOutstanding = this.outstanding.size === 0 ? Infinity : Math.min(...this.outstanding);
    const highest = acked[acked.length - 1];
    if (acked.length > 1 && highest < lowestOutstanding && this.sentUpTo < acked[0]) {
      this.out.method(this.channel, { key: MethodKey.BasicAck, args: { deliveryTag: highest, multiple: true } });
    } else {
      for (const seq of acked) this.out.method(this.channel, { key: MethodKey.BasicAck, args: { deliveryTag: seq, multiple: false } });
    }
    this.sentUpTo = Math.max(this.sentUpTo, highest);
  }
}
