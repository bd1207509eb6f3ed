/**
 * Issue 4's promise: a confirmed persistent message in a durable queue survives kill -9.
 * A publisher sends persistent messages with confirms; the broker is SIGKILLed when a
 * seeded random number of them has been confirmed (publishes and confirms still in
 * flight), restarted on the same data dir, and the queue drained: every confirmed id
 * is there exactly once, nothing is duplicated or invented, all are redelivered.
 * Replay a failure with DURABILITY_SEEDS=<seed>.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, consumeAll, prng, publishConfirmed, sleep } from './durability-helpers';

const SEEDS = (process.env.DURABILITY_SEEDS ?? '11,23,37,51').split(',').map(Number);
const COUNT = 6000;
const QUEUE = 'crash.confirms';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

describe('kill -9 while publishing with confirms', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every confirmed message is back exactly once, redelivered`, async (t) => {
      const random = prng(seed);
      const broker = await startBroker();
      brokers.push(broker);
      const conn = await connectQuietly(broker.url);
      const setup = await conn.createChannel();
      await setup.assertQueue(QUEUE, { durable: true });
      await setup.close();

      // Kill once a random number of confirms came back, after a random extra delay, so
      // the moment varies: mid-batch, mid-fsync, between batches.
      const killAt = 500 + Math.floor(random() * 4000);
      const extraDelayMs = Math.floor(random() * 8);
      const bodyBytes = 64 + Math.floor(random() * 2000);
      let killing: Promise<void> | undefined;
      const run = await publishConfirmed(conn, QUEUE, {
        count: COUNT,
        bodyBytes,
        window: 200 + Math.floor(random() * 800),
        onConfirm: (_id, r) => {
          if (killing === undefined && r.confirmed.size >= killAt) killing = sleep(extraDelayMs).then(() => broker.kill());
        },
      });
      assert.ok(killing, `the broker was killed (confirmed ${run.confirmed.size} of ${COUNT})`);
      await killing;
      await conn.close().catch(() => undefined);
      assert.equal(run.nacked, 0);

      const again = await startBroker({ dataDir: broker.dataDir });
      brokers.push(again);
      const conn2 = await connectQuietly(again.url);
      const ch = await conn2.createChannel();
      const { messageCount } = await ch.checkQueue(QUEUE);
      await ch.close();
      const got = await consumeAll(conn2, QUEUE, messageCount);
      await conn2.close();

      t.diagnostic(`killed after ${killAt} confirms +${extraDelayMs} ms: published ${run.published}, confirmed ${run.confirmed.size}, recovered ${got.length}`);
      const seen = new Set<number>();
      for (const d of got) {
        assert.ok(Number.isInteger(d.id) && d.id >= 0 && d.id < run.published, `unknown id ${d.id}`);
        assert.ok(!seen.has(d.id), `id ${d.id} delivered twice`);
        seen.add(d.id);
        assert.equal(d.redelivered, true, `id ${d.id} not marked redelivered`);
      }
      const lost = [...run.confirmed].filter((id) => !seen.has(id));
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} confirmed messages lost (seed ${seed})`);
      // Recovered in publish order (one publisher, one queue).
      for (let i = 1; i < got.length; i++) assert.ok(got[i].id > got[i - 1].id, `order broken at ${i}`);
      assert.ok(seen.size >= run.confirmed.size);
      assert.ok(seen.size <= run.published);
    });
  }
});
