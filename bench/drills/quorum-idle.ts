// Idle cost of many quorum queues: declares N three-member quorum queues, then reads each
// node's CPU time over 10 s of idleness (/proc/<pid>/stat), as % of one core.
//   npx tsc -p . && node dist/bench/drills/quorum-idle.js [queues=300]
import { readFileSync } from 'node:fs';
import * as amqp from 'amqplib';
import { NetnsCluster } from '../../test/cluster/netns-cluster';

const n = Number(process.argv[2] ?? 300);
const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

async function main(): Promise<void> {
  const cluster = new NetnsCluster({ env: { WARREN_LOG_LEVEL: 'warn', ...(process.env.WARREN_QUORUM_TICK_MS ? { WARREN_QUORUM_TICK_MS: process.env.WARREN_QUORUM_TICK_MS } : {}) } });
  try {
    await cluster.start();
    const c = await amqp.connect(cluster.nodes[0].url);
    const ch = await c.createChannel();
    for (let i = 0; i < n; i++) await ch.assertQueue(`idle.${i}`, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-queue-leader-locator': 'balanced' } });
    await c.close();
    await new Promise((r) => setTimeout(r, 3000));
    const pids = cluster.nodes.map((_, i) => cluster.pid(i));
    const before = pids.map(cpuTicks);
    await new Promise((r) => setTimeout(r, 10_000));
    const after = pids.map(cpuTicks);
    console.log(JSON.stringify({ queues: n, cpuPercentPerNode: after.map((a, i) => Math.round((a - before[i]) / 10)) }));
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
