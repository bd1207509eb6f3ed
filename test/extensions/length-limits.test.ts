// Queue length limits: x-max-length, x-max-length-bytes and the x-overflow behaviours.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { declareCode, deathFor, drainBodies, mustGet } from './support';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

/** Publishes each body on a confirm channel and returns, per body, whether the broker acked (true) or nacked it. */
async function publishConfirmed(ch: amqp.ConfirmChannel, queue: string, bodies: string[]): Promise<boolean[]> {
  const results = await Promise.all(
    bodies.map(
      (b) =>
        new Promise<boolean>((ok) => {
          ch.sendToQueue(queue, Buffer.from(b), {}, (err) => ok(err === null || err === undefined));
        }),
    ),
  );
  return results;
}

describe('x-max-length', () => {
  it('drop-head (the default) keeps the newest N messages', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxlen-drop');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 3 } });
    const acks = await publishConfirmed(ch, q, ['1', '2', '3', '4', '5']);
    assert.deepEqual(acks, [true, true, true, true, true], 'drop-head confirms every publish');
    assert.equal((await ch.checkQueue(q)).messageCount, 3);
    assert.deepEqual(await drainBodies(ch, q), ['3', '4', '5']);
    await ch.close();
  });

  it('reject-publish nacks the overflowing message and keeps the oldest N', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxlen-reject');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
    const acks = await publishConfirmed(ch, q, ['1', '2', '3']);
    assert.deepEqual(acks, [true, true, false], 'the third publish is nacked');
    assert.deepEqual(await drainBodies(ch, q), ['1', '2']);
    assert.deepEqual(await publishConfirmed(ch, q, ['4']), [true], 'accepted again once there is room');
    await ch.close();
  });

  it('reject-publish counts only ready messages, not unacknowledged ones', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxlen-unacked');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    assert.deepEqual(await publishConfirmed(ch, q, ['1']), [true]);
    const m = await ch.get(q, { noAck: false }); // now unacked, no longer ready
    assert.ok(m, 'the first message is there');
    assert.deepEqual(await publishConfirmed(ch, q, ['2', '3']), [true, false], 'room for one ready message');
    ch.ack(m);
    await ch.close();
  });

  it('reject-publish nacks but still delivers to the other queues the message was routed to', async () => {
    const ch = await clients.confirmChannel(conn);
    const ex = uniqueName('maxlen-fanout');
    await ch.assertExchange(ex, 'fanout', { durable: false, autoDelete: true });
    const full = uniqueName('maxlen-full');
    const other = uniqueName('maxlen-other');
    await ch.assertQueue(full, { exclusive: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await ch.assertQueue(other, { exclusive: true });
    await ch.bindQueue(full, ex, '');
    await ch.bindQueue(other, ex, '');
    const acked = await new Promise<boolean>((ok) => ch.publish(ex, '', Buffer.from('x'), {}, (err) => ok(!err)));
    assert.equal(acked, false, 'nacked because one queue refused it');
    assert.deepEqual(await drainBodies(ch, other), ['x']);
    assert.deepEqual(await drainBodies(ch, full), []);
    await ch.close();
  });

  it('reject-publish-dlx nacks the overflowing message and dead-letters it', async () => {
    const ch = await clients.confirmChannel(conn);
    const dlx = uniqueName('maxlen-dlx');
    const dlq = uniqueName('maxlen-dlq');
    const q = uniqueName('maxlen-rdlx');
    await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.bindQueue(dlq, dlx, '');
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': dlx },
    });
    const acks = await publishConfirmed(ch, q, ['1', '2', '3']);
    assert.deepEqual(acks, [true, true, false]);
    assert.deepEqual(await drainBodies(ch, q), ['1', '2']);
    const d = await mustGet(ch, dlq, 'the dead-letter queue');
    assert.equal(d.content.toString(), '3', 'the refused (newest) message is dead-lettered');
    deathFor(d, q, 'maxlen');
    await ch.close();
  });

  it('reject-publish does not dead-letter the refused message', async () => {
    const ch = await clients.confirmChannel(conn);
    const dlx = uniqueName('maxlen-dlx2');
    const dlq = uniqueName('maxlen-dlq2');
    const q = uniqueName('maxlen-rp-nodl');
    await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.bindQueue(dlq, dlx, '');
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish', 'x-dead-letter-exchange': dlx },
    });
    assert.deepEqual(await publishConfirmed(ch, q, ['1', '2']), [true, false]);
    await sleep(100);
    assert.deepEqual(await drainBodies(ch, dlq), []);
    await ch.close();
  });
});

describe('x-max-length-bytes', () => {
  it('drops from the head until the body bytes fit', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxbytes');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length-bytes': 10 } });
    await publishConfirmed(ch, q, ['aaaa', 'bbbb', 'cccc', 'dddd']);
    assert.deepEqual(await drainBodies(ch, q), ['cccc', 'dddd']);
    await ch.close();
  });

  it('counts body bytes only (headers do not count)', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxbytes-hdr');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length-bytes': 8 } });
    for (const b of ['aaaa', 'bbbb']) {
      ch.sendToQueue(q, Buffer.from(b), { headers: { padding: 'x'.repeat(200) } });
    }
    await ch.waitForConfirms();
    assert.deepEqual(await drainBodies(ch, q), ['aaaa', 'bbbb']);
    await ch.close();
  });

  it('with reject-publish, nacks a message that would exceed the byte limit', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxbytes-reject');
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length-bytes': 10, 'x-overflow': 'reject-publish' },
    });
    const acks = await publishConfirmed(ch, q, ['aaaa', 'bbbb', 'cccc']);
    assert.deepEqual(acks, [true, true, false]);
    assert.deepEqual(await drainBodies(ch, q), ['aaaa', 'bbbb']);
    await ch.close();
  });

  it('applies whichever of x-max-length and x-max-length-bytes is hit first', async () => {
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('maxboth');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-max-length-bytes': 1000 } });
    await publishConfirmed(ch, q, ['a', 'b', 'c']);
    assert.deepEqual(await drainBodies(ch, q), ['b', 'c']);
    await ch.close();
  });
});

describe('length-limit argument validation', () => {
  for (const [args, pattern] of [
    [{ 'x-overflow': 'drop-tail' }, /x-overflow/],
    [{ 'x-max-length': -1 }, /x-max-length/],
    [{ 'x-max-length-bytes': -5 }, /x-max-length-bytes/],
  ] as const) {
    it(`refuses ${JSON.stringify(args)} with 406`, async () => {
      const r = await declareCode(clients, conn, uniqueName('maxlen-bad'), { arguments: args });
      assert.equal(r.code, 406, r.message);
      assert.match(r.message, pattern);
    });
  }
});
