// Publisher confirms (amqplib ConfirmChannel), mandatory returns, and transactions (@cloudamqp/amqp-client,
// since amqplib has no tx API).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { AMQPClient, type AMQPBaseClient } from '@cloudamqp/amqp-client';
import { rejectsWithCode, sleep, track, uniqueName, waitFor, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

let conn: amqp.ChannelModel;
const amqpClients: AMQPBaseClient[] = [];
const { clients } = brokerFixture(
  async (c) => {
    conn = await c.connect();
  },
  { beforeClose: () => Promise.all(amqpClients.map((c) => c.close().catch(() => {}))) },
);

async function txClient(): Promise<AMQPBaseClient> {
  const c = await new AMQPClient(clients.url()).connect();
  amqpClients.push(c);
  return c;
}

async function messageCount(q: string): Promise<number> {
  const ch = await clients.channel(conn);
  const n = (await ch.checkQueue(q)).messageCount;
  await ch.close();
  return n;
}

describe('publisher confirms', () => {
  it('confirms every publish, with delivery tags 1..n in increasing order', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const acks: Array<{ deliveryTag: number; multiple: boolean }> = [];
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
    ch.on('nack', () => assert.fail('no nack expected'));
    const n = 500;
    const callbacks: number[] = [];
    const done = Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((ok, fail) =>
          ch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => {
            if (err) fail(err);
            callbacks.push(i);
            ok();
          }),
        ),
    );
    await withTimeout(Promise.all(done), 10_000, 'confirms');
    assert.deepEqual(callbacks, Array.from({ length: n }, (_, i) => i), 'confirm callbacks in publish order');
    // Every sequence number confirmed exactly once, whether singly or by a multiple ack.
    let confirmedUpTo = 0;
    for (const a of acks) {
      assert.ok(a.deliveryTag > confirmedUpTo, `ack tags must increase: ${a.deliveryTag} after ${confirmedUpTo}`);
      if (!a.multiple) assert.equal(a.deliveryTag, confirmedUpTo + 1, 'a single ack must not skip a tag');
      confirmedUpTo = a.deliveryTag;
    }
    assert.equal(confirmedUpTo, n);
    assert.equal((await ch.checkQueue(q)).messageCount, n);
    await ch.close();
  });

  it('confirms persistent messages to a durable queue', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('q-confirm-durable');
    await ch.assertQueue(q, { durable: true });
    for (let i = 0; i < 50; i++) ch.sendToQueue(q, Buffer.from('p'), { persistent: true });
    await withTimeout(ch.waitForConfirms(), 10_000, 'confirms');
    assert.equal((await ch.checkQueue(q)).messageCount, 50);
    await ch.deleteQueue(q);
    await ch.close();
  });

  it('confirms an unroutable message without mandatory, with no basic.return', async () => {
    const ch = await clients.confirmChannel(conn);
    const returns: amqp.Message[] = [];
    ch.on('return', (m: amqp.Message) => returns.push(m));
    await new Promise<void>((ok, fail) =>
      ch.publish('amq.direct', uniqueName('nobody'), Buffer.from('x'), {}, (err) => (err ? fail(err) : ok())),
    );
    await sleep(50);
    assert.equal(returns.length, 0);
    await ch.close();
  });

  it('returns an unroutable mandatory message with 312 NO_ROUTE before acking it', async () => {
    const ch = await clients.confirmChannel(conn);
    const events: string[] = [];
    let returned: amqp.Message | undefined;
    ch.on('return', (m: amqp.Message) => {
      events.push('return');
      returned = m;
    });
    const key = uniqueName('nobody');
    await new Promise<void>((ok, fail) =>
      ch.publish('amq.direct', key, Buffer.from('bounce'), { mandatory: true, messageId: 'm1' }, (err) => {
        events.push('ack');
        return err ? fail(err) : ok();
      }),
    );
    assert.deepEqual(events, ['return', 'ack']);
    assert.ok(returned);
    const f = returned.fields as unknown as { replyCode: number; replyText: string; exchange: string; routingKey: string };
    assert.equal(f.replyCode, 312);
    assert.equal(f.replyText, 'NO_ROUTE');
    assert.equal(f.exchange, 'amq.direct');
    assert.equal(f.routingKey, key);
    assert.equal(returned.content.toString(), 'bounce');
    assert.equal(returned.properties.messageId, 'm1');
    await ch.close();
  });

  it('does not return a routable mandatory message', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    let returns = 0;
    ch.on('return', () => returns++);
    ch.sendToQueue(q, Buffer.from('ok'), { mandatory: true });
    await ch.waitForConfirms();
    await sleep(50);
    assert.equal(returns, 0);
    await ch.close();
  });

  it('nacks a publish refused by a queue with overflow reject-publish', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } }))
      .queue;
    const results: string[] = [];
    const publish = (body: string) =>
      new Promise<void>((ok) => ch.sendToQueue(q, Buffer.from(body), {}, (err) => (results.push(err ? 'nack' : 'ack'), ok())));
    await Promise.all([publish('first'), publish('second')]);
    assert.deepEqual(results, ['ack', 'nack']);
    const m = await ch.get(q, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), 'first');
    await ch.close();
  });

  it('fails pending confirms when the channel is closed by an error', async () => {
    const t = track(await clients.confirmChannel(conn));
    const result = new Promise<unknown>((ok) =>
      t.ch.publish(uniqueName('missing-exchange'), 'k', Buffer.from('x'), {}, (err) => ok(err)),
    );
    await t.closed;
    assert.equal((t.errors[0] as Error & { code?: number }).code, 404);
    assert.ok(await withTimeout(result, 3000, 'publish callback'), 'the publish callback must get an error');
  });
});

describe('transactions', () => {
  it('keeps published messages invisible until commit', async () => {
    const c = await txClient();
    const ch = await c.channel();
    const q = (await ch.queueDeclare(uniqueName('q-tx'), { exclusive: false, durable: true, autoDelete: false })).name;
    await ch.txSelect();
    await ch.basicPublish('', q, 'one');
    await ch.basicPublish('', q, 'two');
    await sleep(100);
    assert.equal(await messageCount(q), 0, 'uncommitted publishes must not be visible');
    await ch.txCommit();
    assert.equal(await messageCount(q), 2);
    await ch.queueDelete(q);
    await ch.close();
  });

  it('discards published messages on rollback', async () => {
    const c = await txClient();
    const ch = await c.channel();
    const q = (await ch.queueDeclare(uniqueName('q-tx'), { exclusive: false, durable: true, autoDelete: false })).name;
    await ch.txSelect();
    await ch.basicPublish('', q, 'rolled back');
    await ch.txRollback();
    await ch.txCommit();
    assert.equal(await messageCount(q), 0);
    await ch.basicPublish('', q, 'committed');
    await ch.txCommit();
    assert.equal(await messageCount(q), 1);
    await ch.queueDelete(q);
    await ch.close();
  });

  it('undoes acks on rollback and applies them on commit', async () => {
    const c = await txClient();
    const setup = await c.channel();
    const q = (await setup.queueDeclare(uniqueName('q-tx'), { exclusive: false, durable: true, autoDelete: false })).name;
    await setup.basicPublish('', q, 'a');
    await setup.basicPublish('', q, 'b');
    await waitFor(async () => (await messageCount(q)) === 2, 3000, 'two messages');

    const ch = await c.channel();
    await ch.txSelect();
    const m1 = await ch.basicGet(q, { noAck: false });
    const m2 = await ch.basicGet(q, { noAck: false });
    assert.ok(m1 && m2);
    await ch.basicAck(m2.deliveryTag, true);
    await ch.txRollback();
    await ch.close(); // the rolled-back acks never happened, so both messages return to the queue
    await waitFor(async () => (await messageCount(q)) === 2, 3000, 'both messages requeued after rollback');

    const ch2 = await c.channel();
    await ch2.txSelect();
    const n1 = await ch2.basicGet(q, { noAck: false });
    const n2 = await ch2.basicGet(q, { noAck: false });
    assert.ok(n1 && n2);
    assert.equal(n1.redelivered, true);
    await ch2.basicAck(n2.deliveryTag, true);
    await ch2.txCommit();
    await ch2.close();
    assert.equal(await messageCount(q), 0, 'committed acks remove the messages');
    await setup.queueDelete(q);
  });

  it('refuses tx.select on a confirm channel, and confirm.select on a tx channel, with 406', async () => {
    const c = await txClient();
    const a = await c.channel();
    await a.confirmSelect();
    await rejectsWithCode(a.txSelect(), 406);
    const b = await c.channel();
    await b.txSelect();
    await rejectsWithCode(b.confirmSelect(), 406);
  });

  it('refuses tx.commit and tx.rollback on a non-transactional channel with 406', async () => {
    const c = await txClient();
    await rejectsWithCode((await c.channel()).txCommit(), 406, /not transactional/);
    await rejectsWithCode((await c.channel()).txRollback(), 406, /not transactional/);
    // The connection survives these channel errors.
    const ch = await c.channel();
    await ch.queueDeclare('', { exclusive: true });
  });
});
