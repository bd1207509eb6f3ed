import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { Histogram } from '../../src/cli/perf/histogram';
import { parseArgs, UsageError } from '../../src/cli/perf/options';
import type { PerfResult } from '../../src/cli/perf/runner';

const WARREN_PERF_JS = resolve(__dirname, '../../src/cli/warren-perf.js');

function runPerf(args: string[]): Promise<{ code: number; result: PerfResult | null; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [WARREN_PERF_JS, '--json', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: PerfResult | null = null;
      try {
        result = JSON.parse(line) as PerfResult;
      } catch {
        // No result line: the assertions below report stderr.
      }
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, result, stderr });
    });
  });
}

describe('warren-perf', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('publishes and consumes for 2 s and reports rates and sane latencies', async () => {
    const { code, result, stderr } = await runPerf(['--uri', broker.url, '-x', '1', '-y', '1', '-s', '64', '-r', '2000', '-q', '50', '-z', '2', '-u', 'perf-test-basic', '--delete']);
    assert.equal(code, 0, stderr);
    assert.ok(result, `no JSON result line; stderr:\n${stderr}`);
    assert.equal(result.error, null);
    assert.ok(result.elapsedSec >= 1.9 && result.elapsedSec <= 3, `elapsed ${result.elapsedSec}`);
    // Rate-limited to 2,000 msg/s: about 4,000 sent, nearly all received.
    assert.ok(result.sent >= 3000 && result.sent <= 4100, `sent ${result.sent}`);
    assert.ok(result.received >= result.sent * 0.9, `received ${result.received} of ${result.sent}`);
    assert.ok(result.receivedRate > 1000, `received rate ${result.receivedRate}`);
    const l = result.latency;
    assert.equal(l.count, result.received);
    assert.ok(l.p50Ms > 0 && l.p50Ms <= l.p95Ms && l.p95Ms <= l.p99Ms && l.p99Ms <= l.maxMs, JSON.stringify(l));
    // Loopback at a modest rate: anything near a second means the timestamps are wrong.
    assert.ok(l.p50Ms < 100 && l.maxMs < 2000, JSON.stringify(l));
    assert.match(stderr, /time 1\.\d s, sent \d+ msg\/s, confirmed \d+ msg\/s, received \d+ msg\/s/);
  });

  it('counts every confirm with -c and stops at -C messages', async () => {
    const { code, result, stderr } = await runPerf(['--uri', broker.url, '-x', '2', '-y', '2', '--queues', '2', '-s', '1024', '-c', '20', '-C', '5000', '-D', '5000', '-z', '20', '-u', 'perf-test-confirm', '--delete', '--workers', '2']);
    assert.equal(code, 0, stderr);
    assert.ok(result);
    assert.equal(result.sent, 10_000);
    assert.equal(result.confirmed, 10_000);
    assert.equal(result.nacked, 0);
    assert.equal(result.received, 10_000);
    assert.ok(result.elapsedSec < 20, 'ended when the counts were reached, not at the duration');
  });

  it('fails with an error when the broker refuses the login', async () => {
    const bad = broker.url.replace('guest:guest', 'guest:wrong');
    const { code, result } = await runPerf(['--uri', bad, '-x', '1', '-y', '0', '-z', '1', '-u', 'perf-test-refused']);
    assert.notEqual(code, 0);
    assert.equal(result, null);
  });
});

describe('warren-perf options and histogram', () => {
  it('parses PerfTest flags', () => {
    const o = parseArgs(['--uri', 'amqp://a:b@h:1/v', '-x', '3', '-y', '4', '-s', '100', '-z', '5', '-c', '10', '-q', '7', '-a', '-f', 'persistent', '-r', '500', '--queues', '2', '-e', 'ex', '-t', 'fanout']);
    assert.deepEqual(
      [o.producers, o.consumers, o.bodyBytes, o.durationSec, o.confirm, o.prefetch, o.autoAck, o.persistent, o.rate, o.queues, o.exchange, o.exchangeType],
      [3, 4, 100, 5, 10, 7, true, true, 500, 2, 'ex', 'fanout'],
    );
    assert.throws(() => parseArgs(['-x', '1']), UsageError, 'no duration and no message count');
    assert.throws(() => parseArgs(['--bogus']), UsageError);
  });

  it('reports quantiles within the histogram precision', () => {
    const h = new Histogram();
    for (let us = 1; us <= 100_000; us++) h.record(us);
    for (const [q, want] of [[0.5, 50_000], [0.95, 95_000], [0.99, 99_000]] as const) {
      const got = h.quantileUs(q);
      assert.ok(Math.abs(got - want) / want < 0.02, `q${q}: ${got} vs ${want}`);
    }
    assert.equal(h.quantileUs(1), 100_000);
    assert.equal(h.maxUs, 100_000);
  });
});
