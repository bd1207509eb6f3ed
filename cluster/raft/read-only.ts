import type { ServerId } from './types';

/** A confirmed linearizable read: serve it once the FSM has applied `index`. */
export interface ReadState {
  ctx: number;
  index: number;
}

interface PendingRead {
  seq: number;
  ctx: number;
  index: number;
  acks: Set<ServerId>;
}

/**
 * Read requests waiting for a quorum of heartbeat acknowledgements. Each request gets
 * a sequence number carried by heartbeats; an ack for sequence s confirms every read
 * with sequence ≤ s, so reads are released in order.
 */
export class ReadOnlyQueue {
  private pending: PendingRead[] = [];
  private seq = 0;

  add(ctx: number, index: number, self: ServerId | undefined): number {
    this.seq++;
    this.pending.push({ seq: this.seq, ctx, index, acks: new Set(self === undefined ? [] : [self]) });
    return this.seq;
  }

  /** The newest pending sequence, or 0 when nothing waits (heartbeats carry it). */
  lastSeq(): number {
    return this.pending.length === 0 ? 0 : this.pending[this.pending.length - 1].seq;
  }

  ack(from: ServerId, seq: number, voterIds: ServerId[]): ReadState[] {
    for (const p of this.pending) if (p.seq <= seq) p.acks.add(from);
    const quorum = Math.floor(voterIds.length / 2) + 1;
    const out: ReadState[] = [];
    while (this.pending.length > 0) {
      const p = this.pending[0];
      let n = 0;
      for (const id of voterIds) if (p.acks.has(id)) n++;
      if (n < quorum) break;
      this.pending.shift();
      out.push({ ctx: p.ctx, index: p.index });
    }
    return out;
  }

  clear(): void {
    this.pending = [];
  }
}
