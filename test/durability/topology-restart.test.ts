/**
 * Durable definitions survive a restart, clean (SIGTERM) or not (kill -9), and nothing
 * transient does: durable exchanges, queues, queue and exchange-to-exchange bindings and
 * the persistent messages in durable queues come back; transient exchanges and queues,
 * exclusive queues and transient messages are gone, as in RabbitMQ.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, consumeAll } from './durability-helpers';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

/** True if the exchange or queue exists (a passive declare on a throwaway channel). */
async function exists(conn: amqp.ChannelModel, kind: 'exchange' | 'queue', name: string): Promise<boolean> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    if (kind === 'exchange') await ch.checkExchange(name);
    else await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch (err) {
    assert.match(String(err), /404|NOT_FOUND/);
    return false;
  }
}

async function messageCount(conn: amqp.ChannelModel, queue: string): Promise<number> {
  const ch = await conn.createChannel();
  const { messageCount: n } = await ch.checkQueue(queue);
  await ch.close();
  return n;
}

async function declareTopology(url: string): Promise<amqp.ChannelModel> {
  const conn = await connectQuietly(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dur.topic', 'topic', { durable: true });
  await ch.assertExchange('dur.fanout', 'fanout', { durable: true });
  await ch.assertExchange('tmp.direct', 'direct', { durable: false });
  await ch.assertQueue('dur.q', { durable: true });
  await ch.assertQueue('dur.q2', { durable: true, arguments: { 'x-max-length': 1000 } });
  await ch.assertQueue('tmp.q', { durable: false });
  await ch.assertQueue('excl.q', { durable: true, exclusive: true });
  await ch.bindQueue('dur.q', 'dur.topic', 'a.*');
  await ch.bindExchange('dur.fanout', 'dur.topic', '#.b');
  await ch.bindQueue('dur.q2', 'dur.fanout', '');
  await ch.bindQueue('tmp.q', 'dur.topic', 'a.*');
  // Three persistent and two transient messages reach dur.q (and via dur.fanout, dur.q2).
  for (const [i, persistent] of [true, false, true, false, true].entries()) {
    ch.publish('dur.topic', 'a.b', Buffer.from(`m:${i}:`), { persistent });
  }
  await ch.waitForConfirms();
  await ch.close();
  assert.equal(await messageCount(conn, 'dur.q'), 5);
  assert.equal(await messageCount(conn, 'dur.q2'), 5);
  return conn;
}

async function checkAfterRestart(url: string): Promise<void> {
  const conn = await connectQuietly(url);
  assert.equal(await exists(conn, 'exchange', 'dur.topic'), true);
  assert.equal(await exists(conn, 'exchange', 'dur.fanout'), true);
  assert.equal(await exists(conn, 'exchange', 'tmp.direct'), false);
  assert.equal(await exists(conn, 'queue', 'dur.q'), true);
  assert.equal(await exists(conn, 'queue', 'dur.q2'), true);
  assert.equal(await exists(conn, 'queue', 'tmp.q'), false);
  assert.equal(await exists(conn, 'queue', 'excl.q'), false);

  // Only the persistent messages, in order, redelivered.
  for (const q of ['dur.q', 'dur.q2']) {
    assert.equal(await messageCount(conn, q), 3, q);
    const got = await consumeAll(conn, q, 3);
    assert.deepEqual(got.map((d) => d.id), [0, 2, 4]);
    assert.ok(got.every((d) => d.redelivered));
  }

  // The bindings still route: a.x reaches dur.q only; a.b reaches both (topic, then e2e fanout); c.d neither.
  const ch = await conn.createConfirmChannel();
  ch.publish('dur.topic', 'a.x', Buffer.from('m:10:'));
  ch.publish('dur.topic', 'a.b', Buffer.from('m:11:'));
  ch.publish('dur.topic', 'c.d', Buffer.from('m:12:'));
  await ch.waitForConfirms();
  assert.deepEqual((await consumeAll(conn, 'dur.q', 2)).map((d) => d.id), [10, 11]);
  assert.deepEqual((await consumeAll(conn, 'dur.q2', 1)).map((d) => d.id), [11]);
  assert.equal(await messageCount(conn, 'dur.q'), 0);
  assert.equal(await messageCount(conn, 'dur.q2'), 0);
  // The queue argument survived with the queue: an equivalent redeclare succeeds.
  await ch.assertQueue('dur.q2', { durable: true, arguments: { 'x-max-length': 1000 } });
  await conn.close();
}

describe('durable topology across restarts', () => {
  it('survives a clean restart (SIGTERM)', async () => {
    const broker = await startBroker();
    brokers.push(broker);
    const conn = await declareTopology(broker.url);
    await conn.close();
    await broker.stop({ keepData: true });
    const again = await startBroker({ dataDir: broker.dataDir });
    brokers.push(again);
    await checkAfterRestart(again.url);
  });

  it('survives kill -9 (with the declaring connection still open)', async () => {
    const broker = await startBroker();
    brokers.push(broker);
    await declareTopology(broker.url);
    await broker.kill();
    const again = await startBroker({ dataDir: broker.dataDir });
    brokers.push(again);
    await checkAfterRestart(again.url);
  });
});
