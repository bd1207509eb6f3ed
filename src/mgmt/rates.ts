/**
 * Rates for message_stats: every sampling tick (off the hot path) reads the totals of each
 * counted object and keeps the per-second change since the previous tick. Objects are keyed
 * weakly, so a closed channel or deleted queue is forgotten with it.
 */
import { COUNTER_FIELDS, type MessageCounters } from '../broker/message-stats';

const JSON_NAMES: Record<(typeof COUNTER_FIELDS)[number], string> = {
  publish: 'publish',
  publishIn: 'publish_in',
  publishOut: 'publish_out',
  confirm: 'confirm',
  deliver: 'deliver',
  deliverNoAck: 'deliver_no_ack',
  get: 'get',
  getNoAck: 'get_no_ack',
  getEmpty: 'get_empty',
  redeliver: 'redeliver',
  ack: 'ack',
  returnUnroutable: 'return_unroutable',
  dropUnroutable: 'drop_unroutable',
};

interface Sampled {
  totals: Float64Array;
  rates: Float64Array;
  atMs: number;
}

export class RateSampler {
  private readonly sampled = new WeakMap<MessageCounters, Sampled>();

  /** Takes one sample of `counters` at `nowMs`. */
  sample(counters: MessageCounters, nowMs: number): void {
    let s = this.sampled.get(counters);
    if (!s) {
      s = { totals: new Float64Array(COUNTER_FIELDS.length), rates: new Float64Array(COUNTER_FIELDS.length), atMs: nowMs };
      for (let i = 0; i < COUNTER_FIELDS.length; i++) s.totals[i] = counters[COUNTER_FIELDS[i]];
      this.sampled.set(counters, s);
      return;
    }
    const dt = (nowMs - s.atMs) / 1000;
    if (dt <= 0) return;
    for (let i = 0; i < COUNTER_FIELDS.length; i++) {
      const v = counters[COUNTER_FIELDS[i]];
      s.rates[i] = Math.max(0, (v - s.totals[i]) / dt);
      s.totals[i] = v;
    }
    s.atMs = nowMs;
  }

  rate(counters: MessageCounters, field: (typeof COUNTER_FIELDS)[number]): number {
    const s = this.sampled.get(counters);
    return s ? s.rates[COUNTER_FIELDS.indexOf(field)] : 0;
  }

  /**
   * RabbitMQ's message_stats object: each counter that has counted something, with its
   * `<name>_details: {rate}`; deliver_get sums deliveries and gets.
   */
  messageStats(counters: MessageCounters): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const s = this.sampled.get(counters);
    for (let i = 0; i < COUNTER_FIELDS.length; i++) {
      const field = COUNTER_FIELDS[i];
      const total = counters[field];
      if (total === 0) continue;
      out[JSON_NAMES[field]] = total;
      out[`${JSON_NAMES[field]}_details`] = { rate: round(s ? s.rates[i] : 0) };
    }
    const deliverGet = counters.deliver + counters.deliverNoAck + counters.get + counters.getNoAck;
    if (deliverGet > 0) {
      out.deliver_get = deliverGet;
      const r = s ? s.rates[COUNTER_FIELDS.indexOf('deliver')] + s.rates[COUNTER_FIELDS.indexOf('deliverNoAck')] + s.rates[COUNTER_FIELDS.indexOf('get')] + s.rates[COUNTER_FIELDS.indexOf('getNoAck')] : 0;
      out.deliver_get_details = { rate: round(r) };
    }
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
