// Consumer timeouts of quorum queues in RabbitMQ 4.3's form, against a real broker with
// amqplib: a consumer on a client that announces consumer_cancel_notify (amqplib does) is
// cancelled with basic.cancel, the channel and its other consumers carry on, the timed-out
// delivery goes back to the queue and a late ack of it is ignored; a client without the
// capability, and basic.get, still get the channel closed (406). The x-consumer-timeout
// consumer argument overrides the queue's and the node's timeout; classic queues refuse it.
// The broker runs with WARREN_CONSUMER_TIMEOUT=1000 (swept every 250 ms).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { collector, sleep, track, uniqueName, waitFor } from '../helpers/amqp-test';
import { TIMEOUT_MS, timeoutBrokerSkip, useTimeoutBroker } from './timeout-broker';

const QQ = { 'x-queue-type': 'quorum' };
/** amqplib's capabilities with consumer_cancel_notify turned off. */
const NO_CANCEL_NOTIFY = {
  clientProperties: {
    capabilities: { publisher_confirms: true, exchange_exchange_bindings: true, 'basic.nack': true, consumer_cancel_notify: false, 'connection.blocked': true, authentication_failure_close: true },
  },
};
async function publish(conn: amqp.ChannelModel, q: string, ...bodies: string[]): Promise<void> {
  const pub = await conn.createConfirmChannel();
  for (const b of bodies) pub.sendToQueue(q, Buffer.from(b), { persistent: true });
  await pub.waitForConfirms();
  await pub.close();
}

describe('consumer timeout of quorum queues (RabbitMQ 4.3)', { skip: timeoutBrokerSkip }, () => {
  const node = useTimeoutBroker();
  const connect = node.connect;

  it('cancels only the timed-out consumer (basic.cancel), keeps the channel, returns the message and ignores a late ack', async () => {
    const conn = await connect();
    const q = uniqueName('qq.ct');
    const other = uniqueName('qq.ct.other');
    const t = track(await conn.createChannel());
    await t.ch.assertQueue(q, { durable: true, arguments: QQ });
    await t.ch.assertQueue(other, { durable: true, arguments: QQ });
    await publish(conn, q, 'slow');
    const slow = collector();
    await t.ch.consume(q, slow.onMessage, { consumerTag: 'slow' });
    await slow.waitCount(1);
    const deliveredAt = Date.now();
    await waitFor(() => slow.cancelled, 5000, 'basic.cancel from the server');
    const after = Date.now() - deliveredAt;
    assert.ok(after >= TIMEOUT_MS - 300 && after < TIMEOUT_MS + 1500, `cancelled ${after} ms after the delivery`);
    // The channel is open: a consumer on it still gets messages, and a late ack of the
    // returned delivery is not an unknown-tag 406.
    t.ch.ack(slow.messages[0]!);
    const fast = collector();
    await t.ch.consume(other, (m) => {
      fast.onMessage(m);
      if (m) t.ch.ack(m);
    }, { consumerTag: 'fast' });
    await publish(conn, other, 'a', 'b');
    await fast.waitCount(2);
    await sleep(300);
    assert.deepEqual(t.errors, [], 'the channel stays open');
    // The timed-out message is back in the queue, redelivered to the next consumer.
    const again = collector();
    const ch2 = await conn.createChannel();
    await ch2.consume(q, again.onMessage);
    await again.waitCount(1);
    assert.equal(again.messages[0]!.content.toString(), 'slow');
    assert.equal(again.messages[0]!.fields.redelivered, true);
    ch2.ack(again.messages[0]!);
    await sleep(200);
    assert.equal(fast.cancelled, false);
    await t.ch.deleteQueue(q);
    await t.ch.deleteQueue(other);
  });

  it('closes the channel (406) for a client without consumer_cancel_notify, and for basic.get', async () => {
    const conn = await connect(NO_CANCEL_NOTIFY);
    const q = uniqueName('qq.ct.old');
    const setup = await conn.createChannel();
    await setup.assertQueue(q, { durable: true, arguments: QQ });
    await publish(conn, q, 'one', 'two');
    const t = track(await conn.createChannel());
    const got = collector();
    await t.ch.consume(q, got.onMessage);
    await got.waitCount(1);
    await t.closed;
    assert.match(t.errors[0]?.message ?? '', /406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - delivery acknowledgement on channel \d+ timed out\. Timeout value used: 1000 ms\./);
    assert.equal(got.cancelled, false);
    // basic.get on a client that has the capability: no consumer to cancel, the channel closes.
    const modern = await connect();
    const g = track(await modern.createChannel());
    assert.ok(await waitFor(() => g.ch.get(q), 3000, 'basic.get'));
    await g.closed;
    assert.match(g.errors[0]?.message ?? '', /406 .*delivery acknowledgement on channel \d+ timed out/);
    await setup.deleteQueue(q);
  });

  it('x-consumer-timeout on basic.consume wins over the queue and node timeouts; classic queues refuse it', async () => {
    const conn = await connect();
    const t = track(await conn.createChannel());
    const q = uniqueName('qq.ct.arg');
    // The queue says 1 s too; the consumer's own 10 min wins.
    await t.ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-consumer-timeout': 1000 } });
    await publish(conn, q, 'kept', 'short');
    await t.ch.prefetch(1);
    const long = collector();
    await t.ch.consume(q, long.onMessage, { consumerTag: 'long', arguments: { 'x-consumer-timeout': 600_000 }, priority: 1 });
    await long.waitCount(1);
    // A second consumer whose own timeout (500 ms) is shorter than the queue's.
    const short = collector();
    await t.ch.consume(q, short.onMessage, { consumerTag: 'short', arguments: { 'x-consumer-timeout': 500 } });
    await short.waitCount(1);
    const res = await fetch(`http://127.0.0.1:${node.mgmtPort}/api/consumers`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } });
    const rows = (await res.json()) as { consumer_tag: string; consumer_timeout: number | null }[];
    assert.equal(rows.find((r) => r.consumer_tag === 'long')?.consumer_timeout, 600_000);
    assert.equal(rows.find((r) => r.consumer_tag === 'short')?.consumer_timeout, 500);
    await waitFor(() => short.cancelled, 3000, 'the 500 ms consumer cancelled');
    await sleep(2.5 * TIMEOUT_MS);
    assert.equal(long.cancelled, false, 'the 10 min consumer is left alone');
    assert.deepEqual(t.errors, []);
    t.ch.ack(long.messages[0]!);
    await t.ch.deleteQueue(q);

    const classic = uniqueName('ct.classic');
    await t.ch.assertQueue(classic);
    const bad = track(await conn.createChannel());
    await assert.rejects(
      bad.ch.consume(classic, () => undefined, { arguments: { 'x-consumer-timeout': 5000 } }),
      new RegExp(`406 \\(PRECONDITION-FAILED\\) with message "PRECONDITION_FAILED - invalid arg 'x-consumer-timeout' for queue '${classic.replace(/\./g, '\\.')}' in vhost '/' of queue type rabbit_classic_queue"`),
    );
    const neg = track(await conn.createChannel());
    await neg.ch.assertQueue(q, { durable: true, arguments: QQ });
    await assert.rejects(neg.ch.consume(q, () => undefined, { arguments: { 'x-consumer-timeout': -1 } }), /406 \(PRECONDITION-FAILED\).*x-consumer-timeout/);
    await t.ch.deleteQueue(classic);
    await t.ch.deleteQueue(q);
  });
});
