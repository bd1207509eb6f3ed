import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Raft, type LeaderChange } from '../../cluster/raft/raft';
import { MemoryNetwork } from '../../cluster/raft/memory-transport';
import { MemoryLogStore } from '../../cluster/raft/memory-log-store';
import { MemoryStableStore } from '../../cluster/raft/memory-stable-store';
import { MemorySnapshotStore } from '../../cluster/raft/memory-snapshot-store';
import type { FSM } from '../../cluster/raft/fsm';
import type { LogEntry } from '../../cluster/raft/types';
import { waitFor } from './one-server-support';

// A follower that loses sight of the cluster while the same server steps down and is elected
// again (here: two leadership transfers, a → b → a) hears of it next from that leader in a
// later term, with no moment without a leader. Whoever follows the leader through
// 'leaderChange' (a quorum queue's consumers, attached to the leader's live queue of one
// term) must learn of the new term all the same: the old term's live queue is gone.

class NullFsm implements FSM<void> {
  apply(_e: LogEntry): void {}
  snapshot(): Buffer {
    return Buffer.alloc(0);
  }
  restore(): void {}
}

test('a follower told of the same leader in a later term gets a leaderChange with that term', async () => {
  const network = new MemoryNetwork();
  const ids = ['a', 'b', 'c'];
  const config = { servers: ids.map((id) => ({ id, address: `mem://${id}`, suffrage: 'voter' as const })) };
  const rafts: Raft<void>[] = [];
  for (const id of ids) {
    const log = new MemoryLogStore();
    const stable = new MemoryStableStore();
    await Raft.bootstrap(log, stable, config);
    // c never times out during the test: it only ever learns of leaders, it does not campaign.
    const electionTimeoutTicks = id === 'c' ? 1000 : 10;
    rafts.push(new Raft<void>({ localId: id, tickMs: 10, electionTimeoutTicks, seed: ids.indexOf(id) + 1, operationTimeoutMs: 3000 }, new NullFsm(), log, stable, new MemorySnapshotStore(), network.transport(id)));
  }
  const [a, b, c] = rafts;
  try {
    await Promise.all(rafts.map((r) => r.ready()));
    a.campaign();
    await waitFor('a leads and c follows it', () => a.state() === 'leader' && c.leader()?.id === 'a');
    await a.apply(Buffer.from('x'));
    const firstTerm = a.stats().term!;
    const seen: LeaderChange[] = [];
    c.onLeaderChange((ch) => seen.push(ch));

    // c is cut off while a hands leadership to b and b hands it back to a.
    network.partition([['a', 'b'], ['c']]);
    await a.leadershipTransfer('b');
    await waitFor('b leads', () => b.state() === 'leader');
    await b.apply(Buffer.from('y'));
    await b.leadershipTransfer('a');
    await waitFor('a leads again', () => a.state() === 'leader');
    await a.apply(Buffer.from('z'));
    const secondTerm = a.stats().term!;
    assert.ok(secondTerm >= firstTerm + 2, `a leads in a later term (${firstTerm} → ${secondTerm})`);
    assert.equal(c.leader()?.id, 'a', 'c still takes a for the leader');
    assert.equal(seen.length, 0, 'c heard nothing while cut off');

    network.heal();
    await waitFor("c in a's new term", () => c.stats().term === secondTerm);
    await waitFor('the leader change reported', () => seen.length > 0, 2000).catch(() => undefined);
    assert.deepEqual(
      seen.map((ch) => [ch.leaderId, ch.term]),
      [['a', secondTerm]],
      'c reports a as leader again, in its new term, with no leader-unknown moment in between',
    );
  } finally {
    await Promise.all(rafts.map((r) => r.shutdown()));
  }
});
