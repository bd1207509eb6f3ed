#!/usr/bin/env node
import { parseArgs, UsageError } from './perf/options';
import { runPerf, type PerfInterval, type PerfResult } from './perf/runner';

/**
 * warren-perf: an AMQP 0-9-1 load generator with RabbitMQ PerfTest's flags (see --help).
 * Prints sent / confirmed / received msgs/s and end-to-end latency each interval and at the
 * end; with --json the progress goes to stderr and one JSON result line to stdout.
 */

function rate(v: number): string {
  return `${Math.round(v)} msg/s`;
}

function progressLine(i: PerfInterval): string {
  const l = i.latency;
  const latency = l.count > 0 ? `, latency p50 ${l.p50Ms} ms p95 ${l.p95Ms} p99 ${l.p99Ms} max ${l.maxMs}` : '';
  return `time ${i.elapsedSec.toFixed(1)} s, sent ${rate(i.sentRate)}, confirmed ${rate(i.confirmedRate)}, received ${rate(i.receivedRate)}${latency}`;
}

function summaryLines(r: PerfResult): string {
  const l = r.latency;
  return [
    `summary: ${r.elapsedSec} s, sent ${r.sent} (${rate(r.sentRate)}), confirmed ${r.confirmed} (${rate(r.confirmedRate)}), ` +
      `nacked ${r.nacked}, received ${r.received} (${rate(r.receivedRate)})`,
    `latency: p50 ${l.p50Ms} ms, p95 ${l.p95Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms (${l.count} samples)`,
    ...(r.error ? [`error: ${r.error}`] : []),
  ].join('\n');
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const out = opts.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');
  const result = await runPerf(opts, (i) => out(progressLine(i)));
  out(summaryLines(result));
  if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
  return result.error ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`warren-perf: ${err.message}`);
    process.exit(1);
  },
);
