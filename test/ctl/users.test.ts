// warrenctl users and permissions, checked by logging in with amqplib: add_user + set_permissions let a client
// in, delete_user closes the user's connections and refuses new logins, change_password and set_user_tags take effect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName } from '../helpers/amqp-test';
import { ctl, ctlOk, ctlRows, ctlSkip, useCtlBroker } from './ctl-support';

const skip = ctlSkip;
const node = useCtlBroker();
const clients = node.clients;

const refusedLogin = /ACCESS[-_]REFUSED|403/;

describe('warrenctl users and permissions', { skip }, () => {
  it('add_user + set_permissions: amqplib logs in and works within the granted permissions', async () => {
    const user = uniqueName('alice');
    await ctlOk(node.broker.dataDir, ['add_user', user, 's3cret']);
    assert.ok((await ctlRows(node.broker.dataDir, ['list_users'])).some((r) => r.user === user && r.tags === '[]'));
    // A user without permissions on the vhost cannot open it.
    await assert.rejects(clients.connect({ user, password: 's3cret' }));
    await ctlOk(node.broker.dataDir, ['set_permissions', '-p', '/', user, '^alice\\.', '^alice\\.', '.*']);
    const perms = await ctlRows(node.broker.dataDir, ['list_permissions']);
    assert.deepEqual(perms.find((p) => p.user === user), { user, configure: '^alice\\.', write: '^alice\\.', read: '.*' });
    assert.deepEqual(await ctlRows(node.broker.dataDir, ['list_user_permissions', user]), [{ vhost: '/', configure: '^alice\\.', write: '^alice\\.', read: '.*' }]);
    const conn = await clients.connect({ user, password: 's3cret' });
    const ch = await conn.createChannel();
    await ch.assertQueue('alice.q');
    await conn.close();
    await assert.rejects(clients.connect({ user, password: 'wrong' }), refusedLogin);
  });

  it("delete_user closes the user's open connections (320) and refuses new logins", async () => {
    const user = uniqueName('bob');
    await ctlOk(node.broker.dataDir, ['add_user', user, 'pw']);
    await ctlOk(node.broker.dataDir, ['set_permissions', user, '.*', '.*', '.*']);
    const conn = await clients.connect({ user, password: 'pw' });
    const closed = new Promise<Error | undefined>((ok) => conn.once('close', ok));
    await conn.createChannel();
    await ctlOk(node.broker.dataDir, ['delete_user', user]);
    assert.ok(!(await ctlRows(node.broker.dataDir, ['list_users'])).some((r) => r.user === user));
    // As RabbitMQ: the deleted user's connections are closed by the node.broker.
    assert.match(String(await closed), /CONNECTION_FORCED - user '.*' is deleted/);
    assert.ok(!(await ctlRows(node.broker.dataDir, ['list_connections', 'user'])).some((c) => c.user === user));
    await assert.rejects(clients.connect({ user, password: 'pw' }), refusedLogin);
    const again = await ctl(node.broker.dataDir, ['delete_user', user]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /User '.*' does not exist/);
  });

  it('change_password and set_user_tags', async () => {
    const user = uniqueName('carol');
    await ctlOk(node.broker.dataDir, ['add_user', user, 'old']);
    await ctlOk(node.broker.dataDir, ['set_permissions', user, '.*', '.*', '.*']);
    await ctlOk(node.broker.dataDir, ['change_password', user, 'new']);
    await assert.rejects(clients.connect({ user, password: 'old' }), refusedLogin);
    await (await clients.connect({ user, password: 'new' })).close();
    await ctlOk(node.broker.dataDir, ['set_user_tags', user, 'monitoring', 'policymaker']);
    const rows = JSON.parse(await ctlOk(node.broker.dataDir, ['list_users', '--formatter', 'json'])) as { user: string; tags: string[] }[];
    assert.deepEqual(rows.find((r) => r.user === user)?.tags, ['monitoring', 'policymaker']);
    await ctlOk(node.broker.dataDir, ['set_user_tags', user]);
    assert.equal((await ctlRows(node.broker.dataDir, ['list_users'])).find((r) => r.user === user)?.tags, '[]');
    // The password survives a tag change.
    await (await clients.connect({ user, password: 'new' })).close();
  });

  it('refuses duplicates, unknown users and vhosts, and invalid permission patterns', async () => {
    const cases: [string[], RegExp][] = [
      [['add_user', 'guest', 'x'], /User 'guest' already exists/],
      [['change_password', 'nobody', 'x'], /User 'nobody' does not exist/],
      [['set_user_tags', 'nobody', 'administrator'], /User 'nobody' does not exist/],
      [['set_permissions', 'nobody', '.*', '.*', '.*'], /User 'nobody' does not exist/],
      [['set_permissions', '-p', 'no-such-vhost', 'guest', '.*', '.*', '.*'], /Virtual host 'no-such-vhost' does not exist/],
      [['set_permissions', 'guest', '(', '.*', '.*'], /invalid regular expression for configure: invalid regular expression '\('/],
      [['list_user_permissions', 'nobody'], /User 'nobody' does not exist/],
      [['add_user', '', 'x'], /user name must not be empty/],
    ];
    for (const [args, stderr] of cases) {
      const r = await ctl(node.broker.dataDir, args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(' '));
    }
    // guest is untouched by all that.
    await (await clients.connect()).close();
  });
});
