import { Histogram, summarize, type LatencySummary } from './histogram';
import type { PerfOptions } from './options';
import { RoleGroup, type Group, type GroupSnapshot, type RoleSpec } from './role-group';
import { nowMs } from './thread-stats';
import { declareTopology, deleteTopology } from './topology';
import { WorkerGroup } from './worker-group';

/** How often the runner checks for the end of the run (message counts reached, errors). */
const POLL_MS = 50;

/** One progress line's figures. */
export interface PerfInterval {
  elapsedSec: number;
  sentRate: number;
  confirmedRate: number;
  receivedRate: number;
  latency: LatencySummary;
}

/** The outcome of a run; rates are per second over the measured time. */
export interface PerfResult {
  producers: number;
  consumers: number;
  bodyBytes: number;
  elapsedSec: number;
  sent: number;
  confirmed: number;
  nacked: number;
  received: number;
  sentRate: number;
  confirmedRate: number;
  receivedRate: number;
  latency: LatencySummary;
  error: string | null;
}

interface Totals {
  sent: number;
  confirmed: number;
  nacked: number;
  received: number;
  done: boolean;
  doneAtMs: number;
  error: string | null;
}

/** Deals producers and consumers round-robin over the worker threads, or keeps them all here. */
function makeGroups(o: PerfOptions): Group[] {
  const specs: RoleSpec[] = [];
  const most = Math.max(o.producers, o.consumers);
  for (let i = 0; i < most; i++) {
    if (i < o.consumers) specs.push({ kind: 'consumer', index: i });
    if (i < o.producers) specs.push({ kind: 'producer', index: i });
  }
  if (o.workers <= 0) return [new RoleGroup(o, specs)];
  const n = Math.min(o.workers, specs.length);
  const parts: RoleSpec[][] = Array.from({ length: n }, () => []);
  specs.forEach((s, i) => parts[i % n].push(s));
  return parts.map((p) => new WorkerGroup(o, p));
}

/**
 * Runs producers and consumers as configured, prints a progress line every interval through
 * `progress`, and resolves with the totals. Ends at the duration, when every role reached its
 * message count, or at the first error.
 */
export async function runPerf(o: PerfOptions, progress: (i: PerfInterval) => void): Promise<PerfResult> {
  await declareTopology(o);
  const groups = makeGroups(o);
  const interval = new Histogram();
  const total = new Histogram();
  const collect = (snaps: GroupSnapshot[]): Totals => {
    const t: Totals = { sent: 0, confirmed: 0, nacked: 0, received: 0, done: true, doneAtMs: 0, error: null };
    for (const s of snaps) {
      t.sent += s.sent;
      t.confirmed += s.confirmed;
      t.nacked += s.nacked;
      t.received += s.received;
      t.done &&= s.done;
      t.doneAtMs = Math.max(t.doneAtMs, s.doneAtMs);
      t.error ??= s.error;
      interval.merge(s.latencyCounts, s.latencyMaxUs);
      total.merge(s.latencyCounts, s.latencyMaxUs);
    }
    return t;
  };
  try {
    await Promise.all(groups.map((g) => g.setup()));
    await Promise.all(groups.map((g) => g.start()));
    const startMs = nowMs();
    const endMs = o.durationSec > 0 ? startMs + o.durationSec * 1000 : Infinity;
    let last = { ms: startMs, sent: 0, confirmed: 0, received: 0 };
    let nextReportMs = startMs + o.intervalSec * 1000;
    let t: Totals;
    for (;;) {
      await sleep(Math.max(1, Math.min(POLL_MS, endMs - nowMs(), nextReportMs - nowMs())));
      const now = nowMs();
      if (now >= endMs) break;
      t = collect(await Promise.all(groups.map((g) => g.snapshot())));
      if (t.error !== null || t.done) break;
      if (now >= nextReportMs) {
        const secs = (now - last.ms) / 1000;
        progress({
          elapsedSec: (now - startMs) / 1000,
          sentRate: (t.sent - last.sent) / secs,
          confirmedRate: (t.confirmed - last.confirmed) / secs,
          receivedRate: (t.received - last.received) / secs,
          latency: summarize(interval),
        });
        interval.reset();
        last = { ms: now, sent: t.sent, confirmed: t.confirmed, received: t.received };
        nextReportMs += o.intervalSec * 1000;
      }
    }
    t = collect(await Promise.all(groups.map((g) => g.stop())));
    const finishedMs = t.done && t.doneAtMs > 0 ? t.doneAtMs : Math.min(nowMs(), endMs);
    const elapsedSec = Math.max(0.001, (finishedMs - startMs) / 1000);
    return {
      producers: o.producers,
      consumers: o.consumers,
      bodyBytes: o.bodyBytes,
      elapsedSec: round(elapsedSec, 3),
      sent: t.sent,
      confirmed: t.confirmed,
      nacked: t.nacked,
      received: t.received,
      sentRate: Math.round(t.sent / elapsedSec),
      confirmedRate: Math.round(t.confirmed / elapsedSec),
      receivedRate: Math.round(t.received / elapsedSec),
      latency: summarize(total),
      error: t.error,
    };
  } finally {
    await Promise.all(groups.map((g) => g.close().catch(() => undefined)));
    if (o.deleteAtEnd && !o.predeclared) await deleteTopology(o).catch(() => undefined);
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
