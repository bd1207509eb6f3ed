/**
 * The memory watermark bounds the process: with a 200 MB watermark (on RSS) and two
 * publishers of persistent 4 KiB messages without confirms pushing into durable queues
 * nobody consumes, the broker's RSS, sampled every 50 ms for 15 s, stays within 20 % of the
 * watermark (the issue measured 529 MB peaks when the alarm counted only the JS heap).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { connectQuietly, rssBytes, sleep } from './durability-helpers';

const WATERMARK_BYTES = 200 * 1000 * 1000;
const skip = isExternalBroker() ? 'starts its own broker' : false;
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

/** Publishes persistent messages as fast as the socket takes them until `untilMs`. */
async function flood(conn: amqp.ChannelModel, queue: string, untilMs: number): Promise<number> {
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true });
  const body = Buffer.alloc(4096, 0x62);
  let sent = 0;
  let drained = true;
  ch.on('drain', () => (drained = true));
  while (Date.now() < untilMs) {
    if (!drained) {
      await sleep(20);
      continue;
    }
    sent++;
    drained = ch.sendToQueue(queue, body, { persistent: true });
    if (sent % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe('memory watermark on RSS', { skip }, () => {
  it('two persistent publishers without confirms: RSS stays within 20 % of a 200 MB watermark', { timeout: 60_000 }, async (t) => {
    const b = await startBroker({
      env: { WARREN_VM_MEMORY_HIGH_WATERMARK: String(WATERMARK_BYTES), GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=1048576' },
    });
    brokers.push(b);
    const pid = b.child.pid!;
    let peak = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(pid));
      } catch {
        // gone: asserted below
      }
    }, 50);
    const blocked: string[] = [];
    const conns = [await connectQuietly(b.url), await connectQuietly(b.url)];
    conns.forEach((c, i) => c.on('blocked', () => blocked.push(`p${i}`)));
    const until = Date.now() + 15_000;
    const sent = await Promise.all(conns.map((c, i) => flood(c, `wm.q${i}`, until)));
    clearInterval(sampler);
    assert.equal(b.child.exitCode, null);
    t.diagnostic(`sent ${sent.join(' + ')} messages of 4 KiB; RSS peak ${(peak / 1e6).toFixed(0)} MB for a 200 MB watermark; blocked: ${blocked.join(',')}`);
    console.log(`# memory watermark 200 MB: RSS peak ${(peak / 1e6).toFixed(0)} MB with two persistent publishers (${sent.join(' + ')} x 4 KiB sent)`);
    assert.ok(blocked.length > 0, 'the memory alarm never blocked the publishers');
    assert.ok(peak <= WATERMARK_BYTES * 1.2, `RSS peaked at ${(peak / 1e6).toFixed(0)} MB`);
    for (const c of conns) await c.close().catch(() => {});
  });
});
