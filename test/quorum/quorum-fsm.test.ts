// The quorum queue's replicated state machine: seeded random command streams (enqueue
// batches with and without their enqueue time, checkouts to consumers, settles, returns,
// including ids that do not exist or were settled already)
// applied to three replicas, of which some restart from another's snapshot at random
// points (as a lagging member receives one). Every replica must end in the same state, and
// that state must be exactly what the commands say: every enqueued message present unless
// a settle named it, with a delivery count equal to the returns that named it while present,
// held by the consumer of the last checkout not followed by a return, with its batch's time.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { QuorumFsm } from '../../cluster/quorum/quorum-fsm';
import { CMD_ENQUEUE, CMD_ENQUEUE_AT, CMD_RETURN, CMD_SETTLE, decodeCommand, encodeCheckout, encodeEnqueue, encodeIds, ownerKey } from '../../cluster/quorum/quorum-codec';
import { seededRandom } from '../../cluster/raft/prng';
import { EntryType } from '../../cluster/raft/types';
import { Message } from '../../src/broker/message';

const SEEDS = Number(process.env.QUORUM_FSM_SEEDS ?? 300);

function message(n: number, rand: () => number): Message {
  const props = rand() < 0.5 ? Buffer.from([0x10, 0x00, 0x02]) : Buffer.from([0x00, 0x00]); // delivery-mode 2, or none
  return new Message(rand() < 0.5 ? '' : 'ex', `rk.${n}`, props, Buffer.alloc(Math.floor(rand() * 64), n & 0xff));
}

function state(f: QuorumFsm): string {
  return JSON.stringify({ next: f.nextId, bytes: f.bytes, m: [...f.messages].map(([id, s]) => [id, s.deliveryCount, f.read(id)!.routingKey, s.size, f.read(id)!.persistent, s.owner, s.enqueuedAt]) });
}

test(`quorum queue state machine: ${SEEDS} seeded command streams on three replicas with snapshot restores`, () => {
  let checkedMessages = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = seededRandom(seed);
    let replicas = [new QuorumFsm(), new QuorumFsm(), new QuorumFsm()];
    // The model: what the commands say the queue holds.
    const model = new Map<number, { key: string; count: number; owner: string | undefined; at: number }>();
    let nextId = 1;
    let n = 0;
    const steps = 50 + Math.floor(rand() * 200);
    for (let index = 1; index <= steps; index++) {
      const r = rand();
      let data: Buffer;
      if (r < 0.4) {
        const batch = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => message(++n, rand));
        // Older entries carry no enqueue time (0 in the state).
        const at = rand() < 0.2 ? 0 : 1_700_000_000_000 + index;
        data = encodeEnqueue(Math.floor(rand() * 2 ** 40), batch, at === 0 ? undefined : at);
        assert.equal(data[0], at === 0 ? CMD_ENQUEUE : CMD_ENQUEUE_AT);
        for (const m of batch) model.set(nextId++, { key: m.routingKey, count: 0, owner: undefined, at });
      } else if (r < 0.55) {
        const owners = new Map<string, number[]>();
        for (let k = 1 + Math.floor(rand() * 2); k > 0; k--) {
          const owner = ownerKey(`rabbit@node-${1 + Math.floor(rand() * 3)}/x`, 1 + Math.floor(rand() * 2 ** 32 - 1));
          owners.set(owner, Array.from({ length: 1 + Math.floor(rand() * 4) }, () => 1 + Math.floor(rand() * (nextId + 2))));
        }
        data = encodeCheckout(owners);
        for (const [owner, ids] of owners) for (const id of ids) if (model.has(id)) model.get(id)!.owner = owner;
      } else {
        const ids = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => 1 + Math.floor(rand() * (nextId + 2)));
        const cmd = r < 0.75 ? CMD_SETTLE : CMD_RETURN;
        data = encodeIds(cmd, ids);
        for (const id of ids) {
          const m = model.get(id);
          if (!m) continue;
          if (cmd === CMD_SETTLE) model.delete(id);
          else {
            m.count++;
            m.owner = undefined;
          }
        }
      }
      assert.equal(decodeCommand(data).cmd, data[0] === CMD_ENQUEUE_AT ? CMD_ENQUEUE : data[0]);
      const entry = { index, term: 1, type: EntryType.Command, data };
      for (const f of replicas) f.apply(entry);
      // A lagging replica is replaced by one restored from a peer's snapshot.
      if (rand() < 0.05) {
        const from = replicas[Math.floor(rand() * 3)];
        const to = Math.floor(rand() * 3);
        const restored = new QuorumFsm();
        restored.restore(from.snapshot());
        replicas = replicas.map((f, i) => (i === to ? restored : f));
      }
    }
    const s0 = state(replicas[0]);
    for (const f of replicas) assert.equal(state(f), s0, `seed ${seed}: replicas differ`);
    const f = replicas[0];
    assert.deepEqual(
      [...f.messages].map(([id, m]) => [id, f.read(id)!.routingKey, m.deliveryCount, m.owner, m.enqueuedAt]),
      [...model].map(([id, m]) => [id, m.key, m.count, m.owner, m.at]),
      `seed ${seed}: state differs from the model`,
    );
    // A snapshot of an older build (no ownership section) still restores: nothing held, no times.
    const snap = f.snapshot();
    const old = new QuorumFsm();
    old.restore(snap.subarray(0, snap.length - 5 - snap.readUInt32BE(sectionStart(snap) + 1)));
    assert.deepEqual(
      [...old.messages].map(([id, m]) => [id, m.deliveryCount, m.owner, m.enqueuedAt]),
      [...f.messages].map(([id, m]) => [id, m.deliveryCount, undefined, 0]),
    );
    assert.equal(f.bytes, [...f.messages.keys()].reduce((b, id) => b + f.read(id)!.body.length, 0), `seed ${seed}: byte count`);
    checkedMessages += model.size;
  }
  assert.ok(checkedMessages > SEEDS, `too little left to check: ${checkedMessages}`);
});

/** Where the last section (the ownership section, tag 1) of a snapshot starts: found from its end. */
function sectionStart(snap: Buffer): number {
  for (let at = snap.length - 5; at >= 0; at--) if (snap[at] === 1 && snap.readUInt32BE(at + 1) === snap.length - at - 5) return at;
  throw new Error('no section');
}

test('an idle member snapshots (its log, held in memory, goes) once idleSnapshotMs passed without entries after 256 KiB of bodies or 256 entries', () => {
  let now = 1_000;
  const fsm = new QuorumFsm({ idleSnapshotMs: 2000, now: () => now });
  const body = (kib: number) => new Message('', 'rk', Buffer.from([0x00, 0x00]), Buffer.alloc(kib * 1024));
  let index = 0;
  const enqueue = (kib: number) => fsm.apply({ index: ++index, term: 1, type: EntryType.Command, data: encodeEnqueue(index, [body(kib)], now) });
  enqueue(200);
  now += 5000;
  assert.equal(fsm.snapshotDue(), false, '200 KiB is not worth a snapshot');
  enqueue(100);
  assert.equal(fsm.snapshotDue(), false, 'entries are still coming');
  now += 1999;
  assert.equal(fsm.snapshotDue(), false, 'not idle long enough');
  now += 1;
  assert.equal(fsm.snapshotDue(), true, 'idle for 2 s after 300 KiB');
  fsm.snapshot();
  now += 10_000;
  assert.equal(fsm.snapshotDue(), false, 'nothing new since the snapshot');
  // Small bodies: 256 entries are enough.
  const small = new QuorumFsm({ idleSnapshotMs: 2000, now: () => now });
  for (let i = 1; i <= 256; i++) {
    small.apply({ index: i, term: 1, type: EntryType.Command, data: encodeEnqueue(i, [body(0)], now) });
    if (i === 255) {
      now += 3000;
      assert.equal(small.snapshotDue(), false, '255 entries of empty bodies');
    }
  }
  now += 2000;
  assert.equal(small.snapshotDue(), true, '256 entries, idle');
  // Without the option nothing changes: only snapshotBytes (or the entry count) makes one due.
  const plain = new QuorumFsm();
  plain.apply({ index: 1, term: 1, type: EntryType.Command, data: encodeEnqueue(1, [body(1024)], now) });
  assert.equal(plain.snapshotDue(), false);
});
