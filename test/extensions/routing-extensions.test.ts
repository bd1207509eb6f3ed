// Alternate exchanges, what test/integration does not already cover of exchange-to-exchange bindings and CC/BCC,
// and the direct reply-to errors (the round trip itself is in test/integration/clients.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { rejectsWithCode, sleep, uniqueName, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { channelCloseOf, drainBodies, mustGet, rabbit310 } from './support';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

async function boundQueue(ch: amqp.Channel, exchange: string, key: string): Promise<string> {
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, exchange, key);
  return q;
}

/** Collects basic.return frames on a channel. */
function returns(ch: amqp.Channel): string[] {
  const got: string[] = [];
  ch.on('return', (m: amqp.Message) => got.push(m.content.toString()));
  return got;
}

describe('alternate-exchange', () => {
  it('sends unroutable messages to the alternate exchange, routable ones only to their queue', async () => {
    const ch = await clients.confirmChannel(conn);
    const ae = uniqueName('ae');
    const main = uniqueName('ae-main');
    await ch.assertExchange(ae, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(main, 'direct', { durable: false, autoDelete: true, alternateExchange: ae });
    const aeQ = await boundQueue(ch, ae, '');
    const mainQ = await boundQueue(ch, main, 'known');
    ch.publish(main, 'known', Buffer.from('routed'));
    ch.publish(main, 'unknown', Buffer.from('unroutable'));
    await ch.waitForConfirms();
    assert.deepEqual(await drainBodies(ch, mainQ), ['routed']);
    const m = await mustGet(ch, aeQ, 'the AE queue');
    assert.equal(m.content.toString(), 'unroutable');
    assert.equal(m.fields.routingKey, 'unknown', 'the routing key is unchanged');
    assert.equal(m.fields.exchange, main, 'the message keeps the exchange it was published to');
    assert.equal(await ch.get(aeQ), false);
    await ch.close();
  });

  it('counts a message routed via the AE as routed: no basic.return for mandatory', async () => {
    const ch = await clients.confirmChannel(conn);
    const returned = returns(ch);
    const ae = uniqueName('ae-m');
    const main = uniqueName('ae-m-main');
    const plain = uniqueName('ae-m-plain');
    await ch.assertExchange(ae, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(main, 'direct', { durable: false, autoDelete: true, alternateExchange: ae });
    await ch.assertExchange(plain, 'direct', { durable: false });
    const aeQ = await boundQueue(ch, ae, '');
    ch.publish(main, 'nowhere', Buffer.from('via-ae'), { mandatory: true });
    ch.publish(plain, 'nowhere', Buffer.from('lost'), { mandatory: true });
    await ch.waitForConfirms();
    await sleep(50);
    assert.deepEqual(returned, ['lost'], 'only the exchange without an AE returns the message');
    assert.equal((await mustGet(ch, aeQ, 'the AE queue')).content.toString(), 'via-ae');
    await ch.deleteExchange(plain);
    await ch.close();
  });

  it('follows a chain of alternate exchanges', async () => {
    const ch = await clients.confirmChannel(conn);
    const last = uniqueName('ae-last');
    const middle = uniqueName('ae-middle');
    const first = uniqueName('ae-first');
    await ch.assertExchange(last, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(middle, 'direct', { durable: false, autoDelete: true, alternateExchange: last });
    await ch.assertExchange(first, 'direct', { durable: false, autoDelete: true, alternateExchange: middle });
    const lastQ = await boundQueue(ch, last, '');
    await boundQueue(ch, middle, 'only-this'); // keeps middle alive; does not match
    ch.publish(first, 'k', Buffer.from('chained'));
    await ch.waitForConfirms();
    assert.equal((await mustGet(ch, lastQ, 'the last AE queue')).content.toString(), 'chained');
    await ch.close();
  });

  it('stops at an alternate-exchange loop: the message is dropped and a mandatory publish is returned', async () => {
    const ch = await clients.confirmChannel(conn);
    const returned = returns(ch);
    const a = uniqueName('ae-loop-a');
    const b = uniqueName('ae-loop-b');
    await ch.assertExchange(a, 'direct', { durable: false, alternateExchange: b });
    await ch.assertExchange(b, 'direct', { durable: false, alternateExchange: a });
    ch.publish(a, 'nowhere', Buffer.from('looping'), { mandatory: true });
    await withTimeout(ch.waitForConfirms(), 2000, 'the confirm of a publish into an AE loop');
    await sleep(50);
    assert.deepEqual(returned, ['looping']);
    await ch.deleteExchange(a);
    await ch.deleteExchange(b);
    await ch.close();
  });

  it('returns a mandatory message when the alternate exchange does not exist', async () => {
    const ch = await clients.confirmChannel(conn);
    const returned = returns(ch);
    const main = uniqueName('ae-missing');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: uniqueName('no-such-ae') });
    ch.publish(main, 'x', Buffer.from('nowhere'), { mandatory: true });
    await ch.waitForConfirms();
    await sleep(50);
    assert.deepEqual(returned, ['nowhere']);
    await ch.deleteExchange(main);
    await ch.close();
  });
});

describe('exchange-to-exchange bindings (beyond test/integration/exchanges.test.ts)', () => {
  it('routes with the original key through topic -> direct', async () => {
    const ch = await clients.confirmChannel(conn);
    const src = uniqueName('e2e-topic');
    const dst = uniqueName('e2e-direct');
    await ch.assertExchange(src, 'topic', { durable: false, autoDelete: true });
    await ch.assertExchange(dst, 'direct', { durable: false, autoDelete: true });
    await ch.bindExchange(dst, src, 'orders.*');
    const q = await boundQueue(ch, dst, 'orders.created');
    ch.publish(src, 'orders.created', Buffer.from('yes'));
    ch.publish(src, 'orders.paid', Buffer.from('no: dst has no binding for this key'));
    ch.publish(src, 'billing.created', Buffer.from('no: the topic binding does not match'));
    await ch.waitForConfirms();
    assert.deepEqual(await drainBodies(ch, q), ['yes']);
    await ch.close();
  });

  it('auto-deletes an exchange when its last binding as source goes, whatever binds to it', async () => {
    const ch = await clients.channel(conn);
    const upstream = uniqueName('e2e-up');
    const ad = uniqueName('e2e-autodel');
    await ch.assertExchange(upstream, 'fanout', { durable: false });
    await ch.assertExchange(ad, 'fanout', { durable: false, autoDelete: true });
    await ch.bindExchange(ad, upstream, ''); // ad is the destination here: does not keep it alive
    const q = await boundQueue(ch, ad, '');
    await ch.unbindQueue(q, ad, '');
    const probe = await clients.channel(conn);
    await rejectsWithCode(probe.checkExchange(ad), 404);
    await ch.deleteExchange(upstream);
    await ch.close();
  });
});

describe('CC / BCC (beyond test/integration/routing.test.ts)', () => {
  it('delivers one copy to a queue matched by both the routing key and a CC key, through a topic exchange', async () => {
    const ch = await clients.confirmChannel(conn);
    const ex = uniqueName('cc-topic');
    await ch.assertExchange(ex, 'topic', { durable: false, autoDelete: true });
    const both = await boundQueue(ch, ex, 'a.#');
    const bccOnly = await boundQueue(ch, ex, 'secret.*');
    ch.publish(ex, 'a.main', Buffer.from('m'), { CC: ['a.copy'], BCC: ['secret.x'] } as amqp.Options.Publish);
    await ch.waitForConfirms();
    assert.deepEqual(await drainBodies(ch, both), ['m'], 'one copy, not one per matching key');
    const b = await mustGet(ch, bccOnly, 'the BCC queue');
    assert.equal(b.properties.headers?.BCC, undefined);
    assert.deepEqual(b.properties.headers?.CC, ['a.copy']);
    assert.equal(b.fields.routingKey, 'a.main', 'the delivered routing key is the publish key');
    await ch.close();
  });
});

describe('direct reply-to errors and lifecycle', () => {
  it('refuses publishing with reply-to amq.rabbitmq.reply-to without a reply consumer (406)', async () => {
    const setup = await clients.channel(conn);
    const q = (await setup.assertQueue('', { exclusive: true })).queue;
    const ch = await clients.channel(conn);
    const close = await channelCloseOf(ch, (c) =>
      c.sendToQueue(q, Buffer.from('req'), { replyTo: 'amq.rabbitmq.reply-to' }),
    );
    assert.equal(close.code, 406, close.message);
    assert.match(close.message, /fast reply consumer does not exist/);
    assert.equal(await setup.get(q), false, 'the request was not routed');
    await setup.close();
  });

  it('refuses a second reply consumer on the same channel (406)', async () => {
    const ch = await clients.channel(conn);
    await ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    const close = await channelCloseOf(ch, (c) => c.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true }));
    assert.equal(close.code, 406, close.message);
    assert.match(close.message, /reply consumer already set/);
  });

  it('lets a passive declare find the reply address while the requester lives, then answers 404', async () => {
    const requesterConn = await clients.connect();
    const requester = await requesterConn.createChannel();
    const setup = await clients.channel(conn);
    const q = (await setup.assertQueue('', { exclusive: true })).queue;
    await requester.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    requester.sendToQueue(q, Buffer.from('req'), { replyTo: 'amq.rabbitmq.reply-to' });
    const req = await mustGet(setup, q, 'the request queue');
    const address = req.properties.replyTo as string;
    assert.match(address, /^amq\.rabbitmq\.reply-to\..+/);
    const ok = await setup.checkQueue(address);
    assert.equal(ok.messageCount, 0);
    assert.equal(ok.consumerCount, 1);
    await requesterConn.close();
    await sleep(50);
    // A reply to a vanished requester is dropped without an error, and counts as routed for mandatory.
    const returned = returns(setup);
    setup.publish('', address, Buffer.from('too late'), { mandatory: true });
    await withTimeout(setup.checkQueue(q), 2000, 'the responder channel stays usable');
    await sleep(50);
    // RabbitMQ 3.10 still returns it; the 4.x behaviour in the notes (section 19) counts it as routed.
    if (!rabbit310) assert.deepEqual(returned, [], 'no basic.return for a reply to a vanished requester');
    const probe = await clients.channel(conn);
    await rejectsWithCode(probe.checkQueue(address), 404);
    await setup.close();
  });
});
