// basic.qos as RabbitMQ interprets it: prefetch-count per consumer (global=false) or per channel (global=true).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, sleep, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { methodFrame, RawClient, u16, u32, u8 } from '../helpers/raw-amqp';

let conn: amqp.ChannelModel;
const { clients, broker } = brokerFixture(async (c) => {
  conn = await c.connect();
});

async function queueWith(ch: amqp.Channel, n: number): Promise<string> {
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  return q;
}

describe('basic.qos', () => {
  it('limits unacked deliveries per consumer with global=false', async () => {
    const ch = await clients.channel(conn);
    await ch.prefetch(2, false);
    const q = await queueWith(ch, 20);
    const a = collector();
    const b = collector();
    await ch.consume(q, a.onMessage);
    await ch.consume(q, b.onMessage);
    await waitFor(() => a.messages.length === 2 && b.messages.length === 2, 3000, 'two deliveries each');
    await sleep(200);
    assert.equal(a.messages.length, 2, 'consumer a must stop at its prefetch');
    assert.equal(b.messages.length, 2, 'consumer b must stop at its prefetch');
    ch.ack(a.messages[0]!);
    await a.waitCount(3);
    await sleep(150);
    assert.equal(a.messages.length, 3, 'one ack frees exactly one slot');
    assert.equal(b.messages.length, 2);
    ch.ack(a.messages[2]!, true); // acks 1..3 of a: two more for a
    await a.waitCount(5);
    await sleep(150);
    assert.equal(a.messages.length, 5);
    await ch.close();
  });

  it('limits unacked deliveries per channel with global=true, shared by its consumers', async () => {
    const ch = await clients.channel(conn);
    await ch.prefetch(3, true);
    const q = await queueWith(ch, 20);
    const a = collector();
    const b = collector();
    await ch.consume(q, a.onMessage);
    await ch.consume(q, b.onMessage);
    await waitFor(() => a.messages.length + b.messages.length === 3, 3000, 'three deliveries');
    await sleep(200);
    assert.equal(a.messages.length + b.messages.length, 3, 'the channel limit is shared');
    const first = a.messages[0] ?? b.messages[0]!;
    ch.ack(first);
    await waitFor(() => a.messages.length + b.messages.length === 4, 3000, 'a fourth delivery');
    await sleep(150);
    assert.equal(a.messages.length + b.messages.length, 4);
    await ch.close();
  });

  it('applies a global=false limit only to consumers created after basic.qos', async () => {
    const ch = await clients.channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const unlimited = collector();
    await ch.consume(q, unlimited.onMessage);
    await ch.prefetch(1, false);
    const limited = collector();
    await ch.consume(q, limited.onMessage);
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await waitFor(() => unlimited.messages.length + limited.messages.length === 10, 3000, 'all ten delivered');
    assert.ok(limited.messages.length <= 1, `the later consumer is limited to 1, got ${limited.messages.length}`);
    await ch.close();
  });

  it('prefetch 0 means unlimited', async () => {
    const ch = await clients.channel(conn);
    await ch.prefetch(0);
    const q = await queueWith(ch, 50);
    const c = collector();
    await ch.consume(q, c.onMessage);
    await c.waitCount(50);
    await ch.close();
  });

  it('does not limit basic.get', async () => {
    const ch = await clients.channel(conn);
    await ch.prefetch(1, true);
    const q = await queueWith(ch, 3);
    await sleep(50);
    const got = [await ch.get(q), await ch.get(q), await ch.get(q)];
    assert.ok(got.every((m) => m !== false), 'basic.get ignores prefetch');
    await ch.close();
  });

  it('closes the connection with 540 NOT_IMPLEMENTED for a non-zero prefetch-size', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      raw.write(methodFrame(1, 60, 10, Buffer.concat([u32(1024), u16(10), u8(0)])));
      const close = await raw.expectConnectionClose();
      assert.equal(close.replyCode, 540);
    } finally {
      raw.destroy();
    }
  });
});
