// One amqplib publisher -> one consumer, 16-byte bodies, autoack, through the default exchange.
// Usage: node bench/amqplib-1p1c.js AMQP_URL [SECONDS]   (run it against Warren and RabbitMQ in turn)
const amqp = require('amqplib');
const url = process.argv[2]; const secs = Number(process.argv[3] || 5);
(async () => {
  const pc = await amqp.connect(url); const cc = await amqp.connect(url);
  const pch = await pc.createChannel(); const cch = await cc.createChannel();
  const q = 'tp-' + Date.now();
  await pch.assertQueue(q, { autoDelete: false });
  let received = 0;
  await cch.consume(q, () => { received++; }, { noAck: true });
  const body = Buffer.alloc(16, 1);
  let sent = 0; const end = Date.now() + secs * 1000;
  while (Date.now() < end) {
    for (let i = 0; i < 500; i++) { if (!pch.sendToQueue(q, body)) { await new Promise(r => pch.once('drain', r)); } sent++; }
    await new Promise(r => setImmediate(r));
    // keep the queue from growing without bound
    while (sent - received > 20000) await new Promise(r => setTimeout(r, 1));
  }
  const t0 = Date.now(); while (received < sent && Date.now() - t0 < 10000) await new Promise(r => setTimeout(r, 10));
  const el = (Date.now() - end + secs * 1000) / 1000;
  console.log(JSON.stringify({ sent, received, msgsPerSec: Math.round(received / el) }));
  await pch.deleteQueue(q); await pc.close(); await cc.close();
})().catch(e => { console.error(e); process.exit(1); });
