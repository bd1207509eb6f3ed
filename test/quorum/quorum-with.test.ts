// Commands held by the leader and proposed with the next enqueue batch as one entry
// (CMD_WITH), and the leader applying its own enqueue batch from the messages it holds
// (QuorumFsm.localBatch) instead of decoding the entry: the state is the same as the
// commands applied as separate entries, on the leader, on a follower that decodes, and on
// a member restarted from a snapshot that applies the rest of the log.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { QuorumFsm, type LocalBatch } from '../../cluster/quorum/quorum-fsm';
import { CMD_RETURN, CMD_SETTLE, CMD_WITH, encodeCheckout, encodeDead, encodeEnqueue, encodeEnqueueFrom, encodeIds, encodeWith, splitWith } from '../../cluster/quorum/quorum-codec';
import { EntryType, type LogEntry } from '../../cluster/raft/types';
import { Message, type EnqueueOrigin } from '../../src/broker/message';

const props = Buffer.from([0x10, 0x00, 0x02]); // delivery-mode 2
const msg = (key: string, body = key) => new Message('amq.direct', key, props, Buffer.from(body));
const entry = (index: number, data: Buffer): LogEntry => ({ index, term: 1, type: EntryType.Command, data });

function fsm(local?: Map<number, LocalBatch>): QuorumFsm {
  const f = new QuorumFsm({ node: 'n1' });
  if (local) f.localBatch = (id) => local.get(id);
  return f;
}

test('CMD_WITH: held commands and an enqueue in one entry apply as separate entries would, on the leader (its own messages), a follower (decoding) and after a restart from a snapshot', () => {
  const at = 1_765_000_000_000;
  const first = [msg('a'), msg('b'), msg('c'), msg('d', 'x'.repeat(2000))];
  // A floor 2^32 or more below its number is logged as none (out of order: refused, to be sent again) on every member.
  const origins: (EnqueueOrigin | undefined)[] = [{ enqueuer: 7, seq: 2 ** 33, floor: 1 }, undefined, { enqueuer: 8, seq: 5, floor: 4 }];
  const second = [msg('e'), msg('f'), msg('g')];
  const held = [encodeCheckout(new Map([['n3/4', [1, 2, 3]]])), encodeIds(CMD_SETTLE, [1]), encodeIds(CMD_RETURN, [2]), encodeDead('expired', [4])];
  const e1 = encodeEnqueue(100, first, at);
  const e2 = encodeEnqueueFrom(101, second, origins, at + 5, held);
  assert.equal(e2[0], CMD_WITH);
  assert.equal(splitWith(e2).length, 5);

  // The leader: batches 100 and 101 are its own (what QuorumGroup.proposed holds).
  const local = new Map<number, LocalBatch>([
    [100, { messages: first, origins: [] }],
    [101, { messages: second, origins }],
  ]);
  const leader = fsm(local);
  const seen: Message[] = [];
  leader.listener = (id, m) => {
    m.storeId = id;
    seen.push(m);
  };
  const follower = fsm();
  const separate = fsm();
  const refused: (number[] | undefined)[] = [];
  for (const f of [leader, follower]) {
    f.batchApplied = (id, r) => {
      if (id === 101) refused.push(r);
    };
    f.apply(entry(2, e1));
    f.apply(entry(3, e2));
  }
  separate.apply(entry(2, e1));
  // The same commands one by one (at the one index: the enqueuer table keeps the index of the entry).
  for (const h of held) separate.apply(entry(3, h));
  separate.apply(entry(3, encodeEnqueueFrom(101, second, origins, at + 5)));

  const snap = separate.snapshot();
  assert.deepEqual(leader.snapshot(), snap, 'the leader applying its own messages');
  assert.deepEqual(follower.snapshot(), snap, 'a follower decoding the entry');
  assert.equal(leader.messages.has(1), false, 'settled');
  assert.equal(leader.messages.get(2)!.deliveryCount, 1, 'returned');
  assert.equal(leader.messages.get(3)!.owner, 'n3/4', 'checked out');
  assert.equal(leader.messages.get(4)!.dead, 2, 'dead-lettered (expired)');
  assert.equal(leader.messages.get(6)!.enqueuedAt, at + 5);
  assert.deepEqual([...leader.enqueuers.enqueuers].map(([k, e]) => [k, e.last]), [[8, 5]]);
  assert.deepEqual(refused, [[0], [0]]);
  // The queue's own Message objects (the proposer's may be routed to other queues too), sharing the bytes.
  assert.equal(seen.length, 6);
  for (const m of [...first, ...second]) assert.equal(m.storeId, undefined, 'the proposer\'s message is not touched');
  assert.equal(seen[3].body, first[3].body);
  assert.equal(seen[3].routingBytes.equals(first[3].routingBytes), true);

  // A member restarted from the leader's snapshot after entry 2 applies entry 3 from the log.
  const early = fsm(local);
  early.apply(entry(2, e1));
  const restarted = fsm();
  restarted.restore(early.snapshot());
  restarted.apply(entry(3, e2));
  assert.deepEqual(restarted.snapshot(), snap, 'restored from a snapshot, then the CMD_WITH entry');
});

test('CMD_WITH without an enqueue (held commands proposed at a tick); a local batch no longer holding its messages is decoded', () => {
  const f = fsm(new Map([[5, { messages: [], origins: [] }]]));
  let applied = 0;
  f.batchApplied = () => applied++;
  f.apply(entry(1, encodeEnqueue(5, [msg('a'), msg('b'), msg('c')], 1)));
  assert.equal(f.messages.size, 3, 'decoded: the proposer\'s batch was emptied');
  assert.equal(f.read(2)!.routingKey, 'b');
  assert.equal(applied, 1);
  f.apply(entry(2, encodeWith([encodeIds(CMD_SETTLE, [1]), encodeIds(CMD_RETURN, [3])], encodeIds(CMD_SETTLE, [2]))));
  assert.deepEqual([...f.messages.keys()], [3]);
  assert.equal(f.messages.get(3)!.deliveryCount, 1);
  // One command alone is written as itself.
  const one = encodeIds(CMD_SETTLE, [3]);
  assert.equal(encodeWith([], one), one);
  f.apply(entry(3, one));
  assert.equal(f.messages.size, 0);
});

test('enqueue entries: messages decode with their own routing and properties when a batch mixes them (shared copies when equal)', () => {
  const p2 = Buffer.from([0x90, 0x00, 0x0a, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x02]); // content-type text/plain, delivery-mode 2
  const batch = [
    new Message('amq.direct', 'k1', props, Buffer.from('1')),
    new Message('amq.direct', 'k1', props, Buffer.from('2')),
    new Message('amq.direct', 'k2', p2, Buffer.from('3')),
    new Message('', 'k1', p2, Buffer.from('4')),
    new Message('amq.direct', 'k1', props, Buffer.alloc(0)),
  ];
  const f = fsm();
  const got: Message[] = [];
  f.listener = (_id, m) => got.push(m);
  f.apply(entry(1, encodeEnqueue(1, batch, 5)));
  f.apply(entry(2, encodeEnqueueFrom(2, batch, [undefined, { enqueuer: 1, seq: 1, floor: 0 }], 6, [encodeIds(CMD_SETTLE, [1])])));
  assert.equal(got.length, 10);
  for (let i = 0; i < got.length; i++) {
    const want = batch[i % batch.length];
    assert.equal(got[i].exchange, want.exchange);
    assert.equal(got[i].routingKey, want.routingKey);
    assert.deepEqual(got[i].rawProperties, want.rawProperties);
    assert.deepEqual(got[i].body, want.body);
    assert.deepEqual(got[i].routingBytes, want.routingBytes);
    assert.equal(got[i].persistent, true);
  }
  assert.equal(got[0].rawProperties, got[1].rawProperties, 'equal properties share one copy');
  assert.equal(got[0].routingBytes, got[1].routingBytes, 'equal routing shares one copy');
  assert.equal(f.messages.has(1), false);
});
