/**
 * Recent history of one kind of object (queues, exchanges, vhosts, connections, channels) for
 * their pages' charts: at every sampling tick (off the message path) the change of each
 * object's counters and the value of its gauges (queue lengths), answered as RabbitMQ's
 * `*_details.samples` when a request asks for msg_rates_age / lengths_age / data_rates_age.
 * Rings are allocated only for objects with activity within the window (idle objects cost a
 * few numbers) and for at most `maxRings` objects at a time.
 *
 * Per-tick changes are kept as 32-bit floats (exact below 16 million per tick); the running
 * totals in 64 bits, so cumulative samples are rebuilt exactly from the newest backwards.
 */
/** A JSON object of a row (as broker-view's Row, declared here so the two files do not import each other). */
type Row = Record<string, unknown>;

/** The kinds of objects with samples, as NodeSource.samples names them. */
export type SampledKind = 'queue' | 'exchange' | 'vhost' | 'connection' | 'channel' | 'node';

export interface SampleWindow {
  ageSec: number;
  incrSec: number;
}

/** The three sample ranges of RabbitMQ's API, each asked for with its own `<range>_age` / `<range>_incr`. */
export type SampleRange = 'msg_rates' | 'lengths' | 'data_rates' | 'node_stats';
export const SAMPLE_RANGES: SampleRange[] = ['msg_rates', 'lengths', 'data_rates', 'node_stats'];
export type SampleWindows = Partial<Record<SampleRange, SampleWindow>>;

export interface Sample {
  sample: number;
  timestamp: number;
}

/** One answered `<name>_details`: the sum of some columns, in message_stats or at the top of the row. */
export interface HistoryField {
  name: string;
  columns: number[];
  range: SampleRange;
  inStats: boolean;
}

/** Columns 0..counters-1 are cumulative counters (their change is kept), the rest gauges (their value is kept). */
export interface HistoryLayout {
  counters: number;
  gauges: number;
  fields: HistoryField[];
  /** Keep 64-bit values (gauges beyond 2^24, as bytes of free disk). */
  wide?: boolean;
}

interface Entry {
  /** Counter totals at the last tick. */
  last: Float64Array;
  /** Per-second change of each counter over the last tick. */
  rates: Float32Array;
  /** columns values per tick, ring of `points` ticks; undefined while idle. */
  ring: Float32Array | Float64Array | undefined;
  /** First tick written into the ring. */
  since: number;
  /** The tick the object was first recorded in (its counters count from 0 before it). */
  born: number;
  idleTicks: number;
  seenTick: number;
}

export class ObjectHistories<K extends object = object> {
  private readonly entries = new Map<K, Entry>();
  private readonly times: Float64Array;
  private readonly columns: number;
  /** Ticks taken so far; tick t lives at t % points. */
  private tick = 0;
  private rings = 0;
  /** 1 / seconds since the previous tick (0 at the first). */
  private perSec = 0;

  constructor(
    private readonly layout: HistoryLayout,
    /** Ticks kept (retention / sampling interval). */
    private readonly points: number,
    private readonly maxRings: number,
  ) {
    this.times = new Float64Array(Math.max(1, points));
    this.columns = layout.counters + layout.gauges;
  }

  /** Starts a sampling tick at `nowMs`; then record() each object; then endTick(). */
  beginTick(nowMs: number): void {
    const dtMs = this.tick > 0 ? nowMs - this.times[(this.tick - 1) % this.times.length] : 0;
    this.perSec = dtMs > 0 ? 1000 / dtMs : 0;
    this.times[this.tick % this.times.length] = nowMs;
  }

  /** Records one object: `values` holds its counter totals, then its gauges (read at once; may be reused by the caller). */
  record(key: K, values: ArrayLike<number>): void {
    const { counters } = this.layout;
    let e = this.entries.get(key);
    if (!e) {
      // From zeros: what the object counted before its first tick is its first tick's change.
      e = { last: new Float64Array(counters), rates: new Float32Array(counters), ring: undefined, since: this.tick, born: this.tick, idleTicks: 0, seenTick: this.tick };
      this.entries.set(key, e);
    }
    e.seenTick = this.tick;
    let active = false;
    for (let i = 0; i < counters; i++) if (values[i] !== e.last[i]) { active = true; break; }
    if (!active) for (let i = counters; i < this.columns; i++) if (values[i] !== 0) { active = true; break; }
    if (active) {
      e.idleTicks = 0;
      if (!e.ring && this.rings < this.maxRings && this.points > 0) {
        e.ring = this.layout.wide ? new Float64Array(this.points * this.columns) : new Float32Array(this.points * this.columns);
        e.since = this.tick;
        this.rings++;
      }
    } else if (e.ring && ++e.idleTicks >= this.points) {
      // A whole window without activity: the samples would all be flat.
      e.ring = undefined;
      this.rings--;
    }
    const at = (this.tick % this.times.length) * this.columns;
    const perSec = this.perSec;
    for (let i = 0; i < counters; i++) {
      const change = values[i] - e.last[i];
      if (e.ring) e.ring[at + i] = change;
      e.rates[i] = change > 0 ? change * perSec : 0;
      e.last[i] = values[i];
    }
    if (e.ring) for (let i = counters; i < this.columns; i++) e.ring[at + i] = values[i];
  }

  /** Ends the tick: forgets objects not recorded in it (deleted, closed, or no longer homed here). */
  endTick(): void {
    for (const [k, e] of this.entries) {
      if (e.seenTick === this.tick) continue;
      if (e.ring) this.rings--;
      this.entries.delete(k);
    }
    this.tick++;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Per-second change of a counter column over the last tick (0 for an object not sampled). */
  rate(key: K, column: number): number {
    return this.entries.get(key)?.rates[column] ?? 0;
  }

  /**
   * The points of a window as RabbitMQ answers them: timestamps on the incr grid (multiples of
   * incr), newest first, age / incr + 1 of them; each with the last tick at or before it
   * (-1 when no kept tick is).
   */
  private grid(w: SampleWindow, nowMs: number): { t: number; timestamp: number }[] {
    const incrMs = w.incrSec * 1000;
    const newest = Math.floor(nowMs / incrMs) * incrMs;
    const count = Math.min(Math.floor(w.ageSec / w.incrSec) + 1, this.points + 1);
    const oldest = Math.max(0, this.tick - this.points);
    const out: { t: number; timestamp: number }[] = [];
    let t = this.tick - 1;
    for (let k = 0; k < count; k++) {
      const timestamp = newest - k * incrMs;
      while (t >= oldest && this.times[t % this.times.length] > timestamp) t--;
      out.push({ t: t >= oldest ? t : -1, timestamp });
    }
    return out;
  }

  /**
   * The samples of one object as partial row fields: `message_stats` details and top-level
   * details, each `{samples, avg, avg_rate}`, for the ranges asked; to merge over the row's
   * own `rate`s. Undefined when the object is not sampled here. Before the object's first
   * tick its counters and gauges are 0; before the oldest tick kept, its counters are as then.
   */
  samples(key: K, windows: SampleWindows, nowMs = Date.now()): Row | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const { counters } = this.layout;
    const value = (t: number, column: number) => (e.ring && t >= e.since ? e.ring[(t % this.times.length) * this.columns + column] : 0);
    const oldestKept = Math.max(0, this.tick - this.points);
    const out: Row = {};
    const stats: Row = {};
    const grids = new Map<SampleRange, { t: number; timestamp: number }[]>();
    for (const f of this.layout.fields) {
      const w = windows[f.range];
      if (!w) continue;
      let grid = grids.get(f.range);
      if (!grid) grids.set(f.range, (grid = this.grid(w, nowMs)));
      const series: Sample[] = [];
      if (f.columns[0] < counters) {
        // Cumulative totals, newest first: the total now, less each later tick's change.
        let total = f.columns.reduce((s, c) => s + e.last[c], 0);
        let next = this.tick - 1;
        for (const { t, timestamp } of grid) {
          const at = t < 0 ? oldestKept : t;
          for (; next > at; next--) for (const c of f.columns) total -= value(next, c);
          series.push({ sample: t < e.born && (t >= 0 || e.born > oldestKept) ? 0 : total, timestamp });
        }
      } else {
        for (const { t, timestamp } of grid) series.push({ sample: t < e.born ? 0 : f.columns.reduce((s, c) => s + value(t, c), 0), timestamp });
      }
      const d = details(series);
      // A counter's rate over the last tick, for rows that have none of their own (bytes of a vhost).
      if (f.columns[0] < counters) d.rate = Math.round(f.columns.reduce((r, c) => r + e.rates[c], 0) * 10) / 10;
      (f.inStats ? stats : out)[`${f.name}_details`] = d;
    }
    if (Object.keys(stats).length > 0) out.message_stats = stats;
    return out;
  }

  /** Objects with a ring now (for tests and the README's memory figure). */
  get activeRings(): number {
    return this.rings;
  }
}

/** RabbitMQ's `{samples, avg, avg_rate}` of a series, newest first. */
export function details(samples: Sample[]): Row {
  const n = samples.length;
  const avg = n > 0 ? samples.reduce((s, x) => s + x.sample, 0) / n : 0;
  const avgRate = n > 1 ? (samples[0].sample - samples[n - 1].sample) / ((samples[0].timestamp - samples[n - 1].timestamp) / 1000) : 0;
  return { samples, avg, avg_rate: avgRate };
}
