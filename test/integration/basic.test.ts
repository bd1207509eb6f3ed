// basic.get / consume / cancel / ack / nack / reject / recover, and the errors RabbitMQ raises around them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, rejectsWithCode, sleep, track, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

function channel(c: amqp.ChannelModel = conn): Promise<amqp.Channel> {
  return clients.channel(c);
}

/** An exclusive server-named queue holding the given bodies (confirmed before returning). */
async function queueWith(bodies: string[], c: amqp.ChannelModel = conn): Promise<string> {
  const ch = await clients.confirmChannel(c);
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
  await ch.waitForConfirms();
  await ch.close();
  return q;
}

describe('basic.publish and basic.get', () => {
  it('gets messages in order with delivery fields, then get-empty', async () => {
    const ch = await channel();
    const q = await queueWith(['a', 'b']);
    const m1 = await ch.get(q);
    assert.ok(m1);
    assert.equal(m1.content.toString(), 'a');
    assert.equal(m1.fields.redelivered, false);
    assert.equal(m1.fields.exchange, '');
    assert.equal(m1.fields.routingKey, q);
    assert.equal(m1.fields.messageCount, 1, 'get-ok message-count is what remains after this one');
    assert.equal(m1.fields.deliveryTag, 1);
    const m2 = await ch.get(q);
    assert.ok(m2);
    assert.equal(m2.content.toString(), 'b');
    assert.equal(m2.fields.deliveryTag, 2);
    assert.equal(m2.fields.messageCount, 0);
    assert.equal(await ch.get(q), false);
    ch.ack(m2, true);
    assert.equal(await ch.get(q), false, 'acked messages are gone');
    await ch.close();
  });

  it('requeues unacked basic.get messages when the channel closes', async () => {
    const q = await queueWith(['x']);
    const ch = await channel();
    assert.ok(await ch.get(q));
    await ch.close();
    const ch2 = await channel();
    const again = await waitFor(() => ch2.get(q, { noAck: true }), 3000, 'requeued message');
    assert.equal(again.content.toString(), 'x');
    assert.equal(again.fields.redelivered, true);
    await ch2.close();
  });

  it('answers basic.get on a missing queue with 404', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.get(uniqueName('missing')), 404);
  });

  it('answers a publish to a missing exchange with 404 (channel closes)', async () => {
    const t = track(await channel());
    t.ch.publish(uniqueName('no-such-exchange'), 'k', Buffer.from('x'));
    await t.closed;
    assert.equal((t.errors[0] as Error & { code?: number }).code, 404);
  });
});

describe('basic.consume and basic.cancel', () => {
  it('generates an amq.ctag- consumer tag and delivers with it', async () => {
    const ch = await channel();
    const q = await queueWith(['m']);
    const c = collector();
    const { consumerTag } = await ch.consume(q, c.onMessage, { noAck: true });
    assert.match(consumerTag, /^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    await c.waitCount(1);
    assert.equal(c.messages[0]!.fields.consumerTag, consumerTag);
    assert.equal(c.messages[0]!.content.toString(), 'm');
    await ch.close();
  });

  it('uses a client-chosen consumer tag', async () => {
    const ch = await channel();
    const q = await queueWith([]);
    const tag = uniqueName('ctag');
    const ok = await ch.consume(q, () => {}, { consumerTag: tag });
    assert.equal(ok.consumerTag, tag);
    await ch.close();
  });

  it('stops delivering after cancel and leaves later messages in the queue', async () => {
    const ch = await channel();
    const q = await queueWith(['1']);
    const c = collector();
    const { consumerTag } = await ch.consume(q, c.onMessage, { noAck: true });
    await c.waitCount(1);
    const ok = await ch.cancel(consumerTag);
    assert.equal(ok.consumerTag, consumerTag);
    ch.sendToQueue(q, Buffer.from('2'));
    await sleep(150);
    assert.equal(c.messages.length, 1);
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    await ch.close();
  });

  it('round-robins between two consumers on one queue', async () => {
    const ch = await channel();
    const q = await queueWith([]);
    const a = collector();
    const b = collector();
    await ch.consume(q, a.onMessage, { noAck: true });
    await ch.consume(q, b.onMessage, { noAck: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await waitFor(() => a.messages.length + b.messages.length === 10, 3000, '10 deliveries');
    assert.ok(a.messages.length >= 3 && b.messages.length >= 3, `uneven: ${a.messages.length}/${b.messages.length}`);
    await ch.close();
  });

  it('closes the connection with 530 when a consumer tag is reused on a channel', async () => {
    const c = await clients.connect();
    const ch = await channel(c);
    const q = await queueWith([], c);
    await ch.consume(q, () => {}, { consumerTag: 'dup' });
    await assert.rejects(ch.consume(q, () => {}, { consumerTag: 'dup' }));
    await waitFor(() => c.errors.length > 0, 3000, 'connection error');
    assert.equal((c.errors[0] as Error & { code?: number }).code, 530, String(c.errors[0]));
    assert.match(String(c.errors[0]), /NOT_ALLOWED/);
  });

  it('refuses a second consumer next to an exclusive one with 403, and vice versa', async () => {
    const owner = await channel();
    const q = await queueWith([]);
    const { consumerTag } = await owner.consume(q, () => {}, { exclusive: true });
    await rejectsWithCode((await channel()).consume(q, () => {}), 403, /ACCESS_REFUSED/);
    await owner.cancel(consumerTag);
    await owner.consume(q, () => {});
    await rejectsWithCode((await channel()).consume(q, () => {}, { exclusive: true }), 403, /ACCESS_REFUSED/);
    await owner.close();
  });

  it('tells the consumer when its queue is deleted (server basic.cancel)', async () => {
    const ch = await channel();
    const q = uniqueName('q-cancel-notify');
    await ch.assertQueue(q);
    const c = collector();
    const cancels: string[] = [];
    ch.on('cancel', (f: { consumerTag: string }) => cancels.push(f.consumerTag));
    const { consumerTag } = await ch.consume(q, c.onMessage);
    const other = await channel();
    await other.deleteQueue(q);
    await waitFor(() => c.cancelled, 3000, 'consumer callback with null');
    assert.deepEqual(cancels, [consumerTag]);
    // The channel is still usable after a server-initiated cancel.
    await ch.checkExchange('amq.direct');
    await ch.close();
  });

  it('answers basic.consume on a missing queue with 404', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.consume(uniqueName('missing'), () => {}), 404);
  });
});

describe('acknowledgements', () => {
  async function consumeAll(ch: amqp.Channel, q: string, n: number) {
    const c = collector();
    const ok = await ch.consume(q, c.onMessage);
    await c.waitCount(n);
    return { c, consumerTag: ok.consumerTag };
  }

  it('ack multiple acknowledges everything up to the tag', async () => {
    const ch = await channel();
    const q = await queueWith(['1', '2', '3', '4']);
    const { c, consumerTag } = await consumeAll(ch, q, 4);
    ch.ack(c.messages[2]!, true); // 1..3
    await ch.cancel(consumerTag);
    await ch.close(); // requeues what is still unacked: only 4
    const ch2 = await channel();
    const left = await waitFor(() => ch2.get(q, { noAck: true }), 3000, 'the unacked message');
    assert.equal(left.content.toString(), '4');
    assert.equal(left.fields.redelivered, true);
    assert.equal(await ch2.get(q), false);
    await ch2.close();
  });

  it('nack multiple with requeue redelivers with redelivered=true, in order', async () => {
    const ch = await channel();
    const q = await queueWith(['1', '2', '3']);
    const c = collector();
    await ch.consume(q, c.onMessage);
    await c.waitCount(3);
    assert.ok(c.messages.every((m) => !m.fields.redelivered));
    ch.nack(c.messages[2]!, true, true);
    await c.waitCount(6);
    const again = c.messages.slice(3);
    assert.deepEqual(
      again.map((m) => m.content.toString()),
      ['1', '2', '3'],
    );
    assert.ok(again.every((m) => m.fields.redelivered));
    for (const m of again) ch.ack(m);
    await ch.close();
  });

  it('reject with requeue=false drops the message; reject with requeue=true redelivers it', async () => {
    const ch = await channel();
    const q = await queueWith(['drop', 'keep']);
    const c = collector();
    await ch.consume(q, c.onMessage);
    await c.waitCount(2);
    ch.reject(c.messages[0]!, false);
    ch.reject(c.messages[1]!, true);
    await c.waitCount(3);
    assert.equal(c.messages[2]!.content.toString(), 'keep');
    assert.equal(c.messages[2]!.fields.redelivered, true);
    ch.ack(c.messages[2]!);
    await sleep(100);
    assert.equal(c.messages.length, 3, 'the dropped message must not come back');
    await ch.close();
  });

  it('nack with requeue=false drops the message', async () => {
    const ch = await channel();
    const q = await queueWith(['gone']);
    const m = await ch.get(q);
    assert.ok(m);
    ch.nack(m, false, false);
    await sleep(50);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await ch.close();
  });

  it('closes the channel with 406 on an unknown delivery tag; the connection stays usable', async () => {
    const t = track(await channel());
    const q = await queueWith(['x']);
    const m = await t.ch.get(q);
    assert.ok(m);
    t.ch.ack({ ...m, fields: { ...m.fields, deliveryTag: 999 } });
    await t.closed;
    assert.equal((t.errors[0] as Error & { code?: number }).code, 406);
    assert.match(String(t.errors[0]), /PRECONDITION_FAILED - unknown delivery tag 999/);
    const ch2 = await channel();
    await ch2.checkQueue(q);
    await ch2.close();
  });

  it('treats acking the same delivery tag twice as an unknown tag (406)', async () => {
    const t = track(await channel());
    const q = await queueWith(['x']);
    const m = await t.ch.get(q);
    assert.ok(m);
    t.ch.ack(m);
    t.ch.ack(m);
    await t.closed;
    assert.equal((t.errors[0] as Error & { code?: number }).code, 406);
  });

  it('basic.recover redelivers unacked messages with redelivered=true', async () => {
    const ch = await channel();
    const q = await queueWith(['r1', 'r2']);
    const c = collector();
    await ch.consume(q, c.onMessage);
    await c.waitCount(2);
    await ch.recover();
    await c.waitCount(4);
    const again = c.messages.slice(2);
    assert.deepEqual(again.map((m) => m.content.toString()).sort(), ['r1', 'r2']);
    assert.ok(again.every((m) => m.fields.redelivered));
    // Tags of the original deliveries are no longer valid; the new ones are.
    for (const m of again) ch.ack(m);
    await sleep(50);
    await ch.close();
    const ch2 = await channel();
    assert.equal(await ch2.get(q), false);
    await ch2.close();
  });

  it('requeues unacked deliveries when the consuming connection closes', async () => {
    const c2 = await clients.connect();
    const q = uniqueName('q-requeue-on-close');
    const setup = await channel();
    await setup.assertQueue(q);
    const ch = await channel(c2);
    const c = collector();
    await ch.consume(q, c.onMessage);
    setup.sendToQueue(q, Buffer.from('unacked'));
    await c.waitCount(1);
    await c2.close();
    const m = await waitFor(() => setup.get(q, { noAck: true }), 3000, 'requeued message');
    assert.equal(m.content.toString(), 'unacked');
    assert.equal(m.fields.redelivered, true);
    await setup.deleteQueue(q);
    await setup.close();
  });
});
