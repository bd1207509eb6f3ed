import type { Duplex } from 'node:stream';

/** Above this many bytes waiting in the socket, deliveries pause until it drains. */
const CONGESTED_BYTES = 1024 * 1024;

/**
 * The one choke point through which an MQTT or STOMP connection writes: encoded packets or
 * frames are queued and written once per event-loop turn, so a burst of deliveries becomes one
 * socket write. It is also the flow gate of the publishers slowed by this socket.
 */
export class BatchedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  protected closed = false;
  /** Time of the last write, for heart-beats. */
  lastWriteMs = Date.now();

  /** Someone saw `congested`: onDrain must follow once the bytes are out. */
  private awaitingDrain = false;
  /** Publishers waiting for this socket to drain (the writer is their flow gate). */
  private readonly flowWaiters = new Set<{ resumeFlow(): void }>();

  constructor(
    private readonly socket: Duplex,
    private readonly onDrain: () => void,
  ) {
    socket.on('drain', () => this.drained());
  }

  get congested(): boolean {
    if (this.socket.writableLength + this.pendingBytes <= CONGESTED_BYTES) return false;
    this.awaitingDrain = true;
    return true;
  }

  /** Flow gate: `waiter` is resumed once this socket has drained (at once when it is not congested or closed). */
  addFlowWaiter(waiter: { resumeFlow(): void }): void {
    if (this.closed || !this.congested) return waiter.resumeFlow();
    this.flowWaiters.add(waiter);
  }

  private drained(): void {
    if (this.flowWaiters.size > 0) this.releaseWaiters();
    if (!this.awaitingDrain || this.closed) return;
    this.awaitingDrain = false;
    this.onDrain();
  }

  private releaseWaiters(): void {
    const waiters = [...this.flowWaiters];
    this.flowWaiters.clear();
    for (const w of waiters) w.resumeFlow();
  }

  /** Queues encoded bytes; false when the writer is closed. */
  protected queueBytes(bytes: Buffer): boolean {
    if (this.closed) return false;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.lastWriteMs = Date.now();
    // The kernel often takes a whole batch at once: then no 'drain' event follows, so the
    // consumers paused on our own buffer are resumed here.
    if (this.socket.write(out) && this.awaitingDrain && !this.congested) this.drained();
  }

  /** Writes what is queued, then ends the socket. */
  end(): void {
    this.flush();
    this.closed = true;
    this.releaseWaiters();
    this.socket.end();
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.releaseWaiters();
  }
}
