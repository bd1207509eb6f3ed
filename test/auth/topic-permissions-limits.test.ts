// Topic permissions (write on publish with routing key, CC and BCC; read on bindings; {username}/{vhost}
// expansion; opt-in per exchange; clear_topic_permissions) and vhost/user limits (max-queues,
// max-connections, max-channels) and the node's max_connections, with RabbitMQ's codes and texts, through warrenctl.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { brokerFixture } from '../helpers/broker-fixture';
import { isExternalBroker, startBroker, type BrokerProcess } from '../helpers/broker-process';
import { RawClient } from '../helpers/raw-amqp';
import { uniqueName } from '../helpers/amqp-test';
import { ctl, ctlOk, ctlRows } from '../ctl/ctl-support';
import { addUser, assertAllowed, assertRefused } from './auth-support';

const skip = isExternalBroker() ? 'users and limits are set with warrenctl' : false;
const { broker, clients } = brokerFixture();
const dir = () => (broker() as BrokerProcess).dataDir;

/** The close frame's text when a connection is refused at connection.open (amqplib only says it got a close). */
async function openRefusal(url: string): Promise<string> {
  const conn = await amqp.connect(url).catch((e: Error) => e);
  if (!(conn instanceof Error)) {
    await conn.close();
    return 'opened';
  }
  return conn.message;
}

describe('topic permissions', { skip }, () => {
  it('publish: routing key, CC and BCC must match the write pattern, with {username} expanded', async () => {
    const user = await addUser(dir(), 'tp', '.*', '.*', '.*');
    const conn = await clients.connect({ user, password: 'pw' });
    const q = uniqueName('tq');
    await assertAllowed(conn, async (ch) => {
      await ch.assertQueue(q, { exclusive: false });
      await ch.bindQueue(q, 'amq.topic', '#');
      // No topic permission yet: anything goes (topic permissions are opt-in).
      ch.publish('amq.topic', 'anything.at.all', Buffer.from('0'));
    });
    await ctlOk(dir(), ['set_topic_permissions', user, 'amq.topic', '^{username}\\.', '^{username}\\.']);
    const rows = await ctlRows(dir(), ['list_topic_permissions']);
    assert.deepEqual(rows.find((r) => r.user === user), { user, exchange: 'amq.topic', write: '^{username}\\.', read: '^{username}\\.' });
    await assertAllowed(conn, (ch) => ch.publish('amq.topic', `${user}.a`, Buffer.from('1')));
    const refused = (perm: string, key: string) => `ACCESS_REFUSED - ${perm} access to topic '${key}' in exchange 'amq.topic' in vhost '/' refused for user '${user}'`;
    await assertRefused(conn, async (ch) => {
      ch.publish('amq.topic', 'other.a', Buffer.from('2'));
      await ch.waitForConfirms();
    }, 403, refused('write', 'other.a'));
    await assertRefused(conn, async (ch) => {
      ch.publish('amq.topic', `${user}.a`, Buffer.from('3'), { CC: ['other.cc'] });
      await ch.waitForConfirms();
    }, 403, refused('write', 'other.cc'));
    await assertRefused(conn, async (ch) => {
      ch.publish('amq.topic', `${user}.a`, Buffer.from('4'), { BCC: ['other.bcc'] });
      await ch.waitForConfirms();
    }, 403, refused('write', 'other.bcc'));
    // Bindings check the read pattern against the binding key.
    await assertRefused(conn, (ch) => ch.bindQueue(q, 'amq.topic', 'other.#'), 403, refused('read', 'other.#'));
    await assertAllowed(conn, (ch) => ch.bindQueue(q, 'amq.topic', `${user}.#`));
    // Other exchanges (amq.direct, not topic) are not affected.
    await assertAllowed(conn, (ch) => ch.publish('amq.direct', 'other.a', Buffer.from('5')));
    // The user's name is regex-escaped when expanded: its dots are literal.
    const dotless = user.replace(/\./g, 'X');
    await assertRefused(conn, async (ch) => {
      ch.publish('amq.topic', `${dotless}.a`, Buffer.from('6'));
      await ch.waitForConfirms();
    }, 403, refused('write', `${dotless}.a`));
    await ctlOk(dir(), ['clear_topic_permissions', user, 'amq.topic']);
    assert.ok(!(await ctlRows(dir(), ['list_topic_permissions'])).some((r) => r.user === user));
    await assertAllowed(conn, (ch) => ch.publish('amq.topic', 'other.a', Buffer.from('7')));
    const got: string[] = [];
    const gch = await (await clients.connect()).createChannel();
    for (let m = await gch.get(q, { noAck: true }); m; m = await gch.get(q, { noAck: true })) got.push(m.content.toString());
    assert.deepEqual(got, ['0', '1', '7']);
    await gch.deleteQueue(q);
  });

  it('set_topic_permissions checks the user, vhost and exchange and the patterns', async () => {
    const user = await addUser(dir(), 'tpv', '.*', '.*', '.*');
    const cases: [string[], RegExp][] = [
      [['set_topic_permissions', 'nobody', 'amq.topic', '.*', '.*'], /User 'nobody' does not exist/],
      [['set_topic_permissions', '-p', 'nope', user, 'amq.topic', '.*', '.*'], /Virtual host 'nope' does not exist/],
      [['set_topic_permissions', user, 'no.such.exchange', '.*', '.*'], /Exchange 'no.such.exchange' in vhost '\/' does not exist/],
      [['set_topic_permissions', user, 'amq.topic', '(', '.*'], /invalid regular expression for write/],
      [['set_permissions', user, 'x'.repeat(1025), '.*', '.*'], /longer than 1024 bytes/],
    ];
    for (const [args, stderr] of cases) {
      const r = await ctl(dir(), args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, stderr, args.join(' '));
    }
  });
});

describe('limits', { skip }, () => {
  it('vhost max-queues: a new queue over the limit is 406, a redeclare is fine', async () => {
    const vhost = uniqueName('lim');
    await ctlOk(dir(), ['add_vhost', vhost]);
    await ctlOk(dir(), ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    await ctlOk(dir(), ['set_vhost_limits', '-p', vhost, '{"max-queues": 2}']);
    assert.deepEqual(JSON.parse((await ctlRows(dir(), ['list_vhost_limits'])).find((r) => r.vhost === vhost)!.limits), { 'max-queues': 2 });
    const conn = await clients.connect({ vhost });
    await assertAllowed(conn, async (ch) => {
      await ch.assertQueue('a');
      await ch.assertQueue('b');
      await ch.assertQueue('a');
    });
    await assertRefused(conn, (ch) => ch.assertQueue('c'), 406, `PRECONDITION_FAILED - cannot declare queue 'c': queue limit in vhost '${vhost}' (2) is reached`);
    await ctlOk(dir(), ['clear_vhost_limits', '-p', vhost]);
    await assertAllowed(conn, (ch) => ch.assertQueue('c'));
    const bad = await ctl(dir(), ['set_vhost_limits', '-p', vhost, '{"max-queues": "x"}']);
    assert.match(bad.stderr, /max-queues should be a number, actually was "x"/);
    const unknown = await ctl(dir(), ['set_vhost_limits', '-p', vhost, '{"max-channels": 1}']);
    assert.match(unknown.stderr, /Unrecognised terms .* in limits/);
    await ctlOk(dir(), ['delete_vhost', vhost]);
  });

  it('vhost and user max-connections refuse connection.open with 530', async () => {
    const vhost = uniqueName('limc');
    await ctlOk(dir(), ['add_vhost', vhost]);
    const user = await addUser(dir(), 'lc', '.*', '.*', '.*', vhost);
    await ctlOk(dir(), ['set_vhost_limits', '-p', vhost, '{"max-connections": 1}']);
    const first = await clients.connect({ user, password: 'pw', vhost });
    assert.match(await openRefusal(clients.url({ user, password: 'pw', vhost })), /ConnectionClose/);
    await first.close();
    await ctlOk(dir(), ['set_vhost_limits', '-p', vhost, '{"max-connections": 0}']);
    assert.match(await openRefusal(clients.url({ user, password: 'pw', vhost })), /ConnectionClose/);
    await ctlOk(dir(), ['set_vhost_limits', '-p', vhost, '{"max-connections": -1}']);
    await (await clients.connect({ user, password: 'pw', vhost })).close();
    await ctlOk(dir(), ['set_user_limits', user, '{"max-connections": 1}']);
    const one = await clients.connect({ user, password: 'pw', vhost });
    assert.match(await openRefusal(clients.url({ user, password: 'pw', vhost })), /ConnectionClose/);
    await one.close();
    await ctlOk(dir(), ['clear_user_limits', user, 'max-connections']);
    const a = await clients.connect({ user, password: 'pw', vhost });
    const b = await clients.connect({ user, password: 'pw', vhost });
    await Promise.all([a.close(), b.close()]);
  });

  it('user max-channels counts channels across connections: 530 with the exact text', async () => {
    const user = await addUser(dir(), 'lch', '.*', '.*', '.*');
    await ctlOk(dir(), ['set_user_limits', user, '{"max-channels": 2}']);
    assert.deepEqual(JSON.parse((await ctlRows(dir(), ['list_user_limits'])).find((r) => r.user === user)!.limits), { 'max-channels': 2 });
    const c1 = await clients.connect({ user, password: 'pw' });
    const c2 = await clients.connect({ user, password: 'pw' });
    await c1.createChannel();
    await c2.createChannel();
    const closed = new Promise<unknown>((ok) => c2.once('close', ok));
    await assert.rejects(c2.createChannel());
    assert.match(String(await closed), new RegExp(`NOT_ALLOWED - number of channels opened for user '${user}' has reached the maximum allowed user limit of 2`));
    await ctlOk(dir(), ['clear_user_limits', user, 'all']);
    await c1.createChannel();
  });
});

describe('node connection limit (max_connections)', { skip }, () => {
  it('refuses connection.open past the limit with 530 and RabbitMQ text', async () => {
    const b = await startBroker({ env: { WARREN_MAX_CONNECTIONS: '2' } });
    try {
      const open = [await amqp.connect(b.url), await amqp.connect(b.url)];
      const raw = await RawClient.connect(b.port);
      await assert.rejects(raw.handshake(), /connection\.close 530 NOT_ALLOWED - connection refused: node connection limit \(2\) is reached/);
      raw.socket.destroy();
      await open[0].close();
      await (await amqp.connect(b.url)).close();
      await open[1].close();
    } finally {
      await b.stop();
    }
  });
});
