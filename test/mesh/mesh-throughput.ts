/**
 * Throughput of Mesh.send() between two processes on 127.0.0.1: this process sends
 * fire-and-forget messages to a forked mesh-child.ts, which counts them; a final request
 * on the same peer (frames to one peer are written in order) returns the count.
 *
 *   npx tsc -p . && node dist/test/mesh/mesh-throughput.js [messages=1000000] [payloadBytes=100]
 */
import { once } from 'node:events';
import { freePort } from '../helpers/free-port';
import { ChildNode, startMesh } from './helpers/child-node';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1_000_000);
  const payloadBytes = Number(process.argv[3] ?? 100);
  const secret = 'bench-secret';
  const sender = await startMesh('warren@a', { secret, tickMs: 4000 });
  const receiver = new ChildNode('warren@b', await freePort(), secret, 4000);
  await receiver.start([{ name: sender.nodeName, host: '127.0.0.1', port: sender.port }]);
  await sender.whenUp(receiver.name, 5000);

  const payload = Buffer.alloc(payloadBytes, 0x61);
  const run = async (n: number): Promise<number> => {
    const before = Number((await sender.request(receiver.name, 'bench-count', Buffer.alloc(0), 60_000)).toString());
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (!sender.send(receiver.name, 'bench', payload)) await once(sender, 'drain');
    }
    const total = Number((await sender.request(receiver.name, 'bench-count', Buffer.alloc(0), 60_000)).toString());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (total - before !== n) throw new Error(`receiver counted ${total - before} of ${n}`);
    return n / seconds;
  };

  await run(Math.min(100_000, count)); // warm-up
  const rate = await run(count);
  console.log(JSON.stringify({ messages: count, payloadBytes, messagesPerSecond: Math.round(rate), megabytesPerSecond: +((rate * payloadBytes) / 1e6).toFixed(1) }));

  // Request/response round trips, 100 in flight.
  const requests = 50_000;
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < requests) await sender.request(receiver.name, 'echo', payload, 10_000);
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ requests, inFlight: 100, requestsPerSecond: Math.round(requests / seconds) }));

  await receiver.stop();
  await sender.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
