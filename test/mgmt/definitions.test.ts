// Definitions both ways: a document exported by RabbitMQ 3.10 (fixtures/) imported into Warren through the API
// with working logins and applied policies; warrenctl export_definitions / import_definitions round trip.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ctl, ctlOk } from '../ctl/ctl-support';
import { api, mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture();
const dir = mkdtempSync(join(tmpdir(), 'warren-defs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE = join(__dirname, '../../../test/mgmt/fixtures/rabbitmq-3.10-definitions.json');

describe('definitions', () => {
  it('imports what RabbitMQ 3.10 exported: users log in with their RabbitMQ password, topology and policy work', async () => {
    const doc = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: doc })).status, 204);
    const conn = await clients.connect({ user: 'orders-app', password: 'orders-secret', vhost: 'shop' });
    const ch = await conn.createConfirmChannel();
    ch.publish('events', 'orders.created.eu', Buffer.from('order 1'));
    await ch.waitForConfirms();
    assert.equal((await ch.checkQueue('orders.created')).messageCount, 1);
    const q = (await api(m(), 'GET', '/api/queues/shop/orders.created')).json;
    assert.equal(q.policy, 'orders-limits');
    assert.equal(q.arguments['x-message-ttl'], 60000);
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'orders-app:orders-secret' })).json.tags[0], 'management');
    // importing the same document again changes nothing and fails nothing
    assert.equal((await api(m(), 'POST', '/api/definitions', { body: doc })).status, 204);
    assert.equal((await ch.checkQueue('orders.created')).messageCount, 1);
  });

  it('warrenctl export_definitions writes RabbitMQ JSON; import_definitions brings objects back', async () => {
    const dataDir = m().broker.dataDir;
    const file = join(dir, 'warren.json');
    assert.match(await ctlOk(dataDir, ['export_definitions', file]), /Exporting definitions/);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.ok(doc.exchanges.some((e: any) => e.name === 'events' && e.vhost === 'shop' && e.arguments['alternate-exchange'] === 'events.unrouted'));
    assert.ok(doc.bindings.some((b: any) => b.source === 'events' && b.destination === 'orders.created' && b.routing_key === 'orders.created.#'));
    const stdout = JSON.parse(await ctlOk(dataDir, ['export_definitions', '-']));
    assert.deepEqual(stdout.queues, doc.queues);
    assert.equal((await api(m(), 'DELETE', '/api/vhosts/shop')).status, 204);
    assert.match(await ctlOk(dataDir, ['import_definitions', file]), /Importing definitions/);
    assert.equal((await api(m(), 'GET', '/api/exchanges/shop/events')).json.type, 'topic');
    assert.equal((await api(m(), 'GET', '/api/queues/shop/orders.created')).json.durable, true);
    const conn = await clients.connect({ user: 'orders-app', password: 'orders-secret', vhost: 'shop' });
    await conn.close();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"queues": [{"name": "orphan"}]}');
    const r = await ctl(dataDir, ['import_definitions', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /orphaned object/);
    writeFileSync(bad, 'not json');
    assert.equal((await ctl(dataDir, ['import_definitions', bad])).code, 2);
  });
});
