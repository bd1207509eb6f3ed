/**
 * Damage to the message store's files between runs: a torn tail (the newest segment
 * cut short by a few bytes, as a crash mid-write leaves it) and flipped bytes inside a
 * record (bit rot). The broker must start, log what it found, never deliver the
 * damaged message, and deliver every other one.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { bodyFor, connectQuietly, consumeAll, publishConfirmed, segmentFiles } from './durability-helpers';

const COUNT = 200;
const QUEUE = 'damaged.q';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

/** Starts a broker, stores COUNT confirmed persistent messages, stops it cleanly; returns its data dir. */
async function brokerWithMessages(): Promise<string> {
  const broker = await startBroker();
  brokers.push(broker);
  const conn = await connectQuietly(broker.url);
  const ch = await conn.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  await ch.close();
  const run = await publishConfirmed(conn, QUEUE, { count: COUNT, bodyBytes: 300 });
  assert.equal(run.confirmed.size, COUNT);
  await conn.close();
  await broker.stop({ keepData: true });
  return broker.dataDir;
}

async function restartAndDrain(dataDir: string): Promise<{ ids: number[]; output: string }> {
  const broker = await startBroker({ dataDir });
  brokers.push(broker);
  const conn = await connectQuietly(broker.url);
  const ch = await conn.createChannel();
  const { messageCount } = await ch.checkQueue(QUEUE);
  await ch.close();
  const got = await consumeAll(conn, QUEUE, messageCount);
  assert.ok(got.every((d) => d.redelivered));
  // Nothing more than what checkQueue reported.
  const check = await conn.createChannel();
  assert.equal((await check.checkQueue(QUEUE)).messageCount, 0);
  await conn.close();
  return { ids: got.map((d) => d.id), output: broker.output() };
}

/** The segment file holding the message records (the largest one: the others hold a start record only). */
function messageSegment(dataDir: string): string {
  const files = segmentFiles(dataDir);
  return files.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('damaged segment files', () => {
  it('a torn tail record is truncated and logged; every earlier message is delivered', async () => {
    const dataDir = await brokerWithMessages();
    const files = segmentFiles(dataDir);
    const file = messageSegment(dataDir);
    assert.equal(file, files[files.length - 1], 'the messages are in the newest segment');
    truncateSync(file, statSync(file).size - 7);

    const { ids, output } = await restartAndDrain(dataDir);
    assert.deepEqual(ids, range(0, COUNT - 1));
    assert.match(output, /torn tail record truncated/);
  });

  it('a record with flipped bytes is reported and never delivered; the others are', async () => {
    const dataDir = await brokerWithMessages();
    const file = messageSegment(dataDir);
    const bytes = readFileSync(file);
    const victim = 77;
    const marker = bodyFor(victim, 300).subarray(0, 8);
    const at = bytes.indexOf(marker);
    assert.ok(at > 0, 'found the record to damage');
    bytes[at + 20] ^= 0xff;
    bytes[at + 21] ^= 0x5a;
    writeFileSync(file, bytes);

    const { ids, output } = await restartAndDrain(dataDir);
    assert.deepEqual(ids, range(0, COUNT).filter((id) => id !== victim));
    assert.match(output, /corrupt record skipped/);
  });

  it('both at once: a flipped record in the middle and a torn tail', async () => {
    const dataDir = await brokerWithMessages();
    const file = messageSegment(dataDir);
    const bytes = readFileSync(file);
    const at = bytes.indexOf(bodyFor(5, 300).subarray(0, 6));
    assert.ok(at > 0);
    bytes[at + 3] ^= 0x01;
    writeFileSync(file, bytes.subarray(0, bytes.length - 3));

    const { ids, output } = await restartAndDrain(dataDir);
    assert.deepEqual(ids, range(0, COUNT - 1).filter((id) => id !== 5));
    assert.match(output, /corrupt record skipped/);
    assert.match(output, /torn tail record truncated/);
  });
});
