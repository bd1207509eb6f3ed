import type { RaftCore } from '../../../cluster/raft/raft-core';
import type { LogEntry, Snapshot } from '../../../cluster/raft/types';
import { entryKey, type ApplyObserver, type FsmState, type SimNode } from './sim-node';
import type { ReadState } from '../../../cluster/raft/read-only';

/**
 * Checks the Raft safety properties (§5.2–5.4, Figure 3) over a set of nodes. Throws
 * an Error naming the property and the detail; the simulation adds the seed.
 */
export class InvariantChecker implements ApplyObserver {
  private leaderByTerm = new Map<number, string>();
  /** index → { key of the committed entry, lowest term in which a leader had it committed }. */
  private committed = new Map<number, { key: string; term: number }>();
  private appliedKey = new Map<number, string>();
  private hashAt = new Map<number, number>();
  private lastCommitSeen = new Map<string, number>();
  private lastLeaderTerm = new Map<string, number>();
  /** Largest index applied anywhere: a ReadState index must be at least the commit known at request time. */
  maxApplied = 0;
  readStates: { node: string; rs: ReadState }[] = [];

  onApply(node: SimNode, e: LogEntry, hashAfter: number): void {
    const key = entryKey(e);
    const prev = this.appliedKey.get(e.index);
    if (prev === undefined) this.appliedKey.set(e.index, key);
    else if (prev !== key) fail('state machine safety', `${node.id} applied ${key} at ${e.index}, another node applied ${prev}`);
    const h = this.hashAt.get(e.index);
    if (h === undefined) this.hashAt.set(e.index, hashAfter);
    else if (h !== hashAfter) fail('state machine safety', `${node.id} FSM state differs after index ${e.index}`);
    if (e.index > this.maxApplied) this.maxApplied = e.index;
  }

  onRestore(node: SimNode, snap: Snapshot, fsm: FsmState): void {
    if (fsm.index !== snap.meta.index) fail('snapshot', `${node.id} snapshot data index ${fsm.index} != meta ${snap.meta.index}`);
    const h = this.hashAt.get(fsm.index);
    if (h !== undefined && h !== fsm.hash) fail('state machine safety', `${node.id} restored a snapshot differing at ${fsm.index}`);
  }

  onReadState(node: SimNode, rs: ReadState): void {
    this.readStates.push({ node: node.id, rs });
  }

  appliedAt(index: number): string | undefined {
    return this.appliedKey.get(index);
  }

  /** Cheap checks, run after every simulation step. */
  checkStep(nodes: SimNode[]): void {
    for (const n of nodes) {
      const core = n.core;
      if (!core) continue;
      const s = core.stats();
      if (s.role === 'leader') {
        const other = this.leaderByTerm.get(s.term);
        if (other !== undefined && other !== n.id) fail('election safety', `${other} and ${n.id} both leaders in term ${s.term}`);
        if (other === undefined) this.leaderByTerm.set(s.term, n.id);
        if (this.lastLeaderTerm.get(n.id) !== s.term) {
          this.lastLeaderTerm.set(n.id, s.term);
          this.checkLeaderCompleteness(n.id, core, s.term);
        }
        const from = this.lastCommitSeen.get(n.id) ?? 0;
        for (let i = from + 1; i <= s.commitIndex; i++) {
          const e = core.entryAt(i);
          if (!e) continue;
          const c = this.committed.get(i);
          const key = entryKey(e);
          if (!c) this.committed.set(i, { key, term: s.term });
          else if (c.key !== key) fail('leader completeness', `leader ${n.id} term ${s.term} committed ${key} at ${i}, earlier ${c.key}`);
          else if (s.term < c.term) c.term = s.term;
        }
      }
      this.lastCommitSeen.set(n.id, s.commitIndex);
    }
  }

  private checkLeaderCompleteness(id: string, core: RaftCore, term: number): void {
    const snapIndex = core.firstIndex() - 1;
    for (const [index, c] of this.committed) {
      if (c.term >= term || index <= snapIndex) continue;
      const e = core.entryAt(index);
      if (!e || entryKey(e) !== c.key) {
        fail('leader completeness', `new leader ${id} of term ${term} lacks entry ${c.key} at ${index} committed in term ${c.term}`);
      }
    }
  }

  /** Log matching (§5.3): if two logs hold an entry with the same index and term, they agree up to it. */
  checkLogMatching(nodes: SimNode[]): void {
    const cores = nodes.filter((n) => n.core).map((n) => ({ id: n.id, core: n.core as RaftCore }));
    for (let a = 0; a < cores.length; a++) {
      for (let b = a + 1; b < cores.length; b++) {
        const x = cores[a].core;
        const y = cores[b].core;
        const lo = Math.max(x.firstIndex(), y.firstIndex());
        let i = Math.min(x.lastIndex(), y.lastIndex());
        while (i >= lo && x.termAt(i) !== y.termAt(i)) i--;
        for (; i >= lo; i--) {
          const ex = x.entryAt(i);
          const ey = y.entryAt(i);
          if (!ex || !ey || entryKey(ex) !== entryKey(ey)) {
            fail('log matching', `${cores[a].id} and ${cores[b].id} differ at ${i} below a matching entry`);
          }
        }
      }
    }
  }
}

function fail(property: string, detail: string): never {
  throw new Error(`${property} violated: ${detail}`);
}
