// /api/overview's totals without a walk over the queues per request: queue, connection and channel counts
// are current; ready and unacknowledged messages are those of the last statistics sample (as RabbitMQ's
// overview lags by up to one collect_statistics_interval).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName, waitFor } from '../helpers/amqp-test';
import { api, mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture(100);

async function overview(): Promise<any> {
  const res = await api(m(), 'GET', '/api/overview');
  assert.equal(res.status, 200);
  return res.json;
}

describe('overview totals', () => {
  it('counts queues and connections at once, ready and unacknowledged messages from the sample', async () => {
    const before = await overview();
    const conn = await clients.connect();
    const ch = await conn.createChannel();
    const q1 = uniqueName('ov');
    const q2 = uniqueName('ov');
    await ch.assertQueue(q1, { durable: false });
    await ch.assertQueue(q2, { durable: false });
    // No sampling tick needed for counts of objects.
    const now = await overview();
    assert.equal(now.object_totals.queues, before.object_totals.queues + 2);
    assert.equal(now.object_totals.connections, before.object_totals.connections + 1);
    assert.equal(now.object_totals.channels, before.object_totals.channels + 1);

    for (let i = 0; i < 5; i++) ch.sendToQueue(q1, Buffer.from(`m${i}`));
    ch.sendToQueue(q2, Buffer.from('other'));
    await ch.prefetch(2);
    await ch.consume(q1, () => undefined, { noAck: false });
    const sampled = await waitFor(async () => {
      const o = await overview();
      return o.queue_totals.messages_ready === before.queue_totals.messages_ready + 4 && o.queue_totals.messages_unacknowledged === before.queue_totals.messages_unacknowledged + 2 && o;
    }, 5000, 'the sampled queue totals');
    assert.equal(sampled.queue_totals.messages, sampled.queue_totals.messages_ready + sampled.queue_totals.messages_unacknowledged);
    assert.equal(sampled.object_totals.consumers, before.object_totals.consumers + 1);

    await ch.deleteQueue(q1);
    await ch.deleteQueue(q2);
    assert.equal((await overview()).object_totals.queues, before.object_totals.queues);
    await waitFor(async () => (await overview()).queue_totals.messages === before.queue_totals.messages, 5000, 'totals after the delete');
    await conn.close();
  });
});
