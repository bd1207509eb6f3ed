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
];
const endpoints = [
  ['GET', '/api/overview'], ['GET', '/api/cluster-name'], ['GET', '/api/nodes'], ['GET', '/api/whoami'], ['GET', '/api/vhosts'], ['GET', '/api/vhosts/%2F'],
  ['GET', '/api/users'], ['GET', '/api/users/guest'], ['GET', '/api/permissions'], ['GET', '/api/permissions/%2F/guest'], ['GET', '/api/exchanges'],
  ['GET', '/api/exchanges/%2F/cmp.x'], ['GET', '/api/exchanges/%2F/cmp.x/bindings/source'], ['GET', '/api/queues'], ['GET', '/api/queues/%2F/cmp.q'],
  ['GET', '/api/queues/%2F/cmp.q/bindings'], ['GET', '/api/queues?page=1&page_size=1'], ['GET', '/api/queues?page=9'], ['GET', '/api/bindings'],
  ['GET', '/api/bindings/%2F/e/cmp.x/q/cmp.q'], ['GET', '/api/connections'], ['GET', '/api/channels'], ['GET', '/api/consumers'], ['GET', '/api/policies'],
  ['GET', '/api/definitions'], ['GET', '/api/aliveness-test/%2F'], ['GET', '/api/healthchecks/node'], ['GET', '/api/health/checks/alarms'],
  ['GET', '/api/health/checks/local-alarms'], ['GET', '/api/queues/%2F/nope'], ['PUT', '/api/queues/%2F/cmp.q', { durable: false }],
  ['POST', '/api/queues/%2F/cmp.q/get', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }], ['DELETE', '/api/queues/%2F/cmp.q/contents'],
];
const keys = (j) => {
  const o = Array.isArray(j) ? j[0] : j && Array.isArray(j.items) ? j.items[0] : j;
  return o && typeof o === 'object' ? Object.keys(o).sort() : [];
};
for (const [m, p, b] of setup) for (const base of [rabbit, warren]) await call(base, m, p, b);
await new Promise((r) => setTimeout(r, 6000));
console.log('| endpoint | RabbitMQ | Warren | keys only in RabbitMQ | keys only in Warren |\n|---|---|---|---|---|');
for (const [m, p, b] of endpoints) {
  const [r, w] = await Promise.all([call(rabbit, m, p, b), call(warren, m, p, b)]);
  const kr = keys(r.json), kw = keys(w.json);
  const onlyR = kr.filter((k) => !kw.includes(k)), onlyW = kw.filter((k) => !kr.includes(k));
  console.log(`| ${m} ${p} | ${r.status} | ${w.status} | ${onlyR.join(', ')} | ${onlyW.join(', ')} |`);
}
for (const base of [rabbit, warren]) {
  await call(base, 'DELETE', '/api/queues/%2F/cmp.q');
  await call(base, 'DELETE', '/api/exchanges/%2F/cmp.x');
  await call(base, 'DELETE', '/api/policies/%2F/cmp.p');
}
