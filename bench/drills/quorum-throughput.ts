// Confirmed persistent throughput into one three-member quorum queue (issue 10's benchmark
// layout): the queue's leader on n1, the publisher (100 confirms in flight) on n2 and the
// consumer (prefetch 100, acking each) on n3, or both on the leader; a classic queue homed
// on n1 beside it for comparison. Three network namespaces (root), 10 s per case.
//   npx tsc -p . && node dist/bench/drills/quorum-throughput.js [seconds=10]
import * as amqp from 'amqplib';
import { NetnsCluster } from '../../test/cluster/netns-cluster';

const seconds = Number(process.argv[2] ?? 10);

async function measure(pubUrl: string, subUrl: string, queue: string, bodyBytes: number): Promise<number> {
  const sub = await amqp.connect(subUrl);
  const sc = await sub.createChannel();
  await sc.prefetch(100);
  let consumed = 0;
  await sc.consume(queue, (m) => {
    if (!m) return;
    consumed++;
    sc.ack(m);
  });
  const pub = await amqp.connect(pubUrl);
  const pc = await pub.createConfirmChannel();
  const body = Buffer.alloc(bodyBytes, 1);
  let stop = false;
  const publishOne = (): void => {
    if (stop) return;
    pc.sendToQueue(queue, body, { persistent: true }, () => publishOne());
  };
  for (let i = 0; i < Number(process.env.QT_WINDOW ?? 100); i++) publishOne();
  await new Promise((r) => setTimeout(r, 2000));
  const start = consumed;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = ((consumed - start) * 1000) / (Date.now() - t0);
  stop = true;
  await pc.waitForConfirms().catch(() => undefined);
  await pub.close();
  await sub.close();
  return Math.round(rate);
}

async function main(): Promise<void> {
  // QT_PROFILE_DIR=hook.cjs: a module the nodes preload (e.g. one writing a CPU profile at exit); stopped gracefully at the end.
  const profileDir = process.env.QT_PROFILE_DIR;
  const only = process.env.QT_ONLY; // e.g. quorum.1024: one case only
  const cluster = new NetnsCluster({ env: { WARREN_LOG_LEVEL: 'warn', ...(profileDir ? { NODE_OPTIONS: `--require ${profileDir}` } : {}) } });
  try {
    await cluster.start();
    const [n1, n2, n3] = cluster.nodes.map((n) => n.url);
    const c = await amqp.connect(n1);
    const ch = await c.createChannel();
    const results: Record<string, unknown>[] = [];
    for (const bodyBytes of [1024, 16]) {
      for (const type of ['quorum', 'classic']) {
        if (only && only !== `${type}.${bodyBytes}`) continue;
        const q = `tp.${type}.${bodyBytes}`;
        await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': type } });
        results.push({ type, bodyBytes, layout: 'leader n1, publisher n2, consumer n3', msgsPerSec: await measure(n2, n3, q, bodyBytes) });
        await ch.purgeQueue(q);
        results.push({ type, bodyBytes, layout: 'publisher and consumer on the leader', msgsPerSec: await measure(n1, n1, q, bodyBytes) });
        await ch.purgeQueue(q);
      }
    }
    await c.close();
    for (const r of results) console.log(JSON.stringify(r));
    if (profileDir) for (const n of cluster.nodes) await n.proc.kill('SIGTERM');
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
