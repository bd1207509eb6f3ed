import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { PerfResult } from '../src/cli/perf/runner';

const WARREN_PERF_JS = resolve(__dirname, '../src/cli/warren-perf.js');

/** How a scenario's figure compares: throughput is better higher, latency and memory lower. */
export type Better = 'higher' | 'lower';

/** One figure reported in the results table. */
export interface Metric {
  scenario: string;
  metric: string;
  unit: string;
  better: Better;
  /** The issue's target, as a minimum "advantage" (Warren ÷ RabbitMQ for throughput, RabbitMQ ÷ Warren otherwise). */
  targetAdvantage: number;
}

/** Settings shared by every scenario of a bench run. */
export interface BenchSettings {
  durationSec: number;
  /** Worker threads for warren-perf in throughput scenarios (0 = one thread). */
  workers: number;
}

/** A throughput or latency scenario: warren-perf arguments and the figures taken from its result. */
export interface Scenario {
  id: string;
  title: string;
  /** warren-perf arguments (without --uri and --json); `tag` makes queue and exchange names unique. */
  args(s: BenchSettings, tag: string): string[];
  /** Figures from the result: metric name → value. */
  figures(r: PerfResult): Record<string, number>;
  metrics: Omit<Metric, 'scenario'>[];
}

const throughput = (name: string, target: number): Omit<Metric, 'scenario'> => ({
  metric: name,
  unit: 'msg/s',
  better: 'higher',
  targetAdvantage: target,
});

function workersArgs(s: BenchSettings): string[] {
  return s.workers > 0 ? ['--workers', String(s.workers)] : [];
}

/** The scenarios of the issue, in the order they run. The consume-only one drains what publish-only filled. */
export const SCENARIOS: Scenario[] = [
  ...[16, 1024, 65536].map((size): Scenario => ({
    id: `1p1c-${size}`,
    title: `1 producer → 1 consumer, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}, autoack`,
    args: (s, tag) => ['-x', '1', '-y', '1', '-s', String(size), '-a', '-z', String(s.durationSec), '-u', `bench-${tag}`, '--delete', ...workersArgs(s)],
    figures: (r) => ({ received: r.receivedRate }),
    metrics: [throughput('received', size === 16 ? 2 : 1.5)],
  })),
  {
    id: 'publish-only-16',
    title: 'publish only, 16 B (queue filling)',
    args: (s, tag) => ['-x', '1', '-y', '0', '-s', '16', '-z', String(s.durationSec), '-u', `bench-fill-${tag}`],
    figures: (r) => ({ sent: r.sentRate }),
    metrics: [throughput('sent', 1.5)],
  },
  {
    id: 'consume-only-16',
    title: 'consume only, 16 B, from the filled queue, autoack',
    // The bench replaces DRAIN with the count publish-only sent, and FILLTAG with its tag.
    args: (s) => ['-x', '0', '-y', '1', '-a', '-D', 'DRAIN', '-z', String(s.durationSec * 4), '-u', 'bench-fill-FILLTAG', '--delete', ...workersArgs(s)],
    figures: (r) => ({ received: r.receivedRate }),
    metrics: [throughput('received', 1.5)],
  },
  {
    id: 'confirm-persistent-1k',
    title: 'confirms (-c 100), persistent, 1 KiB, manual ack, prefetch 100',
    args: (s, tag) => ['-x', '1', '-y', '1', '-s', '1024', '-c', '100', '-f', 'persistent', '-q', '100', '-z', String(s.durationSec), '-u', `bench-${tag}`, '--delete', ...workersArgs(s)],
    figures: (r) => ({ confirmed: r.confirmedRate, received: r.receivedRate }),
    metrics: [throughput('confirmed', 1.5)],
  },
  {
    id: 'fanout-10',
    title: 'fan-out: 1 producer → fanout → 10 queues → 10 consumers, 16 B, autoack',
    args: (s, tag) => ['-x', '1', '-y', '10', '-s', '16', '-a', '-e', `bench-fanout-${tag}`, '-t', 'fanout', '--queues', '10', '-z', String(s.durationSec), '-u', `bench-${tag}`, '--delete', ...workersArgs(s)],
    figures: (r) => ({ received: r.receivedRate, sent: r.sentRate }),
    metrics: [throughput('received', 1.5)],
  },
  {
    id: '10p10c-10q',
    title: '10 producers / 10 consumers over 10 queues, 16 B, autoack',
    args: (s, tag) => ['-x', '10', '-y', '10', '-s', '16', '-a', '--queues', '10', '-z', String(s.durationSec), '-u', `bench-${tag}`, '--delete', ...workersArgs(s)],
    figures: (r) => ({ received: r.receivedRate }),
    metrics: [throughput('received', 1.5)],
  },
  ...[1000, 10000].map((rate): Scenario => ({
    id: `latency-${rate / 1000}k`,
    title: `latency at ${rate.toLocaleString('en-US')} msg/s, 16 B, manual ack, prefetch 100`,
    args: (s, tag) => ['-x', '1', '-y', '1', '-s', '16', '-r', String(rate), '-q', '100', '-z', String(s.durationSec), '-u', `bench-${tag}`, '--delete'],
    figures: (r) => ({ p50: r.latency.p50Ms, p99: r.latency.p99Ms }),
    metrics: [
      { metric: 'p50', unit: 'ms', better: 'lower', targetAdvantage: rate === 1000 ? 1 : 0 },
      { metric: 'p99', unit: 'ms', better: 'lower', targetAdvantage: rate === 1000 ? 1 : 0 },
    ],
  })),
];

/** Runs warren-perf as a child process with --json against `url` and parses its result line. */
export function runWarrenPerf(url: string, args: string[], timeoutMs: number): Promise<PerfResult> {
  return new Promise((ok, fail) => {
    execFile(
      process.execPath,
      [WARREN_PERF_JS, '--uri', url, '--json', ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          const result = JSON.parse(line) as PerfResult;
          if (result.error) return fail(new Error(`warren-perf: ${result.error}`));
          return ok(result);
        } catch {
          fail(new Error(`warren-perf ${args.join(' ')} failed: ${err?.message ?? ''}\n${stderr}`));
        }
      },
    );
  });
}
