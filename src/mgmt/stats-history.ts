/**
 * The node's recent history for the charts: one point per sampling tick (cumulative message
 * counters and queue lengths), kept for a bounded time, answered as RabbitMQ's `samples`
 * arrays when a request asks for msg_rates_age / lengths_age.
 */
import { COUNTER_FIELDS, type MessageCounters } from '../broker/message-stats';
import type { RateSampler } from './rates';

/** Points kept: an hour at the default 5 s tick. */
const MAX_POINTS = 720;

interface Point {
  atMs: number;
  totals: Float64Array;
  ready: number;
  unacked: number;
}

export type LengthField = 'messages' | 'messages_ready' | 'messages_unacknowledged';

export class StatsHistory {
  private readonly points: Point[] = [];
  private readonly readyRate = { value: 0 };
  private readonly unackedRate = { value: 0 };

  add(atMs: number, _rates: RateSampler, totals: MessageCounters, ready: number, unacked: number): void {
    const t = new Float64Array(COUNTER_FIELDS.length);
    for (let i = 0; i < COUNTER_FIELDS.length; i++) t[i] = totals[COUNTER_FIELDS[i]];
    const prev = this.points[this.points.length - 1];
    if (prev) {
      const dt = (atMs - prev.atMs) / 1000;
      if (dt > 0) {
        this.readyRate.value = (ready - prev.ready) / dt;
        this.unackedRate.value = (unacked - prev.unacked) / dt;
      }
    }
    this.points.push({ atMs, totals: t, ready, unacked });
    if (this.points.length > MAX_POINTS) this.points.shift();
  }

  get latest(): { ready: number; unacked: number } {
    const p = this.points[this.points.length - 1];
    return { ready: p?.ready ?? 0, unacked: p?.unacked ?? 0 };
  }

  lengthRate(field: LengthField): number {
    if (field === 'messages_ready') return this.readyRate.value;
    if (field === 'messages_unacknowledged') return this.unackedRate.value;
    return this.readyRate.value + this.unackedRate.value;
  }

  /** Points within the last `ageSec`, at most one per `incrSec`, newest first (RabbitMQ's order). */
  private window(ageSec: number, incrSec: number): Point[] {
    const out: Point[] = [];
    const since = Date.now() - ageSec * 1000;
    let lastMs = Infinity;
    for (let i = this.points.length - 1; i >= 0; i--) {
      const p = this.points[i];
      if (p.atMs < since) break;
      if (lastMs - p.atMs < incrSec * 1000 - 500) continue;
      out.push(p);
      lastMs = p.atMs;
    }
    return out;
  }

  counterSamples(field: (typeof COUNTER_FIELDS)[number] | 'deliverGet', ageSec: number, incrSec: number): { sample: number; timestamp: number }[] {
    const idx = (f: (typeof COUNTER_FIELDS)[number]) => COUNTER_FIELDS.indexOf(f);
    return this.window(ageSec, incrSec).map((p) => ({
      sample: field === 'deliverGet' ? p.totals[idx('deliver')] + p.totals[idx('deliverNoAck')] + p.totals[idx('get')] + p.totals[idx('getNoAck')] : p.totals[idx(field)],
      timestamp: p.atMs,
    }));
  }

  lengthSamples(field: LengthField, ageSec: number, incrSec: number): { sample: number; timestamp: number }[] {
    return this.window(ageSec, incrSec).map((p) => ({
      sample: field === 'messages_ready' ? p.ready : field === 'messages_unacknowledged' ? p.unacked : p.ready + p.unacked,
      timestamp: p.atMs,
    }));
  }
}
