import { RaftCore, type CoreOptions, type Ready } from '../../../cluster/raft/raft-core';
import { EntryType, type HardState, type LogEntry, type Snapshot } from '../../../cluster/raft/types';
import type { RaftMessage } from '../../../cluster/raft/messages';
import type { ReadState } from '../../../cluster/raft/read-only';

/** What survives a crash: exactly what the ready() contract told the node to persist. */
export interface PersistedState {
  hardState: HardState;
  entries: LogEntry[];
  snapshot?: Snapshot;
}

/** The simulated state machine: a count and a rolling hash of every applied entry. */
export interface FsmState {
  index: number;
  hash: number;
}

export function entryKey(e: LogEntry): string {
  return `${e.term}/${e.type}/${e.data.toString('hex')}`;
}

function hashStep(hash: number, key: string): number {
  let h = hash ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface ApplyObserver {
  onApply(node: SimNode, e: LogEntry, hashAfter: number): void;
  onRestore(node: SimNode, snap: Snapshot, fsm: FsmState): void;
  onReadState(node: SimNode, rs: ReadState): void;
}

/** One simulated server: a core plus its "disk" and its FSM. */
export class SimNode {
  core: RaftCore | undefined;
  fsm: FsmState = { index: 0, hash: 0 };
  readonly persisted: PersistedState;

  constructor(
    readonly id: string,
    private readonly options: CoreOptions,
    initial: PersistedState,
    private readonly observer: ApplyObserver,
    private readonly snapshotEvery: number,
    private readonly trailingEntries: number,
  ) {
    this.persisted = initial;
    this.start();
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  crash(): void {
    this.core = undefined;
  }

  /** Rebuilds the node from persisted state only. */
  start(): void {
    const p = this.persisted;
    if (p.snapshot) {
      this.fsm = JSON.parse(p.snapshot.data.toString('utf8')) as FsmState;
      this.observer.onRestore(this, p.snapshot, this.fsm);
    } else this.fsm = { index: 0, hash: 0 };
    this.core = new RaftCore(this.options, {
      hardState: { ...p.hardState },
      snapshot: p.snapshot,
      entries: p.entries.slice(),
      applied: this.fsm.index,
    });
  }

  /** Handles one Ready following the contract; returns the outgoing messages. */
  processReady(): RaftMessage[] {
    const core = this.core;
    if (!core || !core.hasReady()) return [];
    const rd: Ready = core.ready();
    const p = this.persisted;
    if (rd.snapshot) {
      p.snapshot = rd.snapshot;
      p.entries = [];
      this.fsm = JSON.parse(rd.snapshot.data.toString('utf8')) as FsmState;
      this.observer.onRestore(this, rd.snapshot, this.fsm);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      const keep = p.entries.findIndex((e) => e.index >= first);
      if (keep >= 0) p.entries.length = keep;
      if (p.entries.length > 0 && p.entries[p.entries.length - 1].index !== first - 1) {
        throw new Error(`sim ${this.id}: persisted log gap before ${first}`);
      }
      for (const e of rd.entries) p.entries.push(e);
    }
    if (rd.hardState) p.hardState = { ...rd.hardState };
    for (const e of rd.committedEntries) {
      if (e.index !== this.fsm.index + 1) throw new Error(`sim ${this.id}: applied ${e.index} after ${this.fsm.index}`);
      this.fsm = { index: e.index, hash: hashStep(this.fsm.hash, entryKey(e)) };
      this.observer.onApply(this, e, this.fsm.hash);
    }
    for (const rs of rd.readStates) this.observer.onReadState(this, rs);
    core.advance();
    this.maybeSnapshot();
    return rd.messages;
  }

  private maybeSnapshot(): void {
    const core = this.core;
    if (!core || this.snapshotEvery <= 0) return;
    const base = this.persisted.snapshot?.meta.index ?? 0;
    if (this.fsm.index - base < this.snapshotEvery) return;
    const snap: Snapshot = {
      meta: core.snapshotMetaAt(this.fsm.index),
      data: Buffer.from(JSON.stringify(this.fsm), 'utf8'),
    };
    this.persisted.snapshot = snap;
    const upTo = core.compact(snap, this.trailingEntries);
    this.persisted.entries = this.persisted.entries.filter((e) => e.index > upTo);
  }
}

export { EntryType };
