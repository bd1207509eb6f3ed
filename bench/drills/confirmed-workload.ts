// The workload of the failover drills (issue 10): a publisher on one node publishing
// persistent messages with sequence numbers at a fixed rate with publisher confirms, and a
// consumer on another node acking each delivery. It records what was published, confirmed
// and delivered, and the longest gaps between confirms and between deliveries, so a drill
// can report published / confirmed / lost (confirmed but never delivered) / duplicated /
// the longest stall around its fault.
import * as amqp from 'amqplib';

/** The longest a drill's end waits for a consumer that is still receiving. */
const DRAIN_MAX_MS = 180_000;

export interface WorkloadOptions {
  publishUrl: string;
  consumeUrl: string;
  queue: string;
  ratePerSec: number;
  bodyBytes: number;
  prefetch?: number;
  /**
   * Reconnect when a connection is lost, as a client of a rolling restart does: at once to
   * the next host of its list, then every 250 ms; publishes unconfirmed when the connection went count as published, not confirmed.
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
  /**
   * The longest time this process's own 10 ms publishing timer did not run (the machine
   * starved the drill itself); a confirm stall no longer than this is not the broker's.
   */
  longestWorkloadPauseMs: number;
  workloadPauseEndedAtMs: number;
  /** When the longest stalls ended, in ms since the workload started. */
  confirmStallEndedAtMs: number;
  deliveryStallEndedAtMs: number;
  publisherErrors: string[];
  consumerErrors: string[];
}

/** Counts per 100 ms since the workload started, and what happened when (for a chart). */
export interface DrillTimeline {
  bucketMs: number;
  published: number[];
  confirmed: number[];
  nacked: number[];
  delivered: number[];
  /** Faults, heals, restarts and client reconnections, in ms since the workload started. */
  events: { atMs: number; what: string }[];
}

const BUCKET_MS = 100;

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
  private lastTickAt = 0;
  private tickPause = 0;
  private tickPauseAt = 0;
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
  private readonly series = { published: [] as number[], confirmed: [] as number[], nacked: [] as number[], delivered: [] as number[] };
  private readonly events: { atMs: number; what: string }[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  /** Milliseconds since the workload started. */
  now(): number {
    return Date.now() - this.startedAt;
  }

  /** Records an event on the timeline (a fault, a heal, a restart). */
  mark(what: string): void {
    this.events.push({ atMs: this.now(), what });
  }

  private count(series: number[]): void {
    const b = Math.floor((Date.now() - this.startedAt) / BUCKET_MS);
    while (series.length <= b) series.push(0);
    series[b]++;
  }

  /** Confirms, nacks, deliveries and publishes per 100 ms, and the events. */
  timeline(): DrillTimeline {
    const n = Math.max(...Object.values(this.series).map((s) => s.length));
    const pad = (s: number[]) => [...s, ...new Array<number>(n - s.length).fill(0)];
    return {
      bucketMs: BUCKET_MS,
      published: pad(this.series.published),
      confirmed: pad(this.series.confirmed),
      nacked: pad(this.series.nacked),
      delivered: pad(this.series.delivered),
      events: [...this.events],
    };
  }

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
    this.mark(`${which} connection lost`);
    const retry = (): void => {
      if (this.stopped) return;
      (which === 'publisher' ? this.connectPublisher() : this.connectConsumer()).catch(() => setTimeout(retry, 250));
    };
    // At once to the next host of the list (the lost node is stopping), then every 250 ms.
    setImmediate(retry);
  }

  /** The URL for connection attempt `n`: the client's own first, then its fallbacks in turn. */
  private urlFor(own: string, n: number): string {
    const all = [own, ...(this.o.fallbackUrls ?? []).filter((u) => u !== own)];
    return all[n % all.length];
  }

  private async connectConsumer(): Promise<void> {
    const url = this.urlFor(this.o.consumeUrl, this.subAttempt++);
    this.subConn = await amqp.connect(url);
    if (this.subAttempt > 1) this.mark(`consumer reconnected to ${hostOf(url)}`);
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
      this.count(this.series.delivered);
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
    const url = this.urlFor(this.o.publishUrl, this.pubAttempt++);
    const conn = await amqp.connect(url);
    this.pubConn = conn;
    conn.on('error', (e: Error) => (this.o.reconnect ? undefined : this.pubErrors.push(e.message)));
    conn.on('close', () => this.o.reconnect && this.lost('publisher', undefined));
    const pub = await conn.createConfirmChannel();
    pub.on('error', (e: Error) => (this.o.reconnect ? undefined : this.pubErrors.push(e.message)));
    this.pub = pub;
    if (this.pubAttempt > 1) this.mark(`publisher reconnected to ${hostOf(url)}`);
  }

  private tick(n: number): void {
    const now = Date.now();
    if (this.lastTickAt > 0 && now - this.lastTickAt > this.tickPause) {
      this.tickPause = now - this.lastTickAt;
      this.tickPauseAt = now - this.startedAt;
    }
    this.lastTickAt = now;
    const pub = this.pub;
    if (!pub || this.stopped) return;
    for (let i = 0; i < n; i++) {
      const seq = ++this.seq;
      const body = Buffer.alloc(this.o.bodyBytes);
      body.writeUInt32BE(seq, 0);
      this.count(this.series.published);
      try {
        pub.sendToQueue(this.o.queue, body, { persistent: true }, (err) => {
          // A confirm channel that closed fails its outstanding publishes ('channel closed'):
          // not a nack from the broker; they count as published, neither confirmed nor nacked.
          if (err && (this.pub !== pub || err.message !== 'message nacked')) return;
          const now = Date.now();
          if (this.lastConfirmAt > 0 && now - this.lastConfirmAt > this.confirmStall) {
            this.confirmStall = now - this.lastConfirmAt;
            this.confirmStallAt = now - this.startedAt;
          }
          this.lastConfirmAt = now;
          if (err) {
            this.nacked++;
            this.count(this.series.nacked);
          } else {
            this.confirmed.add(seq);
            this.count(this.series.confirmed);
          }
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
    this.tickPause = 0;
    this.tickPauseAt = 0;
  }

  /**
   * Stops publishing and waits until every confirmed message is delivered, or nothing more
   * was delivered for `drainMs` (on a loaded machine the consumer may still be draining a
   * backlog when the drill ends: what it still receives is not lost), at most DRAIN_MAX_MS.
   */
  async stop(drainMs = 15_000): Promise<DrillReport> {
    this.stopped = true;
    clearInterval(this.timer);
    const hardDeadline = Date.now() + DRAIN_MAX_MS;
    let deadline = Date.now() + drainMs;
    let seen = this.delivered.size;
    await this.pub?.waitForConfirms().catch(() => undefined);
    while (Date.now() < deadline && Date.now() < hardDeadline && [...this.confirmed].some((s) => !this.delivered.has(s))) {
      await new Promise((r) => setTimeout(r, 50));
      if (this.delivered.size !== seen) {
        seen = this.delivered.size;
        deadline = Date.now() + drainMs;
      }
    }
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
      longestWorkloadPauseMs: this.tickPause,
      workloadPauseEndedAtMs: this.tickPauseAt,
      confirmStallEndedAtMs: this.confirmStallAt,
      deliveryStallEndedAtMs: this.deliveryStallAt,
      publisherErrors: this.pubErrors,
      consumerErrors: this.subErrors,
    };
  }
}

/** The host (and port) of an AMQP URL, for event labels. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
