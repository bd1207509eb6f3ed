/**
 * PagedMessages against a real segment store: order across the memory/disk boundary,
 * transient messages pinned in place, delivery fields kept, byte accounting, clear()
 * releasing paged-out messages from the store, and unreadable records skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Message } from '../../src/broker/message';
import { PagedMessages, type PagingLimits } from '../../src/broker/queue/paged-messages';
import type { QueuedMessage } from '../../src/broker/ports';
import { routingBlob } from '../../src/broker/routing-blob';
import { openSegmentStore, type SegmentMessageStore } from '../../src/store/segment-store';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const PERSISTENT = Buffer.from([0x10, 0x00, 0x02]); // flags: delivery-mode; value 2
const TRANSIENT = Buffer.from([0x10, 0x00, 0x01]);

async function setup(limits: PagingLimits): Promise<{ store: SegmentMessageStore; ready: PagedMessages }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-paged-'));
  dirs.push(dir);
  // A tiny cache so page-ins really read the files.
  const store = await openSegmentStore({ dir, cacheMaxBytes: 4096 });
  return { store, ready: new PagedMessages('q', { messageStore: store }, limits) };
}

function entry(store: SegmentMessageStore, n: number, persistent = true, redelivered = false, expiresAtMs = Infinity): QueuedMessage {
  const body = Buffer.from(`message ${n}`);
  const message = new Message('ex', `rk.${n}`, persistent ? PERSISTENT : TRANSIENT, body);
  if (persistent) message.storeId = store.storeMessage(['q'], routingBlob(message), message.rawProperties, body);
  return { message, redelivered, expiresAtMs, seq: 0 };
}

describe('PagedMessages', () => {
  it('keeps FIFO order across the paging boundary, with transient messages pinned in place', async () => {
    const { store, ready } = await setup({ maxMessages: 5, maxBytes: 1 << 20, pageBatch: 3 });
    let bytes = 0;
    for (let n = 0; n < 40; n++) {
      const e = entry(store, n, n % 7 !== 3, n % 5 === 0, n === 20 ? 123456 : Infinity);
      bytes += e.message.body.length;
      ready.push(e);
    }
    await store.flush();
    assert.equal(ready.length, 40);
    assert.equal(ready.bytes, bytes);
    assert.equal(ready.pagedCount, 35);
    const seen: number[] = [];
    for (let n = 0; n < 40; n++) {
      const head = ready.peek();
      const got = ready.shift();
      assert.ok(got && head === got);
      assert.equal(got.message.body.toString(), `message ${n}`);
      assert.equal(got.message.routingKey, `rk.${n}`);
      assert.equal(got.message.exchange, 'ex');
      assert.equal(got.message.persistent, n % 7 !== 3);
      assert.equal(got.redelivered, n % 5 === 0);
      assert.equal(got.expiresAtMs, n === 20 ? 123456 : Infinity);
      seen.push(n);
    }
    assert.equal(ready.length, 0);
    assert.equal(ready.bytes, 0);
    assert.equal(ready.shift(), undefined);
    assert.ok(ready.pagedIn >= 30, `paged in ${ready.pagedIn}`);
    await store.close();
  });

  it('pages out on the byte limit, and new pushes queue behind paged messages until they drain', async () => {
    const { store, ready } = await setup({ maxMessages: 1_000_000, maxBytes: 30, pageBatch: 2 });
    for (let n = 0; n < 10; n++) ready.push(entry(store, n));
    assert.ok(ready.pagedCount >= 7);
    assert.equal(ready.shift()!.message.body.toString(), 'message 0');
    ready.unshift(entry(store, 100, true, true)); // a requeue goes to the front
    for (let n = 10; n < 15; n++) ready.push(entry(store, n));
    const order = [];
    for (let got = ready.shift(); got; got = ready.shift()) order.push(got.message.body.toString().slice(8));
    assert.deepEqual(order, ['100', ...Array.from({ length: 14 }, (_, i) => String(i + 1))]);
    await store.close();
  });

  it('clear() returns one entry per message and releases paged-out ones from the store itself', async () => {
    const { store, ready } = await setup({ maxMessages: 3, maxBytes: 1 << 20, pageBatch: 4 });
    const entries = Array.from({ length: 12 }, (_, n) => entry(store, n, n !== 8));
    for (const e of entries) ready.push(e);
    const cleared = ready.clear();
    assert.equal(cleared.length, 12);
    assert.equal(ready.length, 0);
    assert.equal(ready.bytes, 0);
    // The three in memory come back as they were (the queue releases those); the paged ones are gone from the store.
    assert.deepEqual(cleared.slice(0, 3), entries.slice(0, 3));
    const stillHeld = store.queueMessageIds('q');
    assert.deepEqual(stillHeld, entries.slice(0, 3).map((e) => e.message.storeId));
    assert.equal(cleared.filter((e) => e.message.storeId !== undefined).length, 3);
    assert.ok(cleared.includes(entries[8]), 'the transient message is returned as is');
    await store.close();
  });

  it('skips a paged message the store no longer holds and keeps the byte count right', async () => {
    const { store, ready } = await setup({ maxMessages: 1, maxBytes: 1 << 20, pageBatch: 10 });
    const entries = Array.from({ length: 4 }, (_, n) => entry(store, n));
    for (const e of entries) ready.push(e);
    store.ack('q', entries[2].message.storeId!);
    const bodies = [];
    for (let got = ready.shift(); got; got = ready.shift()) bodies.push(got.message.body.toString());
    assert.deepEqual(bodies, ['message 0', 'message 1', 'message 3']);
    assert.equal(ready.bytes, 0);
    await store.close();
  });

  it('behaves as a plain FIFO without a store', () => {
    const ready = new PagedMessages('q', {}, { maxMessages: 1, maxBytes: 1, pageBatch: 1 });
    for (let n = 0; n < 5; n++) ready.push({ message: new Message('', 'k', PERSISTENT, Buffer.from([n])), redelivered: false, expiresAtMs: Infinity, seq: 0 });
    const got = [];
    for (let e = ready.shift(); e; e = ready.shift()) got.push(e.message.body[0]);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
  });
});
