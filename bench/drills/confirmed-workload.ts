// The workload of the failover drills (issue 10): a publisher on one node publishing
// persistent messages with sequence numbers at a fixed rate with publisher confirms, and a
// consumer on another node acking each delivery. It records what was published, confirmed
// and delivered, and the longest gaps between confirms and between deliveries, so a drill
// can report published / confirmed / lost (confirmed but never delivered) / duplicated /
// the longest stall around its fault.
import * as amqp from 'amqplib';

export interface WorkloadOptions {
  publishUrl: string;
  consumeUrl: string;
  queue: string;
  ratePerSec: number;
  bodyBytes: number;
  prefetch?: number;
  /**
   * Reconnect (every 250 ms) when a connection is lost, as a client of a rolling restart
   * does; publishes unconfirmed when the connection went count as published, not confirmed.
   */
  reconnect?: boolean;
  /** Where a reconnecting client tries next, in turn after its own URL (a client's host list). */
  fallbackUrls?: string[];
}

export interface DrillReport {
  published: number;
  confirmed: number;
  nacked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  longestConfirmStallMs: number;
  longestDeliveryStallMs: number;
  /** When the longest stalls ended, in ms since the workload started. */
  confirmStallEndedAtMs: number;
  deliveryStallEndedAtMs: number;
  publisherErrors: string[];
  consumerErrors: string[];
}

export class ConfirmedWorkload {
  private pubConn: amqp.ChannelModel | undefined;
  private subConn: amqp.ChannelModel | undefined;
  private pub: amqp.ConfirmChannel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly confirmed = new Set<number>();
  private nacked = 0;
  private readonly delivered = new Map<number, number>();
  private lastConfirmAt = 0;
  private lastDeliveryAt = 0;
  private confirmStall = 0;
  private deliveryStall = 0;
  private confirmStallAt = 0;
  private deliveryStallAt = 0;
  readonly startedAt = Date.now();
  private readonly pubErrors: string[] = [];
  private readonly subErrors: string[] = [];
  private stopped = false;
  private pubAttempt = 0;
  private subAttempt = 0;

  constructor(private readonly o: WorkloadOptions) {}

  async start(): Promise<void> {
    await this.connectConsumer();
    await this.connectPublisher();
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((this.o.ratePerSec * tickMs) / 1000));
    this.timer = setInterval(() => this.tick(perTick), tickMs);
  }

  /** Reconnects after a lost connection (with reconnect), else records the error. */
  private lost(which: 'publisher' | 'consumer', err: Error | undefined): void {
    if (this.stopped) return;
    if (!this.o.reconnect) {
      if (err) (which === 'publisher' ? this.pubErrors : this.subErrors).push(err.message);
      return;
    }
    if (which === 'publisher') this.pub = undefined;
    const retry = (): void => {
      if (this.stopped) return;
      (which === 'publisher' ? this.connectPublisher() : this.connectConsumer()).catch(() => setTimeout(retry, 250));
    };
    setTimeout(retry, 250);
  }

  /** The URL for connection attempt `n`: the client's own first, then its fallbacks in turn. */
  private urlFor(own: string, n: number): string {
    const all = [own, ...(this.o.fallbackUrls ?? []).filter((u) => u !== own)];
    return all[n % all.length];
  }

  private async connectConsumer(): Promise<void> {
    this.subConn = await amqp.connect(this.urlFor(this.o.consumeUrl, this.subAttempt++));
    let gone = false;
    const onGone = (e?: Error) => {
      if (gone) return;
      gone = true;
      this.lost('consumer', e);
    };
    this.subConn.on('error', (e: Error) => (this.o.reconnect ? undefined : this.subErrors.push(e.message)));
    this.subConn.on('close', () => this.o.reconnect && onGone());
    const sub = await this.subConn.createChannel();
    sub.on('error', (e: Error) => (this.o.reconnect ? undefined : this.subErrors.push(e.message)));
    await sub.prefetch(this.o.prefetch ?? 100);
    await sub.consume(this.o.queue, (m) => {
      if (!m) {
        this.subErrors.push('consumer cancelled by the server');
        return;
      }
      const n = m.content.readUInt32BE(0);
      this.delivered.set(n, (this.delivered.get(n) ?? 0) + 1);
      const now = Date.now();
      if (this.lastDeliveryAt > 0 && now - this.lastDeliveryAt > this.deliveryStall) {
        this.deliveryStall = now - this.lastDeliveryAt;
        this.deliveryStallAt = now - this.startedAt;
      }
      this.lastDeliveryAt = now;
      try {
        sub.ack(m);
      } catch {
        // The connection went; the message comes again.
      }
    });
  }

  private async connectPublisher(): Promise<void> {
    const conn = await amqp.connect(this.urlFor(this.o.publishUrl, this.pubAttempt++));
    this.pubConn = conn;
    conn.on('error', (e: Error) => (this.o.reconnect ? undefined : this.pubErrors.push(e.message)));
    conn.on('close', () => this.o.reconnect && this.lost('publisher', undefined));
    const pub = await conn.createConfirmChannel();
    pub.on('error', (e: Error) => (this.o.reconnect ? undefined : this.pubErrors.push(e.message)));
    this.pub = pub;
  }

  private tick(n: number): void {
    const pub = this.pub;
    if (!pub || this.stopped) return;
    for (let i = 0; i < n; i++) {
      const seq = ++this.seq;
      const body = Buffer.alloc(this.o.bodyBytes);
      body.writeUInt32BE(seq, 0);
      try {
        pub.sendToQueue(this.o.queue, body, { persistent: true }, (err) => {
          // A confirm channel that closed fails its outstanding publishes: not a nack from the broker.
          if (err && this.pub !== pub) return;
          const now = Date.now();
          if (this.lastConfirmAt > 0 && now - this.lastConfirmAt > this.confirmStall) {
            this.confirmStall = now - this.lastConfirmAt;
            this.confirmStallAt = now - this.startedAt;
          }
          this.lastConfirmAt = now;
          if (err) this.nacked++;
          else this.confirmed.add(seq);
        });
      } catch (err) {
        if (this.o.reconnect) {
          this.pub = undefined;
          return;
        }
        this.pubErrors.push((err as Error).message);
        this.stopped = true;
        return;
      }
    }
  }

  /** Forgets the stalls seen so far: a drill measures those around its fault, not the start-up. */
  resetStalls(): void {
    this.confirmStall = 0;
    this.deliveryStall = 0;
    this.confirmStallAt = 0;
    this.deliveryStallAt = 0;
  }

  /** Stops publishing, waits for outstanding confirms and for the consumer to catch up (bounded). */
  async stop(drainMs = 15_000): Promise<DrillReport> {
    this.stopped = true;
    clearInterval(this.timer);
    const deadline = Date.now() + drainMs;
    await this.pub?.waitForConfirms().catch(() => undefined);
    while (Date.now() < deadline && [...this.confirmed].some((s) => !this.delivered.has(s))) await new Promise((r) => setTimeout(r, 50));
    await this.pubConn?.close().catch(() => undefined);
    await this.subConn?.close().catch(() => undefined);
    let lost = 0;
    for (const s of this.confirmed) if (!this.delivered.has(s)) lost++;
    let duplicated = 0;
    for (const c of this.delivered.values()) if (c > 1) duplicated += c - 1;
    return {
      published: this.seq,
      confirmed: this.confirmed.size,
      nacked: this.nacked,
      delivered: this.delivered.size,
      lost,
      duplicated,
      longestConfirmStallMs: this.confirmStall,
      longestDeliveryStallMs: this.deliveryStall,
      confirmStallEndedAtMs: this.confirmStallAt,
      deliveryStallEndedAtMs: this.deliveryStallAt,
      publisherErrors: this.pubErrors,
      consumerErrors: this.subErrors,
    };
  }
}
