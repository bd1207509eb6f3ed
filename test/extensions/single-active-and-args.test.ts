// Single active consumer, and the 406s RabbitMQ gives for invalid or inequivalent queue arguments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { channelCloseOf, declareCode } from './support';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

describe('x-single-active-consumer', () => {
  it('delivers only to the first consumer; the second takes over when it cancels', async () => {
    const setup = await clients.channel(conn);
    const q = uniqueName('sac');
    await setup.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const chA = await clients.channel(conn);
    const chB = await clients.channel(conn);
    const a = collector();
    const b = collector();
    const { consumerTag: tagA } = await chA.consume(q, a.onMessage, { noAck: true });
    await chB.consume(q, b.onMessage, { noAck: true });
    for (let i = 0; i < 6; i++) setup.sendToQueue(q, Buffer.from(`first-${i}`));
    await a.waitCount(6, 2000);
    await sleep(100);
    assert.equal(b.messages.length, 0, 'the waiting consumer gets nothing while the first is active');
    const ok = await setup.checkQueue(q);
    assert.equal(ok.consumerCount, 2, 'both consumers are registered');

    await chA.cancel(tagA);
    for (let i = 0; i < 3; i++) setup.sendToQueue(q, Buffer.from(`second-${i}`));
    await b.waitCount(3, 2000);
    assert.deepEqual(
      b.messages.map((m) => m.content.toString()),
      ['second-0', 'second-1', 'second-2'],
    );
    assert.equal(a.messages.length, 6);
    await chA.close();
    await chB.close();
    await setup.close();
  });

  it('hands over when the active consumer\'s channel closes, and redelivers its unacked messages in order', async () => {
    const setup = await clients.channel(conn);
    const q = uniqueName('sac-close');
    await setup.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const chA = await clients.channel(conn);
    const chB = await clients.channel(conn);
    const a = collector();
    const b = collector();
    await chA.consume(q, a.onMessage, { noAck: false });
    await chB.consume(q, b.onMessage, { noAck: false });
    for (let i = 0; i < 3; i++) setup.sendToQueue(q, Buffer.from(`m${i}`));
    await a.waitCount(3, 2000);
    assert.equal(b.messages.length, 0);
    await chA.close(); // unacked messages go back to the queue
    await b.waitCount(3, 2000);
    assert.deepEqual(
      b.messages.map((m) => m.content.toString()),
      ['m0', 'm1', 'm2'],
    );
    assert.ok(b.messages.every((m) => m.fields.redelivered));
    for (const m of b.messages) chB.ack(m);
    await chB.close();
    await setup.close();
  });

  it('without the argument, delivers round-robin to both consumers', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('no-sac');
    await ch.assertQueue(q, { exclusive: true });
    const a = collector();
    const b = collector();
    await ch.consume(q, a.onMessage, { noAck: true });
    await ch.consume(q, b.onMessage, { noAck: true });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await a.waitCount(2, 2000);
    await b.waitCount(2, 2000);
    await ch.close();
  });

  it('refuses an exclusive basic.consume on a single-active-consumer queue (403 in exclusive use)', async () => {
    const setup = await clients.channel(conn);
    const q = uniqueName('sac-excl');
    await setup.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const ch = await clients.channel(conn);
    const close = await channelCloseOf(ch, (c) => c.consume(q, () => {}, { exclusive: true }));
    assert.equal(close.code, 403, close.message);
    assert.match(close.message, /exclusive use/);
    await setup.close();
  });

  for (const value of ['true', 1]) {
    it(`refuses a non-boolean x-single-active-consumer (${JSON.stringify(value)}) with 406`, async () => {
      const r = await declareCode(clients, conn, uniqueName('sac-bad'), {
        arguments: { 'x-single-active-consumer': value },
      });
      assert.equal(r.code, 406, r.message);
      assert.match(r.message, /x-single-active-consumer/);
    });
  }
});

describe('queue argument validation', () => {
  it("refuses x-max-length 'abc' with 406 naming the argument", async () => {
    const r = await declareCode(clients, conn, uniqueName('bad-maxlen'), { arguments: { 'x-max-length': 'abc' } });
    assert.equal(r.code, 406, r.message);
    assert.match(r.message, /PRECONDITION_FAILED/);
    assert.match(r.message, /invalid arg 'x-max-length'/);
  });

  it('refuses a negative x-message-ttl with 406', async () => {
    const r = await declareCode(clients, conn, uniqueName('bad-ttl'), { arguments: { 'x-message-ttl': -1 } });
    assert.equal(r.code, 406, r.message);
    assert.match(r.message, /x-message-ttl/);
  });

  it('refuses a non-string x-dead-letter-exchange with 406', async () => {
    const r = await declareCode(clients, conn, uniqueName('bad-dlx'), { arguments: { 'x-dead-letter-exchange': 5 } });
    assert.equal(r.code, 406, r.message);
    assert.match(r.message, /x-dead-letter-exchange/);
  });

  it('refuses x-dead-letter-routing-key without x-dead-letter-exchange with 406', async () => {
    const r = await declareCode(clients, conn, uniqueName('bad-dlrk'), {
      arguments: { 'x-dead-letter-routing-key': 'k' },
    });
    assert.equal(r.code, 406, r.message);
  });

  it("refuses a redeclare with a different x-message-ttl with 406 'inequivalent arg'", async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('ineq');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    const again = await clients.channel(conn);
    const close = await channelCloseOf(again, (c) =>
      c.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 2000 } }),
    );
    assert.equal(close.code, 406, close.message);
    assert.match(close.message, /inequivalent arg 'x-message-ttl'/);
    // The queue keeps its original argument: an equivalent redeclare still works.
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    await ch.close();
  });

  it('refuses a redeclare that adds x-max-length with 406 and one that drops it too', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('ineq-add');
    await ch.assertQueue(q, { exclusive: true });
    const r1 = await declareCode(clients, conn, q, { exclusive: true, arguments: { 'x-max-length': 5 } });
    assert.equal(r1.code, 406, r1.message);
    assert.match(r1.message, /inequivalent arg 'x-max-length'/);
    const q2 = uniqueName('ineq-drop');
    await ch.assertQueue(q2, { exclusive: true, arguments: { 'x-max-length': 5 } });
    const r2 = await declareCode(clients, conn, q2, { exclusive: true });
    assert.equal(r2.code, 406, r2.message);
    await ch.close();
  });

  it('accepts and ignores unknown x- arguments', async () => {
    const r = await declareCode(clients, conn, uniqueName('unknown-arg'), {
      exclusive: true,
      arguments: { 'x-made-up': 'whatever' },
    });
    assert.equal(r.code, 0, r.message);
  });
});
