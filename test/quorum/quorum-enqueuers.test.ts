// De-duplication of quorum queue publishes sent again after a leader change: the enqueuer
// table's rule (duplicates dropped but confirmed, out-of-order refused, idle enqueuers
// forgotten at the same entry on every member), the log command that carries origins
// (CMD_ENQUEUE_FROM) and the snapshot section that carries the table (tag 2), and the
// forward frame that carries an origin between nodes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { QuorumFsm } from '../../cluster/quorum/quorum-fsm';
import { CMD_ENQUEUE, decodeCommand, encodeEnqueue, encodeEnqueueFrom } from '../../cluster/quorum/quorum-codec';
import { EnqueuerTable, ORIGIN_DUPLICATE, ORIGIN_GAP, ORIGIN_NEW } from '../../cluster/quorum/enqueuer-table';
import { decodeForward, encodeTarget, forwardBytes, writeForwardAt } from '../../cluster/forward/forward-codec';
import { EntryType } from '../../cluster/raft/types';
import { Message, type EnqueueOrigin } from '../../src/broker/message';

const msg = (key: string) => new Message('', key, Buffer.from([0x00, 0x00]), Buffer.from(key));
const enqueueFrom = (batchId: number, messages: Message[], origins: (EnqueueOrigin | undefined)[]) => encodeEnqueueFrom(batchId, messages, origins, 0);
const o = (enqueuer: number, seq: number, floor = seq - 1): EnqueueOrigin => ({ enqueuer, seq, floor });

test('enqueuer table: new in order, duplicates at or below the highest, gaps refused unless the floor covers them', () => {
  const t = new EnqueuerTable();
  assert.equal(t.admit(o(7, 1, 0), 1), ORIGIN_NEW);
  assert.equal(t.admit(o(7, 2, 0), 1), ORIGIN_NEW);
  assert.equal(t.admit(o(7, 2, 0), 2), ORIGIN_DUPLICATE);
  assert.equal(t.admit(o(7, 1, 0), 2), ORIGIN_DUPLICATE);
  // 3 may still come (the floor is 2): 4 is refused, and 3 then 4 are taken.
  assert.equal(t.admit(o(7, 4, 2), 3), ORIGIN_GAP);
  assert.equal(t.admit(o(7, 3, 2), 3), ORIGIN_NEW);
  assert.equal(t.admit(o(7, 4, 2), 3), ORIGIN_NEW);
  // 5 was nacked (its enqueuer's floor moved past it): 6 is taken.
  assert.equal(t.admit(o(7, 6, 5), 4), ORIGIN_NEW);
  // Another enqueuer is independent; a new one starts wherever its floor allows.
  assert.equal(t.admit(o(8, 1000, 999), 4), ORIGIN_NEW);
  assert.equal(t.admit(o(9, 10, 3), 4), ORIGIN_GAP);
  assert.equal(t.enqueuers.has(9), false, 'a refused first message leaves no entry');
});

test('enqueuer table: an enqueuer idle for a million entries is forgotten, at the same entry on every member', () => {
  const a = new EnqueuerTable();
  a.admit(o(1, 1), 10);
  a.admit(o(2, 1), 500_000);
  for (let i = 11; i < 1_003_000; i += 997) a.prune(i);
  assert.deepEqual([...a.enqueuers.keys()], [2]);
});

test('CMD_ENQUEUE_FROM round trip (decoded as an enqueue with origins and the leader\'s clock); CMD_ENQUEUE still decodes', () => {
  const c = decodeCommand(encodeEnqueueFrom(42, [msg('a'), msg('b')], [o(2 ** 50 + 3, 2 ** 40 + 5, 2 ** 40 - 7), undefined], 1_765_000_000_123));
  assert.equal(c.cmd, CMD_ENQUEUE);
  if (c.cmd !== CMD_ENQUEUE) return;
  assert.equal(c.batchId, 42);
  assert.equal(c.atMs, 1_765_000_000_123);
  assert.deepEqual(c.messages.map((m) => m.routingKey), ['a', 'b']);
  assert.deepEqual(c.origins, [{ enqueuer: 2 ** 50 + 3, seq: 2 ** 40 + 5, floor: 2 ** 40 - 7 }, undefined]);
  // A floor 2^32 - 1 or more below its number is carried as none: only stricter.
  const far = decodeCommand(enqueueFrom(1, [msg('c')], [o(1, 2 ** 33 + 9, 2 ** 33)]));
  assert.equal(far.cmd === CMD_ENQUEUE && far.origins![0]!.floor, 2 ** 33);
  const farther = decodeCommand(enqueueFrom(1, [msg('c')], [o(1, 2 ** 33, 1)]));
  assert.equal(farther.cmd === CMD_ENQUEUE && farther.origins![0]!.floor, 0);
  const old = decodeCommand(encodeEnqueue(9, [msg('x')]));
  assert.equal(old.cmd, CMD_ENQUEUE);
  assert.equal(old.origins, undefined);
});

function apply(f: QuorumFsm, index: number, data: Buffer): void {
  f.apply({ index, term: 1, type: EntryType.Command, data });
}

test('state machine: a message sent again is added once and its batch reported applied; out of order reported refused; the table survives a snapshot', () => {
  const f = new QuorumFsm();
  const applied: [number, number[] | undefined][] = [];
  f.batchApplied = (id, refused) => applied.push([id, refused]);
  apply(f, 1, enqueueFrom(1, [msg('a'), msg('b')], [o(5, 1, 0), o(5, 2, 0)]));
  // The old leader's entry was committed; the forwarding node sends both again, then c.
  apply(f, 2, enqueueFrom(2, [msg('a'), msg('b'), msg('c')], [o(5, 1, 0), o(5, 2, 0), o(5, 3, 0)]));
  apply(f, 3, enqueueFrom(3, [msg('e')], [o(5, 5, 2)]));
  apply(f, 4, encodeEnqueue(4, [msg('plain')]));
  assert.deepEqual([...f.messages.values()].map((m) => m.message!.routingKey), ['a', 'b', 'c', 'plain']);
  assert.deepEqual(applied, [[1, undefined], [2, undefined], [3, [0]], [4, undefined]]);
  const copy = new QuorumFsm();
  copy.restore(f.snapshot());
  apply(copy, 5, enqueueFrom(5, [msg('c'), msg('d')], [o(5, 3, 2), o(5, 4, 2)]));
  assert.deepEqual([...copy.messages.values()].map((m) => m.message!.routingKey), ['a', 'b', 'c', 'plain', 'd']);
  // A snapshot without the section (an older one) restores with an empty table.
  const empty = new QuorumFsm();
  const bare = new QuorumFsm();
  apply(bare, 1, encodeEnqueue(1, [msg('z')]));
  empty.restore(bare.snapshot());
  assert.equal(empty.enqueuers.enqueuers.size, 0);
  assert.equal(empty.messages.size, 1);
});

test('forward frame carries an origin (and none when absent)', () => {
  const target = encodeTarget('/', ['q']);
  const m = msg('k');
  for (const origin of [o(2 ** 52 - 1, 2 ** 45 + 1, 2 ** 45 - 100), undefined]) {
    const out = Buffer.alloc(forwardBytes(target, m, origin));
    writeForwardAt(out, 0, 77, true, target, m, origin);
    const f = decodeForward(out);
    assert.equal(f.seq, 77);
    assert.equal(f.confirm, true);
    assert.deepEqual(f.queues, ['q']);
    assert.equal(f.message.routingKey, 'k');
    assert.deepEqual(f.message.origin, origin);
  }
});
