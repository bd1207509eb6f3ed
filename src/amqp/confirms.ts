import { MethodKey } from '../protocol/methods.generated';
import type { FrameOutput } from './writer';
import type { DurabilityWaiter } from '../broker/vhost';
import type { ConfirmParts } from '../broker/ports';
import { Deque } from '../util/deque';
import type { MessageCounters } from '../broker/message-stats';

interface AwaitingDisk {
  seq: number;
  storeId: number;
}

/** A confirm waiting on parts (an fsync, remote homes): settled when `parts` reaches 0 after finish(). */
interface PendingParts {
  parts: number;
  ok: boolean;
  finished: boolean;
}

/**
 * Publisher confirms for one channel. Every publish in confirm mode gets the next sequence
 * number; settle() records its outcome, and flush() (once the current burst of work is done,
 * process.nextTick, so before the turn's socket write) sends the outcomes, folding a run of acks into one `multiple` ack.
 */
export class ConfirmTracker implements DurabilityWaiter, ConfirmParts {
  private nextSeq = 1;
  /** Sequence numbers published but not yet settled. */
  private readonly outstanding = new Set<number>();
  private acked: number[] = [];
  private nacked: number[] = [];
  /** Highest sequence number acknowledged to the client so far. */
  private sentUpTo = 0;
  /** Publishes waiting for the message store's fsync, in store-id order. */
  private readonly awaitingDisk = new Deque<AwaitingDisk>();
  /** Confirms with parts still pending (only publishes that wait on the disk or another node). */
  private readonly pending = new Map<number, PendingParts>();
  /** Called when nothing waits for the disk any more (unregister from the vhost). */
  onIdle: (() => void) | undefined;

  constructor(
    private readonly channel: number,
    private readonly out: FrameOutput,
    private readonly markDirty: () => void,
    /** Counters (channel's, vhost's) that count confirmed publishes (management statistics). */
    private readonly stats: MessageCounters[] = [],
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

  /** Adds a part to wait for before `seq` is confirmed. */
  hold(seq: number): void {
    const p = this.pending.get(seq);
    if (p) p.parts++;
    else this.pending.set(seq, { parts: 1, ok: true, finished: false });
  }

  partDone(seq: number, ok: boolean): void {
    const p = this.pending.get(seq);
    if (!p) return;
    if (!ok) p.ok = false;
    if (--p.parts === 0 && p.finished) {
      this.pending.delete(seq);
      this.settle(seq, p.ok);
    }
  }

  /** The publish of `seq` is done with its local outcome; it is confirmed now, or when its last part is done. */
  finish(seq: number, ok: boolean): void {
    if (this.pending.size === 0) return this.settle(seq, ok);
    const p = this.pending.get(seq);
    if (!p) return this.settle(seq, ok);
    if (!ok) p.ok = false;
    p.finished = true;
    if (p.parts === 0) {
      this.pending.delete(seq);
      this.settle(seq, p.ok);
    }
  }

  /** Holds a part of `seq` until the store's durable watermark reaches `storeId`. */
  holdUntilDurable(seq: number, storeId: number): void {
    this.hold(seq);
    this.awaitingDisk.push({ seq, storeId });
  }

  durableUpTo(ticket: number): void {
    while (this.awaitingDisk.length > 0 && this.awaitingDisk.peek()!.storeId <= ticket) {
      this.partDone(this.awaitingDisk.shift()!.seq, true);
    }
    if (this.awaitingDisk.length === 0) this.onIdle?.();
  }

  flush(): void {
    for (const seq of this.nacked) {
      this.out.method(this.channel, { key: MethodKey.BasicNack, args: { deliveryTag: seq, multiple: false, requeue: true } });
    }
    this.nacked = [];
    if (this.acked.length === 0) return;
    const acked = this.acked.sort((a, b) => a - b);
    for (const s of this.stats) s.confirm += acked.length;
    this.acked = [];
    // Sequence numbers enter the set in increasing order and a Set iterates in insertion order: the
    // first is the lowest (no spread of the whole set, which also overflows past ~100k outstanding).
    const lowestOutstanding = this.outstanding.size === 0 ? Infinity : (this.outstanding.values().next().value as number);
    const highest = acked[acked.length - 1];
    if (acked.length > 1 && highest < lowestOutstanding && this.sentUpTo < acked[0]) {
      this.out.method(this.channel, { key: MethodKey.BasicAck, args: { deliveryTag: highest, multiple: true } });
    } else {
      for (const seq of acked) this.out.method(this.channel, { key: MethodKey.BasicAck, args: { deliveryTag: seq, multiple: false } });
    }
    this.sentUpTo = Math.max(this.sentUpTo, highest);
  }
}
