/**
 * Queues larger than memory (issue 4 item 4). 300,000 persistent 1 KiB messages (about
 * 300 MiB of bodies) go into one durable queue with publisher confirms while the queue's
 * in-memory limit is 5,000 messages; the broker's RSS is sampled throughout and must
 * stay under 250 MiB. Held in memory the bodies alone would be 300 MiB (measured without
 * paging: about 650 MiB RSS), so the bound fails if paging does not happen.
 *
 * Why 250 MiB (measured: about 190): Node's baseline (~50 MiB) + the store's read cache
 * (16 MiB bound) + the queue's in-memory front (5,000 x 1 KiB = 5 MiB) + the indexes
 * (~35 B/message, 10 MiB) + V8 heap headroom, freed buffers not yet collected and malloc
 * fragmentation under a 75k msg/s publish (~100 MiB).
 *
 * Then the queue is consumed: every message, in publish order.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, idOf, publishConfirmed, rssBytes } from './durability-helpers';

const COUNT = Number(process.env.BACKLOG_MESSAGES ?? 300_000);
const RSS_LIMIT_BYTES = 250 * 1024 * 1024;
const QUEUE = 'backlog.q';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

describe('backlog larger than memory', () => {
  it(`${COUNT} persistent 1 KiB messages: RSS stays under 250 MiB, then all consumed in order`, { timeout: 100_000 }, async (t) => {
    const broker = await startBroker({ env: { WARREN_QUEUE_MEMORY_MESSAGES: '5000' } });
    brokers.push(broker);
    const pid = broker.child.pid!;
    let maxRss = 0;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, rssBytes(pid));
      } catch {
        // process gone; the test fails elsewhere
      }
    }, 100);

    try {
      const conn = await connectQuietly(broker.url);
      const ch = await conn.createChannel();
      await ch.assertQueue(QUEUE, { durable: true });
      const startedMs = Date.now();
      const run = await publishConfirmed(conn, QUEUE, { count: COUNT, bodyBytes: 1024, window: 2000 });
      const publishMs = Date.now() - startedMs;
      assert.equal(run.confirmed.size, COUNT);
      assert.equal((await ch.checkQueue(QUEUE)).messageCount, COUNT);
      const rssAfterPublish = rssBytes(pid);
      maxRss = Math.max(maxRss, rssAfterPublish);
      t.diagnostic(`published ${COUNT} in ${publishMs} ms; RSS now ${(rssAfterPublish / 2 ** 20).toFixed(0)} MiB, max ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
      assert.ok(maxRss < RSS_LIMIT_BYTES, `RSS reached ${(maxRss / 2 ** 20).toFixed(0)} MiB with ${COUNT} messages queued`);

      // Consume everything in order, acking in batches.
      const consumeStartedMs = Date.now();
      await ch.prefetch(1000);
      let next = 0;
      let outOfOrder = -1;
      await new Promise<void>((resolve, reject) => {
        let idle = setTimeout(() => reject(new Error(`stalled at ${next}`)), 10_000);
        void ch.consume(QUEUE, (msg) => {
          if (msg === null) return;
          if (idOf(msg.content) !== next && outOfOrder === -1) outOfOrder = next;
          if (msg.content.length !== 1024 && outOfOrder === -1) outOfOrder = next;
          next++;
          if (next % 500 === 0 || next === COUNT) ch.ack(msg, true);
          clearTimeout(idle);
          if (next === COUNT) resolve();
          else idle = setTimeout(() => reject(new Error(`stalled at ${next}`)), 10_000);
        });
      });
      t.diagnostic(`consumed ${COUNT} in ${Date.now() - consumeStartedMs} ms; max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
      assert.equal(outOfOrder, -1, `first message out of order: ${outOfOrder}`);
      assert.equal(next, COUNT);
      assert.ok(maxRss < RSS_LIMIT_BYTES, `RSS reached ${(maxRss / 2 ** 20).toFixed(0)} MiB while consuming`);
      await conn.close();
    } finally {
      clearInterval(sampler);
    }
  });
});
