/**
 * A log-linear latency histogram over microseconds, in the spirit of HdrHistogram: values
 * below 128 µs have their own bucket; above, each power of two is split into 64 buckets,
 * so any recorded value is known within about 1.6 %. Recording is two integer operations
 * and an array increment, with no allocation; the counts array is what crosses threads.
 */

const SUB_BUCKETS = 64;
const LINEAR_LIMIT = 2 * SUB_BUCKETS;
/** Values are clamped to 2^31 - 1 µs (about 35 minutes). */
const MAX_SHIFT = 31 - 6;

/** Number of buckets in a counts array. */
export const HISTOGRAM_BUCKETS = LINEAR_LIMIT + MAX_SHIFT * SUB_BUCKETS;

function bucketOf(us: number): number {
  if (us < LINEAR_LIMIT) return us < 0 ? 0 : us;
  if (us > 0x7fffffff) us = 0x7fffffff;
  const shift = 31 - Math.clz32(us) - 6;
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + ((us >>> shift) - SUB_BUCKETS);
}

/** The middle of a bucket's range, in µs. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const shift = Math.floor((bucket - LINEAR_LIMIT) / SUB_BUCKETS) + 1;
  const mantissa = ((bucket - LINEAR_LIMIT) % SUB_BUCKETS) + SUB_BUCKETS;
  return mantissa * 2 ** shift + 2 ** (shift - 1);
}

/** Latency histogram; not thread-safe (one per thread, merged by the coordinator). */
export class Histogram {
  counts = new Uint32Array(HISTOGRAM_BUCKETS);
  count = 0;
  /** Exact largest value recorded, µs. */
  maxUs = 0;

  /** Records one latency in microseconds (fractions are truncated). */
  record(us: number): void {
    const v = us | 0;
    this.counts[bucketOf(v)]++;
    this.count++;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** Adds another histogram's counts (e.g. a worker's interval snapshot). */
  merge(counts: Uint32Array, maxUs: number): void {
    let n = 0;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i];
      if (c !== 0) {
        this.counts[i] += c;
        n += c;
      }
    }
    this.count += n;
    if (maxUs > this.maxUs) this.maxUs = maxUs;
  }

  /** The value at quantile q (0..1) in µs, or 0 when empty; the top quantile reports the exact max. */
  quantileUs(q: number): number {
    if (this.count === 0) return 0;
    if (q >= 1) return this.maxUs;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(valueOf(i), this.maxUs);
    }
    return this.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxUs = 0;
  }
}

/** p50/p95/p99/max in milliseconds, the shape reported per second and at the end. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Summarizes a histogram in milliseconds with microsecond resolution. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.count,
    p50Ms: ms(h.quantileUs(0.5)),
    p95Ms: ms(h.quantileUs(0.95)),
    p99Ms: ms(h.quantileUs(0.99)),
    maxMs: ms(h.maxUs),
  };
}
