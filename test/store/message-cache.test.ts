import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MessageCache } from '../../src/store/message-cache';

const empty = Buffer.alloc(0);
const message = (bytes: number) => ({ routing: empty, properties: empty, body: Buffer.alloc(bytes) });

it('stays within its byte bound, evicting oldest first', () => {
  const cache = new MessageCache(1000);
  for (let id = 1; id <= 30; id++) cache.set(id, message(100));
  assert.ok(cache.sizeBytes <= 1000);
  assert.equal(cache.get(1), undefined);
  assert.ok(cache.get(30) !== undefined);
  assert.ok(cache.get(21) !== undefined);
  assert.equal(cache.get(20), undefined);
});

it('gives a recently read entry a second chance', () => {
  const cache = new MessageCache(300);
  cache.set(1, message(100));
  cache.set(2, message(100));
  cache.set(3, message(100));
  cache.get(1);
  cache.set(4, message(100));
  assert.ok(cache.get(1) !== undefined, 'read entry survived');
  assert.equal(cache.get(2), undefined);
});

it('refuses entries larger than the bound and forgets deleted ones', () => {
  const cache = new MessageCache(100);
  cache.set(1, message(101));
  assert.equal(cache.get(1), undefined);
  cache.set(2, message(50));
  cache.delete(2);
  assert.equal(cache.get(2), undefined);
  assert.equal(cache.sizeBytes, 0);
});

it('does not accumulate ids of deleted entries while never full', () => {
  const cache = new MessageCache(1 << 30);
  cache.set(0, message(1));
  for (let id = 1; id <= 100_000; id++) {
    cache.set(id, message(1));
    cache.delete(id);
  }
  assert.ok(cache.orderLength < 10_000, `clock holds ${cache.orderLength} ids`);
});
