// RabbitMQ's AMQP 0-9-1 access-control table, row by row with amqplib: every operation refused with 403
// ACCESS_REFUSED and RabbitMQ's exact text when the user's pattern does not match, and allowed when it does
// (configure / write / read, the default exchange as amq.default, amq.* rules, server-named queues, both
// ends of bind and unbind, exchange-to-exchange bindings, DLX and AE arguments, the impersonator tag).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerFixture } from '../helpers/broker-fixture';
import { isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { uniqueName } from '../helpers/amqp-test';
import { ctlOk } from '../ctl/ctl-support';
import { addUser, assertAllowed, assertRefused } from './auth-support';

const skip = isExternalBroker() ? 'users are made with warrenctl' : false;
const { broker, clients } = brokerFixture();
const dir = () => (broker() as BrokerProcess).dataDir;

describe('permission table: a user with ^$ everywhere', { skip }, () => {
  it('is refused every operation with the permission, resource and user named', async () => {
    const guest = await clients.connect();
    const gch = await guest.createChannel();
    const q = uniqueName('q');
    const x = uniqueName('x');
    await gch.assertQueue(q);
    await gch.assertExchange(x, 'direct');
    const user = await addUser(dir(), 'nobody', '^$', '^$', '^$');
    const conn = await clients.connect({ user, password: 'pw' });
    const refused = (perm: string, kind: string, name: string) => `ACCESS_REFUSED - ${perm} access to ${kind} '${name}' in vhost '/' refused for user '${user}'`;
    const rows: [string, (ch: import('amqplib').ConfirmChannel) => unknown, string][] = [
      ['exchange.declare', (ch) => ch.assertExchange(x, 'direct'), refused('configure', 'exchange', x)],
      ['exchange.declare new', (ch) => ch.assertExchange(`${x}.new`, 'fanout'), refused('configure', 'exchange', `${x}.new`)],
      ['exchange.declare passive', (ch) => ch.checkExchange(x), refused('configure', 'exchange', x)],
      ['exchange.declare passive, missing (403 before 404)', (ch) => ch.checkExchange(`${x}.missing`), refused('configure', 'exchange', `${x}.missing`)],
      ['exchange.delete', (ch) => ch.deleteExchange(x), refused('configure', 'exchange', x)],
      ['exchange.bind: write on the destination', (ch) => ch.bindExchange(x, 'amq.direct', 'k'), refused('write', 'exchange', x)],
      ['exchange.unbind: write on the destination', (ch) => ch.unbindExchange(x, 'amq.direct', 'k'), refused('write', 'exchange', x)],
      ['queue.declare', (ch) => ch.assertQueue(q), refused('configure', 'queue', q)],
      ['queue.declare passive', (ch) => ch.checkQueue(q), refused('configure', 'queue', q)],
      ['queue.delete', (ch) => ch.deleteQueue(q), refused('configure', 'queue', q)],
      ['queue.purge', (ch) => ch.purgeQueue(q), refused('read', 'queue', q)],
      ['queue.bind: write on the queue', (ch) => ch.bindQueue(q, 'amq.direct', 'k'), refused('write', 'queue', q)],
      ['queue.unbind: write on the queue', (ch) => ch.unbindQueue(q, 'amq.direct', 'k'), refused('write', 'queue', q)],
      ['basic.publish to amq.direct', (ch) => ch.publish('amq.direct', 'k', Buffer.from('m')), refused('write', 'exchange', 'amq.direct')],
      ['basic.publish to the default exchange', (ch) => ch.sendToQueue(q, Buffer.from('m')), refused('write', 'exchange', 'amq.default')],
      ['basic.publish to a missing exchange (403 before 404)', (ch) => ch.publish(`${x}.missing`, 'k', Buffer.from('m')), refused('write', 'exchange', `${x}.missing`)],
      ['basic.get', (ch) => ch.get(q), refused('read', 'queue', q)],
      ['basic.consume', (ch) => ch.consume(q, () => {}), refused('read', 'queue', q)],
    ];
    for (const [what, op, text] of rows) {
      await assertRefused(conn, async (ch) => {
        await op(ch);
        await ch.waitForConfirms();
      }, 403, text).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
    }
    // A server-named queue is checked under its generated name.
    const ch = await conn.createChannel();
    const err = await new Promise<Error>((ok) => {
      ch.on('error', ok);
      ch.assertQueue('', { exclusive: true }).catch(() => {});
    });
    assert.match(err.message, new RegExp(`ACCESS_REFUSED - configure access to queue 'amq\\.gen-[A-Za-z0-9_-]{22}' in vhost '/' refused for user '${user}'`));
    // Nothing was touched.
    assert.equal((await gch.checkQueue(q)).messageCount, 0);
    await gch.checkExchange(x);
  });
});

describe('permission table: patterns that match', { skip }, () => {
  it('allows what matches, refuses the rest, and checks both ends of bindings', async () => {
    const p = uniqueName('u');
    const esc = p.replace(/\./g, '\\.');
    const user = await addUser(dir(), 'scoped', `^(${esc}\\.|amq\\.gen)`, `^(${esc}\\.|amq\\.default$)`, `^(${esc}\\.|amq\\.gen|amq\\.fanout$)`);
    const conn = await clients.connect({ user, password: 'pw' });
    const refused = (perm: string, kind: string, name: string) => `ACCESS_REFUSED - ${perm} access to ${kind} '${name}' in vhost '/' refused for user '${user}'`;
    const q = `${p}.q`;
    const x = `${p}.x`;
    await assertAllowed(conn, async (ch) => {
      await ch.assertQueue(q);
      await ch.assertExchange(x, 'direct');
      await ch.checkQueue(q);
      await ch.checkExchange(x);
      await ch.bindQueue(q, x, 'k');
      await ch.bindExchange(x, 'amq.fanout', '');
      ch.publish(x, 'k', Buffer.from('via x'));
      ch.sendToQueue(q, Buffer.from('via default'));
      await ch.waitForConfirms();
      assert.equal((await ch.get(q, { noAck: true }) || undefined)?.content.toString(), 'via x');
      assert.equal((await ch.purgeQueue(q)).messageCount, 1);
      await ch.consume(q, () => {}, { noAck: true });
      await ch.assertQueue('', { exclusive: true }); // amq.gen-… matches configure
      await ch.unbindExchange(x, 'amq.fanout', '');
      await ch.unbindQueue(q, x, 'k');
    });
    // The configure pattern is an unanchored search: 'X.u.q' does not start with the prefix.
    await assertRefused(conn, (ch) => ch.assertQueue(`other.${q}`), 403, refused('configure', 'queue', `other.${q}`));
    // Bind: write on the destination is fine, read on the source is not.
    await assertRefused(conn, (ch) => ch.bindQueue(q, 'amq.direct', 'k'), 403, refused('read', 'exchange', 'amq.direct'));
    await assertRefused(conn, (ch) => ch.unbindQueue(q, 'amq.direct', 'k'), 403, refused('read', 'exchange', 'amq.direct'));
    await assertRefused(conn, (ch) => ch.bindExchange(x, 'amq.direct', 'k'), 403, refused('read', 'exchange', 'amq.direct'));
    // exchange.bind: write on the destination comes first.
    await assertRefused(conn, (ch) => ch.bindExchange('amq.fanout', x, 'k'), 403, refused('write', 'exchange', 'amq.fanout'));
    // The default exchange at either end, once write on the destination passed.
    await assertRefused(conn, (ch) => ch.bindQueue(q, '', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
    await assertRefused(conn, (ch) => ch.bindExchange(x, '', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
    // Publishing needs write on the exchange only, not on the queues it routes to.
    await assertRefused(conn, (ch) => ch.publish('amq.direct', q, Buffer.from('m')), 403, refused('write', 'exchange', 'amq.direct'));
    // Reserved names and the default exchange keep their own errors.
    await assertRefused(conn, (ch) => ch.assertQueue('amq.mine'), 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'");
    await assertRefused(conn, (ch) => ch.deleteExchange('amq.direct'), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed");
    await assertRefused(conn, (ch) => ch.checkExchange(''), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
    // New queue with a DLX: read on itself and write on the DLX; new exchange with an AE: read on itself, write on the AE.
    await assertRefused(conn, (ch) => ch.assertQueue(`${p}.dl`, { deadLetterExchange: 'amq.direct' }), 403, refused('write', 'exchange', 'amq.direct'));
    await assertRefused(conn, (ch) => ch.assertExchange(`${p}.ae`, 'direct', { alternateExchange: 'amq.fanout' }), 403, refused('write', 'exchange', 'amq.fanout'));
    await assertAllowed(conn, async (ch) => {
      await ch.assertQueue(`${p}.dl`, { deadLetterExchange: x });
      await ch.assertExchange(`${p}.ae`, 'direct', { alternateExchange: x });
      // Deleting needs configure.
      await ch.deleteQueue(`${p}.dl`);
      await ch.deleteExchange(`${p}.ae`);
    });
  });

  it('a permission change takes effect on open channels, including the publish cache', async () => {
    const p = uniqueName('v');
    const user = await addUser(dir(), 'changing', '.*', '.*', '.*');
    const conn = await clients.connect({ user, password: 'pw' });
    const ch = await conn.createConfirmChannel();
    let error: Error | undefined;
    ch.on('error', (e: Error) => (error = e));
    const q = (await ch.assertQueue(`${p}.q`)).queue;
    ch.sendToQueue(q, Buffer.from('1'));
    await ch.waitForConfirms();
    await ctlOk(dir(), ['set_permissions', user, '.*', '^$', '.*']);
    const closed = new Promise((ok) => ch.once('close', ok));
    ch.sendToQueue(q, Buffer.from('2'));
    await closed;
    assert.match(String(error), new RegExp(`write access to exchange 'amq.default' in vhost '/' refused for user '${user}'`));
    await ctlOk(dir(), ['clear_permissions', user]);
    assert.ok(!(await ctlOk(dir(), ['-q', 'list_permissions'])).includes(user));
    // Without any permission on the vhost, the user cannot open it.
    await assert.rejects(clients.connect({ user, password: 'pw' }), /Expected ConnectionOpenOk; got <ConnectionClose/);
  });

  it('user-id must be the login user unless the user is tagged impersonator', async () => {
    const user = await addUser(dir(), 'imp', '.*', '.*', '.*');
    const conn = await clients.connect({ user, password: 'pw' });
    const q = uniqueName('imp-q');
    await assertAllowed(conn, (ch) => ch.assertQueue(q));
    await assertRefused(conn, async (ch) => {
      ch.sendToQueue(q, Buffer.from('m'), { userId: 'someone-else' });
      await ch.waitForConfirms();
    }, 406, `PRECONDITION_FAILED - user_id property set to 'someone-else' but authenticated user was '${user}'`);
    await ctlOk(dir(), ['set_user_tags', user, 'impersonator']);
    await assertAllowed(conn, (ch) => ch.sendToQueue(q, Buffer.from('m'), { userId: 'someone-else' }));
  });
});
