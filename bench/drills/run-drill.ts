// Failover drills of issue 10 on a three-member quorum queue, under a confirmed workload
// (publisher on one node, consumer on another, the queue's leader on the third; 64 B
// persistent messages with sequence numbers): one JSON line per run with published /
// confirmed / nacked / lost (confirmed but never delivered) / duplicated and the longest
// stall of confirms and of deliveries around the fault.
//   kill-leader          kill -9 of the leader's node, 10 s later the drill ends
//   partition-one [S]    the leader's node cut off for S seconds (default 20), then healed
//   rolling-restart      each node stopped gracefully (SIGTERM) and started again in turn,
//                        leader first; the clients reconnect through their host list
//
// In network namespaces (root; the docker-compose layout, standard ports):
//   npx tsc -p . && node dist/bench/drills/run-drill.js kill-leader [runs=1] [rate=2000]
//   node dist/bench/drills/run-drill.js partition-one 20 [runs=1] [rate=2000]
// Against your own cluster: the three AMQP URLs (the queue is declared on the first, which
// becomes its leader) and the commands that inflict the fault (and heal it):
//   DRILL_URLS=amqp://a,amqp://b,amqp://c DRILL_FAULT_CMD='ssh a pkill -9 -f warren-server' \
//     node dist/bench/drills/run-drill.js kill-leader
//   DRILL_URLS=... DRILL_FAULT_CMD='ssh a ip link set eth0 down' DRILL_HEAL_CMD='ssh a ip link set eth0 up' \
//     node dist/bench/drills/run-drill.js partition-one 20
//   DRILL_URLS=... DRILL_RESTART_CMDS='["ssh a systemctl restart warren", "ssh b ...", "ssh c ..."]' \
//     node dist/bench/drills/run-drill.js rolling-restart
// RabbitMQ (Debian's rabbitmq-server) on the same namespace layout, for a side-by-side run:
//   DRILL_BROKER=rabbitmq node dist/bench/drills/run-drill.js kill-leader 5
// Every run also writes its timeline (JSON) and chart (SVG) into DRILL_TIMELINE_DIR.
// DRILL_NODE_LOGS=dir keeps each node's output (DRILL_LOG_LEVEL, default warn);
// DRILL_SERVER_JS=<another checkout>/dist/src/cli/warren-server.js runs that build's nodes
// instead (for interleaved before/after runs).
import { exec } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultDrill, rollingRestart, type DrillResult, type Fault, type Restart } from './drills';
import { drillChartSvg, panelOf } from './drill-chart';
import { NetnsCluster } from '../../test/cluster/netns-cluster';
import { waitFor } from '../../test/cluster/cluster-support';
import { RabbitNetnsCluster } from './rabbit-netns';

/**
 * Prints the run's JSON line and writes its timeline (counts per 100 ms and events, JSON) and
 * chart (SVG) into DRILL_TIMELINE_DIR (default drill-timelines/ under the working directory).
 */
function output(run: number, r: DrillResult, broker?: string): void {
  const report: Record<string, unknown> = { run, ...(broker ? { broker } : {}), ...r.report };
  const dir = process.env.DRILL_TIMELINE_DIR ?? 'drill-timelines';
  mkdirSync(dir, { recursive: true });
  const cut = typeof report.cutMs === 'number' && report.cutMs > 0 ? `-${report.cutMs / 1000}s` : '';
  const base = join(dir, `${broker ? `${broker}-` : ''}${String(report.drill)}${cut}-${new Date().toISOString().replace(/[:.]/g, '-')}-run${run}`);
  writeFileSync(`${base}.timeline.json`, JSON.stringify({ report, timeline: r.timeline }));
  writeFileSync(`${base}.svg`, drillChartSvg([panelOf({ report, timeline: r.timeline })]));
  console.log(JSON.stringify({ ...report, timelineFile: `${base}.timeline.json`, chartFile: `${base}.svg` }));
}

/**
 * After a cut: did the cluster heal by itself? Every node sees all members up, and the queue's
 * members agree on one leader and one applied index (quorum_status), within 20 s.
 */
async function healed(cluster: NetnsCluster, queue: string): Promise<boolean> {
  try {
    await cluster.waitFormed(20_000);
    await waitFor(
      'the queue members in step',
      () => {
        const rows = cluster.ctl(1, ['quorum_status', queue, '--no-table-headers', '-q']).stdout.trim().split('\n').map((l) => l.split('\t'));
        return rows.length === 3 && rows.filter((x) => x[1] === 'leader').length === 1 && rows.every((x) => x[1] === 'leader' || x[1] === 'follower') && new Set(rows.map((x) => x[4])).size === 1;
      },
      20_000,
      500,
    );
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const [name = 'kill-leader', ...rest] = process.argv.slice(2);
  if (name !== 'kill-leader' && name !== 'partition-one' && name !== 'rolling-restart') throw new Error('drill: kill-leader, partition-one or rolling-restart');
  const cutMs = name === 'partition-one' ? Number(rest.shift() ?? 20) * 1000 : 0;
  const runs = Number(rest[0] ?? 1);
  const rate = Number(rest[1] ?? 2000);
  const own = process.env.DRILL_URLS;
  if (own) {
    // Asynchronously: the workload shares this event loop, and a blocking exec would count as the cluster's stall.
    const run = (cmd: string | undefined) => () =>
      new Promise<void>((resolve, reject) => {
        if (!cmd) return resolve();
        const child = exec(cmd, (err) => (err ? reject(err) : resolve()));
        child.stdout?.pipe(process.stderr);
        child.stderr?.pipe(process.stderr);
      });
    if (name === 'rolling-restart') {
      const cmds = JSON.parse(process.env.DRILL_RESTART_CMDS ?? '[]') as string[];
      if (cmds.length !== own.split(',').length) throw new Error('DRILL_RESTART_CMDS: a JSON array with one restart command per URL');
      for (let i = 1; i <= runs; i++) output(i, await rollingRestart(own.split(','), (n) => run(cmds[n])(), { rate }));
      return;
    }
    if (!process.env.DRILL_FAULT_CMD) throw new Error('DRILL_FAULT_CMD is required with DRILL_URLS');
    for (let i = 1; i <= runs; i++) {
      output(i, await faultDrill(name, own.split(','), { inflict: run(process.env.DRILL_FAULT_CMD), heal: run(process.env.DRILL_HEAL_CMD) }, { cutMs, rate }));
    }
    return;
  }
  if (process.env.DRILL_BROKER === 'rabbitmq') {
    for (let i = 1; i <= runs; i++) {
      const rabbit = new RabbitNetnsCluster();
      try {
        await rabbit.start();
        const urls = rabbit.nodes.map((n) => n.url);
        if (name === 'rolling-restart') {
          output(i, await rollingRestart(urls, (n, mark) => rabbit.restart(n, mark), { rate }), 'rabbitmq');
          continue;
        }
        const fault: Fault =
          name === 'kill-leader'
            ? { inflict: async () => rabbit.kill9(0), heal: async () => undefined }
            : { inflict: async () => rabbit.setLink(0, false), heal: async () => rabbit.setLink(0, true) };
        output(i, await faultDrill(name, urls, fault, { cutMs, rate }), 'rabbitmq');
      } finally {
        await rabbit.destroy();
      }
    }
    return;
  }
  for (let i = 1; i <= runs; i++) {
    const cluster = new NetnsCluster({ env: { WARREN_LOG_LEVEL: process.env.DRILL_LOG_LEVEL ?? 'warn' }, serverJs: process.env.DRILL_SERVER_JS });
    try {
      await cluster.start();
      if (name === 'rolling-restart') {
        const restart: Restart = async (n, mark) => {
          await cluster.nodes[n].proc.kill('SIGTERM');
          mark(`n${n + 1} exited`);
          await cluster.restart(n);
        };
        output(i, await rollingRestart(cluster.nodes.map((n) => n.url), restart, { rate }));
        continue;
      }
      const fault: Fault =
        name === 'kill-leader'
          ? { inflict: () => cluster.kill9(0), heal: async () => undefined }
          : { inflict: async () => cluster.setLink(0, false), heal: async () => cluster.setLink(0, true) };
      const r = await faultDrill(name, cluster.nodes.map((n) => n.url), fault, { cutMs, rate });
      if (name === 'partition-one') r.report.healed = await healed(cluster, String(r.report.queue));
      output(i, r);
    } finally {
      // DRILL_NODE_LOGS=dir keeps each node's output (every start of it) for a look at what happened.
      const logs = process.env.DRILL_NODE_LOGS;
      if (logs) {
        mkdirSync(logs, { recursive: true });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        cluster.nodes.forEach((n, k) => writeFileSync(join(logs, `${name}-${stamp}-run${i}-n${k + 1}.log`), n.proc.output));
      }
      await cluster.destroy();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
