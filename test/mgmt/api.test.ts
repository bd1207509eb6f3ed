// The management HTTP API against a real broker: auth and tags, queues/exchanges/bindings through the
// MetadataStore, messages (publish, get, purge), connections closed with X-Reason, lists with RabbitMQ's
// paging/sorting/filtering, definitions, policies and health checks. Checked against amqplib clients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName, waitFor, sleep } from '../helpers/amqp-test';
import { api, enc, mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture();

describe('management API: authentication and tags', () => {
  it('asks for Basic credentials, refuses bad ones and users without a management tag', async () => {
    const none = await api(m(), 'GET', '/api/overview', { auth: null });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /Basic realm="RabbitMQ Management"/);
    assert.equal((await api(m(), 'GET', '/api/overview', { auth: 'guest:wrong' })).status, 401);
    assert.equal((await api(m(), 'PUT', '/api/users/plain', { body: { password: 'p', tags: '' } })).status, 201);
    const plain = await api(m(), 'GET', '/api/overview', { auth: 'plain:p' });
    assert.equal(plain.status, 401);
    assert.equal(plain.json.reason, 'Not management user');
    const who = await api(m(), 'GET', '/api/whoami');
    assert.deepEqual(who.json, { name: 'guest', tags: ['administrator'], is_internal_user: true });
  });

  it('a management user sees only vhosts it has permissions in and cannot administer', async () => {
    const vhost = uniqueName('vh');
    assert.equal((await api(m(), 'PUT', `/api/vhosts/${enc(vhost)}`)).status, 201);
    assert.equal((await api(m(), 'PUT', `/api/vhosts/${enc(vhost)}`)).status, 204);
    assert.equal((await api(m(), 'PUT', '/api/users/mgr', { body: { password: 'pw', tags: ['management'] } })).status, 201);
    assert.equal((await api(m(), 'PUT', `/api/permissions/${enc(vhost)}/mgr`, { body: { configure: '^mine', write: '.*', read: '.*' } })).status, 201);
    const vhosts = await api(m(), 'GET', '/api/vhosts', { auth: 'mgr:pw' });
    assert.deepEqual(vhosts.json.map((v: any) => v.name), [vhost]);
    assert.equal((await api(m(), 'GET', '/api/users', { auth: 'mgr:pw' })).status, 401);
    assert.equal((await api(m(), 'GET', '/api/queues/%2F', { auth: 'mgr:pw' })).status, 404);
    // configure permission decides which queues it may declare
    assert.equal((await api(m(), 'PUT', `/api/queues/${enc(vhost)}/mine.q`, { auth: 'mgr:pw', body: {} })).status, 201);
    assert.equal((await api(m(), 'PUT', `/api/queues/${enc(vhost)}/other.q`, { auth: 'mgr:pw', body: {} })).status, 401);
    assert.equal((await api(m(), 'DELETE', `/api/permissions/${enc(vhost)}/mgr`)).status, 204);
    assert.equal((await api(m(), 'GET', `/api/permissions/${enc(vhost)}/mgr`)).status, 404);
    assert.equal((await api(m(), 'DELETE', `/api/vhosts/${enc(vhost)}`)).status, 204);
  });
});

describe('management API: queues, exchanges, bindings, messages', () => {
  it('declares a queue (201, then 204), refuses an inequivalent one (400) and deletes it', async () => {
    const q = uniqueName('q');
    assert.equal((await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: true, arguments: { 'x-max-length': 10 } } })).status, 201);
    assert.equal((await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: true, arguments: { 'x-max-length': 10 } } })).status, 204);
    const bad = await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: false } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.reason, /inequivalent arg 'durable'/);
    const one = await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`);
    assert.equal(one.json.name, q);
    assert.equal(one.json.arguments['x-max-length'], 10);
    // an amqplib client sees the same queue
    const ch = await (await clients.connect()).createChannel();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal((await api(m(), 'DELETE', `/api/queues/%2F/${enc(q)}`)).status, 204);
    assert.equal((await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).status, 404);
    assert.deepEqual((await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json, { error: 'Object Not Found', reason: 'Not Found' });
  });

  it('publishes through an exchange, gets with each ack mode and purges', async () => {
    const ex = uniqueName('ex');
    const q = uniqueName('q');
    assert.equal((await api(m(), 'PUT', `/api/exchanges/%2F/${enc(ex)}`, { body: { type: 'topic', durable: false } })).status, 201);
    await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: false } });
    const bound = await api(m(), 'POST', `/api/bindings/%2F/e/${enc(ex)}/q/${enc(q)}`, { body: { routing_key: 'a.#', arguments: {} } });
    assert.equal(bound.status, 201);
    // the properties key (a.%23) percent-encoded again as a path segment, as RabbitMQ writes it
    assert.equal(bound.headers.get('location'), `/api/bindings/%2F/e/${enc(ex)}/q/${enc(q)}/a.%2523`);
    const pub = (rk: string, payload: string, extra: object = {}) =>
      api(m(), 'POST', `/api/exchanges/%2F/${enc(ex)}/publish`, { body: { properties: { delivery_mode: 2, headers: { h: 1 }, ...extra }, routing_key: rk, payload, payload_encoding: 'string' } });
    assert.deepEqual((await pub('a.b', 'one')).json, { routed: true });
    assert.deepEqual((await pub('x.y', 'lost')).json, { routed: false });
    await pub('a.c', 'two', { content_type: 'text/plain' });
    const bin = await api(m(), 'POST', `/api/exchanges/%2F/${enc(ex)}/publish`, { body: { properties: {}, routing_key: 'a.d', payload: Buffer.from([0xff, 0xfe]).toString('base64'), payload_encoding: 'base64' } });
    assert.deepEqual(bin.json, { routed: true });
    const get = (count: number, ackmode: string) => api(m(), 'POST', `/api/queues/%2F/${enc(q)}/get`, { body: { count, ackmode, encoding: 'auto', truncate: 50000 } });
    const peek = await get(2, 'ack_requeue_true');
    assert.equal(peek.status, 200);
    assert.deepEqual(peek.json.map((x: any) => x.payload), ['one', 'two']);
    assert.equal(peek.json[0].properties.delivery_mode, 2);
    assert.deepEqual(peek.json[0].properties.headers, { h: 1 });
    assert.equal(peek.json[0].message_count, 2);
    assert.equal(peek.json[1].properties.content_type, 'text/plain');
    const again = await get(1, 'ack_requeue_false');
    assert.equal(again.json[0].payload, 'one');
    assert.equal(again.json[0].redelivered, true);
    const rest = (await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json;
    assert.equal(rest.messages, 2);
    const raw = await get(5, 'reject_requeue_true');
    assert.equal(raw.json[1].payload_encoding, 'base64');
    assert.equal(raw.json[1].payload, Buffer.from([0xff, 0xfe]).toString('base64'));
    // an amqplib consumer receives what the API published
    const ch = await (await clients.connect()).createChannel();
    const msg = await waitFor(() => ch.get(q, { noAck: false }));
    assert.equal(msg.content.toString(), 'two');
    assert.equal(msg.properties.contentType, 'text/plain');
    ch.nack(msg, false, true);
    await sleep(50);
    assert.equal((await api(m(), 'DELETE', `/api/queues/%2F/${enc(q)}/contents`)).status, 204);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.deepEqual((await get(1, 'ack_requeue_true')).json, []);
    const badGet = await api(m(), 'POST', `/api/queues/%2F/${enc(q)}/get`, { body: { count: 1, ackmode: 'nope', encoding: 'auto' } });
    assert.equal(badGet.status, 400);
  });

  it('lists, reads and deletes bindings in all four shapes, with the implicit default binding', async () => {
    const src = uniqueName('src');
    const dst = uniqueName('dst');
    const q = uniqueName('q');
    await api(m(), 'PUT', `/api/exchanges/%2F/${enc(src)}`, { body: { type: 'direct' } });
    await api(m(), 'PUT', `/api/exchanges/%2F/${enc(dst)}`, { body: { type: 'fanout' } });
    await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: {} });
    assert.equal((await api(m(), 'POST', `/api/bindings/%2F/e/${enc(src)}/e/${enc(dst)}`, { body: { routing_key: 'k~1' } })).status, 201);
    assert.equal((await api(m(), 'POST', `/api/bindings/%2F/e/${enc(src)}/q/${enc(q)}`, { body: { routing_key: '', arguments: { x: 'y' } } })).status, 201);
    const e2e = (await api(m(), 'GET', `/api/bindings/%2F/e/${enc(src)}/e/${enc(dst)}`)).json;
    assert.equal(e2e.length, 1);
    assert.equal(e2e[0].properties_key, 'k%7E1');
    assert.equal(e2e[0].destination_type, 'exchange');
    const qb = (await api(m(), 'GET', `/api/queues/%2F/${enc(q)}/bindings`)).json;
    assert.deepEqual(qb.map((b: any) => b.source), ['', src]);
    const props = qb[1].properties_key;
    assert.match(props, /^~/);
    assert.equal((await api(m(), 'GET', `/api/bindings/%2F/e/${enc(src)}/q/${enc(q)}/${enc(props)}`)).json.arguments.x, 'y');
    assert.equal((await api(m(), 'GET', `/api/exchanges/%2F/${enc(src)}/bindings/source`)).json.length, 2);
    assert.equal((await api(m(), 'GET', `/api/exchanges/%2F/${enc(dst)}/bindings/destination`)).json.length, 1);
    const all = (await api(m(), 'GET', '/api/bindings/%2F')).json;
    assert.ok(all.some((b: any) => b.source === '' && b.destination === q));
    assert.equal((await api(m(), 'DELETE', `/api/bindings/%2F/e/${enc(src)}/q/${enc(q)}/${enc(props)}`)).status, 204);
    assert.equal((await api(m(), 'DELETE', `/api/bindings/%2F/e/${enc(src)}/e/${enc(dst)}/k%257E1`)).status, 204);
    assert.equal((await api(m(), 'GET', `/api/exchanges/%2F/${enc(src)}/bindings/source`)).json.length, 0);
    assert.equal((await api(m(), 'DELETE', '/api/exchanges/%2F/amq.direct')).status, 403);
    assert.equal((await api(m(), 'GET', '/api/exchanges/%2F/amq.default')).json.name, '');
  });

  it('pages, filters, sorts and selects columns as RabbitMQ does', async () => {
    const prefix = uniqueName('page');
    for (const i of [3, 1, 4, 2, 5]) await api(m(), 'PUT', `/api/queues/%2F/${enc(`${prefix}.${i}`)}`, { body: { durable: false } });
    const page = await api(m(), 'GET', `/api/queues/%2F?page=2&page_size=2&name=${enc(prefix)}`);
    assert.equal(page.status, 200);
    assert.equal(page.json.filtered_count, 5);
    assert.equal(page.json.page, 2);
    assert.equal(page.json.page_count, 3);
    assert.equal(page.json.item_count, 2);
    assert.deepEqual(page.json.items.map((q: any) => q.name), [`${prefix}.3`, `${prefix}.4`]);
    assert.ok(page.json.total_count >= 5);
    const rev = await api(m(), 'GET', `/api/queues/%2F?page=1&page_size=500&name=${enc(prefix)}&sort=name&sort_reverse=true&columns=name,vhost`);
    assert.deepEqual(rev.json.items[0], { name: `${prefix}.5`, vhost: '/' });
    const re = await api(m(), 'GET', `/api/queues?page=1&name=${enc(prefix.replace(/\./g, '\\.'))}\\.[12]$&use_regex=true`);
    assert.deepEqual(re.json.items.map((q: any) => q.name), [`${prefix}.1`, `${prefix}.2`]);
    const out = await api(m(), 'GET', `/api/queues?page=99&name=${enc(prefix)}`);
    assert.equal(out.status, 400);
    assert.equal(out.json.error, 'page_out_of_range');
    assert.equal((await api(m(), 'GET', '/api/queues?page=1&page_size=501')).status, 400);
    const totals = await api(m(), 'GET', '/api/queues?disable_stats=true&enable_queue_totals=true');
    assert.ok(!('message_stats' in totals.json[0]) && 'messages' in totals.json[0]);
  });
});

describe('management API: connections, channels, consumers', () => {
  it('lists a client connection with its channel and consumer, and closes it with the X-Reason text', async () => {
    const conn = await clients.connect({ query: 'heartbeat=0' });
    const ch = await conn.createChannel();
    const q = uniqueName('cq');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(7);
    await ch.consume(q, () => {}, { consumerTag: 'ctag-1' });
    const mine = await waitFor(async () => (await api(m(), 'GET', '/api/connections')).json.find((c: any) => c.channels === 1 && c.user === 'guest' && c.peer_port === (conn.connection as any).stream.localPort));
    assert.equal(mine.protocol, 'AMQP 0-9-1');
    assert.equal(mine.state, 'running');
    assert.equal(mine.vhost, '/');
    assert.equal(mine.client_properties.product, 'amqplib');
    const one = await api(m(), 'GET', `/api/connections/${enc(mine.name)}`);
    assert.equal(one.json.name, mine.name);
    const chans = (await api(m(), 'GET', `/api/connections/${enc(mine.name)}/channels`)).json;
    assert.equal(chans.length, 1);
    assert.equal(chans[0].name, `${mine.name} (1)`);
    assert.equal(chans[0].consumer_count, 1);
    const consumers = (await api(m(), 'GET', '/api/consumers/%2F')).json.filter((c: any) => c.queue.name === q);
    assert.equal(consumers.length, 1);
    assert.equal(consumers[0].consumer_tag, 'ctag-1');
    assert.equal(consumers[0].prefetch_count, 7);
    assert.equal(consumers[0].channel_details.connection_name, mine.name);
    const queue = (await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json;
    assert.equal(queue.owner_pid_details.name, mine.name);
    assert.equal(queue.consumer_details.length, 1);
    // amqplib reports a 320 from the server as the close event's error
    const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
    const del = await api(m(), 'DELETE', `/api/connections/${enc(mine.name)}`, { headers: { 'X-Reason': 'maintenance window' } });
    assert.equal(del.status, 204);
    const err = await closed;
    assert.match(err.message, /320/);
    assert.match(err.message, /CONNECTION_FORCED - maintenance window/);
    await waitFor(async () => (await api(m(), 'GET', `/api/connections/${enc(mine.name)}`)).status === 404);
    // the exclusive queue went with its connection
    await waitFor(async () => (await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).status === 404);
    assert.equal((await api(m(), 'DELETE', '/api/connections/nope')).status, 404);
  });
});

describe('management API: statistics', () => {
  it('counts publishes, deliveries, gets and acks with rates on the queue, channel, vhost and overview', async () => {
    const q = uniqueName('stats');
    const conn = await clients.connect();
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 50; i++) ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    ch.publish('', `${q}.none`, Buffer.from('lost'), { mandatory: true });
    for (let i = 0; i < 5; i++) {
      const msg = await waitFor(() => ch.get(q));
      ch.ack(msg);
    }
    await ch.get(`${q}`, { noAck: true });
    const stats = await waitFor(async () => {
      const s = (await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json.message_stats;
      return s?.publish === 50 && s?.ack === 5 && s;
    });
    assert.equal(stats.get, 5);
    assert.equal(stats.get_no_ack, 1);
    assert.equal(stats.deliver_get, 6);
    assert.ok(stats.publish_details.rate >= 0);
    const channel = await waitFor(async () => (await api(m(), 'GET', '/api/channels')).json.find((c: any) => c.message_stats?.publish === 51 && c.confirm === true));
    assert.equal(channel.message_stats.confirm, 51);
    assert.equal(channel.message_stats.return_unroutable, 1);
    const overview = await waitFor(async () => {
      const o = (await api(m(), 'GET', '/api/overview?msg_rates_age=60&msg_rates_incr=1&lengths_age=60&lengths_incr=1')).json;
      return o.message_stats.publish >= 51 && o.message_stats.publish_details.samples.length > 1 && o;
    });
    // The rate is over the last sample interval: on a slow machine the burst may already be
    // older than that, so the samples are checked to have counted it.
    assert.ok(overview.message_stats.publish_details.rate >= 0);
    const samples = overview.message_stats.publish_details.samples as { sample: number }[];
    assert.ok(samples.some((s) => s.sample >= 51), `publish samples ${JSON.stringify(samples)}`);
    assert.ok(overview.queue_totals.messages >= 44);
    assert.ok(Array.isArray(overview.queue_totals.messages_details.samples));
    assert.ok(overview.object_totals.queues >= 1);
    assert.ok(overview.churn_rates.queue_created >= 1 && overview.churn_rates.connection_created >= 1 && overview.churn_rates.channel_created >= 1);
    assert.equal(typeof overview.churn_rates.channel_closed_details.rate, 'number');
    assert.equal(channel.message_stats.get_empty, 0, 'every channel counter is listed once the channel counted anything');
    const vhost = (await api(m(), 'GET', '/api/vhosts/%2F')).json;
    assert.ok(vhost.message_stats.publish >= 51);
  });
});

describe('management API: definitions, policies, health', () => {
  it('exports definitions and imports them back after the objects are gone, with working logins', async () => {
    const ex = uniqueName('dx');
    const q = uniqueName('dq');
    await api(m(), 'PUT', `/api/exchanges/%2F/${enc(ex)}`, { body: { type: 'fanout', durable: true, arguments: { 'alternate-exchange': 'amq.fanout' } } });
    await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: true, arguments: { 'x-message-ttl': 60000 } } });
    await api(m(), 'POST', `/api/bindings/%2F/e/${enc(ex)}/q/${enc(q)}`, { body: { routing_key: 'r' } });
    await api(m(), 'PUT', '/api/users/importer', { body: { password: 's3cret', tags: 'management' } });
    await api(m(), 'PUT', '/api/permissions/%2F/importer', { body: { configure: '.*', write: '.*', read: '.*' } });
    const exported = await api(m(), 'GET', '/api/definitions?download=defs.json');
    assert.match(exported.headers.get('content-disposition') ?? '', /defs\.json/);
    const doc = exported.json;
    assert.ok(doc.queues.some((x: any) => x.name === q && x.vhost === '/' && x.arguments['x-message-ttl'] === 60000));
    assert.ok(doc.users.some((u: any) => u.name === 'importer' && u.hashing_algorithm === 'rabbit_password_hashing_sha256'));
    await api(m(), 'DELETE', `/api/queues/%2F/${enc(q)}`);
    await api(m(), 'DELETE', `/api/exchanges/%2F/${enc(ex)}`);
    await api(m(), 'DELETE', '/api/users/importer');
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: doc })).status, 204);
    assert.equal((await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json.arguments['x-message-ttl'], 60000);
    assert.equal((await api(m(), 'GET', `/api/exchanges/%2F/${enc(ex)}/bindings/source`)).json[0].destination, q);
    // the imported password hash logs in over AMQP
    const conn = await clients.connect({ user: 'importer', password: 's3cret' });
    await conn.close();
    // a RabbitMQ document with a hash made elsewhere (spec example: salt a1b2c3d4, password s3cret)
    const rabbit = { rabbit_version: '3.10.8', users: [{ name: 'fromrabbit', password_hash: 'obLD1J6YSlAeq29RqDM7bNVRpSePSKOA4noVy2LiW9m6jVUj', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: 'administrator' }], vhosts: [{ name: '/' }], permissions: [{ user: 'fromrabbit', vhost: '/', configure: '.*', write: '.*', read: '.*' }] };
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: rabbit })).status, 204);
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'fromrabbit:s3cret' })).json.name, 'fromrabbit');
    const orphan = await api(m(), 'POST', '/api/definitions', { body: { queues: [{ name: 'x' }] } });
    assert.equal(orphan.status, 400);
    const vhostDoc = (await api(m(), 'GET', '/api/definitions/%2F')).json;
    assert.ok(vhostDoc.queues.every((x: any) => !('vhost' in x)));
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: 'not json{' })).status, 400);
  });

  it('sets, reads and clears a policy the broker applies; refuses an invalid one', async () => {
    const q = uniqueName('pol');
    await api(m(), 'PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: false } });
    const put = await api(m(), 'PUT', '/api/policies/%2F/maxlen', { body: { pattern: `^${q.replace(/\./g, '\\.')}$`, definition: { 'max-length': 1 }, 'apply-to': 'queues', priority: 1 } });
    assert.equal(put.status, 201);
    assert.equal((await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json.policy, 'maxlen');
    const ch = await (await clients.connect()).createConfirmChannel();
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await ch.waitForConfirms();
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    const bad = await api(m(), 'PUT', '/api/policies/%2F/bad', { body: { pattern: '.*', definition: { 'max-length': 'lots' } } });
    assert.equal(bad.status, 400);
    assert.equal((await api(m(), 'GET', '/api/policies/%2F/maxlen')).json.definition['max-length'], 1);
    assert.equal((await api(m(), 'DELETE', '/api/policies/%2F/maxlen')).status, 204);
    assert.equal((await api(m(), 'GET', '/api/policies')).json.length, 0);
  });

  it('answers the health checks, aliveness test, nodes and cluster name', async () => {
    assert.deepEqual((await api(m(), 'GET', '/api/health/checks/alarms')).json, { status: 'ok' });
    assert.deepEqual((await api(m(), 'GET', '/api/aliveness-test/%2F')).json, { status: 'ok' });
    assert.equal((await api(m(), 'GET', `/api/health/checks/port-listener/${m().broker.port}`)).status, 200);
    const missing = await api(m(), 'GET', '/api/health/checks/port-listener/1');
    assert.equal(missing.status, 503);
    assert.equal(missing.json.status, 'failed');
    assert.equal((await api(m(), 'GET', '/api/health/checks/protocol-listener/amqp')).status, 200);
    const nodes = (await api(m(), 'GET', '/api/nodes')).json;
    assert.equal(nodes.length, 1);
    assert.ok(nodes[0].mem_used > 0 && nodes[0].fd_total > 0 && nodes[0].uptime >= 0);
    assert.equal((await api(m(), 'PUT', '/api/cluster-name', { body: { name: 'warren-test' } })).status, 204);
    assert.equal((await api(m(), 'GET', '/api/overview')).json.cluster_name, 'warren-test');
  });
});
