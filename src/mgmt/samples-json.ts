/** Chart samples in rows: summing several nodes' samples of one object, and merging samples into a row. */
import { details, type Sample } from './object-history';

type Row = Record<string, unknown>;

/**
 * Sums the samples of one object from several nodes: the first answer's timestamps are kept,
 * and every other node adds its sample nearest in time to each (nodes tick apart).
 */
export function sumSamples(answers: Row[]): Row {
  if (answers.length === 1) return answers[0];
  const sumGroup = (groups: (Row | undefined)[]): Row => {
    const out: Row = {};
    for (const [k, v] of Object.entries(groups[0] ?? {})) {
      const base = (v as { samples: Sample[] }).samples;
      const others = groups.slice(1).map((g) => ((g?.[k] as { samples?: Sample[] } | undefined)?.samples ?? []));
      const summed = details(base.map((p) => ({ timestamp: p.timestamp, sample: others.reduce((s, o) => s + nearest(o, p.timestamp), p.sample) })));
      const rates = groups.map((g) => (g?.[k] as { rate?: number } | undefined)?.rate);
      if (rates.some((r) => r !== undefined)) summed.rate = Math.round(rates.reduce((s: number, r) => s + (r ?? 0), 0) * 10) / 10;
      out[k] = summed;
    }
    return out;
  };
  const { message_stats: _s, ...top } = answers[0];
  const out = sumGroup([top, ...answers.slice(1).map(({ message_stats: _x, ...rest }) => rest)]);
  if (answers[0].message_stats) out.message_stats = sumGroup(answers.map((a) => a.message_stats as Row | undefined));
  return out;
}

function nearest(series: Sample[], timestamp: number): number {
  let best: Sample | undefined;
  for (const p of series) if (!best || Math.abs(p.timestamp - timestamp) < Math.abs(best.timestamp - timestamp)) best = p;
  return best?.sample ?? 0;
}

/** Puts samples into a row: each details object keeps its own rate (else the samples' rate) and gains samples, avg, avg_rate. */
export function mergeSamples(row: Row, samples: Row | undefined): void {
  if (!samples) return;
  const { message_stats: stats, ...top } = samples;
  for (const [k, v] of Object.entries(top)) row[k] = { rate: 0, ...(v as Row), ...(row[k] as Row | undefined), ...withoutRate(v as Row) };
  if (stats) {
    const target = (row.message_stats ??= {}) as Row;
    for (const [k, v] of Object.entries(stats as Row)) {
      const name = k.slice(0, -'_details'.length);
      if (target[name] === undefined) target[name] = 0;
      target[k] = { rate: 0, ...(v as Row), ...(target[k] as Row | undefined), ...withoutRate(v as Row) };
    }
  }
}

function withoutRate({ rate: _rate, ...rest }: Row): Row {
  return rest;
}
