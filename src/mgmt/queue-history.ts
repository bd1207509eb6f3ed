/**
 * Each queue's recent history for its page's charts: at every sampling tick (off the
 * message path) the change of the queue's message counters and its ready / unacknowledged
 * lengths, answered as RabbitMQ's `*_details.samples` when a request asks for
 * msg_rates_age / lengths_age. Rings are allocated only for queues with activity within the
 * window (idle queues cost a few numbers) and for at most `maxQueues` queues at a time.
 *
 * Per-tick changes are kept as 32-bit floats (exact below 16 million per tick); the running
 * totals in 64 bits, so cumulative samples are rebuilt exactly from the newest backwards.
 */
import type { CounterField, MessageCounters } from '../broker/message-stats';
/** A JSON object of a row (as broker-view's Row, declared here so the two files do not import each other). */
type Row = Record<string, unknown>;

/** The queue counters RabbitMQ keeps samples of, in ring order. */
const FIELDS: CounterField[] = ['publish', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack'];
const JSON_NAMES = ['publish', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'redeliver', 'ack'];
const DELIVER_GET = [1, 2, 3, 4];
const READY = FIELDS.length;
const UNACKED = FIELDS.length + 1;
const COLUMNS = FIELDS.length + 2;

interface Entry {
  /** Counter totals at the last tick. */
  last: Float64Array;
  /** COLUMNS values per tick, ring of `points` ticks; undefined while idle. */
  ring: Float32Array | undefined;
  /** First tick written into the ring. */
  since: number;
  idleTicks: number;
  seenTick: number;
}

export interface SampleWindow {
  ageSec: number;
  incrSec: number;
}

export class QueueHistories {
  private readonly entries = new Map<object, Entry>();
  private readonly times: Float64Array;
  /** Ticks taken so far; tick t lives at t % points. */
  private tick = 0;
  private rings = 0;

  constructor(
    /** Ticks kept (retention / sampling interval). */
    private readonly points: number,
    private readonly maxQueues: number,
  ) {
    this.times = new Float64Array(points);
  }

  /** Starts a sampling tick at `nowMs`; then record() each queue; then endTick(). */
  beginTick(nowMs: number): void {
    this.times[this.tick % this.points] = nowMs;
  }

  record(queue: object, counters: MessageCounters, ready: number, unacked: number): void {
    let e = this.entries.get(queue);
    if (!e) {
      e = { last: new Float64Array(FIELDS.length), ring: undefined, since: this.tick, idleTicks: 0, seenTick: this.tick };
      for (let i = 0; i < FIELDS.length; i++) e.last[i] = counters[FIELDS[i]];
      this.entries.set(queue, e);
    }
    e.seenTick = this.tick;
    let active = ready !== 0 || unacked !== 0;
    for (let i = 0; i < FIELDS.length && !active; i++) if (counters[FIELDS[i]] !== e.last[i]) active = true;
    if (active) {
      e.idleTicks = 0;
      if (!e.ring && this.rings < this.maxQueues && this.points > 0) {
        e.ring = new Float32Array(this.points * COLUMNS);
        e.since = this.tick;
        this.rings++;
      }
    } else if (e.ring && ++e.idleTicks >= this.points) {
      // A whole window without activity: the samples would all be flat.
      e.ring = undefined;
      this.rings--;
    }
    const at = (this.tick % this.points) * COLUMNS;
    for (let i = 0; i < FIELDS.length; i++) {
      const v = counters[FIELDS[i]];
      if (e.ring) e.ring[at + i] = v - e.last[i];
      e.last[i] = v;
    }
    if (e.ring) {
      e.ring[at + READY] = ready;
      e.ring[at + UNACKED] = unacked;
    }
  }

  /** Ends the tick: forgets queues not recorded in it (deleted, or no longer homed here). */
  endTick(): void {
    for (const [q, e] of this.entries) {
      if (e.seenTick === this.tick) continue;
      if (e.ring) this.rings--;
      this.entries.delete(q);
    }
    this.tick++;
  }

  /** Ticks in the window, newest first, at most one per incr (RabbitMQ's order). */
  private ticks(w: SampleWindow, nowMs: number): number[] {
    const out: number[] = [];
    const oldest = Math.max(0, this.tick - this.points);
    let lastMs = Infinity;
    for (let t = this.tick - 1; t >= oldest; t--) {
      const atMs = this.times[t % this.points];
      if (atMs < nowMs - w.ageSec * 1000) break;
      if (lastMs - atMs < w.incrSec * 1000 - 500) continue;
      out.push(t);
      lastMs = atMs;
    }
    return out;
  }

  /**
   * The samples of one queue as partial row fields: `message_stats` details (with msg_rates)
   * and messages / messages_ready / messages_unacknowledged details (with lengths), each
   * `{samples, avg, avg_rate}`, to merge over the row's own `rate`. Undefined when the
   * queue is not sampled here.
   */
  samples(queue: object, rates: SampleWindow | undefined, lengths: SampleWindow | undefined, nowMs = Date.now()): Row | undefined {
    const e = this.entries.get(queue);
    if (!e) return undefined;
    const out: Row = {};
    const value = (t: number, column: number) => (e.ring && t >= e.since ? e.ring[(t % this.points) * COLUMNS + column] : 0);
    if (rates) {
      const ticks = this.ticks(rates, nowMs);
      // Cumulative totals, newest first: the total now, less each later tick's change.
      const cumulative = FIELDS.map((_, i) => {
        const series: number[] = [];
        let total = e.last[i];
        let next = this.tick - 1;
        for (const t of ticks) {
          for (; next > t; next--) total -= value(next, i);
          series.push(total);
        }
        return series;
      });
      const stats: Row = {};
      FIELDS.forEach((_, i) => (stats[`${JSON_NAMES[i]}_details`] = details(ticks.map((t, k) => ({ sample: cumulative[i][k], timestamp: this.times[t % this.points] })))));
      stats.deliver_get_details = details(ticks.map((t, k) => ({ sample: DELIVER_GET.reduce((s, i) => s + cumulative[i][k], 0), timestamp: this.times[t % this.points] })));
      out.message_stats = stats;
    }
    if (lengths) {
      const ticks = this.ticks(lengths, nowMs);
      const series = (f: (t: number) => number) => details(ticks.map((t) => ({ sample: f(t), timestamp: this.times[t % this.points] })));
      out.messages_ready_details = series((t) => value(t, READY));
      out.messages_unacknowledged_details = series((t) => value(t, UNACKED));
      out.messages_details = series((t) => value(t, READY) + value(t, UNACKED));
    }
    return out;
  }

  /** Queues with a ring now (for tests and the README's memory figure). */
  get activeQueues(): number {
    return this.rings;
  }
}

function details(samples: { sample: number; timestamp: number }[]): Row {
  const n = samples.length;
  const avg = n > 0 ? samples.reduce((s, x) => s + x.sample, 0) / n : 0;
  const avgRate = n > 1 ? (samples[0].sample - samples[n - 1].sample) / ((samples[0].timestamp - samples[n - 1].timestamp) / 1000) : 0;
  return { samples, avg, avg_rate: avgRate };
}
