/**
 * A consumer that stops reading its socket does not stall the publishers of its queue: its
 * deliveries stop at its own socket (the unacked window stays bounded), and after the
 * socket has been stuck for a few seconds (STUCK_OUTPUT_MS) the queue keeps taking messages,
 * as RabbitMQ's does, until a memory or disk alarm. The issue measured 2,716 messages in 60 s.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { methodFrame, RawClient, shortstr, u16, u32, u8 } from '../helpers/raw-amqp';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, sleep } from './durability-helpers';

const skip = isExternalBroker() ? 'starts its own broker' : false;
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

describe('stuck consumer', { skip }, () => {
  it('publishers with confirms keep going while a consumer never reads', { timeout: 60_000 }, async () => {
    const b = await startBroker();
    brokers.push(b);
    const queue = 'stuck.q';
    // A raw client that consumes with no-ack and then never reads its socket again.
    const consumer = await RawClient.connect(b.port);
    await consumer.handshake({ heartbeat: 0 });
    consumer.write(methodFrame(1, 20, 10, shortstr('')));
    await consumer.expectMethod(20, 11);
    consumer.write(methodFrame(1, 50, 10, Buffer.concat([u16(0), shortstr(queue), u8(0), u32(0)])));
    await consumer.expectMethod(50, 11);
    consumer.write(methodFrame(1, 60, 20, Buffer.concat([u16(0), shortstr(queue), shortstr('stuck'), u8(2), u32(0)])));
    await consumer.expectMethod(60, 21);
    consumer.socket.pause();

    const publisherConn = await connectQuietly(b.url);
    const pch = await publisherConn.createConfirmChannel();
    const body = Buffer.alloc(4096, 0x63);
    let sent = 0;
    let confirmed = 0;
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (sent - confirmed >= 500) {
        await sleep(2);
        continue;
      }
      sent++;
      pch.sendToQueue(queue, body, {}, (err) => {
        if (!err) confirmed++;
      });
    }
    await pch.waitForConfirms();
    const depth = (await pch.checkQueue(queue)).messageCount;
    console.log(`# stuck consumer: ${confirmed} messages of 4 KiB confirmed in 15 s, ${depth} waiting in the queue`);
    assert.ok(confirmed > 30_000, `only ${confirmed} confirmed in 15 s`);
    assert.ok(depth > 20_000, `queue depth ${depth}: the publisher was not feeding the queue`);
    await publisherConn.close();
    consumer.socket.destroy();
  });
});
