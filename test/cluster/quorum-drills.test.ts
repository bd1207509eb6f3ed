// The rolling-restart drill of issue 10 in short form (bench/drills/drills.ts, the code
// `run-drill.js rolling-restart` runs): three nodes in network namespaces, a quorum queue led
// by n1, a confirmed workload publishing through n2 and consuming through n3 whose clients
// reconnect through their host list, and each node stopped gracefully (SIGTERM) and started
// again in turn. A graceful stop hands leadership over before it closes, so nothing is
// nacked, nothing confirmed is lost, the stalls stay short, and the leader is back on n1.
// The kill -9 and partition drills run in quorum-queues.test.ts. Needs root and `ip netns`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsCluster, netnsUnavailableReason } from './netns-cluster';
import { waitFor } from './cluster-support';
import { rollingRestart, type Restart } from '../../bench/drills/drills';
import { drillChartSvg, panelOf } from '../../bench/drills/drill-chart';

const unavailable = netnsUnavailableReason();

describe('rolling restart drill across three network namespaces', { skip: unavailable ?? false, timeout: 120_000 }, () => {
  let cluster: NetnsCluster;

  before(async () => {
    cluster = new NetnsCluster({ env: { WARREN_LOG_LEVEL: 'warn' } });
    await cluster.start();
  });

  after(async () => {
    await cluster?.destroy();
  });

  test('each node restarted in turn under 500 msg/s confirmed: 0 lost, next to no nacks, short stalls, the leader returns to n1', async () => {
    const restart: Restart = async (n, mark) => {
      await cluster.nodes[n].proc.kill('SIGTERM');
      mark(`n${n + 1} exited`);
      await cluster.restart(n);
    };
    const { report, timeline } = await rollingRestart(
      cluster.nodes.map((n) => n.url),
      restart,
      { rate: 500, warmupMs: 2000, afterMs: 2500 },
    );
    console.log(JSON.stringify(report));
    assert.equal(report.lost, 0, 'confirmed messages lost');
    // Publishes reaching the old leader during the handover go to the new one. A publish that
    // meets a node in the last moment of its stop may still be nacked (an honest outcome: a
    // clean CI run saw 1); before the handover work each restart nacked 30-80 at 2,000 msg/s.
    const nackedWhen = timeline.nacked.flatMap((n, i) => (n > 0 ? [`${n} at ${i * timeline.bucketMs} ms`] : []));
    assert.ok(report.nacked <= 5, `publishes nacked during the handovers: ${report.nacked} (${nackedWhen.join(', ')}; events: ${timeline.events.map((e) => `${e.atMs} ${e.what}`).join(', ')})`);
    assert.ok(report.confirmed > 5000, `confirmed ${report.confirmed}`);
    // The goal is 0.5 s (bench figures); a loaded CI machine gets slack, not a free pass.
    assert.ok(report.longestConfirmStallMs < 3000, `confirms stalled ${report.longestConfirmStallMs} ms`);
    assert.ok(report.longestDeliveryStallMs < 3000, `deliveries stalled ${report.longestDeliveryStallMs} ms`);
    // The timeline accounts for every confirm and delivery, and shows each restart.
    assert.equal(timeline.confirmed.reduce((a, b) => a + b, 0), report.confirmed);
    assert.ok(timeline.delivered.reduce((a, b) => a + b, 0) >= report.delivered);
    for (const n of ['n1', 'n2', 'n3']) assert.ok(timeline.events.some((e) => e.what === `${n} stopping`), `${n} stopping on the timeline`);
    assert.ok(timeline.events.some((e) => e.what.startsWith('publisher reconnected')), 'the publisher reconnected when n2 stopped');
    const svg = drillChartSvg([panelOf({ report: { ...report, run: 1 }, timeline })]);
    assert.match(svg, /^<svg[^>]*>/);
    assert.equal(svg.match(/<polyline /g)?.length, 3);
    // The leader returns to its preferred node by itself (no rebalance).
    const found = await waitFor('a quorum queue listed', () => cluster.listQueues(1, ['name', 'leader']).find((q) => String(q.name).startsWith('drill.')), 5000);
    const queue = String(found?.name);
    await waitFor(
      'the leader back on n1',
      () => cluster.listQueues(1, ['name', 'leader']).find((q) => q.name === queue)?.leader === cluster.nodes[0].name,
      // A restarted node gets its leaderships back once it has caught up (checked for up to 30 s).
      30_000,
    );
  });
});
