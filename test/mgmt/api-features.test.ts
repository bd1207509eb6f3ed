// Limits, topic permissions, global parameters, moving messages, per-queue samples and MQTT / STOMP
// connections in the management API, each checked against the broker's behaviour (a limit refuses, a topic
// permission refuses, a moved message arrives) and, where RabbitMQ 3.10 has the endpoint, its answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as amqplib from 'amqplib';
import * as mqtt from 'mqtt';
import { rejectsWithCode, uniqueName, waitFor } from '../helpers/amqp-test';
import { startBroker } from '../helpers/broker-process';
import { freePort } from '../helpers/free-port';
import { PYTHON } from '../helpers/python-script';
import { api, enc, mgmtFixture, type MgmtBroker } from './mgmt-support';

const { m, clients } = mgmtFixture(200, ['WARREN_MQTT_PORT', 'WARREN_STOMP_PORT']);
const HASHES = join(__dirname, '../../../test/mgmt/fixtures/rabbitmq-3.10-hashes-limits.json');
const SCRIPTS = join(__dirname, '../../../test/mgmt/scripts');

describe('vhost and user limits', () => {
  it('answers GET / PUT / DELETE as RabbitMQ 3.10 and the broker enforces what was set', async () => {
    const v = uniqueName('lim');
    assert.equal((await api(m(), 'PUT', `/api/vhosts/${v}`)).status, 201);
    assert.deepEqual((await api(m(), 'GET', `/api/vhost-limits/${v}`)).json, []);
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/max-queues`, { body: { value: 1 } })).status, 204);
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/max-connections`, { body: { value: 10 } })).status, 204);
    assert.deepEqual((await api(m(), 'GET', `/api/vhost-limits/${v}`)).json, [{ vhost: v, value: { 'max-queues': 1, 'max-connections': 10 } }]);
    assert.ok((await api(m(), 'GET', '/api/vhost-limits')).json.some((r: any) => r.vhost === v));
    // RabbitMQ lists vhost limits as the runtime parameter vhost-limits/limits too
    assert.ok((await api(m(), 'GET', '/api/parameters/vhost-limits')).json.some((r: any) => r.vhost === v && r.name === 'limits' && r.value['max-queues'] === 1));
    // bad input: unknown limit, not an integer, no value, no vhost
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/bogus`, { body: { value: 1 } })).status, 400);
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/max-queues`, { body: { value: 'x' } })).status, 400);
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/max-queues`, { body: { value: 1.5 } })).status, 400);
    assert.equal((await api(m(), 'PUT', `/api/vhost-limits/${v}/max-queues`, { body: {} })).status, 400);
    assert.equal((await api(m(), 'PUT', '/api/vhost-limits/no-such-vhost/max-queues', { body: { value: 1 } })).status, 404);

    const ch = await clients.channel(await clients.connect({ vhost: v }));
    await ch.assertQueue('first');
    await rejectsWithCode(ch.assertQueue('second'), 406, /max-queues|limit/i);
    assert.equal((await api(m(), 'DELETE', `/api/vhost-limits/${v}/max-queues`)).status, 204);
    assert.equal((await api(m(), 'DELETE', `/api/vhost-limits/${v}/max-queues`)).status, 204, 'deleting an absent limit is 204, as RabbitMQ');
    const ch2 = await clients.channel(await clients.connect({ vhost: v }));
    await ch2.assertQueue('second');
    assert.deepEqual((await api(m(), 'GET', `/api/vhost-limits/${v}`)).json, [{ vhost: v, value: { 'max-connections': 10 } }]);
    await api(m(), 'DELETE', `/api/vhosts/${v}`);
  });

  it('user limits: listed, shown on the user, and max-channels refuses a channel past it', async () => {
    const user = uniqueName('limited-user');
    await api(m(), 'PUT', `/api/users/${user}`, { body: { password: 'pw', tags: '' } });
    await api(m(), 'PUT', `/api/permissions/%2F/${user}`, { body: { configure: '.*', write: '.*', read: '.*' } });
    assert.equal((await api(m(), 'PUT', `/api/user-limits/${user}/max-channels`, { body: { value: 1 } })).status, 204);
    assert.equal((await api(m(), 'PUT', `/api/user-limits/${user}/max-queues`, { body: { value: 1 } })).status, 400);
    assert.equal((await api(m(), 'PUT', '/api/user-limits/nobody-at-all/max-channels', { body: { value: 1 } })).status, 400);
    assert.deepEqual((await api(m(), 'GET', `/api/user-limits/${user}`)).json, [{ user, value: { 'max-channels': 1 } }]);
    assert.ok((await api(m(), 'GET', '/api/user-limits')).json.some((r: any) => r.user === user));
    assert.deepEqual((await api(m(), 'GET', `/api/users/${user}`)).json.limits, { 'max-channels': 1 });
    const conn = await clients.connect({ user, password: 'pw' });
    await conn.createChannel();
    await assert.rejects(conn.createChannel());
    assert.equal((await api(m(), 'DELETE', `/api/user-limits/${user}/max-channels`)).status, 204);
    assert.deepEqual((await api(m(), 'GET', `/api/user-limits/${user}`)).json, []);
    assert.equal((await api(m(), 'GET', '/api/user-limits/nobody-at-all')).status, 404);
  });
});

describe('topic permissions', () => {
  it('set, listed four ways, enforced on publish, deleted', async () => {
    const user = uniqueName('topic-user');
    await api(m(), 'PUT', `/api/users/${user}`, { body: { password: 'pw', tags: '' } });
    await api(m(), 'PUT', `/api/permissions/%2F/${user}`, { body: { configure: '.*', write: '.*', read: '.*' } });
    assert.equal((await api(m(), 'GET', `/api/topic-permissions/%2F/${user}`)).status, 404, 'none yet: 404, as RabbitMQ');
    assert.equal((await api(m(), 'PUT', `/api/topic-permissions/%2F/${user}`, { body: { exchange: 'amq.topic', write: '^sensors\\.', read: '.*' } })).status, 201);
    assert.equal((await api(m(), 'PUT', `/api/topic-permissions/%2F/${user}`, { body: { exchange: 'other', write: '.*', read: '.*' } })).status, 204);
    assert.equal((await api(m(), 'PUT', `/api/topic-permissions/%2F/${user}`, { body: { write: '.*', read: '.*' } })).status, 400);
    assert.equal((await api(m(), 'PUT', `/api/topic-permissions/%2F/${user}`, { body: { exchange: 'x', write: '(', read: '' } })).status, 400);
    assert.equal((await api(m(), 'PUT', '/api/topic-permissions/%2F/nobody-at-all', { body: { exchange: 'x', write: '', read: '' } })).status, 400);
    const mine = (rows: any[]) => rows.filter((r) => r.user === user).map((r) => `${r.vhost}|${r.exchange}|${r.write}|${r.read}`).sort();
    const expected = ['/|amq.topic|^sensors\\.|.*', '/|other|.*|.*'];
    assert.deepEqual(mine((await api(m(), 'GET', '/api/topic-permissions')).json), expected);
    assert.deepEqual(mine((await api(m(), 'GET', `/api/topic-permissions/%2F/${user}`)).json), expected);
    assert.deepEqual(mine((await api(m(), 'GET', `/api/users/${user}/topic-permissions`)).json), expected);
    assert.deepEqual(mine((await api(m(), 'GET', '/api/vhosts/%2F/topic-permissions')).json), expected);

    const ch = await clients.confirmChannel(await clients.connect({ user, password: 'pw' }));
    ch.publish('amq.topic', 'sensors.t1', Buffer.from('ok'));
    await ch.waitForConfirms();
    const refused = await clients.channel(await clients.connect({ user, password: 'pw' }));
    const closed = new Promise<any>((resolve) => refused.once('error', resolve));
    refused.publish('amq.topic', 'billing.x', Buffer.from('no'));
    assert.match(String((await closed).message), /403|ACCESS_REFUSED/);

    assert.equal((await api(m(), 'DELETE', `/api/topic-permissions/%2F/${user}`)).status, 204);
    assert.equal((await api(m(), 'DELETE', `/api/topic-permissions/%2F/${user}`)).status, 404);
    assert.deepEqual(mine((await api(m(), 'GET', '/api/topic-permissions')).json), []);
  });
});

describe('definitions with RabbitMQ 3.10 password hashes, limits and topic permissions', () => {
  it('imports SHA-512 and MD5 users that then log in; exports them with their hashing_algorithm', async () => {
    const doc = JSON.parse(readFileSync(HASHES, 'utf8'));
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: doc })).status, 204);
    // AMQP and HTTP logins with the passwords RabbitMQ hashed
    await clients.connect({ user: 'sha512-user', password: 'sha512-pass', vhost: 'limited' });
    await clients.connect({ user: 'md5-user', password: 'md5-pass', vhost: 'limited' });
    await assert.rejects(clients.connect({ user: 'md5-user', password: 'wrong', vhost: 'limited' }));
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'sha512-user:sha512-pass' })).status, 200);
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'md5-user:md5-pass' })).status, 200);
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'sha512-user:nope' })).status, 401);
    // the limits and topic permission arrived
    assert.deepEqual((await api(m(), 'GET', '/api/vhost-limits/limited')).json, [{ vhost: 'limited', value: { 'max-connections': 20, 'max-queues': 3 } }]);
    assert.deepEqual((await api(m(), 'GET', '/api/user-limits/md5-user')).json, [{ user: 'md5-user', value: { 'max-channels': 2 } }]);
    assert.deepEqual((await api(m(), 'GET', '/api/topic-permissions/limited/sha512-user')).json, [{ user: 'sha512-user', vhost: 'limited', exchange: 'amq.topic', write: '^sensors\\.', read: '.*' }]);
    assert.equal((await api(m(), 'GET', '/api/cluster-name')).json.name, 'rabbit-exported');

    const out = (await api(m(), 'GET', '/api/definitions')).json;
    for (const name of ['sha512-user', 'md5-user']) {
      const theirs = doc.users.find((u: any) => u.name === name);
      const ours = out.users.find((u: any) => u.name === name);
      assert.equal(ours.password_hash, theirs.password_hash);
      assert.equal(ours.hashing_algorithm, theirs.hashing_algorithm);
    }
    assert.deepEqual(out.users.find((u: any) => u.name === 'md5-user').limits, { 'max-channels': 2 });
    assert.deepEqual(out.topic_permissions, doc.topic_permissions);
    assert.deepEqual(out.parameters.filter((p: any) => p.vhost === 'limited'), [{ value: { 'max-connections': 20, 'max-queues': 3 }, vhost: 'limited', component: 'vhost-limits', name: 'limits' }]);
    assert.deepEqual(out.global_parameters, [{ name: 'cluster_name', value: 'rabbit-exported' }]);

    // a PUT with a SHA-512 hash, and refusals of an unknown scheme or a hash of the wrong size
    const sha512 = doc.users.find((u: any) => u.name === 'sha512-user');
    assert.equal((await api(m(), 'PUT', '/api/users/copied-512', { body: { password_hash: sha512.password_hash, hashing_algorithm: sha512.hashing_algorithm, tags: 'management' } })).status, 201);
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'copied-512:sha512-pass' })).status, 200);
    assert.equal((await api(m(), 'PUT', '/api/users/bad-hash', { body: { password_hash: sha512.password_hash, hashing_algorithm: 'rabbit_password_hashing_bcrypt', tags: '' } })).status, 400);
    assert.equal((await api(m(), 'PUT', '/api/users/bad-hash', { body: { password_hash: sha512.password_hash, hashing_algorithm: 'rabbit_password_hashing_md5', tags: '' } })).status, 400);
    // a new password is hashed with SHA-256 again
    assert.equal((await api(m(), 'PUT', '/api/users/copied-512', { body: { password: 'fresh', tags: 'management' } })).status, 204);
    assert.equal((await api(m(), 'GET', '/api/users/copied-512')).json.hashing_algorithm, 'rabbit_password_hashing_sha256');
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'copied-512:fresh' })).status, 200);
    await api(m(), 'PUT', '/api/cluster-name', { body: { name: 'warren-test' } });
  });
});

describe('global parameters and the cluster name', () => {
  it('PUT /api/cluster-name is a global parameter, listed and shown by the overview', async () => {
    assert.equal((await api(m(), 'PUT', '/api/cluster-name', { body: { name: 'named-cluster' } })).status, 204);
    assert.equal((await api(m(), 'PUT', '/api/cluster-name', { body: { name: '' } })).status, 400);
    assert.deepEqual((await api(m(), 'GET', '/api/cluster-name')).json, { name: 'named-cluster' });
    assert.deepEqual((await api(m(), 'GET', '/api/global-parameters/cluster_name')).json, { value: 'named-cluster', name: 'cluster_name' });
    assert.equal((await api(m(), 'GET', '/api/overview')).json.cluster_name, 'named-cluster');
    // AMQP clients see it in connection.start's server properties, as RabbitMQ sends it.
    const conn = await amqplib.connect(m().broker.url);
    try {
      assert.equal(String((conn.connection as unknown as { serverProperties: Record<string, unknown> }).serverProperties.cluster_name), 'named-cluster');
    } finally {
      await conn.close();
    }
    assert.equal((await api(m(), 'PUT', '/api/global-parameters/some-flag', { body: { value: { a: 1 } } })).status, 201);
    assert.equal((await api(m(), 'PUT', '/api/global-parameters/some-flag', { body: { value: { a: 2 } } })).status, 204);
    assert.deepEqual((await api(m(), 'GET', '/api/global-parameters')).json.find((p: any) => p.name === 'some-flag'), { name: 'some-flag', value: { a: 2 } });
    assert.equal((await api(m(), 'DELETE', '/api/global-parameters/some-flag')).status, 204);
    assert.equal((await api(m(), 'GET', '/api/global-parameters/some-flag')).status, 404);
  });
});

describe('moving messages (shovel parameter)', () => {
  const moveBody = (src: string, dest: string, extra: Record<string, unknown> = {}) => ({
    component: 'shovel',
    vhost: '/',
    name: `Move from ${src}`,
    // what RabbitMQ 3.10's web UI sends for "Move messages"
    value: { 'src-uri': 'amqp:///%2F', 'src-queue': src, 'src-protocol': 'amqp091', 'src-prefetch-count': 1000, 'src-delete-after': 'queue-length', 'dest-protocol': 'amqp091', 'dest-uri': 'amqp:///%2F', 'dest-add-forward-headers': false, 'ack-mode': 'on-confirm', 'dest-queue': dest, ...extra },
  });

  it('moves every message in order with its properties, then the parameter is gone', async () => {
    const src = uniqueName('move-src');
    const dest = uniqueName('move-dest');
    const ch = await clients.confirmChannel();
    await ch.assertQueue(src, { durable: true });
    await ch.assertQueue(dest, { durable: true });
    ch.sendToQueue(dest, Buffer.from('already there'));
    for (let i = 0; i < 2500; i++) ch.sendToQueue(src, Buffer.from(`m${i}`), { persistent: true, headers: { n: i }, messageId: `id-${i}` });
    await ch.waitForConfirms();
    const r = await api(m(), 'PUT', `/api/parameters/shovel/%2F/${enc(`Move from ${src}`)}`, { body: moveBody(src, dest) });
    assert.equal(r.status, 201, r.text);
    await waitFor(async () => (await ch.checkQueue(dest)).messageCount === 2501, 15_000, 'every message in the destination');
    assert.equal((await ch.checkQueue(src)).messageCount, 0);
    await waitFor(async () => (await api(m(), 'GET', '/api/parameters/shovel')).json.length === 0, 5000, 'the shovel parameter to go');
    assert.equal((await ch.get(dest, { noAck: true }) as any).content.toString(), 'already there');
    for (let i = 0; i < 2500; i++) {
      const got = (await ch.get(dest, { noAck: true })) as any;
      assert.equal(got.content.toString(), `m${i}`);
      assert.equal(got.properties.headers.n, i);
      assert.equal(got.properties.messageId, `id-${i}`);
      assert.equal(got.properties.deliveryMode, 2);
      if (i === 0) assert.equal(got.fields.routingKey, dest, 'republished through the default exchange, as a shovel does');
    }
  });

  it('refuses what it cannot run with a 400 and a reason', async () => {
    const q = uniqueName('move-bad');
    const other = uniqueName('move-other');
    const ch = await clients.channel();
    await ch.assertQueue(q);
    await ch.assertQueue(other);
    const put = (body: unknown) => api(m(), 'PUT', '/api/parameters/shovel/%2F/bad', { body });
    for (const [extra, pattern] of [
      [{ 'dest-uri': 'amqp://elsewhere.example' }, /other brokers/],
      [{ 'dest-queue': q }, /differ/],
      [{ 'dest-queue': 'no-such-queue' }, /no queue/],
      [{ 'src-delete-after': 'never' }, /runs forever/],
    ] as const) {
      const r = await put(moveBody(q, other, extra));
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(r.json.reason, pattern);
    }
    assert.equal((await put({ value: { 'src-queue': q, 'src-exchange': 'x' } })).status, 400);
    assert.equal((await api(m(), 'PUT', '/api/parameters/federation-upstream/%2F/x', { body: { value: {} } })).status, 400);
    assert.equal((await api(m(), 'DELETE', '/api/parameters/shovel/%2F/none')).status, 404);
  });
});

describe('per-queue rate history', () => {
  it('a queue answers samples from before the request: message counters and lengths', async () => {
    const q = uniqueName('samples');
    const ch = await clients.confirmChannel();
    await ch.assertQueue(q);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from('x'));
      await ch.waitForConfirms();
      await new Promise((r) => setTimeout(r, 450));
    }
    await ch.get(q, { noAck: true });
    // samples sit on the incr grid (whole seconds here): the newest is at most 1 s old
    await new Promise((r) => setTimeout(r, 1300));
    const row = (await api(m(), 'GET', `/api/queues/%2F/${q}?msg_rates_age=60&msg_rates_incr=1&lengths_age=60&lengths_incr=1`)).json;
    const publish = row.message_stats.publish_details.samples as { sample: number; timestamp: number }[];
    assert.ok(publish.length >= 2, JSON.stringify(publish));
    assert.equal(publish[0].sample, 20, 'newest first: every publish counted');
    assert.ok(publish[publish.length - 1].sample < 20, 'older samples show fewer publishes');
    for (let i = 1; i < publish.length; i++) assert.ok(publish[i].timestamp < publish[i - 1].timestamp);
    assert.equal(row.message_stats.deliver_get_details.samples[0].sample, 1);
    assert.equal(typeof row.message_stats.publish_details.rate, 'number');
    const ready = row.messages_ready_details.samples as { sample: number }[];
    assert.equal(ready[0].sample, 19);
    assert.ok(ready.some((s) => s.sample > 0 && s.sample < 19), JSON.stringify(ready));
    assert.ok('avg' in row.messages_ready_details && 'avg_rate' in row.messages_ready_details);
    assert.equal((await api(m(), 'GET', `/api/queues/%2F/${q}?msg_rates_age=-1`)).status, 400);
  });
});

describe('MQTT and STOMP connections', () => {
  it('are listed as RabbitMQ lists them, counted in Prometheus, and closed by DELETE', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${m().ports.WARREN_MQTT_PORT}`, { clientId: 'mgmt-mqtt-client', username: 'guest', password: 'guest', protocolVersion: 4, reconnectPeriod: 0 });
    const stomp = spawn(PYTHON, [join(SCRIPTS, 'stomp_hold.py')], { env: { ...process.env, WARREN_HOST: '127.0.0.1', WARREN_STOMP_PORT: String(m().ports.WARREN_STOMP_PORT), HOLD_SECONDS: '30' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stompOut = '';
    stomp.stdout.on('data', (d) => (stompOut += d));
    stomp.stderr.on('data', (d) => (stompOut += d));
    const stompExit = new Promise<number | null>((resolve) => stomp.once('exit', resolve));
    try {
      await waitFor(() => stompOut.includes('connected'), 10_000, 'the STOMP client');
      const rows = (await api(m(), 'GET', '/api/connections')).json as any[];
      const mq = rows.find((r) => r.protocol === 'MQTT 3.1.1');
      const st = rows.find((r) => r.protocol === 'STOMP 1.2');
      assert.ok(mq && st, JSON.stringify(rows.map((r) => r.protocol)));
      assert.equal(mq.client_properties.client_id, 'mgmt-mqtt-client');
      for (const r of [mq, st]) {
        assert.equal(r.user, 'guest');
        assert.equal(r.vhost, '/');
        assert.equal(r.type, 'direct');
        assert.match(r.name, /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
      }
      assert.equal(mq.port, m().ports.WARREN_MQTT_PORT);
      assert.equal(st.port, m().ports.WARREN_STOMP_PORT);
      assert.equal((await api(m(), 'GET', `/api/connections/${enc(mq.name)}`)).json.protocol, 'MQTT 3.1.1');
      const overview = (await api(m(), 'GET', '/api/overview')).json;
      assert.ok(overview.object_totals.connections >= 2);
      const metrics = await (await fetch(`http://127.0.0.1:${m().prometheusPort}/metrics`)).text();
      const open = Number(/^rabbitmq_connections (\d+)/m.exec(metrics)?.[1]);
      assert.ok(open >= 2, metrics.split('\n').filter((l) => l.startsWith('rabbitmq_connections')).join('\n'));

      const mqttClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      assert.equal((await api(m(), 'DELETE', `/api/connections/${enc(mq.name)}`)).status, 204);
      await mqttClosed;
      assert.equal((await api(m(), 'DELETE', `/api/connections/${enc(st.name)}`, { headers: { 'x-reason': 'closed by the test' } })).status, 204);
      assert.equal(await stompExit, 0, stompOut);
      assert.match(stompOut, /error: /);
      const after = (await api(m(), 'GET', '/api/connections')).json as any[];
      assert.ok(!after.some((r) => r.name === mq.name || r.name === st.name));
      const metricsAfter = await (await fetch(`http://127.0.0.1:${m().prometheusPort}/metrics`)).text();
      assert.ok(Number(/^rabbitmq_connections_closed_total (\d+)/m.exec(metricsAfter)?.[1]) >= 2);
    } finally {
      client.end(true);
      if (stomp.exitCode === null) stomp.kill('SIGKILL');
    }
  });
});

describe('after a restart', () => {
  it('keeps the cluster name, limits, topic permissions and SHA-512 / MD5 users', async () => {
    const mgmtPort = await freePort();
    const env = { WARREN_MGMT_PORT: String(mgmtPort), WARREN_MGMT_IP: '127.0.0.1' };
    const own: MgmtBroker = { broker: await startBroker({ env }), mgmtPort, prometheusPort: 0, base: `http://127.0.0.1:${mgmtPort}`, ports: {} };
    try {
      await waitFor(async () => (await fetch(`${own.base}/api/overview`).then((r) => r.status, () => 0)) === 401, 10_000, 'the management listener');
      assert.equal((await api(own, 'POST', '/api/definitions', { body: JSON.parse(readFileSync(HASHES, 'utf8')) })).status, 204);
      assert.equal((await api(own, 'PUT', '/api/cluster-name', { body: { name: 'kept-name' } })).status, 204);
      await api(own, 'PUT', '/api/user-limits/guest/max-connections', { body: { value: 50 } });
      const port = own.broker.port;
      await own.broker.stop({ keepData: true });
      own.broker = await startBroker({ env, port, dataDir: own.broker.dataDir });
      await waitFor(async () => (await fetch(`${own.base}/api/overview`).then((r) => r.status, () => 0)) === 401, 10_000, 'the management listener again');
      assert.deepEqual((await api(own, 'GET', '/api/cluster-name')).json, { name: 'kept-name' });
      assert.deepEqual((await api(own, 'GET', '/api/vhost-limits/limited')).json, [{ vhost: 'limited', value: { 'max-connections': 20, 'max-queues': 3 } }]);
      assert.deepEqual((await api(own, 'GET', '/api/user-limits/guest')).json, [{ user: 'guest', value: { 'max-connections': 50 } }]);
      assert.equal((await api(own, 'GET', '/api/topic-permissions/limited/sha512-user')).json.length, 1);
      assert.equal((await api(own, 'GET', '/api/whoami', { auth: 'sha512-user:sha512-pass' })).status, 200);
      assert.equal((await api(own, 'GET', '/api/whoami', { auth: 'md5-user:md5-pass' })).status, 200);
    } finally {
      await own.broker.stop();
    }
  });
});
