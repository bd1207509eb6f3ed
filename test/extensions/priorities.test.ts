// Priority queues (x-max-priority, message priority) and consumer priorities (basic.consume x-priority).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, sleep, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { channelCloseOf, declareCode, drainBodies } from './support';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

/** Publishes [body, priority] pairs (undefined = no priority property) and waits for the confirms. */
async function publishAll(ch: amqp.ConfirmChannel, q: string, msgs: Array<[string, number | undefined]>) {
  for (const [body, priority] of msgs) {
    ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
  }
  await ch.waitForConfirms();
}

describe('priority queues', () => {
  const mixed: Array<[string, number | undefined]> = [
    ['p1-a', 1],
    ['p5-a', 5],
    ['none-a', undefined],
    ['p10-a', 10],
    ['p5-b', 5],
    ['p0-a', 0],
    ['p10-b', 10],
    ['p1-b', 1],
  ];
  const expected = ['p10-a', 'p10-b', 'p5-a', 'p5-b', 'p1-a', 'p1-b', 'none-a', 'p0-a'];

  it('delivers highest priority first, FIFO within a priority (basic.get)', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('prio-get');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 10 } });
    await publishAll(ch, q, mixed);
    assert.deepEqual(await drainBodies(ch, q), expected);
    await ch.close();
  });

  it('delivers highest priority first, FIFO within a priority (basic.consume, prefetch 1)', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('prio-consume');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 10 } });
    await publishAll(ch, q, mixed);
    await ch.prefetch(1);
    const got: string[] = [];
    await ch.consume(q, (m) => {
      if (!m) return;
      got.push(m.content.toString());
      ch.ack(m);
    });
    await waitFor(() => got.length === expected.length, 3000, 'all messages');
    assert.deepEqual(got, expected);
    await ch.close();
  });

  it('treats a priority above x-max-priority as the maximum', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('prio-cap');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 5 } });
    await publishAll(ch, q, [
      ['low', 1],
      ['max-a', 5],
      ['over', 200],
      ['max-b', 5],
    ]);
    assert.deepEqual(await drainBodies(ch, q), ['max-a', 'over', 'max-b', 'low']);
    await ch.close();
  });

  it('keeps the priority property on delivered messages', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('prio-prop');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 3 } });
    await publishAll(ch, q, [['x', 2]]);
    const m = await ch.get(q, { noAck: true });
    assert.ok(m);
    assert.equal(m.properties.priority, 2);
    await ch.close();
  });

  it('ignores message priority on a queue without x-max-priority (plain FIFO)', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('prio-none');
    await ch.assertQueue(q, { exclusive: true });
    await publishAll(ch, q, [
      ['a', 1],
      ['b', 9],
      ['c', 5],
    ]);
    assert.deepEqual(await drainBodies(ch, q), ['a', 'b', 'c']);
    await ch.close();
  });

  it('refuses x-max-priority 300 with 406', async () => {
    const r = await declareCode(clients, conn, uniqueName('prio-bad'), { arguments: { 'x-max-priority': 300 } });
    assert.equal(r.code, 406, r.message);
    assert.match(r.message, /x-max-priority/);
  });
});

describe('consumer priorities', () => {
  it('gives messages to the x-priority 10 consumer while it has credit, to the x-priority 1 one otherwise', async () => {
    const setup = await clients.channel(conn);
    const q = uniqueName('cprio');
    await setup.assertQueue(q, { exclusive: true });
    const highCh = await clients.channel(conn);
    const lowCh = await clients.channel(conn);
    await highCh.prefetch(1);
    await lowCh.prefetch(1);
    const high = collector();
    const low = collector();
    await lowCh.consume(q, low.onMessage, { priority: 1 });
    await highCh.consume(q, high.onMessage, { priority: 10 });

    // One at a time, acking each before the next: the high-priority consumer always has credit.
    for (let i = 0; i < 5; i++) {
      setup.sendToQueue(q, Buffer.from(`h${i}`));
      await high.waitCount(i + 1, 2000);
      highCh.ack(high.messages[i]!);
      await sleep(20);
    }
    assert.equal(low.messages.length, 0, 'the low-priority consumer gets nothing while the high one has credit');

    // The high consumer holds one unacked message (prefetch 1 used up): the next goes to the low one.
    setup.sendToQueue(q, Buffer.from('to-high'));
    await high.waitCount(6, 2000);
    setup.sendToQueue(q, Buffer.from('to-low'));
    await low.waitCount(1, 2000);
    assert.equal(low.messages[0]!.content.toString(), 'to-low');
    assert.equal(high.messages.length, 6);

    // Credit back on the high consumer: it is preferred again.
    highCh.ack(high.messages[5]!);
    await sleep(50);
    setup.sendToQueue(q, Buffer.from('high-again'));
    await high.waitCount(7, 2000);
    assert.equal(high.messages[6]!.content.toString(), 'high-again');
    assert.equal(low.messages.length, 1);
    await highCh.close();
    await lowCh.close();
    await setup.close();
  });

  it('accepts a negative x-priority, below the default 0', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('cprio-neg');
    await ch.assertQueue(q, { exclusive: true });
    const neg = collector();
    const dflt = collector();
    await ch.consume(q, neg.onMessage, { noAck: true, priority: -5 });
    await ch.consume(q, dflt.onMessage, { noAck: true });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await dflt.waitCount(4, 2000);
    assert.equal(neg.messages.length, 0, 'the default-priority consumer (never blocked with no-ack) takes all');
    await ch.close();
  });

  it('delivers round-robin among consumers of equal priority', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('cprio-equal');
    await ch.assertQueue(q, { exclusive: true });
    const a = collector();
    const b = collector();
    await ch.consume(q, a.onMessage, { noAck: true, priority: 5 });
    await ch.consume(q, b.onMessage, { noAck: true, priority: 5 });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await waitFor(() => a.messages.length + b.messages.length === 6, 2000, 'six deliveries');
    assert.equal(a.messages.length, 3);
    assert.equal(b.messages.length, 3);
    await ch.close();
  });

  it("refuses x-priority 'abc' with 406", async () => {
    const setup = await clients.channel(conn);
    const q = uniqueName('cprio-bad');
    await setup.assertQueue(q, { exclusive: true });
    const ch = await clients.channel(conn);
    const close = await channelCloseOf(ch, (c) => c.consume(q, () => {}, { arguments: { 'x-priority': 'abc' } }));
    assert.equal(close.code, 406, close.message);
    assert.match(close.message, /x-priority/);
    await setup.close();
  });
});
