/**
 * The memory alarm as RabbitMQ raises it: with a small high watermark, a publisher that
 * fills memory gets connection.blocked and is no longer read from; a consumer on another
 * connection keeps receiving; once the queue is purged the publisher gets
 * connection.unblocked and what it published meanwhile goes through.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, sleep } from './durability-helpers';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

function waitEvent(emitter: NodeJS.EventEmitter, event: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('memory alarm', () => {
  it('blocks the publisher, keeps the consumer going, unblocks after a purge', async () => {
    // The watermark is on the process's RSS (a fresh node is about 60 MB). glibc keeps freed
    // message buffers in its heap unless told otherwise; the README's recommended tunables let
    // the RSS fall after the purge, as it must for the alarm to clear.
    const broker = await startBroker({ env: { WARREN_VM_MEMORY_HIGH_WATERMARK: '150MB', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=1048576' } });
    brokers.push(broker);
    const publisher = await connectQuietly(broker.url);
    const consumer = await connectQuietly(broker.url);
    const events: string[] = [];
    publisher.on('blocked', (reason: string) => events.push(`blocked:${reason}`));
    publisher.on('unblocked', () => events.push('unblocked'));
    const blocked = waitEvent(publisher, 'blocked', 20_000);

    const cch = await consumer.createChannel();
    await cch.assertQueue('alarm.fill', { durable: false });
    await cch.assertQueue('alarm.after', { durable: false });

    // Transient messages in a transient queue stay in memory: 64 KiB each until the alarm.
    const pch = await publisher.createChannel();
    const body = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let isBlocked = false;
    void blocked.then(() => (isBlocked = true), () => undefined);
    // Only as fast as the socket drains: what the client buffers would be read after the
    // unblock and could set the alarm again.
    let drained = true;
    pch.on('drain', () => (drained = true));
    while (!isBlocked && sent < 4000) {
      if (!drained) {
        await sleep(5);
        continue;
      }
      drained = pch.sendToQueue('alarm.fill', body);
      sent++;
      if (sent % 32 === 0) await sleep(1);
    }
    assert.match(String(await blocked), /low on memory/);
    assert.ok(sent > 100, `blocked after only ${sent} messages`);

    // Published while blocked: the broker must not read it yet.
    pch.sendToQueue('alarm.after', Buffer.from('after'));
    await sleep(600);
    assert.equal((await cch.checkQueue('alarm.after')).messageCount, 0, 'a blocked connection was read from');

    // The consumer connection never published: it keeps receiving.
    await cch.prefetch(10);
    let consumed = 0;
    const { consumerTag } = await cch.consume('alarm.fill', (msg) => {
      if (msg === null) return;
      consumed++;
      cch.ack(msg);
    });
    const deadline = Date.now() + 5000;
    while (consumed < 50 && Date.now() < deadline) await sleep(10);
    assert.ok(consumed >= 50, `consumer received ${consumed} while the publisher was blocked`);
    await cch.cancel(consumerTag);

    const unblocked = waitEvent(publisher, 'unblocked', 30_000);
    await cch.purgeQueue('alarm.fill');
    await unblocked;
    // On RSS the alarm may go off and on more than once while memory is returned to the system
    // (RabbitMQ's rss alarm can too); it alternates and ends cleared.
    assert.ok(events.length >= 2 && events.length % 2 === 0, events.join(' '));
    events.forEach((e, i) => assert.equal(e, i % 2 === 0 ? 'blocked:low on memory' : 'unblocked', events.join(' ')));

    // The message sent while blocked arrives, and new publishes work.
    pch.sendToQueue('alarm.after', Buffer.from('later'));
    // After the unblock the broker reads what the kernel still held of the fill (several MB of
    // 64 KiB messages into alarm.fill, which has no consumer): that can set the alarm again, and
    // rightly keep it set until the queue is emptied. Keep emptying it, as an operator would.
    const until = Date.now() + 20_000;
    let count = 0;
    while (Date.now() < until && (count = (await cch.checkQueue('alarm.after')).messageCount) < 2) {
      await cch.purgeQueue('alarm.fill');
      await sleep(50);
    }
    assert.equal(count, 2);
    const first = await cch.get('alarm.after', { noAck: true });
    assert.ok(first && first.content.toString() === 'after');
    await publisher.close();
    await consumer.close();
  });
});
