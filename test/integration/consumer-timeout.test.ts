// Consumer timeouts (RabbitMQ's consumer_timeout): a delivery left unacknowledged past the
// timeout closes its channel with 406 and RabbitMQ's text, and the message goes back to the
// queue. The broker runs with WARREN_CONSUMER_TIMEOUT=1000 (swept every 250 ms).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collector, sleep, track, uniqueName, waitFor } from '../helpers/amqp-test';
import { TIMEOUT_MS, timeoutBrokerSkip, useTimeoutBroker } from './timeout-broker';

describe('consumer timeout', { skip: timeoutBrokerSkip }, () => {
  const node = useTimeoutBroker();
  const connect = node.connect;

  it('closes a channel whose delivery stays unacked past the timeout (406, RabbitMQ text) and requeues the message', async () => {
    const conn = await connect();
    const setup = await conn.createChannel();
    const q = uniqueName('ct');
    await setup.assertQueue(q);
    setup.sendToQueue(q, Buffer.from('slow'));
    const t = track(await conn.createChannel());
    const got = collector();
    await t.ch.consume(q, got.onMessage);
    await got.waitCount(1);
    const deliveredAt = Date.now();
    await t.closed;
    const closedAfter = Date.now() - deliveredAt;
    assert.equal(t.errors.length, 1);
    assert.match(
      t.errors[0].message,
      /^Channel closed by server: 406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - delivery acknowledgement on channel \d+ timed out\. Timeout value used: 1000 ms\. This timeout value can be configured, see consumers doc guide to learn more"$/,
    );
    assert.ok(closedAfter >= TIMEOUT_MS - 300 && closedAfter < TIMEOUT_MS + 1500, `closed ${closedAfter} ms after the delivery`);
    // Back in the queue, redelivered.
    const again = await waitFor(async () => (await setup.get(q)) || undefined, 3000, 'the message back in the queue');
    assert.equal(again.content.toString(), 'slow');
    assert.equal(again.fields.redelivered, true);
    setup.ack(again);
    await setup.deleteQueue(q);
  });

  it('leaves a consumer that acks in time alone, and counts basic.get deliveries too', async () => {
    const conn = await connect();
    const ch = track(await conn.createChannel());
    const q = uniqueName('ct.ok');
    await ch.ch.assertQueue(q);
    await ch.ch.prefetch(1);
    await ch.ch.consume(q, (m) => m && setTimeout(() => ch.ch.ack(m), 100));
    const until = Date.now() + 2.5 * TIMEOUT_MS;
    while (Date.now() < until) {
      ch.ch.sendToQueue(q, Buffer.from('x'));
      await sleep(150);
    }
    assert.deepEqual(ch.errors, [], 'no close while every delivery is acked within the timeout');
    const getter = track(await conn.createChannel());
    getter.ch.sendToQueue(q + '.none', Buffer.from('x')); // unrouted: nothing happens
    const q2 = uniqueName('ct.get');
    await getter.ch.assertQueue(q2);
    getter.ch.sendToQueue(q2, Buffer.from('held'));
    assert.ok(await waitFor(() => getter.ch.get(q2), 2000, 'basic.get'));
    await getter.closed;
    assert.match(getter.errors[0]?.message ?? '', /406 .*delivery acknowledgement on channel \d+ timed out/);
    await ch.ch.deleteQueue(q);
    await ch.ch.deleteQueue(q2);
  });

  it('a queue with x-consumer-timeout uses its own value; /api/consumers shows the timeout in force', async () => {
    const conn = await connect();
    const ch = track(await conn.createChannel());
    const q = uniqueName('ct.arg');
    await ch.ch.assertQueue(q, { arguments: { 'x-consumer-timeout': 600_000 } });
    ch.ch.sendToQueue(q, Buffer.from('kept'));
    const got = collector();
    await ch.ch.consume(q, got.onMessage, { consumerTag: 'long' });
    const plain = uniqueName('ct.plain');
    await ch.ch.assertQueue(plain);
    await ch.ch.consume(plain, () => undefined, { consumerTag: 'short' });
    await got.waitCount(1);
    await sleep(2.5 * TIMEOUT_MS);
    assert.deepEqual(ch.errors, [], 'the queue argument (10 min) wins over the node setting (1 s)');
    const res = await fetch(`http://127.0.0.1:${node.mgmtPort}/api/consumers`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } });
    const rows = (await res.json()) as { consumer_tag: string; consumer_timeout: number | null }[];
    assert.equal(rows.find((r) => r.consumer_tag === 'long')?.consumer_timeout, 600_000);
    assert.equal(rows.find((r) => r.consumer_tag === 'short')?.consumer_timeout, TIMEOUT_MS);
    const bad = track(await conn.createChannel());
    await assert.rejects(bad.ch.assertQueue(uniqueName('ct.bad'), { arguments: { 'x-consumer-timeout': -1 } }), /406 \(PRECONDITION-FAILED\).*x-consumer-timeout/);
    ch.ch.ack(got.messages[0]!);
    await ch.ch.deleteQueue(q);
    await ch.ch.deleteQueue(plain);
  });
});
