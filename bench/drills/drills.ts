// The failover drills of issue 10 (run by bench/drills/run-drill.ts, and in short form by
// test/cluster/quorum-drills.test.ts): a three-member quorum queue declared on the first URL
// (its leader), a confirmed workload publishing through the second and consuming through
// the third, a fault, and the report plus a timeline of what happened per 100 ms.
import { loadavg } from 'node:os';
import * as amqp from 'amqplib';
import { ConfirmedWorkload, type DrillReport, type DrillTimeline } from './confirmed-workload';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Fault {
  inflict(): Promise<void>;
  heal(): Promise<void>;
}

/** Stops node i gracefully and starts it again; resolves once it is back in the cluster. */
export type Restart = (i: number, mark: (what: string) => void) => Promise<void>;

export interface DrillResult {
  report: Record<string, unknown> & DrillReport;
  timeline: DrillTimeline;
}

// Each report carries the machine's 1-minute load average at the end of the fault phase
// (loadAvg1m): on a shared machine, stalls measured under a load far above the core count
// are the machine's as much as the broker's.

export interface DrillTiming {
  /** Messages per second, 64 B persistent. */
  rate: number;
  /** Workload before the fault; stalls are counted from its last second on (default 5 s). */
  warmupMs?: number;
  /** Workload after the fault is healed, or between and after restarts (default 10 s / 5 s). */
  afterMs?: number;
}

async function declare(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  await (await conn.createChannel()).assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await conn.close();
}

async function warmUp(w: ConfirmedWorkload, warmupMs: number): Promise<void> {
  await w.start();
  await sleep(Math.max(0, warmupMs - 1000));
  w.resetStalls();
  await sleep(Math.min(1000, warmupMs));
}

/** Each node in turn, leader first, stopped gracefully and started again. */
export async function rollingRestart(urls: string[], restart: Restart, t: DrillTiming): Promise<DrillResult> {
  const queue = `drill.rolling-restart.${Date.now()}`;
  await declare(urls[0], queue);
  // Clients reconnect through their host list (their own node first), as clients of a cluster do.
  const w = new ConfirmedWorkload({ publishUrl: urls[1], consumeUrl: urls[2], queue, ratePerSec: t.rate, bodyBytes: 64, reconnect: true, fallbackUrls: urls });
  await warmUp(w, t.warmupMs ?? 5000);
  const restarts: [number, number][] = [];
  for (let i = 0; i < urls.length; i++) {
    const from = w.now();
    w.mark(`n${i + 1} stopping`);
    await restart(i, (what) => w.mark(what));
    w.mark(`n${i + 1} back`);
    restarts.push([from, w.now()]);
    await sleep(t.afterMs ?? 5000);
  }
  await sleep(t.afterMs ?? 5000);
  const load = loadavg()[0];
  const report = { drill: 'rolling-restart', queue, rate: t.rate, restartsAtMs: restarts, loadAvg1m: load, ...(await w.stop(20_000)) };
  return { report, timeline: w.timeline() };
}

/** kill-leader or partition-one: the fault, `cutMs` later the heal (if any), then the workload goes on. */
export async function faultDrill(name: string, urls: string[], fault: Fault, t: DrillTiming & { cutMs: number }): Promise<DrillResult> {
  const queue = `drill.${name}.${Date.now()}`;
  await declare(urls[0], queue);
  const w = new ConfirmedWorkload({ publishUrl: urls[1], consumeUrl: urls[2], queue, ratePerSec: t.rate, bodyBytes: 64 });
  await warmUp(w, t.warmupMs ?? 5000);
  const faultAtMs = w.now();
  w.mark(name === 'kill-leader' ? 'leader killed (kill -9)' : 'leader cut off');
  await fault.inflict();
  await sleep(t.cutMs);
  if (name !== 'kill-leader') w.mark('healed');
  await fault.heal();
  await sleep(t.afterMs ?? 10_000);
  const load = loadavg()[0];
  const report = { drill: name, queue, rate: t.rate, cutMs: t.cutMs, faultAtMs, loadAvg1m: load, ...(await w.stop(20_000)) };
  return { report, timeline: w.timeline() };
}
