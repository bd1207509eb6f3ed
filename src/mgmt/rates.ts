/**
 * Rates for message_stats: every sampling tick (off the hot path) reads the totals of each
 * counted object and keeps the per-second change since the previous tick. Objects are keyed
 * weakly, so a closed channel or deleted queue is forgotten with it.
 */
import { COUNTER_FIELDS, type CounterField, type MessageCounters } from '../broker/message-stats';

/** Each counter's name in RabbitMQ's message_stats. */
export const JSON_NAMES: Record<(typeof COUNTER_FIELDS)[number], string> = {
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
   * RabbitMQ's message_stats object: once anything was counted, every counter of the object's
   * kind with its `<name>_details: {rate}` (zeros included, as RabbitMQ lists them); empty before.
   */
  messageStats(counters: MessageCounters, kind: StatsKind = 'channel'): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const field of KIND_FIELDS[kind]) if (counters[field] !== 0) any = true;
    if (!any) return out;
    const s = this.sampled.get(counters);
    for (const field of KIND_FIELDS[kind]) {
      out[JSON_NAMES[field]] = counters[field];
      out[`${JSON_NAMES[field]}_details`] = { rate: round(s ? s.rates[COUNTER_FIELDS.indexOf(field)] : 0) };
    }
    if (kind !== 'exchange') {
      out.deliver_get = counters.deliver + counters.deliverNoAck + counters.get + counters.getNoAck;
      const r = (f: CounterField) => (s ? s.rates[COUNTER_FIELDS.indexOf(f)] : 0);
      out.deliver_get_details = { rate: round(r('deliver') + r('deliverNoAck') + r('get') + r('getNoAck')) };
    }
    return out;
  }
}

/** Which counters each kind of object shows (RabbitMQ's message_stats keys). */
export type StatsKind = 'channel' | 'queue' | 'exchange';

const KIND_FIELDS: Record<StatsKind, CounterField[]> = {
  channel: ['publish', 'confirm', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack', 'returnUnroutable', 'dropUnroutable'],
  queue: ['publish', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack'],
  exchange: ['publishIn', 'publishOut'],
};

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
