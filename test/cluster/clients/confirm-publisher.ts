// A publisher with confirms (amqplib), run inside a node's namespace by the clustered-messaging
// suite: sends COUNT persistent, mandatory messages to QUEUE through the default exchange at
// RATE msgs/s with at most WINDOW unconfirmed, and sorts each message into acked, nacked,
// returned or unconfirmed (its channel closed first). Prints `progress ACKED NACKED` lines
// and, last, one JSON line with the ids of each kind. Exits by itself after DEADLINE_MS.
// Usage: node confirm-publisher.js URL QUEUE COUNT RATE WINDOW ID_PREFIX DEADLINE_MS
import * as amqp from 'amqplib';

async function main(): Promise<void> {
  const [url, queue, countArg, rateArg, windowArg, prefix, deadlineArg] = process.argv.slice(2);
  const count = Number(countArg);
  const rate = Number(rateArg);
  const window = Number(windowArg);
  const deadline = Date.now() + Number(deadlineArg);
  const acked: string[] = [];
  const nacked: string[] = [];
  const returned: string[] = [];
  const lost: string[] = [];
  const pending = new Set<string>();
  let error = '';
  const conn = await amqp.connect(url);
  conn.on('error', (e: Error) => (error ||= `connection: ${e.message}`));
  const ch = await conn.createConfirmChannel();
  ch.on('error', (e: Error) => (error ||= `channel: ${e.message}`));
  ch.on('return', (m: amqp.ConsumeMessage) => returned.push(String(m.properties.messageId)));
  const started = Date.now();
  let sent = 0;
  const progress = setInterval(() => console.log(`progress ${acked.length} ${nacked.length}`), 100);
  while (sent < count && Date.now() < deadline && error === '') {
    const due = started + (sent * 1000) / rate;
    if (pending.size >= window || Date.now() < due) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, due - Date.now()))));
      continue;
    }
    const id = `${prefix}-${sent}`;
    pending.add(id);
    sent++;
    ch.publish('', queue, Buffer.from(id), { persistent: true, mandatory: true, messageId: id }, (err: Error | null) => {
      pending.delete(id);
      if (err === null) acked.push(id);
      else if (err.message === 'message nacked') nacked.push(id);
      else lost.push(id);
    });
  }
  while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(progress);
  const unconfirmed = [...pending, ...lost];
  await conn.close().catch(() => undefined);
  console.log(JSON.stringify({ sent, acked, nacked, returned, unconfirmed, error }));
}

main().catch((err: Error) => {
  console.log(JSON.stringify({ fatal: err.message }));
  process.exit(1);
});
