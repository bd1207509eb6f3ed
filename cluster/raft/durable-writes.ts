/**
 * The writes a Raft server hands to ordered stores (orderedStores: one write-ahead log that
 * keeps the order of calls) without waiting for each, and what must wait for them: the
 * replies that tell the leader an entry is stored (appendResponse, voteResponse) leave only
 * once every write issued before them is durable, and the core learns of each durable entry
 * write (RaftCore.persisted) so that a leader counts its own log towards a commit.
 *
 * Writes complete in the order they were issued (the store's contract); a failed write
 * stops the server through `onError`. Single-threaded like the rest of the facade.
 */
import type { RaftMessage } from './messages';

interface HeldMessage {
  /** Sent once writes up to this sequence number are durable. */
  seq: number;
  msg: RaftMessage;
}

export interface DurableWritesHost {
  /** Entries up to `index` (of term `term`) are durable. */
  persisted(index: number, term: number): void;
  /** A held message may go now. */
  send(msg: RaftMessage): void;
  /** Something became durable: the drive loop may have work. */
  wake(): void;
  /** A write failed: the server's state on disk is unknown. */
  failed(err: unknown): void;
}

export class DurableWrites {
  private issued = 0;
  private done = 0;
  private held: HeldMessage[] = [];
  private waiters: { seq: number; resolve: () => void }[] = [];
  private stopped = false;

  constructor(private readonly host: DurableWritesHost) {}

  /** True while some write is not yet durable. */
  get pending(): boolean {
    return this.done < this.issued;
  }

  /** Tracks one write; `index`/`term` name the last entry it stores (0 for other writes). */
  track(write: Promise<void>, index = 0, term = 0): void {
    const seq = ++this.issued;
    write.then(
      () => this.completed(seq, index, term),
      (err: unknown) => {
        if (!this.stopped) this.host.failed(err);
      },
    );
  }

  /** Sends `msg` once every write issued so far is durable (at once if none is pending). */
  sendWhenDurable(msg: RaftMessage): void {
    if (!this.pending && this.held.length === 0) return this.host.send(msg);
    this.held.push({ seq: this.issued, msg });
  }

  /** Resolves once every write issued so far is durable. */
  whenDurable(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ seq: this.issued, resolve }));
  }

  /** Drops what is held (the server stops); waiters are released. */
  stop(): void {
    this.stopped = true;
    this.held = [];
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resolve();
  }

  private completed(seq: number, index: number, term: number): void {
    if (this.stopped) return;
    if (seq > this.done) this.done = seq;
    if (index > 0) this.host.persisted(index, term);
    let n = 0;
    while (n < this.held.length && this.held[n].seq <= this.done) this.host.send(this.held[n++].msg);
    if (n > 0) this.held = n === this.held.length ? [] : this.held.slice(n);
    if (this.waiters.length > 0) {
      const still: typeof this.waiters = [];
      for (const w of this.waiters) {
        if (w.seq <= this.done) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
    this.host.wake();
  }
}
