// Latency of the management API with many objects: declares QUEUES queues and opens CONNECTIONS connections
// (amqplib) on a broker, then times GET /api/queues?page=1&page_size=100 and GET /api/overview (median and p95
// of 30 requests each), and removes what it made.
//   node scripts/mgmt-latency.mjs AMQP_URL HTTP_URL [QUEUES=10000] [CONNECTIONS=1000]
import amqp from 'amqplib';
const [amqpUrl, httpUrl, queuesArg, connsArg] = process.argv.slice(2);
if (!amqpUrl || !httpUrl) {
  console.error('usage: node scripts/mgmt-latency.mjs AMQP_URL HTTP_URL [QUEUES] [CONNECTIONS]');
  process.exit(2);
}
const QUEUES = Number(queuesArg ?? 10000);
const CONNECTIONS = Number(connsArg ?? 1000);
const auth = 'Basic ' + Buffer.from('guest:guest').toString('base64');
const conn = await amqp.connect(amqpUrl);
const ch = await conn.createChannel();
for (let i = 0; i < QUEUES; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, QUEUES - i) }, (_, j) => ch.assertQueue(`lat.${i + j}`, { durable: false })));
}
const conns = [];
for (let i = 0; i < CONNECTIONS; i += 50) conns.push(...(await Promise.all(Array.from({ length: Math.min(50, CONNECTIONS - i) }, () => amqp.connect(amqpUrl)))));
await new Promise((r) => setTimeout(r, 6000));
async function time(path) {
  const ms = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const res = await fetch(httpUrl + path, { headers: { authorization: auth } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[15].toFixed(1), p95: ms[28].toFixed(1) };
}
const out = { queues: QUEUES, connections: CONNECTIONS, queuesPage: await time('/api/queues?page=1&page_size=100'), overview: await time('/api/overview'), connectionsPage: await time('/api/connections?page=1&page_size=100') };
console.log(JSON.stringify(out));
for (const c of conns) await c.close();
for (let i = 0; i < QUEUES; i += 500) await Promise.all(Array.from({ length: Math.min(500, QUEUES - i) }, (_, j) => ch.deleteQueue(`lat.${i + j}`)));
await conn.close();
