// Per-queue message TTL (x-message-ttl), per-message TTL (expiration), and queue expiry (x-expires).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, rejectsWithCode, sleep, uniqueName, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { channelCloseOf, declareCode, drainBodies, mustGet } from './support';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

async function queue(ch: amqp.Channel, args: Record<string, unknown> = {}): Promise<string> {
  const q = uniqueName('ttl');
  await ch.assertQueue(q, { exclusive: true, arguments: args });
  return q;
}

describe('x-message-ttl', () => {
  it('expires waiting messages: basic.get after the TTL gets nothing, a later consumer gets nothing', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = await queue(ch, { 'x-message-ttl': 100 });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    assert.equal((await ch.checkQueue(q)).messageCount, 3, 'messages are there before the TTL');
    await sleep(300);
    assert.equal(await ch.get(q), false, 'basic.get after the TTL');
    const c = collector();
    await ch.consume(q, c.onMessage, { noAck: true });
    await sleep(100);
    assert.equal(c.messages.length, 0, 'an expired message is never delivered');
    await ch.close();
  });

  it('keeps messages that are younger than the TTL', async () => {
    const ch = await clients.channel(conn);
    const q = await queue(ch, { 'x-message-ttl': 5000 });
    ch.sendToQueue(q, Buffer.from('fresh'));
    const m = await mustGet(ch, q, 'the queue');
    assert.equal(m.content.toString(), 'fresh');
    await ch.close();
  });

  it('with x-message-ttl 0, delivers to a waiting consumer and drops when there is none', async () => {
    const ch = await clients.channel(conn);
    const q = await queue(ch, { 'x-message-ttl': 0 });
    ch.sendToQueue(q, Buffer.from('nobody'));
    await sleep(100);
    assert.equal(await ch.get(q), false, 'dropped: no consumer at publish time');
    const c = collector();
    await ch.consume(q, c.onMessage, { noAck: true });
    ch.sendToQueue(q, Buffer.from('now'));
    await c.waitCount(1, 2000);
    assert.equal(c.messages[0]!.content.toString(), 'now');
    await ch.close();
  });
});

describe('per-message expiration', () => {
  it('expires a message with expiration "100" and keeps one without expiration', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = await queue(ch);
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('forever'));
    await ch.waitForConfirms();
    await sleep(300);
    assert.deepEqual(await drainBodies(ch, q), ['forever']);
    await ch.close();
  });

  it('delivers an unexpired message with its expiration property intact', async () => {
    const ch = await clients.channel(conn);
    const q = await queue(ch);
    ch.sendToQueue(q, Buffer.from('x'), { expiration: '60000' });
    const m = await mustGet(ch, q, 'the queue');
    assert.equal(m.properties.expiration, '60000');
    await ch.close();
  });

  it('applies the lower of the queue TTL and the message expiration', async () => {
    const ch = await clients.confirmChannel(conn);
    const shortQueue = await queue(ch, { 'x-message-ttl': 100 });
    const longQueue = await queue(ch, { 'x-message-ttl': 60000 });
    ch.sendToQueue(shortQueue, Buffer.from('queue ttl wins'), { expiration: '60000' });
    ch.sendToQueue(longQueue, Buffer.from('message ttl wins'), { expiration: '100' });
    ch.sendToQueue(longQueue, Buffer.from('kept'), { expiration: '60000' });
    await ch.waitForConfirms();
    await sleep(300);
    assert.deepEqual(await drainBodies(ch, shortQueue), []);
    assert.deepEqual(await drainBodies(ch, longQueue), ['kept']);
    await ch.close();
  });

  it('with expiration "0", delivers to a waiting consumer and drops when there is none', async () => {
    const ch = await clients.channel(conn);
    const q = await queue(ch);
    ch.sendToQueue(q, Buffer.from('nobody'), { expiration: '0' });
    await sleep(100);
    assert.equal(await ch.get(q), false, 'dropped: no consumer at publish time');
    const c = collector();
    await ch.consume(q, c.onMessage, { noAck: true });
    ch.sendToQueue(q, Buffer.from('now'), { expiration: '0' });
    await c.waitCount(1, 2000);
    assert.equal(c.messages[0]!.content.toString(), 'now');
    await ch.close();
  });

  for (const bad of ['abc', '-1']) {
    it(`closes the channel with 406 on expiration "${bad}"`, async () => {
      const q = await queue(await clients.channel(conn));
      const ch = await clients.channel(conn);
      const close = await channelCloseOf(ch, (c) => c.sendToQueue(q, Buffer.from('bad'), { expiration: bad }));
      assert.equal(close.code, 406, close.message);
      assert.match(close.message, /expiration/i);
    });
  }

  it('never delivers an expired message stuck behind an unexpired one', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = await queue(ch);
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '50' });
    await ch.waitForConfirms();
    await sleep(200);
    assert.deepEqual(await drainBodies(ch, q), ['long']);
    await ch.close();
  });

  it('keeps the expiry time of a requeued message', async () => {
    const ch = await clients.channel(conn);
    const q = await queue(ch);
    ch.sendToQueue(q, Buffer.from('requeued'), { expiration: '200' });
    const m = await mustGet(ch, q, 'the queue', { noAck: false });
    ch.nack(m, false, true);
    await sleep(350);
    assert.equal(await ch.get(q), false, 'the requeued message still expires on its original schedule');
    await ch.close();
  });
});

describe('x-expires', () => {
  it('deletes a queue unused for x-expires ms (passive declare then answers 404)', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('expires');
    await ch.assertQueue(q, { arguments: { 'x-expires': 150 } });
    await sleep(600);
    const probe = await clients.channel(conn);
    await rejectsWithCode(probe.checkQueue(q), 404);
    await ch.close();
  });

  it('does not delete a queue that has a consumer', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('expires-used');
    await ch.assertQueue(q, { arguments: { 'x-expires': 150 } });
    const { consumerTag } = await ch.consume(q, () => {}, { noAck: true });
    await sleep(500);
    const ok = await withTimeout(ch.checkQueue(q), 2000, 'passive declare');
    assert.equal(ok.consumerCount, 1);
    await ch.cancel(consumerTag);
    await sleep(600);
    const probe = await clients.channel(conn);
    await rejectsWithCode(probe.checkQueue(q), 404, /NOT_FOUND/);
    await ch.close();
  });

  it('renews the lease when the queue is redeclared', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('expires-renew');
    const opts = { arguments: { 'x-expires': 400 } };
    await ch.assertQueue(q, opts);
    for (let i = 0; i < 3; i++) {
      await sleep(250);
      await ch.assertQueue(q, opts);
    }
    // 750 ms after the first declare: still there because each redeclare restarted the 400 ms lease.
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
    await ch.close();
  });

  it('renews the lease on basic.get', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('expires-get');
    await ch.assertQueue(q, { arguments: { 'x-expires': 400 } });
    for (let i = 0; i < 3; i++) {
      await sleep(250);
      await ch.get(q, { noAck: true });
    }
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
    await ch.close();
  });

  it('refuses x-expires 0 with 406', async () => {
    const r = await declareCode(clients, conn, uniqueName('expires-zero'), { arguments: { 'x-expires': 0 } });
    assert.equal(r.code, 406, r.message);
    assert.match(r.message, /x-expires/);
  });
});
