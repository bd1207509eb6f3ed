// Compares the chart samples (`*_details` with samples, avg, avg_rate) that Warren and a RabbitMQ 3.10 answer
// for one exchange, vhost, connection, channel, queue and the node after the same amqplib traffic: for each object, the
// `*_details` keys (top level and in message_stats) and the keys of each, side by side. Prints a markdown table.
//   node scripts/mgmt-samples-compare.mjs RABBITMQ_HTTP RABBITMQ_AMQP WARREN_HTTP WARREN_AMQP
//   e.g. http://127.0.0.1:15672 amqp://127.0.0.1:5672 http://127.0.0.1:25672 amqp://127.0.0.1:5673
import amqplib from 'amqplib';

const [rabbitHttp, rabbitAmqp, warrenHttp, warrenAmqp] = process.argv.slice(2);
if (!warrenAmqp) {
  console.error('usage: node scripts/mgmt-samples-compare.mjs RABBITMQ_HTTP RABBITMQ_AMQP WARREN_HTTP WARREN_AMQP');
  process.exit(2);
}
const auth = 'Basic ' + Buffer.from('guest:guest').toString('base64');
const get = async (base, path) => (await fetch(base + path, { headers: { authorization: auth } })).json();
const W = 'msg_rates_age=60&msg_rates_incr=5&lengths_age=60&lengths_incr=5&data_rates_age=60&data_rates_incr=5&node_stats_age=60&node_stats_incr=5';

async function traffic(url) {
  const conn = await amqplib.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('cmp.samples.x', 'fanout', { durable: false });
  await ch.assertQueue('cmp.samples.q', { durable: false });
  await ch.bindQueue('cmp.samples.q', 'cmp.samples.x', '');
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) ch.publish('cmp.samples.x', '', Buffer.alloc(100));
    await ch.waitForConfirms();
    await new Promise((r) => setTimeout(r, 2500));
  }
  const m = await ch.get('cmp.samples.q');
  if (m) ch.ack(m);
  await new Promise((r) => setTimeout(r, 6000));
  return conn;
}

/** `*_details` keys with samples, as "name: key,key" strings, message_stats ones prefixed. */
function shape(row) {
  const out = new Map();
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj ?? {})) if (k.endsWith('_details') && v && typeof v === 'object') out.set(prefix + k, Object.keys(v).sort().join(','));
  };
  walk(row, '');
  walk(row.message_stats, 'message_stats.');
  return out;
}

async function objects(base) {
  const conns = await get(base, '/api/connections');
  const c = conns.find((x) => x.client_properties?.product?.includes('amqplib'));
  const chans = await get(base, `/api/connections/${encodeURIComponent(c.name)}/channels`);
  return {
    exchange: await get(base, `/api/exchanges/%2F/cmp.samples.x?${W}`),
    vhost: await get(base, `/api/vhosts/%2F?${W}`),
    connection: await get(base, `/api/connections/${encodeURIComponent(c.name)}?${W}`),
    channel: await get(base, `/api/channels/${encodeURIComponent(chans[0].name)}?${W}`),
    queue: await get(base, `/api/queues/%2F/cmp.samples.q?${W}`),
    node: await get(base, `/api/nodes/${encodeURIComponent((await get(base, '/api/nodes'))[0].name)}?${W}`),
  };
}

const [rc, wc] = await Promise.all([traffic(rabbitAmqp), traffic(warrenAmqp)]);
const [r, w] = await Promise.all([objects(rabbitHttp), objects(warrenHttp)]);
console.log('| object | details field | RabbitMQ 3.10 | Warren |\n|---|---|---|---|');
for (const kind of Object.keys(r)) {
  const rs = shape(r[kind]);
  const ws = shape(w[kind]);
  for (const k of [...new Set([...rs.keys(), ...ws.keys()])].sort()) {
    const a = rs.get(k) ?? '—';
    const b = ws.get(k) ?? '—';
    console.log(`| ${kind} | ${k} | ${a} | ${a === b ? 'same' : b} |`);
  }
  const ra = r[kind].message_stats?.publish_details?.samples ?? r[kind].message_stats?.publish_in_details?.samples ?? r[kind].recv_oct_details?.samples ?? r[kind].messages_details?.samples ?? r[kind].mem_used_details?.samples ?? [];
  const wa = w[kind].message_stats?.publish_details?.samples ?? w[kind].message_stats?.publish_in_details?.samples ?? w[kind].recv_oct_details?.samples ?? w[kind].messages_details?.samples ?? w[kind].mem_used_details?.samples ?? [];
  console.log(`| ${kind} | (sample points, 60 s by 5 s) | ${ra.length} | ${wa.length} |`);
}
await Promise.all([rc.close(), wc.close()]);
