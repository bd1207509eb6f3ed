import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SimCluster } from './sim/sim-cluster';
import type { SimNode } from './sim/sim-node';
import { EntryType } from '../../cluster/raft/types';

function core(n: SimNode) {
  assert.ok(n.core, `${n.id} is down`);
  return n.core;
}

/** Delivers in-flight messages one by one until `stop` holds or nothing is left. */
function deliverUntil(sim: SimCluster, stop: () => boolean, max = 1000): void {
  for (let i = 0; i < max && sim.network.length > 0 && !stop(); i++) sim.deliver(0, false);
}

/** Campaigns until `id` wins (a try may only teach it a newer term), at most three times. */
function electLeader(sim: SimCluster, id: string): void {
  for (let attempt = 0; attempt < 3 && core(sim.node(id)).stats().role !== 'leader'; attempt++) {
    core(sim.node(id)).campaign();
    sim.flush();
    sim.deliverAll();
  }
  assert.equal(core(sim.node(id)).stats().role, 'leader', `${id} should have won`);
}

test('Figure 8: an entry from an earlier term is not committed by counting replicas', () => {
  const sim = new SimCluster({ seed: 8, nodes: 5, preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 });
  const [n1, n2, n3, n4, n5] = sim.nodes;
  electLeader(sim, 'n1'); // term 2, no-op at index 2 everywhere
  assert.equal(core(n1).stats().term, 2);
  // (a) index 3 (term 2) reaches only n2, then n1 crashes.
  sim.partition([['n1', 'n2'], ['n3', 'n4', 'n5']]);
  const x = sim.propose(n1);
  assert.equal(x, 3);
  sim.deliverAll();
  assert.equal(core(n2).termAt(3), 2);
  sim.crash(n1);
  // (b) n5 wins term 3 with n3 and n4, appends its no-op at index 3 alone, and crashes.
  sim.partition([['n3', 'n4', 'n5'], ['n1', 'n2']]);
  core(n5).campaign();
  sim.flush();
  deliverUntil(sim, () => core(n5).stats().role === 'leader');
  assert.equal(core(n5).stats().role, 'leader');
  assert.equal(core(n5).stats().term, 3);
  sim.crash(n5);
  // (c) n1 restarts, wins term 4, and copies index 3 (term 2) to n3 — but not its no-op.
  sim.restart(n1);
  sim.partition([['n1', 'n2', 'n3'], ['n4'], ['n5']]);
  for (let attempt = 0; attempt < 3 && core(n1).stats().role !== 'leader'; attempt++) {
    core(n1).campaign(); // the first try only teaches n1 about term 3
    sim.flush();
    deliverUntil(sim, () => core(n1).stats().role === 'leader');
  }
  assert.equal(core(n1).stats().term, 4);
  deliverUntil(sim, () => core(n3).termAt(3) === 2);
  assert.equal(core(n3).termAt(3), 2);
  assert.equal(core(n3).lastIndex(), 3, 'n3 must not have the term-4 no-op yet');
  sim.block('n1', 'n3');
  sim.deliverAll();
  // Index 3 is on n1, n2, n3 — a majority — but is from term 2: it must not be committed.
  assert.equal(core(n1).progressOf('n3')?.match, 3);
  assert.equal(core(n1).stats().commitIndex, 2, 'a leader committed an earlier-term entry by counting replicas');
  // (d) n1 crashes; n5 (last term 3) wins with n3 and n4 and overwrites index 3. Safe only
  // because index 3 was never committed; the invariant checker watches every step.
  sim.crash(n1);
  sim.restart(n5);
  sim.partition([['n2', 'n3', 'n4', 'n5'], ['n1']]);
  electLeader(sim, 'n5');
  sim.propose(n5);
  sim.deliverAll();
  sim.runUntil(() => [n2, n3, n4, n5].every((n) => n.fsm.index >= 5), 50);
  assert.equal(core(n3).termAt(3), 3, 'index 3 was replaced by the term-3 entry');
  assert.equal(sim.checker.appliedAt(3)?.startsWith('3/'), true);
  sim.converge();
});

test('leader crashing mid-commit: the committed entry survives on the new leader', () => {
  const sim = new SimCluster({ seed: 2, nodes: 3 });
  const [n1, n2, n3] = sim.nodes;
  electLeader(sim, 'n1');
  sim.block('n1', 'n3');
  const x = sim.propose(n1);
  deliverUntil(sim, () => core(n1).stats().commitIndex >= x);
  assert.equal(core(n1).stats().commitIndex, x, 'committed with n2 alone');
  assert.ok(core(n3).lastIndex() < x);
  // Crash before the new commit index reaches anyone: only n1 knows it is committed.
  sim.crash(n1);
  sim.heal();
  const ok = sim.runUntil(() => sim.leader() !== undefined && n2.fsm.index >= x && n3.fsm.index >= x, 200);
  assert.ok(ok, 'a new leader should commit the entry');
  assert.equal(sim.leader()?.id, 'n2', 'only n2 has the entry, so only n2 can win');
  assert.equal(core(n3).entryAt(x)?.data.toString(), core(n2).entryAt(x)?.data.toString());
  sim.restart(n1);
  sim.converge();
  assert.ok(n1.fsm.index >= x);
});

test('a far-behind follower is repaired by InstallSnapshot', () => {
  const sim = new SimCluster({ seed: 3, nodes: 3, snapshotEvery: 5 });
  const [n1, , n3] = sim.nodes;
  electLeader(sim, 'n1');
  sim.crash(n3);
  for (let i = 0; i < 40; i++) {
    sim.propose(n1);
    sim.deliverAll();
  }
  assert.ok(core(n1).firstIndex() > 10, 'the leader compacted its log');
  let snapshotsSent = 0;
  const deliver = sim.deliver.bind(sim);
  sim.deliver = (i: number, faults = true) => {
    if (sim.network[i]?.type === 'installSnapshot') snapshotsSent++;
    deliver(i, faults);
  };
  sim.restart(n3);
  const ok = sim.runUntil(() => n3.fsm.index >= n1.fsm.index, 100);
  assert.ok(ok, 'n3 caught up');
  assert.ok(snapshotsSent >= 1, 'n3 got a snapshot');
  assert.ok(core(n3).stats().snapshotIndex > 0);
  sim.converge();
});

test('membership change under load: add a voter and a non-voter, remove the leader and another voter', () => {
  const sim = new SimCluster({ seed: 4, nodes: 3, spareNodes: 2, snapshotEvery: 10, dropRate: 0.02 });
  electLeader(sim, 'n1');
  const pump = (rounds: number) => {
    for (let i = 0; i < rounds; i++) {
      const l = sim.leader();
      if (l) sim.propose(l);
      sim.tickAll();
      sim.deliverAll();
    }
  };
  const change = (fn: (l: SimNode) => number | string) => {
    const ok = sim.runUntil(() => {
      const l = sim.leader();
      if (!l?.core) return false;
      const r = fn(l);
      sim.flush();
      return typeof r === 'number';
    }, 100);
    assert.ok(ok, 'change accepted');
    pump(20);
  };
  const appliedBefore = sim.checker.maxApplied;
  change((l) => core(l).proposeConfChange({ type: 'addVoter', id: 'n4', address: 'addr-n4' }));
  change((l) => core(l).proposeConfChange({ type: 'addNonVoter', id: 'n5', address: 'addr-n5' }));
  change((l) => core(l).proposeConfChange({ type: 'removeServer', id: l.id }));
  pump(60);
  const l = sim.leader();
  assert.ok(l && l.id !== 'n1', 'a remaining voter leads');
  assert.notEqual(core(sim.node('n1')).stats().role, 'leader');
  change((x) => core(x).proposeConfChange({ type: 'removeServer', id: x.id === 'n2' ? 'n3' : 'n2' }));
  sim.converge();
  const config = core(sim.leader()!).getConfiguration();
  const voters = config.servers.filter((s) => s.suffrage === 'voter').map((s) => s.id).sort();
  assert.equal(voters.length, 2);
  assert.ok(voters.includes('n4'));
  assert.deepEqual(config.servers.filter((s) => s.suffrage === 'nonvoter').map((s) => s.id), ['n5']);
  assert.ok(sim.node('n5').fsm.index >= sim.leader()!.fsm.index - 1, 'the non-voter follows the log');
  assert.ok(sim.checker.maxApplied > appliedBefore + 50, 'proposals kept committing');
  // Concurrent changes are refused while one is uncommitted.
  const lead = core(sim.leader()!);
  assert.equal(typeof lead.proposeConfChange({ type: 'addVoter', id: 'n1', address: 'a' }), 'number');
  assert.equal(typeof lead.proposeConfChange({ type: 'addVoter', id: 'n2', address: 'b' }), 'string');
});

test('leadership transfer: the target wins without waiting for an election timeout', () => {
  const sim = new SimCluster({ seed: 5, nodes: 3 });
  const [n1, , n3] = sim.nodes;
  electLeader(sim, 'n1');
  sim.propose(n1);
  const termBefore = core(n1).stats().term;
  sim.block('n1', 'n3'); // n3 lags: the leader must catch it up first
  sim.propose(n1);
  sim.deliverAll();
  sim.heal();
  assert.ok(core(n1).transferLeadership('n3'));
  assert.equal(core(n1).propose([Buffer.from('refused')]), 0, 'no proposals during a transfer');
  sim.flush();
  sim.deliverAll(); // no ticks: only TimeoutNow can make n3 campaign
  assert.equal(core(n3).stats().role, 'leader');
  assert.equal(core(n3).stats().term, termBefore + 1);
  assert.equal(core(n1).stats().role, 'follower');
  assert.equal(core(n1).stats().leader, 'n3');
  assert.equal(core(n1).transferLeadership('n2'), false, 'only a leader transfers');
  sim.converge();
});

test('read index: confirmed by a quorum, refused without one', () => {
  const sim = new SimCluster({ seed: 6, nodes: 3 });
  const [n1] = sim.nodes;
  electLeader(sim, 'n1');
  sim.propose(n1);
  sim.deliverAll();
  const commit = core(n1).stats().commitIndex;
  assert.ok(core(n1).readIndex(41));
  sim.flush();
  assert.equal(sim.checker.readStates.length, 0, 'not confirmed before heartbeat replies');
  sim.deliverAll();
  assert.deepEqual(sim.checker.readStates, [{ node: 'n1', rs: { ctx: 41, index: commit } }]);
  // An isolated leader can accept the request but never confirm it.
  sim.isolate('n1');
  assert.ok(core(n1).readIndex(42));
  sim.flush();
  for (let i = 0; i < 30; i++) {
    sim.tickAll();
    sim.deliverAll();
  }
  assert.equal(sim.checker.readStates.length, 1, 'a read was confirmed without a quorum');
  assert.notEqual(core(n1).stats().role, 'leader', 'check-quorum made the isolated leader step down');
  assert.equal(core(n1).readIndex(43), false, 'followers refuse');
  assert.equal(core(n1).entryAt(2)?.type, EntryType.Noop);
});

test('idle pace: a quiet group heartbeats rarely, wakes on the next append, and a dead idle leader is replaced', () => {
  const sim = new SimCluster({ seed: 11, nodes: 3, electionTimeoutTicks: 10, idleHeartbeatTicks: 20 });
  const [n1, n2, n3] = sim.nodes;
  electLeader(sim, 'n1');
  sim.propose(n1);
  sim.deliverAll();
  const heartbeatsOver = (ticks: number): number => {
    let beats = 0;
    for (let t = 0; t < ticks; t++) {
      sim.tickAll();
      beats += sim.network.filter((m) => m.type === 'heartbeat').length;
      sim.deliverAll();
    }
    return beats;
  };
  heartbeatsOver(40); // the quiet period before the idle pace
  // 200 ticks at one beat per 20 ticks to 2 followers: about 20 (the busy pace: 200).
  const idleBeats = heartbeatsOver(200);
  assert.ok(idleBeats >= 18 && idleBeats <= 24, `idle heartbeats over 200 ticks: ${idleBeats}`);
  assert.equal(sim.leader()?.id, 'n1', 'no election while idle');
  // An append ends the idle pace at once: the next ticks beat every tick again.
  const x = sim.propose(n1);
  sim.deliverAll();
  assert.ok(n2.fsm.index >= x && n3.fsm.index >= x);
  assert.ok(heartbeatsOver(10) >= 8, 'busy pace after an append (a beat every 2 ticks)');
  heartbeatsOver(60);
  // The idle leader dies: a follower campaigns after the longer idle timeout (3 beats + election timeout).
  sim.crash(n1);
  const ok = sim.runUntil(() => sim.leader() !== undefined && sim.leader()?.id !== 'n1', 100);
  assert.ok(ok, 'a new leader within 100 ticks of the idle leader dying');
  sim.restart(n1);
  sim.converge();
});
