// WARREN_MGMT_DISABLE_STATS (RabbitMQ's management.disable_stats): no rates or rate history are sampled, while
// counts (queues, messages, connections) stay.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, uniqueName, waitFor } from '../helpers/amqp-test';
import { api, mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture(100, [], { WARREN_MGMT_DISABLE_STATS: 'true' });

describe('management with statistics disabled', () => {
  it('says so in the overview, samples no history, and still counts queues and messages', async () => {
    const ch = await clients.channel();
    const q = uniqueName('nostats');
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    const o = await waitFor(async () => {
      const j = (await api(m(), 'GET', '/api/overview?msg_rates_age=60&msg_rates_incr=1&lengths_age=60&lengths_incr=1')).json;
      return j.queue_totals.messages_ready === 3 && j;
    }, 5000, 'the queue totals');
    assert.equal(o.disable_stats, true);
    assert.ok(o.object_totals.queues >= 1);
    // Several ticks have run (the totals came from one); with statistics on, the history would hold samples.
    await sleep(500);
    const later = (await api(m(), 'GET', '/api/overview?msg_rates_age=60&msg_rates_incr=1&lengths_age=60&lengths_incr=1')).json;
    assert.deepEqual(later.message_stats.publish_details?.samples ?? [], []);
    assert.deepEqual(later.queue_totals.messages_details?.samples ?? [], []);
    const queue = (await api(m(), 'GET', `/api/queues/%2F/${q}`)).json;
    assert.equal(queue.messages, 3);
  });
});
