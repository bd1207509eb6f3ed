/**
 * The leader's bookkeeping for one follower (voter or non-voter).
 *
 * - probe: one append in flight at a time, until the follower's match point is found;
 * - replicate: appends are pipelined: nextIndex advances optimistically as soon as a
 *   batch is sent, bounded by `maxInflight` unacknowledged batches;
 * - snapshot: an InstallSnapshot is in flight; appends wait for it.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  state: ProgressState = 'probe';
  match = 0;
  next: number;
  /** In probe state: an append was sent and no reply (or heartbeat reply) came yet. */
  probeSent = false;
  /** Last index of each unacknowledged batch sent in replicate state, oldest first. */
  inflight: number[] = [];
  /** In snapshot state: the snapshot's index, and ticks spent waiting for it. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Set when any message arrives from this follower; cleared by the check-quorum sweep. */
  recentActive = false;

  constructor(next: number, readonly maxInflight: number) {
    this.next = next;
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'replicate') return this.inflight.length >= this.maxInflight;
    return true;
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot's index.
    const from = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.state = 'probe';
    this.next = from + 1;
    this.resetFlow();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.resetFlow();
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.probeSent = false;
    this.inflight = [];
  }

  /** Records an acknowledgement up to `index`; returns true if match advanced. */
  update(index: number): boolean {
    let advanced = false;
    if (index > this.match) {
      this.match = index;
      advanced = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    while (this.inflight.length > 0 && this.inflight[0] <= index) this.inflight.shift();
    return advanced;
  }

  /** Notes that a batch ending at `lastIndex` was sent. */
  sentEntries(lastIndex: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  private resetFlow(): void {
    this.probeSent = false;
    this.inflight = [];
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
  }
}
