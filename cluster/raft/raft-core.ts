import { changeConfiguration, configurationAt, type ConfChange } from './configuration';
import {
  EntryType,
  encodeConfiguration,
  isVoter,
  voters,
  type Configuration,
  type HardState,
  type LogEntry,
  type ServerId,
  type Snapshot,
  type SnapshotMeta,
} from './types';
import type { RaftMessage } from './messages';
import type { ReadState } from './read-only';
import { CoreState, softStateChanged, type CoreInitialState, type CoreOptions, type Role, type SoftState } from './core-state';
import { handleVote, handleVoteResponse, inLease, startCampaign, tickElection } from './election';
import { appendLocal, broadcastAppend, maybeCommit, sendAppend, sendHeartbeat, stepLeader, tickLeader } from './replication';
import { handleAppend, handleHeartbeat, handleSnapshot } from './follower';

export type { CoreInitialState, CoreOptions, Role, SoftState };

/**
 * The work the application must do, in this order: (1) if `snapshot`, persist it and
 * restore the FSM from it; (2) persist `entries` (an entry whose index already exists
 * in the store replaces it and everything after it); (3) persist `hardState`;
 * (4) send `messages`; (5) apply `committedEntries` in order; (6) call advance().
 * Readies are handed out one at a time: call ready() again only after advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  snapshot?: Snapshot;
  entries: LogEntry[];
  messages: RaftMessage[];
  committedEntries: LogEntry[];
  readStates: ReadState[];
}

/**
 * A deterministic Raft state machine in the style of etcd's raft: no I/O, no timers,
 * no clock. Inputs are step(message), tick() and the propose/read/transfer calls;
 * outputs are collected by ready(). Single-threaded: call it from one place only.
 *
 * This class is the entry point and the output side; the state it shares lives in
 * core-state.ts, and the work per role in election.ts, replication.ts (leader) and
 * follower.ts.
 */
export class RaftCore {
  readonly id: ServerId;
  private readonly s: CoreState;
  private prevHard: HardState;
  private prevSoft: SoftState;
  /** What the last ready() handed out to apply (entries or a snapshot): applied once advance() is called. */
  private readyApplied: number;

  constructor(opts: CoreOptions, init: CoreInitialState) {
    this.id = opts.id;
    this.s = new CoreState(opts, init);
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
    this.readyApplied = this.s.applied;
    this.s.resetRandomizedTimeout();
  }

  // ---- read-only accessors -------------------------------------------------------

  hardState(): HardState {
    return this.s.hardState();
  }

  softState(): SoftState {
    return this.s.softState();
  }

  stats() {
    const s = this.s;
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      lastIndex: s.log.lastIndex(),
      lastTerm: s.log.lastTerm(),
      snapshotIndex: s.log.snapshotIndex(),
      configurationIndex: s.configurationIndex,
    };
  }

  getConfiguration(): Configuration {
    return this.s.configuration;
  }

  /** True while this leader hands leadership over (proposals are refused meanwhile). */
  transferring(): boolean {
    return this.s.role === 'leader' && this.s.leadTransferee !== '';
  }

  /** The entry at `index` if still in memory (not compacted); for tests and the facade. */
  entryAt(index: number): LogEntry | undefined {
    return this.s.log.entry(index);
  }

  termAt(index: number): number | undefined {
    return this.s.log.term(index);
  }

  firstIndex(): number {
    return this.s.log.firstIndex();
  }

  lastIndex(): number {
    return this.s.log.lastIndex();
  }

  progressOf(id: ServerId): { match: number; next: number; state: string } | undefined {
    const p = this.s.progress.get(id);
    return p && { match: p.match, next: p.next, state: p.state };
  }

  // ---- inputs --------------------------------------------------------------------

  tick(): void {
    if (this.s.role === 'leader') tickLeader(this.s);
    else tickElection(this.s);
  }

  /**
   * Appends client commands if this server is the leader and no transfer is under way.
   * Returns the index of the first one, or 0 when not accepted.
   */
  propose(commands: Buffer[]): number {
    const s = this.s;
    if (s.role !== 'leader' || s.leadTransferee !== '' || commands.length === 0) return 0;
    const first = s.log.lastIndex() + 1;
    appendLocal(s, commands.map((data) => ({ type: EntryType.Command, data })));
    return first;
  }

  /**
   * Proposes one membership change. Only one may be uncommitted at a time, and only
   * after the leader has committed an entry of its own term. Returns the entry's index,
   * or an error text.
   */
  proposeConfChange(change: ConfChange): number | string {
    const s = this.s;
    if (s.role !== 'leader') return 'not leader';
    if (s.leadTransferee !== '') return 'leadership transfer in progress';
    if (s.commit < s.termStartIndex) return 'leader has not committed an entry in its term yet';
    if (s.configurationIndex > s.commit) return 'a configuration change is already in progress';
    const next = changeConfiguration(s.configuration, change);
    if (typeof next === 'string') return next;
    const index = s.log.lastIndex() + 1;
    appendLocal(s, [{ type: EntryType.Config, data: encodeConfiguration(next) }]);
    return index;
  }

  /**
   * Starts a linearizable read: once a quorum confirms this server is still leader, a
   * ReadState {ctx, index} comes out of ready(); the read may be served after applying
   * up to `index`. Returns false when not leader.
   */
  readIndex(ctx: number): boolean {
    const s = this.s;
    if (s.role !== 'leader') return false;
    const index = Math.max(s.commit, s.termStartIndex);
    const vs = voters(s.configuration);
    if (vs.length === 1 && vs[0] === s.id) {
      s.readStates.push({ ctx, index });
      return true;
    }
    const seq = s.reads.add(ctx, index, isVoter(s.configuration, s.id) ? s.id : undefined);
    for (const id of s.progress.keys()) sendHeartbeat(s, id, seq);
    return true;
  }

  /** Hands leadership to `to` (or the most caught-up voter). Returns false if impossible now. */
  transferLeadership(to?: ServerId): boolean {
    const s = this.s;
    if (s.role !== 'leader') return false;
    let target = to;
    if (target === undefined) {
      let best = -1;
      for (const [id, p] of s.progress) {
        if (isVoter(s.configuration, id) && p.match > best) {
          best = p.match;
          target = id;
        }
      }
    }
    if (target === undefined || target === s.id || !isVoter(s.configuration, target)) return false;
    const pr = s.progress.get(target);
    if (!pr) return false;
    s.leadTransferee = target;
    s.transferElapsed = 0;
    if (pr.match === s.log.lastIndex()) s.send({ type: 'timeoutNow', from: s.id, to: target, term: s.term });
    else sendAppend(s, target, true); // even empty: a lagging follower's reply restarts catch-up
    return true;
  }

  /**
   * The caller learned that the leader's node is down (its failure detector): the leader's
   * lease no longer holds this server's vote back, so a campaign by another member is
   * granted at once instead of after an election timeout.
   */
  forgetLeaderLease(): void {
    if (this.s.role === 'leader') return;
    this.s.idle = false;
    this.s.electionElapsed = Math.max(this.s.electionElapsed, this.s.opts.electionTimeoutTicks);
  }

  /**
   * With asyncStorage: the entries up to `index` (whose term is `term`) are durable in this
   * server's log. A leader may now count them towards a commit; a write that a later
   * truncation overtook (the term at `index` changed) is ignored.
   */
  persisted(index: number, term: number): void {
    const s = this.s;
    if (index <= s.stableIndex) return;
    if (s.log.term(index) !== term && index > s.log.snapshotIndex()) return;
    s.stableIndex = index;
    if (s.role === 'leader' && maybeCommit(s) && s.role === 'leader') broadcastAppend(s, !s.opts.lazyCommitNotice);
  }

  /** Starts no more elections on timeouts (the node is stopping); votes and follows as before. */
  stopCampaigns(): void {
    this.s.noCampaigns = true;
  }

  /** Starts an election now (pre-vote first if enabled). For tests and bootstrap. */
  campaign(): void {
    if (this.s.role === 'leader') return;
    startCampaign(this.s, this.s.opts.preVote, false);
  }

  /** The snapshot metadata for a local snapshot covering entries up to `index` (≤ applied). */
  snapshotMetaAt(index: number): SnapshotMeta {
    const s = this.s;
    const term = s.log.term(index);
    if (index > s.applied || term === undefined) throw new Error(`raft: cannot snapshot at ${index}`);
    const c = configurationAt(s.log, index, s.snapshotConfig);
    return { index, term, configuration: c.configuration, configurationIndex: c.index };
  }

  /**
   * Records a persisted local snapshot and drops log entries up to its index minus
   * `trailingEntries` (kept so slightly slow followers avoid an InstallSnapshot).
   * Returns the index up to which the log store may delete entries.
   */
  compact(snapshot: Snapshot, trailingEntries = 0): number {
    const s = this.s;
    const meta = snapshot.meta;
    if (meta.index <= s.log.snapshotIndex() && s.snapshot && meta.index <= s.snapshot.meta.index) return 0;
    s.snapshot = snapshot;
    s.snapshotConfig = { configuration: meta.configuration, index: meta.configurationIndex };
    const upTo = Math.max(s.log.snapshotIndex(), meta.index - trailingEntries);
    const term = s.log.term(upTo);
    if (term === undefined) return 0;
    s.log.compact(upTo, term);
    return upTo;
  }

  step(m: RaftMessage): void {
    const s = this.s;
    if (m.to !== s.id) return;
    if (m.term > s.term) {
      if (m.type === 'vote' && !m.transfer && inLease(s)) return;
      const isPreVoteMsg = (m.type === 'vote' || m.type === 'voteResponse') && m.preVote;
      if (!(isPreVoteMsg && !(m.type === 'voteResponse' && m.reject))) {
        const lead = m.type === 'append' || m.type === 'heartbeat' || m.type === 'installSnapshot' ? m.from : '';
        s.becomeFollower(m.term, lead);
      }
    } else if (m.term < s.term) {
      // Tell a stale leader about the newer term, else it may never step down (etcd does this too).
      if ((s.opts.checkQuorum || s.opts.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        s.send({ type: 'appendResponse', from: s.id, to: m.from, term: s.term, reject: true, index: 0, hintIndex: 0 });
      } else if (m.type === 'vote' && m.preVote) {
        s.send({ type: 'voteResponse', from: s.id, to: m.from, term: s.term, preVote: true, reject: true });
      }
      return;
    }
    if (m.type === 'vote') return handleVote(s, m);
    switch (s.role) {
      case 'leader':
        return stepLeader(s, m);
      case 'preCandidate':
      case 'candidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  // ---- output --------------------------------------------------------------------

  hasReady(): boolean {
    const s = this.s;
    if (s.needBroadcast) return true;
    const h = this.hardState();
    const soft = this.softState();
    return (
      s.outbox.length > 0 ||
      s.log.hasUnstable() ||
      s.pendingSnapshot !== undefined ||
      s.readStates.length > 0 ||
      s.appliedHanded < Math.min(s.commit, s.log.lastIndex()) ||
      h.term !== this.prevHard.term || h.vote !== this.prevHard.vote || h.commit !== this.prevHard.commit ||
      softStateChanged(this.prevSoft, soft)
    );
  }

  ready(): Ready {
    const s = this.s;
    if (s.needBroadcast) {
      s.needBroadcast = false;
      if (s.role === 'leader') broadcastAppend(s, false);
    }
    const rd: Ready = { entries: [], messages: [], committedEntries: [], readStates: [] };
    const h = this.hardState();
    if (h.term !== this.prevHard.term || h.vote !== this.prevHard.vote || h.commit !== this.prevHard.commit) {
      rd.hardState = h;
      this.prevHard = h;
    }
    const soft = this.softState();
    if (softStateChanged(this.prevSoft, soft)) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    if (s.pendingSnapshot) {
      rd.snapshot = s.pendingSnapshot;
      s.pendingSnapshot = undefined;
    }
    rd.entries = s.log.takeUnstable();
    rd.messages = s.outbox;
    s.outbox = [];
    const hi = Math.min(s.commit, s.log.lastIndex());
    if (s.appliedHanded < hi) {
      rd.committedEntries = s.log.slice(s.appliedHanded + 1, hi);
      s.appliedHanded = hi;
    }
    this.readyApplied = s.appliedHanded;
    rd.readStates = s.readStates;
    s.readStates = [];
    return rd;
  }

  /** Acknowledges the last ready(): its entries are applied (and its state persisted). */
  advance(): void {
    // Not appliedHanded: an InstallSnapshot stepped in since ready() moved it to a snapshot
    // that the next ready() hands out, and that is not applied yet.
    this.s.applied = this.readyApplied;
  }

  // ---- dispatch by role ------------------------------------------------------------

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'installSnapshot':
        this.s.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResponse':
        handleVoteResponse(this.s, m);
        return;
      default:
        return;
    }
  }

  private stepFollower(m: RaftMessage): void {
    const s = this.s;
    switch (m.type) {
      case 'append':
        s.electionElapsed = 0;
        s.leader = m.from;
        return handleAppend(s, m);
      case 'heartbeat':
        s.electionElapsed = 0;
        s.leader = m.from;
        return handleHeartbeat(s, m);
      case 'installSnapshot':
        s.electionElapsed = 0;
        s.leader = m.from;
        return handleSnapshot(s, m);
      case 'timeoutNow':
        startCampaign(s, false, true);
        return;
      default:
        return;
    }
  }
}

export type { ReadState };
