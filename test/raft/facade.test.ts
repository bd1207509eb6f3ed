import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Raft } from '../../cluster/raft/raft';
import { MemoryNetwork } from '../../cluster/raft/memory-transport';
import { MemoryLogStore } from '../../cluster/raft/memory-log-store';
import { MemoryStableStore } from '../../cluster/raft/memory-stable-store';
import { MemorySnapshotStore } from '../../cluster/raft/memory-snapshot-store';
import { NotLeaderError } from '../../cluster/raft/errors';
import type { FSM } from '../../cluster/raft/fsm';
import { EntryType, type LogEntry } from '../../cluster/raft/types';
import { waitFor } from './one-server-support';

/** A counter FSM: each command adds its number; apply returns the new total. */
class CounterFsm implements FSM<number> {
  total = 0;
  applied: string[] = [];
  apply(e: LogEntry): number {
    this.applied.push(e.data.toString());
    this.total += Number(e.data.toString());
    return this.total;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify({ total: this.total, applied: this.applied }));
  }
  restore(data: Buffer): void {
    const s = JSON.parse(data.toString()) as { total: number; applied: string[] };
    this.total = s.total;
    this.applied = s.applied;
  }
}

interface Member {
  id: string;
  raft: Raft<number>;
  fsm: CounterFsm;
  stores: { log: MemoryLogStore; stable: MemoryStableStore; snaps: MemorySnapshotStore };
}

const TICK_MS = 10;

async function startCluster(ids: string[], network: MemoryNetwork): Promise<Member[]> {
  const config = { servers: ids.map((id) => ({ id, address: `mem://${id}`, suffrage: 'voter' as const })) };
  const members: Member[] = [];
  for (const [i, id] of ids.entries()) {
    const stores = { log: new MemoryLogStore(), stable: new MemoryStableStore(), snaps: new MemorySnapshotStore() };
    await Raft.bootstrap(stores.log, stores.stable, config);
    members.push(start(id, network, stores, i));
  }
  return members;
}

function start(id: string, network: MemoryNetwork, stores: Member['stores'], seed: number): Member {
  const fsm = new CounterFsm();
  const raft = new Raft<number>(
    { localId: id, tickMs: TICK_MS, electionTimeoutTicks: 10, snapshotThresholdEntries: 20, trailingEntries: 5, seed, operationTimeoutMs: 3000 },
    fsm, stores.log, stores.stable, stores.snaps, network.transport(id),
  );
  return { id, raft, fsm, stores };
}

function leaderOf(members: Member[]): Member | undefined {
  const ls = members.filter((m) => m.raft.state() === 'leader');
  return ls.length === 1 ? ls[0] : undefined;
}

test('facade: elect, apply, kill the leader, re-elect, apply again', async () => {
  const network = new MemoryNetwork();
  const members = await startCluster(['a', 'b', 'c'], network);
  try {
    const changes: string[] = [];
    members[1].raft.onLeaderChange((c) => changes.push(c.leaderId));
    const t0 = Date.now();
    const l1 = await waitFor('a leader', () => leaderOf(members));
    assert.ok(Date.now() - t0 < 2000, 'elected within two seconds');
    for (let i = 1; i <= 30; i++) assert.equal(await l1.raft.apply(Buffer.from(String(i))), (i * (i + 1)) / 2);
    await l1.raft.barrier();
    await l1.raft.verifyLeader();
    assert.equal(l1.raft.stats().lastSnapshotIndex > 0, true, 'a snapshot was taken after 20 entries');

    const killedAt = Date.now();
    await l1.raft.shutdown();
    const rest = members.filter((m) => m !== l1);
    const l2 = await waitFor('a new leader', () => leaderOf(rest));
    assert.ok(Date.now() - killedAt < 2000, `failover took ${Date.now() - killedAt} ms`);
    assert.notEqual(l2.id, l1.id);
    assert.equal(await l2.raft.apply(Buffer.from('100')), 465 + 100);
    const follower = rest.find((m) => m !== l2)!;
    await waitFor('follower applied', () => follower.fsm.total === 565);
    assert.deepEqual(follower.fsm.applied, l2.fsm.applied);
    assert.ok(changes.includes(l1.id) && changes.includes(l2.id), 'leader changes were observed');

    // The old leader comes back from its stores, catches up, and stays consistent.
    const again = start(l1.id, network, l1.stores, 9);
    members[members.indexOf(l1)] = again;
    await waitFor('restarted server caught up', () => again.fsm.total === 565);
    assert.deepEqual(again.fsm.applied, l2.fsm.applied);
  } finally {
    for (const m of members) await m.raft.shutdown();
  }
});

test('facade: NotLeaderError carries the leader hint; membership and transfer', async () => {
  const network = new MemoryNetwork();
  const members = await startCluster(['a', 'b', 'c'], network);
  try {
    const leader = await waitFor('a leader', () => leaderOf(members));
    await leader.raft.apply(Buffer.from('1'));
    const follower = members.find((m) => m !== leader)!;
    await waitFor('follower knows the leader', () => follower.raft.leader()?.id === leader.id);
    await assert.rejects(follower.raft.apply(Buffer.from('2')), (err: unknown) => {
      assert.ok(err instanceof NotLeaderError);
      assert.equal(err.leaderId, leader.id);
      assert.equal(err.leaderAddress, `mem://${leader.id}`);
      return true;
    });
    await assert.rejects(follower.raft.verifyLeader(), NotLeaderError);

    // Add a fourth server as a non-voter, promote it, then remove another.
    const stores = { log: new MemoryLogStore(), stable: new MemoryStableStore(), snaps: new MemorySnapshotStore() };
    const d = start('d', network, stores, 4);
    members.push(d);
    await leader.raft.addNonVoter('d', 'mem://d');
    await waitFor('d caught up', () => d.fsm.total === 1);
    await leader.raft.addVoter('d', 'mem://d');
    const victim = members.find((m) => m !== leader && m !== d)!;
    await leader.raft.removeServer(victim.id);
    assert.deepEqual(leader.raft.getConfiguration().servers.map((s) => s.id).sort(), ['a', 'b', 'c', 'd'].filter((x) => x !== victim.id));
    assert.equal(await leader.raft.apply(Buffer.from('5')), 6);

    await leader.raft.leadershipTransfer('d');
    await waitFor('d leads', () => d.raft.state() === 'leader' && d);
    assert.equal(await d.raft.apply(Buffer.from('10')), 16);
    await assert.rejects(leader.raft.apply(Buffer.from('1')), NotLeaderError);
  } finally {
    for (const m of members) await m.raft.shutdown();
  }
});

test('facade: a minority side refuses writes instead of hanging', async () => {
  const network = new MemoryNetwork();
  const members = await startCluster(['a', 'b', 'c'], network);
  try {
    const leader = await waitFor('a leader', () => leaderOf(members));
    await leader.raft.apply(Buffer.from('1'));
    network.partition([[leader.id], members.filter((m) => m !== leader).map((m) => m.id)]);
    const p = leader.raft.apply(Buffer.from('2'), 2000);
    await assert.rejects(p, (err: Error) => err.name === 'LeadershipLostError' || err.name === 'RaftTimeoutError');
    await waitFor('old leader steps down', () => leader.raft.state() !== 'leader');
    const other = await waitFor('majority leader', () => leaderOf(members.filter((m) => m !== leader)));
    assert.equal(await other.raft.apply(Buffer.from('3')), 4);
    network.heal();
    await waitFor('old leader converges', () => leader.fsm.total === 4);
  } finally {
    for (const m of members) await m.raft.shutdown();
  }
});

test('facade: apply() during a leadership transfer that times out is proposed, not refused', async () => {
  const network = new MemoryNetwork();
  const members = await startCluster(['a', 'b', 'c'], network);
  try {
    const leader = await waitFor('a leader', () => leaderOf(members));
    await leader.raft.apply(Buffer.from('1'));
    const [other, target] = members.filter((m) => m !== leader);
    // The target is cut off: the transfer cannot complete and runs out after an election timeout.
    network.partition([[leader.id, other.id], [target.id]]);
    const transfer = leader.raft.leadershipTransfer(target.id);
    const applied = leader.raft.apply(Buffer.from('2'));
    await assert.rejects(transfer, (err: Error) => err.name === 'ConfigurationError');
    assert.equal(await applied, 3);
    assert.equal(leader.raft.state(), 'leader');
  } finally {
    for (const m of members) await m.raft.shutdown();
  }
});

test('facade: a log left behind by a crash after an installed snapshot was saved is dropped at start', async () => {
  // The snapshot (index 10) was durable, the truncation of the old log was not: entries 1–3 remain.
  const config = { servers: ['a', 'b', 'c'].map((id) => ({ id, address: `mem://${id}`, suffrage: 'voter' as const })) };
  const stores = { log: new MemoryLogStore(), stable: new MemoryStableStore(), snaps: new MemorySnapshotStore() };
  await Raft.bootstrap(stores.log, stores.stable, config);
  await stores.log.storeEntries([2, 3].map((index) => ({ index, term: 1, type: EntryType.Command, data: Buffer.from('1') })));
  await stores.stable.save({ term: 2, vote: '', commit: 3 });
  const state = { total: 7, applied: ['7'] };
  await stores.snaps.save({ meta: { index: 10, term: 2, configuration: config, configurationIndex: 1 }, data: Buffer.from(JSON.stringify(state)) });
  const m = start('a', new MemoryNetwork(), stores, 1);
  try {
    await m.raft.ready();
    assert.equal(m.fsm.total, 7);
    assert.equal(await stores.log.lastIndex(), 0, 'the stale entries are gone');
    assert.equal(m.raft.stats().lastIndex, 10);
  } finally {
    await m.raft.shutdown();
  }
});
