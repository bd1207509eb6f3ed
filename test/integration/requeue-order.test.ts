// Rejected and nacked messages come back at their original positions, as RabbitMQ restores them:
// individually rejected 1, 2, 3 are redelivered 1, 2, 3, in classic and priority queues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

const { clients } = brokerFixture();

async function getAll(ch: amqp.Channel, q: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: false });
    if (!m) return out;
    out.push(m);
  }
}

const bodies = (ms: amqp.Message[]) => ms.map((m) => m.content.toString());

async function queueWith(ch: amqp.Channel, items: { body: string; priority?: number }[], args: Record<string, unknown> = {}): Promise<string> {
  const q = (await ch.assertQueue(uniqueName('requeue'), { exclusive: true, arguments: args })).queue;
  for (const { body, priority } of items) ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
  await ch.checkQueue(q);
  return q;
}

describe('requeue order', () => {
  it('classic queue: individually rejected 1, 2, 3 come back 1, 2, 3, ahead of the never delivered', async () => {
    const ch = await clients.channel();
    const q = await queueWith(ch, ['1', '2', '3', '4', '5'].map((body) => ({ body })));
    const [m1, m2, m3] = [await ch.get(q), await ch.get(q), await ch.get(q)] as amqp.GetMessage[];
    ch.reject(m1, true);
    ch.reject(m2, true);
    ch.reject(m3, true);
    const again = await getAll(ch, q);
    assert.deepEqual(bodies(again), ['1', '2', '3', '4', '5']);
    assert.deepEqual(again.map((m) => m.fields.redelivered), [true, true, true, false, false]);
    ch.nackAll(true);
  });

  it('classic queue: rejected in reverse order, or nacked together after one was redelivered, still come back in queue order', async () => {
    const ch = await clients.channel();
    const q = await queueWith(ch, ['a', 'b', 'c', 'd'].map((body) => ({ body })));
    const [a, b, c] = [await ch.get(q), await ch.get(q), await ch.get(q)] as amqp.GetMessage[];
    ch.nack(c, false, true);
    ch.nack(a, false, true);
    const a2 = (await ch.get(q)) as amqp.GetMessage;
    assert.equal(a2.content.toString(), 'a');
    ch.nack(b, false, true);
    ch.nack(a2, false, true);
    assert.deepEqual(bodies(await getAll(ch, q)), ['a', 'b', 'c', 'd']);
    ch.nackAll(true);
  });

  it('classic queue: a consumer closing its channel returns its unacked messages in order (basic.recover too)', async () => {
    const conn = await clients.connect();
    const consumerCh = await conn.createChannel();
    const ch = await clients.channel(conn);
    const q = await queueWith(ch, ['1', '2', '3', '4'].map((body) => ({ body })));
    await consumerCh.prefetch(3);
    const seen: amqp.ConsumeMessage[] = [];
    await consumerCh.consume(q, (m) => m && seen.push(m));
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 10));
    consumerCh.reject(seen[1]!, true); // 2 back first, then 1 and 3 with the channel
    await consumerCh.close();
    const again = await getAll(ch, q);
    assert.deepEqual(bodies(again), ['1', '2', '3', '4']);
    await ch.recover();
    ch.nackAll(true);
  });

  it('priority queue: each priority level gets its messages back in their original order', async () => {
    const ch = await clients.channel();
    const q = await queueWith(
      ch,
      [
        { body: 'low-1', priority: 1 },
        { body: 'low-2', priority: 1 },
        { body: 'high-1', priority: 5 },
        { body: 'high-2', priority: 5 },
        { body: 'low-3', priority: 1 },
      ],
      { 'x-max-priority': 10 },
    );
    const first = await getAll(ch, q);
    assert.deepEqual(bodies(first), ['high-1', 'high-2', 'low-1', 'low-2', 'low-3']);
    for (const m of first) ch.reject(m, true);
    assert.deepEqual(bodies(await getAll(ch, q)), ['high-1', 'high-2', 'low-1', 'low-2', 'low-3']);
    ch.nackAll(true);
  });
});
