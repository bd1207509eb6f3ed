// A new leader's messages held for consumers of an earlier leader (cluster/quorum's
// OwnedMessages), on a real live queue fed from a real QuorumFsm: held messages are neither
// ready nor delivered; their holder's node settles them by log id (another node cannot);
// a re-attached consumer's prefetch counts them; what a consumer node no longer lists, what
// a consumer that went held and what no one came back for return to the queue, redelivered
// and counted.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { QuorumFsm } from '../../cluster/quorum/quorum-fsm';
import { encodeCheckout, encodeEnqueue, ownerKey } from '../../cluster/quorum/quorum-codec';
import { LiveQueue } from '../../cluster/quorum/live-queue';
import { OwnedMessages } from '../../cluster/quorum/owned-messages';
import { restoreLive } from '../../cluster/quorum/live-restore';
import { ProxyConsumer } from '../../cluster/forward/proxy-consumer';
import { SETTLE_ACK, SETTLE_HOLDS, SETTLE_KEEP_ONLY, SETTLE_REQUEUE } from '../../cluster/forward/forward-codec';
import { EntryType } from '../../cluster/raft/types';
import { Message } from '../../src/broker/message';
import type { QueueHandle, QueuedMessage } from '../../src/broker/ports';

function leader(holdMs = 60_000, claimed = new Map<number, string>(), claimLate = false) {
  const fsm = new QuorumFsm();
  let index = 0;
  const apply = (data: Buffer) => fsm.apply({ index: ++index, term: 1, type: EntryType.Command, data });
  const messages = Array.from({ length: 8 }, (_, i) => new Message('', 'q', Buffer.from([0x10, 0x00, 0x02]), Buffer.from(`m${i + 1}`)));
  apply(encodeEnqueue(1, messages, Date.now()));
  // An earlier leader handed 1-3 to consumer 7 of node b, 4-5 to consumer 9 of node c (down), 6 to consumer 8 of node b.
  apply(encodeCheckout(new Map([[ownerKey('b', 7), [1, 2, 3]], [ownerKey('c', 9), [4, 5]], [ownerKey('b', 8), [6]]])));
  const settled: number[] = [];
  const returned: number[] = [];
  const counts = new Map<number, number>();
  const def = { name: 'q', durable: true, exclusive: false, autoDelete: false, arguments: {} };
  const live = new LiveQueue(
    '/',
    def,
    { deadLetter: () => undefined, expired: () => undefined, released: (_q, m) => settled.push(m.storeId!) },
    undefined,
    {
      returned: (id) => {
        returned.push(id);
        const n = (counts.get(id) ?? 0) + 1;
        counts.set(id, n);
        return n;
      },
      deliveryLimit: () => Infinity,
      checkedOut: () => undefined,
    },
    'a',
  );
  const owned = new OwnedMessages(live, fsm, (_owner, id) => {
    if (!claimLate || fsm.messages.get(id)?.owner !== undefined) return false;
    live.holdReady(id);
    return true;
  });
  const checkouts: [string, number][] = [];
  const { returnNow } = restoreLive(fsm, live, counts, owned, { self: 'a', isUp: (n) => n !== 'c', missing: () => assert.fail('missing'), acked: new Set([8]), settle: (id) => settled.push(id), claimed, checkout: (o, id) => checkouts.push([o, id]) });
  owned.start(holdMs);
  return { fsm, live, owned, settled, returned, returnNow, checkouts };
}

function proxy(node: string, consumerId: number, queue: QueueHandle, got: QueuedMessage[]): ProxyConsumer {
  // As HomeDeliveries counts a delivery with manual ack against the proxy's prefetch.
  const host = {
    deliver: (p: ProxyConsumer, _q: QueueHandle, e: QueuedMessage) => {
      p.unacked++;
      got.push(e);
    },
    cancelled: () => undefined,
    isUp: () => true,
  };
  const p = new ProxyConsumer(node, consumerId, queue, { consumerId, tag: `t${consumerId}`, noAck: false, exclusive: false, priority: 0, prefetchCount: 5, args: {} }, host);
  p.active = true;
  return p;
}

const bodies = (es: QueuedMessage[]) => es.map((e) => e.message.body.toString());

test('held messages stay with their consumer, settle by log id only from its node, and count against its prefetch', () => {
  const { live, owned, settled, returnNow } = leader();
  // 4 and 5 (node c is down) return at once; 8 was acked early by log id; 7 is ready; 1-3 and 6 are held.
  assert.deepEqual(returnNow, [4, 5]);
  assert.deepEqual(settled, [8]);
  assert.equal(live.messageCount, 1);
  assert.equal(owned.size, 4);
  assert.equal(live.unackedCount, 4);
  const got: QueuedMessage[] = [];
  const p = proxy('b', 7, live, got);
  owned.attach(ownerKey('b', 7), p);
  assert.equal(p.unacked, 3);
  live.addConsumer(p);
  // Prefetch 5: 3 held, and 7 (nothing else is ready).
  assert.deepEqual(bodies(got), ['m7']);
  assert.equal(p.unacked, 4);
  owned.settle('c', SETTLE_ACK, [1]);
  assert.ok(owned.has(1), 'another node cannot settle what node b holds');
  owned.settle('b', SETTLE_ACK, [1, 2]);
  assert.deepEqual(settled, [8, 1, 2]);
  assert.equal(p.unacked, 2);
  assert.equal(live.unackedCount, 3, 'held 3 and 6, and 7 delivered here');
  owned.settle('b', SETTLE_REQUEUE, [3]);
  live.drain();
  assert.deepEqual(bodies(got), ['m7', 'm3']);
  assert.equal(got[1].redelivered, true);
  assert.equal(got[1].message.properties.headers?.['x-delivery-count'], 1);
});

test('a consumer node that no longer lists a held message, a cancelled consumer\'s channel that closes, and a node that goes down: back to the queue', () => {
  const { live, owned, returned } = leader();
  returned.length = 0;
  owned.settle('b', SETTLE_KEEP_ONLY, [1, 3, 6]);
  assert.deepEqual(returned, [2], 'node b no longer holds 2: it never reached it');
  // Consumer 7 re-attached, then was cancelled: what it holds stays with its channel (ackable), past the hold time too.
  owned.attach(ownerKey('b', 7), proxy('b', 7, live, []));
  owned.detach(ownerKey('b', 7));
  assert.deepEqual(returned, [2]);
  // Its channel closes: node b requeues them by log id.
  owned.settle('b', SETTLE_REQUEUE, [1, 3]);
  assert.deepEqual(returned, [2, 1, 3]);
  owned.nodeDown('b');
  assert.deepEqual(returned, [2, 1, 3, 6]);
  assert.equal(owned.size, 0);
  assert.equal(live.unackedCount, 0);
});

test('held messages of a consumer that does not come back return after the hold time', async () => {
  const { owned, returned } = leader(50);
  returned.length = 0;
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(returned.sort(), [1, 2, 3, 6]);
  owned.stop();
});

test('a ready message acked by log id after the new leader started (its checkout died with the old leader) is settled, not delivered again', () => {
  const { live, owned, settled } = leader();
  owned.settle('b', SETTLE_ACK, [7, 99]);
  const got: QueuedMessage[] = [];
  const p = proxy('d', 1, live, got);
  live.addConsumer(p);
  assert.deepEqual(bodies(got), []);
  assert.deepEqual(settled, [8, 7]);
  assert.equal(live.messageCount, 0);
  owned.stop();
});

test('a message a consumer node reports holding whose checkout the log lacks is held for that consumer (checkout logged again), not delivered again', () => {
  // Node b's consumer 7 holds 7 (the old leader's checkout of it died with it); 8 was acked early; node c is down.
  const { live, owned, settled, checkouts, returned } = leader(60_000, new Map([[7, ownerKey('b', 7)], [8, ownerKey('b', 7)], [2, ownerKey('b', 8)], [1, ownerKey('c', 9)]]));
  assert.deepEqual(checkouts, [[ownerKey('b', 7), 7]], 'only the unowned, unacked message of a node that is up is claimed');
  assert.deepEqual(settled, [8]);
  assert.equal(live.messageCount, 0);
  assert.equal(live.unackedCount, 5);
  const got: QueuedMessage[] = [];
  const p = proxy('d', 1, live, got);
  live.addConsumer(p);
  assert.deepEqual(bodies(got), [], 'nothing ready for another consumer');
  // Node b's report, applied once the live queue is built: 7 stays; 6 (consumer 8) is not listed: back.
  owned.settle('b', SETTLE_HOLDS, [1, 7, 2, 7, 3, 7, 7, 7]);
  assert.deepEqual(returned, [6]);
  assert.deepEqual(bodies(got), ['m6']);
  owned.settle('b', SETTLE_ACK, [7]);
  assert.deepEqual(settled, [8, 7]);
  owned.stop();
});

test('a ready message a consumer node reports holding after the live queue is built is taken out of the ready messages for it; requeued, it is ready again once', () => {
  const { live, owned, settled, returned } = leader(60_000, new Map(), true);
  returned.length = 0;
  // Node d's consumer 3 reports 7 (ready: its checkout died with the old leader), before it re-attaches.
  owned.settle('d', SETTLE_HOLDS, [7, 3]);
  assert.equal(live.unackedCount, 5);
  const got: QueuedMessage[] = [];
  const p = proxy('d', 3, live, got);
  owned.attach(ownerKey('d', 3), p);
  assert.equal(p.unacked, 1);
  live.addConsumer(p);
  assert.deepEqual(bodies(got), [], '7 is not delivered again');
  owned.settle('d', SETTLE_REQUEUE, [7]);
  assert.deepEqual(returned, [7]);
  live.drain();
  assert.deepEqual(bodies(got), ['m7'], 'requeued, it is delivered once');
  const other = leader(60_000, new Map(), true);
  other.owned.settle('d', SETTLE_HOLDS, [7, 3]);
  other.owned.settle('d', SETTLE_ACK, [7]);
  assert.deepEqual(other.settled, [8, 7]);
  const got2: QueuedMessage[] = [];
  other.live.addConsumer(proxy('e', 1, other.live, got2));
  assert.deepEqual(bodies(got2), [], 'acked, its stale ready entry is skipped');
  assert.equal(other.live.unackedCount, 4);
  owned.stop();
  other.owned.stop();
});
