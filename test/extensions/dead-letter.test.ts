// Dead lettering as RabbitMQ users rely on it: the triggers (reject/nack, expiry, max-length), the routing key
// used, the x-death / x-first-death-* / x-last-death-* headers, retry loops and cycle dropping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { assertRecentTimestamp, deathFor, mustGet, rabbit310, xDeath } from './support';

let conn: amqp.ChannelModel;
const UNACKED = { noAck: false };
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

/**
 * A publish exchange with a source queue bound by `key`, whose dead letters go to a DLX with a dead-letter queue
 * bound by `dlKey` (default: the same key).
 */
async function topology(
  ch: amqp.Channel,
  opts: { key?: string; dlKey?: string; args?: Record<string, unknown>; dlrk?: string } = {},
) {
  const key = opts.key ?? 'task';
  const exchange = uniqueName('dl-pub');
  const dlx = uniqueName('dlx');
  const source = uniqueName('dl-src');
  const dlq = uniqueName('dlq');
  await ch.assertExchange(exchange, 'direct', { durable: false, autoDelete: true });
  await ch.assertExchange(dlx, 'direct', { durable: false, autoDelete: true });
  const args: Record<string, unknown> = { 'x-dead-letter-exchange': dlx, ...opts.args };
  if (opts.dlrk !== undefined) args['x-dead-letter-routing-key'] = opts.dlrk;
  await ch.assertQueue(source, { exclusive: true, arguments: args });
  await ch.assertQueue(dlq, { exclusive: true });
  await ch.bindQueue(source, exchange, key);
  await ch.bindQueue(dlq, dlx, opts.dlKey ?? opts.dlrk ?? key);
  return { key, exchange, dlx, source, dlq };
}

describe('dead lettering triggers', () => {
  it('dead-letters basic.reject requeue=false with the original routing key and a full x-death entry', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch);
    ch.publish(t.exchange, t.key, Buffer.from('r1'), { headers: { app: 'kept' }, messageId: 'm-1' });
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    ch.reject(m, false);
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    assert.equal(d.content.toString(), 'r1');
    assert.equal(d.fields.exchange, t.dlx, 'delivered from the DLX');
    assert.equal(d.fields.routingKey, t.key, 'without x-dead-letter-routing-key the original key is kept');
    assert.equal(d.properties.messageId, 'm-1', 'properties survive dead lettering');
    assert.equal(d.properties.headers?.app, 'kept', 'user headers survive dead lettering');
    const deaths = xDeath(d);
    assert.equal(deaths.length, 1);
    const e = deaths[0]!;
    assert.equal(e.queue, t.source);
    assert.equal(e.reason, 'rejected');
    assert.equal(e.count, 1);
    assert.equal(e.exchange, t.exchange);
    assert.deepEqual(e['routing-keys'], [t.key]);
    assert.equal(e['original-expiration'], undefined, 'no original-expiration without a per-message TTL');
    assertRecentTimestamp(e.time);
    const h = d.properties.headers!;
    assert.equal(h['x-first-death-queue'], t.source);
    assert.equal(h['x-first-death-reason'], 'rejected');
    assert.equal(h['x-first-death-exchange'], t.exchange);
    if (!rabbit310) {
      assert.equal(h['x-last-death-queue'], t.source);
      assert.equal(h['x-last-death-reason'], 'rejected');
      assert.equal(h['x-last-death-exchange'], t.exchange);
    }
    await ch.close();
  });

  it('dead-letters basic.nack requeue=false under x-dead-letter-routing-key, keeping the old key in x-death', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch, { dlrk: 'dead' });
    ch.publish(t.exchange, t.key, Buffer.from('n1'));
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    ch.nack(m, false, false);
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue (bound with the DL routing key)');
    assert.equal(d.fields.routingKey, 'dead');
    const e = deathFor(d, t.source, 'rejected');
    assert.deepEqual(e['routing-keys'], [t.key]);
    await ch.close();
  });

  it('does not dead-letter basic.nack with requeue=true', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch);
    ch.publish(t.exchange, t.key, Buffer.from('back'));
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    ch.nack(m, false, true);
    const again = await mustGet(ch, t.source, 'the source queue after requeue');
    assert.equal(again.fields.redelivered, true);
    assert.equal(await ch.get(t.dlq), false, 'a requeued message is not dead-lettered');
    await ch.close();
  });

  it('dead-letters an expired per-message TTL with reason expired and original-expiration', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch);
    ch.publish(t.exchange, t.key, Buffer.from('e1'), { expiration: '60' });
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    assert.equal(d.properties.expiration, undefined, 'the expiration property is removed on dead lettering');
    const e = deathFor(d, t.source, 'expired');
    assert.equal(e['original-expiration'], '60');
    assert.equal(e.count, 1);
    assert.equal(d.properties.headers?.['x-first-death-reason'], 'expired');
    assert.equal(await ch.get(t.source), false);
    await ch.close();
  });

  it('dead-letters messages expired by x-message-ttl (no original-expiration)', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch, { args: { 'x-message-ttl': 60 } });
    ch.publish(t.exchange, t.key, Buffer.from('q1'));
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    const e = deathFor(d, t.source, 'expired');
    assert.equal(e['original-expiration'], undefined);
    await ch.close();
  });

  it('dead-letters the head dropped by x-max-length (drop-head) with reason maxlen', async () => {
    const ch = await clients.confirmChannel(conn);
    const t = await topology(ch, { args: { 'x-max-length': 2 } });
    for (const body of ['a', 'b', 'c']) ch.publish(t.exchange, t.key, Buffer.from(body));
    await ch.waitForConfirms();
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    assert.equal(d.content.toString(), 'a', 'the oldest message is dropped');
    deathFor(d, t.source, 'maxlen');
    await sleep(50);
    assert.equal(await ch.get(t.dlq), false, 'only one message overflowed');
    await ch.close();
  });

  it('drops a dead letter silently when the DLX does not exist', async () => {
    const ch = await clients.channel(conn);
    const q = uniqueName('dl-missing-dlx');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': uniqueName('nope') } });
    ch.sendToQueue(q, Buffer.from('x'));
    const m = await mustGet(ch, q, 'the queue', UNACKED);
    ch.reject(m, false);
    await sleep(100);
    assert.equal(await ch.get(q), false, 'the rejected message is gone, not requeued');
    await ch.close();
  });
});

describe('dead lettering variants', () => {
  it('dead-letters through the default exchange with x-dead-letter-routing-key = a queue name', async () => {
    const ch = await clients.channel(conn);
    const dlq = uniqueName('dl-default-dlq');
    const q = uniqueName('dl-default-src');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    });
    ch.sendToQueue(q, Buffer.from('via default'));
    ch.reject(await mustGet(ch, q, 'the source queue', UNACKED), false);
    const d = await mustGet(ch, dlq, 'the dead-letter queue');
    assert.equal(d.fields.exchange, '');
    assert.equal(d.fields.routingKey, dlq);
    const e = deathFor(d, q, 'rejected');
    assert.equal(e.exchange, '');
    assert.deepEqual(e['routing-keys'], [q]);
    await ch.close();
  });

  it('records original-expiration and removes expiration when a message with a TTL is rejected', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch);
    ch.publish(t.exchange, t.key, Buffer.from('ttl+reject'), { expiration: '60000' });
    ch.reject(await mustGet(ch, t.source, 'the source queue', UNACKED), false);
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    assert.equal(d.properties.expiration, undefined, 'a dead letter must not expire again on the old TTL');
    assert.equal(deathFor(d, t.source, 'rejected')['original-expiration'], '60000');
    await ch.close();
  });

  it('dead-letters (reason expired) an unacked message that outlived x-message-ttl when it is requeued', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch, { args: { 'x-message-ttl': 100 } });
    ch.publish(t.exchange, t.key, Buffer.from('late requeue'));
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    await sleep(250);
    ch.nack(m, false, true);
    const d = await mustGet(ch, t.dlq, 'the dead-letter queue');
    deathFor(d, t.source, 'expired');
    assert.equal(await ch.get(t.source), false, 'the expired message is not redelivered');
    await ch.close();
  });

  it('dead-letters every message of an x-max-length 0 queue immediately', async () => {
    const ch = await clients.confirmChannel(conn);
    const t = await topology(ch, { args: { 'x-max-length': 0 } });
    ch.publish(t.exchange, t.key, Buffer.from('z'));
    await ch.waitForConfirms();
    deathFor(await mustGet(ch, t.dlq, 'the dead-letter queue'), t.source, 'maxlen');
    assert.equal(await ch.get(t.source), false);
    await ch.close();
  });
});

describe('dead lettering and CC/BCC', () => {
  it('routes by the original key plus CC (not BCC), lists them in routing-keys and strips BCC', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch, { dlKey: 'cc-key' });
    ch.publish(t.exchange, t.key, Buffer.from('cc'), { CC: ['cc-key'], BCC: ['bcc-key'] } as amqp.Options.Publish);
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    ch.reject(m, false);
    const d = await mustGet(ch, t.dlq, 'the DLQ bound with the CC key');
    const e = deathFor(d, t.source, 'rejected');
    assert.deepEqual(e['routing-keys'], [t.key, 'cc-key']);
    assert.deepEqual(d.properties.headers?.CC, ['cc-key']);
    assert.equal(d.properties.headers?.BCC, undefined);
    await ch.close();
  });

  it('removes CC when x-dead-letter-routing-key replaces the key', async () => {
    const ch = await clients.channel(conn);
    const t = await topology(ch, { dlrk: 'dead' });
    ch.publish(t.exchange, t.key, Buffer.from('cc2'), { CC: ['other'] } as amqp.Options.Publish);
    const m = await mustGet(ch, t.source, 'the source queue', UNACKED);
    ch.reject(m, false);
    const d = await mustGet(ch, t.dlq, 'the DLQ');
    assert.equal(d.properties.headers?.CC, undefined, 'CC is removed together with the routing key');
    await ch.close();
  });
});

describe('dead-letter loops', () => {
  it('counts repeated deaths per (queue, reason) in a reject/retry loop and keeps the first-death headers', async () => {
    const ch = await clients.channel(conn);
    const work = uniqueName('retry-work-x');
    const retryX = uniqueName('retry-x');
    const workQ = uniqueName('retry-work');
    const delayQ = uniqueName('retry-delay');
    await ch.assertExchange(work, 'direct', { durable: false, autoDelete: true });
    await ch.assertExchange(retryX, 'direct', { durable: false, autoDelete: true });
    await ch.assertQueue(workQ, { exclusive: true, arguments: { 'x-dead-letter-exchange': retryX } });
    await ch.assertQueue(delayQ, {
      exclusive: true,
      arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': work },
    });
    await ch.bindQueue(workQ, work, 'job');
    await ch.bindQueue(delayQ, retryX, 'job');
    ch.publish(work, 'job', Buffer.from('flaky'));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const m = await mustGet(ch, workQ, `attempt ${attempt}`, UNACKED);
      if (attempt === 2) assert.equal(deathFor(m, workQ, 'rejected').count, 1);
      ch.reject(m, false);
    }
    const last = await mustGet(ch, workQ, 'attempt 3', UNACKED);
    const deaths = xDeath(last);
    assert.equal(deaths.length, 2, `one entry per (queue, reason): ${JSON.stringify(deaths)}`);
    assert.equal(deaths[0]!.queue, delayQ, 'most recent death first');
    assert.equal(deaths[0]!.reason, 'expired');
    assert.equal(deaths[0]!.count, 2);
    assert.equal(deaths[1]!.queue, workQ);
    assert.equal(deaths[1]!.reason, 'rejected');
    assert.equal(deaths[1]!.count, 2);
    const h = last.properties.headers!;
    assert.equal(h['x-first-death-queue'], workQ);
    assert.equal(h['x-first-death-reason'], 'rejected');
    assert.equal(h['x-first-death-exchange'], work);
    if (!rabbit310) {
      assert.equal(h['x-last-death-queue'], delayQ);
      assert.equal(h['x-last-death-reason'], 'expired');
      assert.equal(h['x-last-death-exchange'], retryX);
    }
    ch.ack(last);
    await ch.close();
  });

  it('drops a message that expires into a DLX routing back to the same queue instead of looping', async () => {
    const ch = await clients.channel(conn);
    const dlx = uniqueName('cycle-dlx');
    const q = uniqueName('cycle-q');
    const witness = uniqueName('cycle-witness');
    await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': dlx } });
    await ch.assertQueue(witness, { exclusive: true });
    await ch.bindQueue(q, dlx, '');
    await ch.bindQueue(witness, dlx, '');
    ch.sendToQueue(q, Buffer.from('cycle'));
    const w = await mustGet(ch, witness, 'the witness queue');
    deathFor(w, q, 'expired');
    await sleep(300);
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'the copy routed back to the same queue is dropped');
    assert.equal(await ch.get(witness), false, 'the message died exactly once');
    await ch.close();
  });
});
