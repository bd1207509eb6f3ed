/** The store's compact index structures: IdList (per queue) and MessageIndex (per store). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdList } from '../../src/store/id-list';
import { MessageIndex } from '../../src/store/message-index';
import { Segment } from '../../src/store/segment-ledger';
import { prng } from './store-helpers';

describe('IdList', () => {
  it('matches a Set under random adds and deletes, in order', () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const list = new IdList();
      const model = new Set<number>();
      let next = 1;
      for (let step = 0; step < 20_000; step++) {
        const r = random();
        if (r < 0.5) {
          next += 1 + Math.floor(random() * 3);
          assert.equal(list.add(next), true);
          model.add(next);
        } else if (r < 0.8 && model.size > 0) {
          // Mostly from the head, as a FIFO queue acks.
          const ids = [...model];
          const id = random() < 0.7 ? ids[0] : ids[Math.floor(random() * ids.length)];
          assert.equal(list.delete(id), true);
          model.delete(id);
        } else {
          const probe = Math.floor(random() * (next + 2)) + 1;
          assert.equal(list.has(probe), model.has(probe), `seed ${seed} step ${step} probe ${probe}`);
          assert.equal(list.delete(probe), model.delete(probe));
        }
        assert.equal(list.size, model.size);
      }
      assert.deepEqual(list.toArray(), [...model].sort((a, b) => a - b));
      assert.deepEqual([...list], list.toArray());
    }
  });

  it('inserts an out-of-order id in place and refuses duplicates', () => {
    const list = new IdList();
    for (const id of [10, 20, 30]) list.add(id);
    assert.equal(list.add(15), true);
    assert.equal(list.add(20), false);
    list.delete(20);
    assert.equal(list.add(20), true);
    assert.deepEqual(list.toArray(), [10, 15, 20, 30]);
  });

  it('stays small when a long FIFO is drained from the head', () => {
    const list = new IdList();
    for (let id = 1; id <= 100_000; id++) {
      list.add(id);
      if (id > 100) list.delete(id - 100);
    }
    assert.equal(list.size, 100);
    assert.ok(list.sizeBytes <= 64 * 1024, `${list.sizeBytes} bytes`);
  });
});

describe('MessageIndex', () => {
  it('finds messages across segments and counts references down to dead', () => {
    const index = new MessageIndex();
    const segments = [1, 2, 3].map((no) => new Segment(no, `/nonexistent/${no}`, -1, 0));
    let id = 1;
    const where = new Map<number, [Segment, number]>();
    for (const segment of segments) {
      for (let i = 0; i < 500; i++, id += 2) {
        index.add(segment, id, i * 100, 100, id % 3 === 0 ? 2 : 1);
        where.set(id, [segment, i * 100]);
      }
    }
    assert.equal(index.live, 1500);
    for (const [probe, [segment, offset]] of where) {
      assert.ok(index.find(probe));
      assert.equal(index.foundSegment, segment);
      assert.equal(segment.messages.offset(index.foundIndex), offset);
    }
    assert.equal(index.has(2), false);
    assert.equal(index.has(id + 10), false);
    assert.ok(index.find(3));
    assert.equal(index.unrefFound(), false);
    assert.ok(index.find(3));
    assert.equal(index.unrefFound(), true);
    assert.equal(index.has(3), false);
    assert.equal(segments[0].live, 499);
    index.removeSegment(segments[0]);
    assert.equal(index.has(1), false);
    assert.ok(index.has(1001));
    assert.throws(() => index.add(segments[2], 5, 0, 1, 1), RangeError);
  });
});
