// The quorum queue's state machine with bodies on disk (cluster/quorum/body-store.ts): a
// memory budget of a few messages, so most bodies live only in a member's body store.
// Seeded command streams on three replicas; at random points a replica is replaced by one
// that installs another's snapshot (fetching the bodies from it, as a lagging member does
// from the leader), or restarts from its own latest snapshot and replays the log after it.
// Every replica must end with exactly the messages the commands leave, bodies intact, and a
// member's disk must hold no more segments than its unsettled messages need.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuorumFsm } from '../../cluster/quorum/quorum-fsm';
import { BodyStore } from '../../cluster/quorum/body-store';
import { CMD_RETURN, CMD_SETTLE, encodeEnqueue, encodeIds } from '../../cluster/quorum/quorum-codec';
import { seededRandom } from '../../cluster/raft/prng';
import { EntryType, type LogEntry } from '../../cluster/raft/types';
import { Message } from '../../src/broker/message';

const SEEDS = Number(process.env.QUORUM_FSM_SEEDS ?? 60);

interface Replica {
  fsm: QuorumFsm;
  store: BodyStore;
  dir: string;
  node: string;
  /** Its latest own snapshot and the entries applied after it (its log). */
  snap: Buffer | undefined;
  log: LogEntry[];
}

function body(n: number, rand: () => number): Buffer {
  return Buffer.alloc(1 + Math.floor(rand() * 300), n & 0xff);
}

test(`quorum queue state machine with bodies on disk: ${SEEDS} seeded streams, snapshot installs and restarts`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'qq-bodies-'));
  let installs = 0;
  let restarts = 0;
  let spilled = 0;
  try {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rand = seededRandom(seed);
      let dirs = 0;
      const make = (node: string, dir = join(root, `s${seed}-${dirs++}`)): Replica => {
        // Small segments: many are written, and each must go once nothing in it is live.
        const store = new BodyStore(dir, 2048);
        return { fsm: new QuorumFsm({ bodies: store, memoryBytes: 600, node }), store, dir, node, snap: undefined, log: [] };
      };
      let replicas = [make('a'), make('b'), make('c')];
      const model = new Map<number, { body: Buffer; count: number }>();
      let nextId = 1;
      let n = 0;
      const steps = 100 + Math.floor(rand() * 300);
      for (let index = 1; index <= steps; index++) {
        const r = rand();
        let data: Buffer;
        if (r < 0.5) {
          const batch = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => new Message('', `k${++n}`, Buffer.from([0, 0]), body(n, rand)));
          data = encodeEnqueue(index, batch);
          for (const m of batch) model.set(nextId++, { body: m.body, count: 0 });
        } else {
          const ids = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => 1 + Math.floor(rand() * (nextId + 2)));
          const cmd = r < 0.85 ? CMD_SETTLE : CMD_RETURN;
          data = encodeIds(cmd, ids);
          for (const id of ids) {
            const m = model.get(id);
            if (!m) continue;
            if (cmd === CMD_SETTLE) model.delete(id);
            else m.count++;
          }
        }
        const entry = { index, term: 1, type: EntryType.Command, data };
        for (const x of replicas) {
          x.fsm.apply(entry);
          x.log.push(entry);
          if (rand() < 0.08) {
            x.snap = x.fsm.snapshot();
            x.log = [];
          }
        }
        const pick = rand();
        const to = Math.floor(rand() * 3);
        const old = replicas[to];
        if (pick < 0.04) {
          // A lagging member installs another's snapshot: it fetches the bodies from that member.
          const from = replicas[(to + 1 + Math.floor(rand() * 2)) % 3];
          const snap = from.fsm.snapshot();
          from.snap = snap;
          from.log = [];
          old.store.close();
          rmSync(old.dir, { recursive: true, force: true });
          const fresh = make(old.node);
          fresh.fsm.fetch = async (ids) => from.fsm.serve(ids);
          await fresh.fsm.restore(snap);
          fresh.snap = snap;
          replicas = replicas.map((x, i) => (i === to ? fresh : x));
          installs++;
        } else if (pick < 0.08 && old.snap) {
          // A restart: its own latest snapshot (or the installed one, found by its copy), then its log.
          old.store.close();
          const again = make(old.node, old.dir);
          again.fsm.startingUp = true;
          again.fsm.fetch = async () => {
            throw new Error('a restart must not need to fetch');
          };
          await again.fsm.restore(old.snap);
          again.fsm.startingUp = false;
          for (const e of old.log) again.fsm.apply(e);
          again.snap = old.snap;
          again.log = old.log;
          replicas = replicas.map((x, i) => (i === to ? again : x));
          restarts++;
        }
      }
      for (const x of replicas) {
        assert.deepEqual([...x.fsm.messages.keys()], [...model.keys()], `seed ${seed} ${x.node}: ids`);
        for (const [id, m] of model) {
          const got = x.fsm.read(id);
          assert.ok(got, `seed ${seed} ${x.node}: body of ${id} missing`);
          assert.ok(got.body.equals(m.body), `seed ${seed} ${x.node}: body of ${id} differs`);
          assert.equal(x.fsm.messages.get(id)!.deliveryCount, m.count, `seed ${seed} ${x.node}: delivery count of ${id}`);
          if (!x.fsm.messages.get(id)!.message) spilled++;
        }
        assert.ok(x.fsm.memoryBytes <= 600, `seed ${seed}: ${x.fsm.memoryBytes} bytes in memory`);
        // Segments: the current one plus those holding live bodies.
        const live = new Set([...x.fsm.messages.values()].flatMap((m) => (m.place ? [m.place.seg] : [])));
        const segs = readdirSync(x.dir).filter((f) => f.endsWith('.bod'));
        assert.ok(segs.length <= live.size + 1, `seed ${seed} ${x.node}: ${segs.length} segments for ${live.size} live`);
        x.store.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.ok(installs > 10 && restarts > 10 && spilled > 100, `too little exercised: ${installs} installs, ${restarts} restarts, ${spilled} bodies on disk`);
});
