// Compares the management API of Warren with a RabbitMQ (3.10 with rabbitmq_management) on the same requests:
// same objects are set up on both, then for each endpoint the status code and the top-level keys of the answer
// (of the first item for lists) are compared. Prints a markdown table for src/mgmt/README.md.
//   node scripts/mgmt-compare.mjs http://127.0.0.1:15672 http://127.0.0.1:25672   (RabbitMQ first, then Warren)
const [rabbit, warren] = process.argv.slice(2);
if (!rabbit || !warren) {
  console.error('usage: node scripts/mgmt-compare.mjs RABBITMQ_URL WARREN_URL');
  process.exit(2);
}
const auth = 'Basic ' + Buffer.from('guest:guest').toString('base64');
async function call(base, method, path, body) {
  const res = await fetch(base + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, json };
}
const setup = [
  ['PUT', '/api/queues/%2F/cmp.q', { durable: true }],
  ['PUT', '/api/exchanges/%2F/cmp.x', { type: 'topic' }],
  ['POST', '/api/bindings/%2F/e/cmp.x/q/cmp.q', { routing_key: 'a.#' }],
  ['POST', '/api/exchanges/%2F/cmp.x/publish', { properties: {}, routing_key: 'a.b', payload: 'hi', payload_encoding: 'string' }],
  ['PUT', '/api/policies/%2F/cmp.p', { pattern: '^cmp\\.none$', definition: { 'max-length': 1 } }],
  ['PUT', '/api/queues/%2F/cmp.q2', { durable: true }],
  ['PUT', '/api/vhosts/cmp.v'],
  ['PUT', '/api/users/cmp.u', { password: 'cmp', tags: '' }],
  ['PUT', '/api/permissions/%2F/cmp.u', { configure: '.*', write: '.*', read: '.*' }],
  ['PUT', '/api/vhost-limits/cmp.v/max-connections', { value: 10 }],
  ['PUT', '/api/user-limits/cmp.u/max-connections', { value: 3 }],
  ['PUT', '/api/topic-permissions/%2F/cmp.u', { exchange: 'amq.topic', write: '^a', read: '.*' }],
];
const endpoints = [
  ['GET', '/api/overview'], ['GET', '/api/cluster-name'], ['GET', '/api/nodes'], ['GET', '/api/whoami'], ['GET', '/api/vhosts'], ['GET', '/api/vhosts/%2F'],
  ['GET', '/api/users'], ['GET', '/api/users/guest'], ['GET', '/api/permissions'], ['GET', '/api/permissions/%2F/guest'], ['GET', '/api/exchanges'],
  ['GET', '/api/exchanges/%2F/cmp.x'], ['GET', '/api/exchanges/%2F/cmp.x/bindings/source'], ['GET', '/api/queues'], ['GET', '/api/queues/%2F/cmp.q'],
  ['GET', '/api/queues/%2F/cmp.q/bindings'], ['GET', '/api/queues?page=1&page_size=1'], ['GET', '/api/queues?page=9'], ['GET', '/api/bindings'],
  ['GET', '/api/bindings/%2F/e/cmp.x/q/cmp.q'], ['GET', '/api/connections'], ['GET', '/api/channels'], ['GET', '/api/consumers'], ['GET', '/api/policies'],
  ['GET', '/api/definitions'], ['GET', '/api/aliveness-test/%2F'], ['GET', '/api/healthchecks/node'], ['GET', '/api/health/checks/alarms'],
  ['GET', '/api/health/checks/local-alarms'], ['GET', '/api/queues/%2F/nope'], ['PUT', '/api/queues/%2F/cmp.q', { durable: false }],
  ['POST', '/api/queues/%2F/cmp.q/get', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }],
  ['GET', '/api/queues/%2F/cmp.q?lengths_age=60&lengths_incr=5&msg_rates_age=60&msg_rates_incr=5', undefined, 'messages_ready_details'],
  ['GET', '/api/vhost-limits'], ['GET', '/api/vhost-limits/cmp.v'], ['PUT', '/api/vhost-limits/cmp.v/max-queues', { value: 5 }],
  ['PUT', '/api/vhost-limits/cmp.v/bogus', { value: 5 }], ['PUT', '/api/vhost-limits/cmp.v/max-queues', { value: 'x' }], ['PUT', '/api/vhost-limits/cmp.none/max-queues', { value: 5 }],
  ['DELETE', '/api/vhost-limits/cmp.v/max-queues'], ['GET', '/api/parameters/vhost-limits'],
  ['GET', '/api/user-limits'], ['GET', '/api/user-limits/cmp.u'], ['PUT', '/api/user-limits/cmp.u/max-channels', { value: 5 }], ['PUT', '/api/user-limits/cmp.u/bogus', { value: 5 }],
  ['GET', '/api/user-limits/cmp.none'], ['DELETE', '/api/user-limits/cmp.u/max-channels'], ['GET', '/api/users/cmp.u'],
  ['GET', '/api/topic-permissions'], ['GET', '/api/topic-permissions/%2F/cmp.u'], ['GET', '/api/users/cmp.u/topic-permissions'], ['GET', '/api/vhosts/%2F/topic-permissions'],
  ['PUT', '/api/topic-permissions/%2F/cmp.u', { exchange: 'x', write: '.*', read: '.*' }], ['PUT', '/api/topic-permissions/%2F/cmp.u', { write: '.*', read: '.*' }],
  ['PUT', '/api/topic-permissions/%2F/cmp.none', { exchange: 'x', write: '.*', read: '.*' }], ['GET', '/api/topic-permissions/%2F/guest'],
  ['DELETE', '/api/topic-permissions/%2F/cmp.u'], ['DELETE', '/api/topic-permissions/%2F/cmp.u'],
  ['PUT', '/api/cluster-name', { name: 'cmp-cluster' }], ['GET', '/api/global-parameters/cluster_name'], ['PUT', '/api/global-parameters/cmp.g', { value: { a: 1 } }],
  ['GET', '/api/global-parameters/cmp.g'], ['DELETE', '/api/global-parameters/cmp.g'], ['GET', '/api/global-parameters/cmp.g'],
  ['PUT', '/api/parameters/shovel/%2F/cmp.move', { value: { 'src-uri': 'amqp:///%2F', 'src-queue': 'cmp.q', 'src-protocol': 'amqp091', 'src-prefetch-count': 1000, 'src-delete-after': 'queue-length', 'dest-protocol': 'amqp091', 'dest-uri': 'amqp:///%2F', 'dest-add-forward-headers': false, 'ack-mode': 'on-confirm', 'dest-queue': 'cmp.q2' } }],
  ['GET', '/api/queues/%2F/cmp.q2', undefined, undefined, 1500], ['GET', '/api/parameters/shovel'], ['GET', '/api/shovels'],
  ['DELETE', '/api/queues/%2F/cmp.q/contents'],
];
const keys = (j, sub) => {
  let o = Array.isArray(j) ? j[0] : j && Array.isArray(j.items) ? j.items[0] : j;
  if (sub && o && typeof o === 'object') o = o[sub];
  return o && typeof o === 'object' ? Object.keys(o).sort() : [];
};
for (const [m, p, b] of setup) for (const base of [rabbit, warren]) await call(base, m, p, b);
await new Promise((r) => setTimeout(r, 6000));
console.log('| endpoint | RabbitMQ | Warren | keys only in RabbitMQ | keys only in Warren |\n|---|---|---|---|---|');
for (const [m, p, b, sub, waitMs] of endpoints) {
  if (waitMs) await new Promise((r) => setTimeout(r, waitMs));
  const [r, w] = await Promise.all([call(rabbit, m, p, b), call(warren, m, p, b)]);
  const kr = keys(r.json, sub), kw = keys(w.json, sub);
  if (process.env.SHOW) console.error(m, p, JSON.stringify(r.json)?.slice(0, 300), '\n   ', JSON.stringify(w.json)?.slice(0, 300));
  const onlyR = kr.filter((k) => !kw.includes(k)), onlyW = kw.filter((k) => !kr.includes(k));
  console.log(`| ${m} ${p}${sub ? ` (${sub})` : ''} | ${r.status} | ${w.status} | ${onlyR.join(', ')} | ${onlyW.join(', ')} |`);
}
for (const base of [rabbit, warren]) {
  await call(base, 'DELETE', '/api/queues/%2F/cmp.q');
  await call(base, 'DELETE', '/api/exchanges/%2F/cmp.x');
  await call(base, 'DELETE', '/api/policies/%2F/cmp.p');
  await call(base, 'DELETE', '/api/queues/%2F/cmp.q2');
  await call(base, 'DELETE', '/api/vhosts/cmp.v');
  await call(base, 'DELETE', '/api/users/cmp.u');
}
