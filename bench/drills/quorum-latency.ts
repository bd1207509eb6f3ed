// Round trip of one confirmed persistent publish into a three-member quorum queue (one in
// flight), publisher on a follower's node and on the leader's; a classic queue beside it.
//   npx tsc -p . && node dist/bench/drills/quorum-latency.js [count=200]
import * as amqp from 'amqplib';
import { NetnsCluster } from '../../test/cluster/netns-cluster';

const count = Number(process.argv[2] ?? 200);

async function rtt(url: string, queue: string): Promise<{ p50: number; p99: number }> {
  const c = await amqp.connect(url);
  const ch = await c.createConfirmChannel();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => ch.sendToQueue(queue, Buffer.alloc(64), { persistent: true }, (err) => (err ? reject(err) : resolve())));
    times.push(performance.now() - t0);
  }
  await c.close();
  times.sort((a, b) => a - b);
  return { p50: Number(times[Math.floor(count / 2)].toFixed(2)), p99: Number(times[Math.floor(count * 0.99)].toFixed(2)) };
}

async function main(): Promise<void> {
  const cluster = new NetnsCluster({ env: { WARREN_LOG_LEVEL: 'warn' } });
  try {
    await cluster.start();
    const [n1, n2] = cluster.nodes.map((n) => n.url);
    const c = await amqp.connect(n1);
    const ch = await c.createChannel();
    for (const type of ['quorum', 'classic']) {
      await ch.assertQueue(`lat.${type}`, { durable: true, arguments: { 'x-queue-type': type } });
      console.log(JSON.stringify({ type, publisher: 'follower node', ...(await rtt(n2, `lat.${type}`)) }));
      console.log(JSON.stringify({ type, publisher: 'leader node', ...(await rtt(n1, `lat.${type}`)) }));
    }
    await c.close();
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
