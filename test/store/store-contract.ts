/**
 * The behaviour every MessageStore must have. Each implementation's test file calls
 * {@link describeStoreContract} with a factory; the same cases run against all of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageId, MessageStore } from '../../src/store/message-store';
import { StoreClosedError } from '../../src/store/store-errors';
import { messageFor, prng, sameMessage } from './store-helpers';

export interface StoreUnderTest {
  store: MessageStore;
  /** Closes the store (if still open) and removes what it left behind. */
  dispose(): Promise<void>;
}

export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  async function withStore(fn: (store: MessageStore) => Promise<void>): Promise<void> {
    const subject = await open();
    try {
      await fn(subject.store);
    } finally {
      await subject.dispose();
    }
  }

  function put(store: MessageStore, queues: string[], key: number, bodyBytes = 32): MessageId {
    const m = messageFor(key, bodyBytes);
    return store.storeMessage(queues, m.routing, m.properties, m.body);
  }

  describe(`MessageStore contract: ${name}`, () => {
    it('stores and reads back the exact bytes, with increasing ids', () =>
      withStore(async (store) => {
        const a = put(store, ['q'], 1, 0);
        const b = put(store, ['q'], 2, 5000);
        assert.ok(b > a && a > 0);
        assert.ok(sameMessage(store.read(a), messageFor(1, 0)));
        assert.ok(sameMessage(store.read(b), messageFor(2, 5000)));
        await store.flush();
        assert.ok(sameMessage(store.read(b), messageFor(2, 5000)));
        assert.equal(store.read(b + 1000), undefined);
        assert.ok(store.has(a));
      }));

    it('reports durability asynchronously through a monotonic watermark', () =>
      withStore(async (store) => {
        const seen: number[] = [];
        store.onDurable((t) => seen.push(t));
        const id = put(store, ['q'], 1);
        assert.ok(store.durableTicket < id, 'durable before any flush could run');
        assert.equal(store.lastTicket, id);
        const durable = await store.flush();
        assert.ok(durable >= id && store.durableTicket >= id);
        const ack = store.ack('q', id);
        assert.ok(ack > id);
        await store.flush();
        assert.ok(seen.length >= 1);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
        assert.ok(seen[seen.length - 1] >= ack);
      }));

    it('keeps a message routed to several queues until every queue has acked it', () =>
      withStore(async (store) => {
        const id = put(store, ['a', 'b', 'c'], 7);
        assert.equal(store.stats().liveMessages, 1);
        store.ack('a', id);
        store.ack('b', id);
        assert.ok(store.has(id));
        assert.ok(sameMessage(store.read(id), messageFor(7, 32)));
        assert.deepEqual(store.queueMessageIds('c'), [id]);
        assert.deepEqual(store.queueMessageIds('a'), []);
        store.ack('c', id);
        assert.equal(store.has(id), false);
        assert.equal(store.read(id), undefined);
        assert.equal(store.stats().liveMessages, 0);
        await store.flush();
      }));

    it('counts a queue listed twice once', () =>
      withStore(async (store) => {
        const id = put(store, ['a', 'a'], 1);
        store.ack('a', id);
        assert.equal(store.has(id), false);
      }));

    it('lists each queue in store order, also after acks in the middle', () =>
      withStore(async (store) => {
        const ids = [];
        for (let i = 0; i < 10; i++) ids.push(put(store, i % 2 === 0 ? ['even', 'all'] : ['all'], i));
        store.ackMany('all', [ids[3], ids[4], ids[5]]);
        assert.deepEqual(store.queueMessageIds('all'), [ids[0], ids[1], ids[2], ids[6], ids[7], ids[8], ids[9]]);
        assert.deepEqual(store.queueMessageIds('even'), [ids[0], ids[2], ids[4], ids[6], ids[8]]);
        assert.ok(store.has(ids[4]), 'still held by "even"');
        assert.equal(store.has(ids[5]), false);
        await store.flush();
      }));

    it('ignores acks of ids a queue does not hold, without a new ticket', () =>
      withStore(async (store) => {
        const id = put(store, ['q'], 1);
        const last = store.lastTicket;
        assert.equal(store.ack('other', id), last);
        assert.equal(store.ack('q', id + 99), last);
        assert.equal(store.ackMany('q', []), last);
        assert.ok(store.has(id));
        store.ack('q', id);
        assert.equal(store.ack('q', id), store.lastTicket);
        await store.flush();
      }));

    it('drops a deleted queue and its references, leaving shared messages to others', () =>
      withStore(async (store) => {
        const only = put(store, ['gone'], 1);
        const shared = put(store, ['gone', 'kept'], 2);
        store.deleteQueue('gone');
        assert.equal(store.has(only), false);
        assert.ok(store.has(shared));
        assert.deepEqual(store.queueMessageIds('gone'), []);
        assert.deepEqual(store.queueMessageIds('kept'), [shared]);
        const again = put(store, ['gone'], 3);
        assert.deepEqual(store.queueMessageIds('gone'), [again]);
        await store.flush();
      }));

    it('rejects a message without queues and over-long queue names', () =>
      withStore(async (store) => {
        assert.throws(() => put(store, [], 1), RangeError);
        assert.throws(() => put(store, ['x'.repeat(256)], 1), RangeError);
        const id = put(store, ['é'.repeat(127)], 1);
        assert.ok(store.has(id));
      }));

    it('refuses calls after close', async () => {
      const subject = await open();
      const { store } = subject;
      put(store, ['q'], 1);
      await store.close();
      assert.throws(() => put(store, ['q'], 2), StoreClosedError);
      assert.throws(() => store.ack('q', 1), StoreClosedError);
      await store.close();
      await subject.dispose();
    });

    it('close waits for writes that onDurable listeners make while it drains', async () => {
      const subject = await open();
      const { store } = subject;
      const ids = [put(store, ['q'], 1), put(store, ['q'], 2)];
      let next = 0;
      store.onDurable(() => {
        if (next < ids.length) store.ack('q', ids[next++]);
      });
      await store.close();
      assert.equal(next, 2);
      assert.equal(store.durableTicket, store.lastTicket);
      await subject.dispose();
    });

    it('matches a model under random stores, acks and queue deletions', () =>
      withStore(async (store) => {
        const random = prng(12345);
        const queueNames = ['q0', 'q1', 'q2', 'q3', 'q4'];
        const model = new Map<string, MessageId[]>();
        const keyOf = new Map<MessageId, number>();
        for (let step = 0; step < 3000; step++) {
          const r = random();
          if (r < 0.5) {
            const queues = queueNames.filter(() => random() < 0.4);
            if (queues.length === 0) queues.push(queueNames[Math.floor(random() * 5)]);
            const id = put(store, queues, step, Math.floor(random() * 300));
            keyOf.set(id, step);
            for (const q of queues) model.set(q, [...(model.get(q) ?? []), id]);
          } else if (r < 0.9) {
            const q = queueNames[Math.floor(random() * 5)];
            const held = model.get(q) ?? [];
            if (held.length === 0) continue;
            const pick = held.filter(() => random() < 0.3);
            store.ackMany(q, pick);
            model.set(q, held.filter((id) => !pick.includes(id)));
          } else if (r < 0.92) {
            const q = queueNames[Math.floor(random() * 5)];
            store.deleteQueue(q);
            model.delete(q);
          } else if (r < 0.95) {
            await store.flush();
          }
        }
        const live = new Set<MessageId>();
        for (const q of queueNames) {
          const expected = model.get(q) ?? [];
          assert.deepEqual(store.queueMessageIds(q), expected, `queue ${q}`);
          for (const id of expected) live.add(id);
        }
        for (const [id, key] of keyOf) {
          assert.equal(store.has(id), live.has(id), `has(${id})`);
          if (live.has(id)) assert.ok(sameMessage(store.read(id), messageFor(key, store.read(id)!.body.length)));
        }
        assert.equal(store.stats().liveMessages, live.size);
        await store.flush();
      }));
  });
}
