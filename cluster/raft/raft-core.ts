import { RaftLog } from './raft-log';
import { Progress } from './progress';
import { changeConfiguration, configurationAt, type ConfChange } from './configuration';
import {
  EMPTY_CONFIGURATION,
  EntryType,
  decodeConfiguration,
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
import type {
  AppendEntries,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  RaftMessage,
  VoteRequest,
  VoteResponse,
} from './messages';
import { ReadOnlyQueue, type ReadState } from './read-only';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface CoreOptions {
  id: ServerId;
  /** Base election timeout; each wait is drawn uniformly from [base, 2 × base). */
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Campaign with a pre-vote round first, so a partitioned server cannot inflate terms. */
  preVote: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum: boolean;
  maxEntriesPerAppend: number;
  /** Unacknowledged append batches per follower in pipelined (replicate) state. */
  maxInflightAppends: number;
  /** Uniform in [0, 1); inject a seeded PRNG for deterministic runs. */
  random: () => number;
}

/** What a server recovered from its stores: the core never reads storage itself. */
export interface CoreInitialState {
  hardState: HardState;
  snapshot?: Snapshot;
  /** Persisted entries; those at or below the snapshot index are ignored. */
  entries: LogEntry[];
  /** Index already applied to the FSM (the snapshot index after a restore). Defaults to it. */
  applied?: number;
}

export interface SoftState {
  role: Role;
  leader: ServerId;
}

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
 */
export class RaftCore {
  readonly id: ServerId;
  private readonly opts: CoreOptions;
  private readonly log: RaftLog;
  private snapshot: Snapshot | undefined;

  private role: Role = 'follower';
  private term: number;
  private vote: ServerId;
  private commit: number;
  private leader: ServerId = '';

  private configuration: Configuration;
  private configurationIndex: number;
  private snapshotConfig: { configuration: Configuration; index: number };

  private progress = new Map<ServerId, Progress>();
  private votes = new Map<ServerId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: ServerId = '';
  private transferElapsed = 0;
  /** Index of this leader's first entry (its no-op) in its term. */
  private termStartIndex = 0;
  private needBroadcast = false;
  private readonly reads = new ReadOnlyQueue();

  private applied: number;
  private appliedHanded: number;
  private outbox: RaftMessage[] = [];
  private pendingSnapshot: Snapshot | undefined;
  private readStates: ReadState[] = [];
  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(opts: CoreOptions, init: CoreInitialState) {
    this.opts = opts;
    this.id = opts.id;
    this.snapshot = init.snapshot;
    const meta = init.snapshot?.meta;
    this.log = new RaftLog(meta, init.entries);
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    const base = meta?.index ?? 0;
    this.commit = Math.max(init.hardState.commit, base);
    if (this.commit > this.log.lastIndex()) throw new Error(`raft: commit ${this.commit} beyond last index`);
    this.applied = Math.max(init.applied ?? base, base);
    this.appliedHanded = this.applied;
    this.snapshotConfig = {
      configuration: meta?.configuration ?? EMPTY_CONFIGURATION,
      index: meta?.configurationIndex ?? 0,
    };
    const c = configurationAt(this.log, this.log.lastIndex(), this.snapshotConfig);
    this.configuration = c.configuration;
    this.configurationIndex = c.index;
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
    this.resetRandomizedTimeout();
  }

  // ---- read-only accessors -------------------------------------------------------

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader };
  }

  stats() {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commitIndex: this.commit,
      appliedIndex: this.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      snapshotIndex: this.log.snapshotIndex(),
      configurationIndex: this.configurationIndex,
    };
  }

  getConfiguration(): Configuration {
    return this.configuration;
  }

  /** The entry at `index` if still in memory (not compacted); for tests and the facade. */
  entryAt(index: number): LogEntry | undefined {
    return this.log.entry(index);
  }

  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  progressOf(id: ServerId): { match: number; next: number; state: string } | undefined {
    const p = this.progress.get(id);
    return p && { match: p.match, next: p.next, state: p.state };
  }

  // ---- inputs --------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * Appends client commands if this server is the leader and no transfer is under way.
   * Returns the index of the first one, or 0 when not accepted.
   */
  propose(commands: Buffer[]): number {
    if (this.role !== 'leader' || this.leadTransferee !== '' || commands.length === 0) return 0;
    const first = this.log.lastIndex() + 1;
    this.appendLocal(commands.map((data) => ({ type: EntryType.Command, data })));
    return first;
  }

  /**
   * Proposes one membership change. Only one may be uncommitted at a time, and only
   * after the leader has committed an entry of its own term. Returns the entry's index,
   * or an error text.
   */
  proposeConfChange(change: ConfChange): number | string {
    if (this.role !== 'leader') return 'not leader';
    if (this.leadTransferee !== '') return 'leadership transfer in progress';
    if (this.commit < this.termStartIndex) return 'leader has not committed an entry in its term yet';
    if (this.configurationIndex > this.commit) return 'a configuration change is already in progress';
    const next = changeConfiguration(this.configuration, change);
    if (typeof next === 'string') return next;
    const index = this.log.lastIndex() + 1;
    this.appendLocal([{ type: EntryType.Config, data: encodeConfiguration(next) }]);
    return index;
  }

  /**
   * Starts a linearizable read: once a quorum confirms this server is still leader, a
   * ReadState {ctx, index} comes out of ready(); the read may be served after applying
   * up to `index`. Returns false when not leader.
   */
  readIndex(ctx: number): boolean {
    if (this.role !== 'leader') return false;
    const index = Math.max(this.commit, this.termStartIndex);
    const vs = voters(this.configuration);
    if (vs.length === 1 && vs[0] === this.id) {
      this.readStates.push({ ctx, index });
      return true;
    }
    const seq = this.reads.add(ctx, index, isVoter(this.configuration, this.id) ? this.id : undefined);
    for (const id of this.progress.keys()) this.sendHeartbeat(id, seq);
    return true;
  }

  /** Hands leadership to `to` (or the most caught-up voter). Returns false if impossible now. */
  transferLeadership(to?: ServerId): boolean {
    if (this.role !== 'leader') return false;
    let target = to;
    if (target === undefined) {
      let best = -1;
      for (const [id, p] of this.progress) {
        if (isVoter(this.configuration, id) && p.match > best) {
          best = p.match;
          target = id;
        }
      }
    }
    if (target === undefined || target === this.id || !isVoter(this.configuration, target)) return false;
    const pr = this.progress.get(target);
    if (!pr) return false;
    this.leadTransferee = target;
    this.transferElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', from: this.id, to: target, term: this.term });
    else this.sendAppend(target, true); // even empty: a lagging follower's reply restarts catch-up
    return true;
  }

  /** Starts an election now (pre-vote first if enabled). For tests and bootstrap. */
  campaign(): void {
    if (this.role === 'leader') return;
    this.startCampaign(this.opts.preVote, false);
  }

  /** The snapshot metadata for a local snapshot covering entries up to `index` (≤ applied). */
  snapshotMetaAt(index: number): SnapshotMeta {
    const term = this.log.term(index);
    if (index > this.applied || term === undefined) throw new Error(`raft: cannot snapshot at ${index}`);
    const c = configurationAt(this.log, index, this.snapshotConfig);
    return { index, term, configuration: c.configuration, configurationIndex: c.index };
  }

  /**
   * Records a persisted local snapshot and drops log entries up to its index minus
   * `trailingEntries` (kept so slightly slow followers avoid an InstallSnapshot).
   * Returns the index up to which the log store may delete entries.
   */
  compact(snapshot: Snapshot, trailingEntries = 0): number {
    const meta = snapshot.meta;
    if (meta.index <= this.log.snapshotIndex() && this.snapshot && meta.index <= this.snapshot.meta.index) return 0;
    this.snapshot = snapshot;
    this.snapshotConfig = { configuration: meta.configuration, index: meta.configurationIndex };
    const upTo = Math.max(this.log.snapshotIndex(), meta.index - trailingEntries);
    const term = this.log.term(upTo);
    if (term === undefined) return 0;
    this.log.compact(upTo, term);
    return upTo;
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote' && !m.transfer && this.inLease()) return;
      const isPreVoteMsg = (m.type === 'vote' || m.type === 'voteResponse') && m.preVote;
      if (!(isPreVoteMsg && !(m.type === 'voteResponse' && m.reject))) {
        const lead = m.type === 'append' || m.type === 'heartbeat' || m.type === 'installSnapshot' ? m.from : '';
        this.becomeFollower(m.term, lead);
      }
    } else if (m.term < this.term) {
      // Tell a stale leader about the newer term, else it may never step down (etcd does this too).
      if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        this.send({ type: 'appendResponse', from: this.id, to: m.from, term: this.term, reject: true, index: 0, hintIndex: 0 });
      } else if (m.type === 'vote' && m.preVote) {
        this.send({ type: 'voteResponse', from: this.id, to: m.from, term: this.term, preVote: true, reject: true });
      }
      return;
    }
    if (m.type === 'vote') return this.handleVote(m);
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'preCandidate':
      case 'candidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  // ---- output --------------------------------------------------------------------

  hasReady(): boolean {
    if (this.needBroadcast) return true;
    const h = this.hardState();
    const s = this.softState();
    return (
      this.outbox.length > 0 ||
      this.log.hasUnstable() ||
      this.pendingSnapshot !== undefined ||
      this.readStates.length > 0 ||
      this.appliedHanded < Math.min(this.commit, this.log.lastIndex()) ||
      h.term !== this.prevHard.term || h.vote !== this.prevHard.vote || h.commit !== this.prevHard.commit ||
      s.role !== this.prevSoft.role || s.leader !== this.prevSoft.leader
    );
  }

  ready(): Ready {
    if (this.needBroadcast) {
      this.needBroadcast = false;
      if (this.role === 'leader') this.broadcastAppend(false);
    }
    const rd: Ready = { entries: [], messages: [], committedEntries: [], readStates: [] };
    const h = this.hardState();
    if (h.term !== this.prevHard.term || h.vote !== this.prevHard.vote || h.commit !== this.prevHard.commit) {
      rd.hardState = h;
      this.prevHard = h;
    }
    const s = this.softState();
    if (s.role !== this.prevSoft.role || s.leader !== this.prevSoft.leader) {
      rd.softState = s;
      this.prevSoft = s;
    }
    if (this.pendingSnapshot) {
      rd.snapshot = this.pendingSnapshot;
      this.pendingSnapshot = undefined;
    }
    rd.entries = this.log.takeUnstable();
    rd.messages = this.outbox;
    this.outbox = [];
    const hi = Math.min(this.commit, this.log.lastIndex());
    if (this.appliedHanded < hi) {
      rd.committedEntries = this.log.slice(this.appliedHanded + 1, hi);
      this.appliedHanded = hi;
    }
    rd.readStates = this.readStates;
    this.readStates = [];
    return rd;
  }

  /** Acknowledges the last ready(): its entries are applied (and its state persisted). */
  advance(): void {
    this.applied = this.appliedHanded;
  }

  // ---- roles ---------------------------------------------------------------------

  private becomeFollower(term: number, leader: ServerId): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = '';
    }
    this.role = 'follower';
    this.leader = leader;
    this.resetTimers();
    this.progress.clear();
    this.reads.clear();
    this.leadTransferee = '';
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.resetTimers();
    this.leadTransferee = '';
    this.reads.clear();
    this.progress.clear();
    for (const s of this.configuration.servers) {
      if (s.id !== this.id) this.progress.set(s.id, new Progress(this.log.lastIndex() + 1, this.opts.maxInflightAppends));
    }
    this.termStartIndex = this.log.lastIndex() + 1;
    // The no-op lets this term commit, which commits earlier terms' entries with it (§5.4.2).
    this.appendLocal([{ type: EntryType.Noop, data: Buffer.alloc(0) }]);
  }

  private startCampaign(pre: boolean, transfer: boolean): void {
    if (!isVoter(this.configuration, this.id)) return;
    if (pre) {
      this.role = 'preCandidate';
    } else {
      this.role = 'candidate';
      this.term += 1;
      this.vote = this.id;
    }
    this.leader = '';
    this.resetTimers();
    this.votes.clear();
    this.votes.set(this.id, true);
    if (this.tallyVotes()) return;
    const term = pre ? this.term + 1 : this.term;
    for (const id of voters(this.configuration)) {
      if (id === this.id) continue;
      this.send({
        type: 'vote', from: this.id, to: id, term, preVote: pre,
        lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer,
      });
    }
  }

  /** Returns true if the campaign ended (won or lost). */
  private tallyVotes(): boolean {
    const vs = voters(this.configuration);
    const quorum = Math.floor(vs.length / 2) + 1;
    let granted = 0;
    let rejected = 0;
    for (const id of vs) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    if (granted >= quorum) {
      if (this.role === 'preCandidate') this.startCampaign(false, false);
      else this.becomeLeader();
      return true;
    }
    if (rejected >= quorum || (vs.length - rejected < quorum)) {
      this.becomeFollower(this.term, '');
      return true;
    }
    return false;
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedTimeout();
  }

  private resetRandomizedTimeout(): void {
    const base = this.opts.electionTimeoutTicks;
    this.randomizedElectionTimeout = base + Math.floor(this.opts.random() * base);
  }

  private inLease(): boolean {
    return this.opts.checkQuorum && this.leader !== '' && this.electionElapsed < this.opts.electionTimeoutTicks;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && isVoter(this.configuration, this.id)) {
      this.electionElapsed = 0;
      this.startCampaign(this.opts.preVote, false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.leadTransferee !== '' && ++this.transferElapsed >= this.opts.electionTimeoutTicks) {
      this.leadTransferee = '';
    }
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.opts.electionTimeoutTicks) pr.becomeProbe();
    }
    if (this.electionElapsed >= this.opts.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, '');
        return;
      }
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const id of this.progress.keys()) this.sendHeartbeat(id, this.reads.lastSeq());
    }
  }

  private quorumActive(): boolean {
    const vs = voters(this.configuration);
    let active = 0;
    for (const id of vs) {
      if (id === this.id) active++;
      else if (this.progress.get(id)?.recentActive) active++;
    }
    for (const pr of this.progress.values()) pr.recentActive = false;
    return active >= Math.floor(vs.length / 2) + 1;
  }

  // ---- log and configuration -------------------------------------------------------

  private appendLocal(items: { type: EntryType; data: Buffer }[]): void {
    let index = this.log.lastIndex();
    const entries = items.map((it) => ({ index: ++index, term: this.term, type: it.type, data: it.data }));
    this.log.append(entries);
    this.noteAppendedConfigs(entries);
    this.needBroadcast = true;
    this.maybeCommit();
  }

  private noteAppendedConfigs(entries: LogEntry[]): void {
    for (const e of entries) {
      if (e.type === EntryType.Config) this.setConfiguration(decodeConfiguration(e.data), e.index);
    }
  }

  private reloadConfiguration(): void {
    const c = configurationAt(this.log, this.log.lastIndex(), this.snapshotConfig);
    this.setConfiguration(c.configuration, c.index);
  }

  private setConfiguration(configuration: Configuration, index: number): void {
    this.configuration = configuration;
    this.configurationIndex = index;
    if (this.role !== 'leader') return;
    for (const s of configuration.servers) {
      if (s.id !== this.id && !this.progress.has(s.id)) {
        this.progress.set(s.id, new Progress(this.log.lastIndex() + 1, this.opts.maxInflightAppends));
      }
    }
    for (const id of [...this.progress.keys()]) {
      if (!configuration.servers.some((s) => s.id === id)) this.progress.delete(id);
    }
    if (this.leadTransferee !== '' && !isVoter(configuration, this.leadTransferee)) this.leadTransferee = '';
  }

  private commitTo(index: number): void {
    if (index > this.commit) this.commit = Math.min(index, this.log.lastIndex());
  }

  /** Advances commit to the highest index stored on a quorum of voters, if of this term (§5.4.2). */
  private maybeCommit(): boolean {
    const vs = voters(this.configuration);
    if (vs.length === 0) return false;
    const matches = vs.map((id) => (id === this.id ? this.log.lastIndex() : this.progress.get(id)?.match ?? 0));
    matches.sort((a, b) => b - a);
    const n = matches[Math.floor(vs.length / 2)];
    if (n <= this.commit || this.log.term(n) !== this.term) return false;
    this.commit = n;
    // A leader removed from the configuration steps down once the removal is committed.
    if (!isVoter(this.configuration, this.id) && this.configurationIndex <= this.commit) {
      this.broadcastAppend(true);
      this.becomeFollower(this.term, '');
    }
    return true;
  }

  // ---- leader ----------------------------------------------------------------------

  private stepLeader(m: RaftMessage): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.type === 'appendResponse') this.handleAppendResponse(m, pr);
    else if (m.type === 'heartbeatResponse') this.handleHeartbeatResponse(m, pr);
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    if (m.reject) {
      if (pr.state === 'snapshot') return;
      if (pr.state === 'replicate' ? m.index <= pr.match : m.index !== pr.next - 1) return; // stale
      if (pr.state === 'replicate') pr.becomeProbe();
      pr.next = Math.max(pr.match + 1, Math.min(m.index, m.hintIndex + 1));
      pr.probeSent = false;
      this.sendAppend(m.from);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.update(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppends(m.from);
      return;
    }
    if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot)) pr.becomeReplicate();
    if (this.maybeCommit()) {
      if (this.role !== 'leader') return;
      this.broadcastAppend(true);
    } else {
      this.sendAppends(m.from);
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', from: this.id, to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse, pr: Progress): void {
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflight.length >= pr.maxInflight) pr.inflight.shift();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.readSeq > 0) {
      const confirmed = this.reads.ack(m.from, m.readSeq, voters(this.configuration));
      for (const rs of confirmed) this.readStates.push(rs);
    }
  }

  private broadcastAppend(sendIfEmpty: boolean): void {
    for (const id of this.progress.keys()) {
      if (sendIfEmpty) this.sendAppend(id, true);
      this.sendAppends(id);
    }
  }

  /** Sends as many batches as flow control allows (pipelining in replicate state). */
  private sendAppends(to: ServerId): void {
    const pr = this.progress.get(to);
    for (let i = 0; i < this.opts.maxInflightAppends + 1; i++) {
      if (!this.sendAppend(to)) return;
      if (!pr || pr.state !== 'replicate') return;
    }
  }

  /** Sends one append (or a snapshot) to `to`; returns false if nothing was sent. */
  private sendAppend(to: ServerId, sendIfEmpty = false): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      if (prevIndex > this.log.lastIndex()) {
        pr.next = this.log.lastIndex() + 1;
        return this.sendAppend(to, sendIfEmpty);
      }
      return this.sendSnapshot(to, pr);
    }
    const entries = this.log.slice(pr.next, this.log.lastIndex(), this.opts.maxEntriesPerAppend);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const msg: AppendEntries = {
      type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.commit,
    };
    this.send(msg);
    pr.sentEntries(prevIndex + entries.length, entries.length);
    return true;
  }

  private sendSnapshot(to: ServerId, pr: Progress): boolean {
    if (!this.snapshot) throw new Error('raft: log compacted without a snapshot');
    const msg: InstallSnapshot = { type: 'installSnapshot', from: this.id, to, term: this.term, snapshot: this.snapshot };
    this.send(msg);
    pr.becomeSnapshot(this.snapshot.meta.index);
    return true;
  }

  private sendHeartbeat(to: ServerId, readSeq: number): void {
    const pr = this.progress.get(to);
    const commit = Math.min(pr?.match ?? 0, this.commit);
    const msg: Heartbeat = { type: 'heartbeat', from: this.id, to, term: this.term, commit, readSeq };
    this.send(msg);
  }

  // ---- candidate and follower ---------------------------------------------------------

  private handleVote(m: VoteRequest): void {
    const canVote =
      this.vote === m.from || (this.vote === '' && this.leader === '') || (m.preVote && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: 'voteResponse', from: this.id, to: m.from, term: m.term, preVote: m.preVote, reject: false });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: 'voteResponse', from: this.id, to: m.from, term: this.term, preVote: m.preVote, reject: true });
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'installSnapshot':
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResponse': {
        const pre = this.role === 'preCandidate';
        if (m.preVote !== pre) return;
        if (pre && !m.reject && m.term !== this.term + 1) return;
        this.votes.set(m.from, !m.reject);
        this.tallyVotes();
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = m.from;
        return this.handleAppend(m);
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leader = m.from;
        return this.handleHeartbeat(m);
      case 'installSnapshot':
        this.electionElapsed = 0;
        this.leader = m.from;
        return this.handleSnapshot(m);
      case 'timeoutNow':
        this.startCampaign(false, true);
        return;
      default:
        return;
    }
  }

  private respond(m: RaftMessage, reject: boolean, index: number, hintIndex = 0): void {
    this.send({ type: 'appendResponse', from: this.id, to: m.from, term: this.term, reject, index, hintIndex });
  }

  private handleAppend(m: AppendEntries): void {
    if (m.prevIndex < this.commit) return this.respond(m, false, this.commit);
    if (!this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      // Hint: the last index whose term is at most prevTerm, so a whole divergent term is skipped.
      let hint = Math.min(m.prevIndex, this.log.lastIndex());
      while (hint > this.commit && (this.log.term(hint) ?? 0) > m.prevTerm) hint--;
      return this.respond(m, true, m.prevIndex, hint);
    }
    const lastNew = m.prevIndex + m.entries.length;
    let i = 0;
    for (; i < m.entries.length; i++) {
      const e = m.entries[i];
      if (this.log.term(e.index) !== e.term) break;
    }
    if (i < m.entries.length) {
      const conflict = m.entries[i].index;
      if (conflict <= this.commit) throw new Error(`raft: conflict at committed index ${conflict}`);
      let truncated = false;
      if (conflict <= this.log.lastIndex()) {
        this.log.truncateFrom(conflict);
        truncated = conflict <= this.configurationIndex;
      }
      const fresh = m.entries.slice(i);
      this.log.append(fresh);
      if (truncated) this.reloadConfiguration();
      else this.noteAppendedConfigs(fresh);
    }
    this.commitTo(Math.min(m.commit, lastNew));
    this.respond(m, false, lastNew);
  }

  private handleHeartbeat(m: Heartbeat): void {
    this.commitTo(m.commit);
    this.send({ type: 'heartbeatResponse', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq });
  }

  private handleSnapshot(m: InstallSnapshot): void {
    const meta = m.snapshot.meta;
    if (meta.index <= this.commit) return this.respond(m, false, this.commit);
    if (this.log.matchTerm(meta.index, meta.term)) {
      this.commitTo(meta.index);
      return this.respond(m, false, meta.index);
    }
    this.log.restore(meta);
    this.snapshot = m.snapshot;
    this.pendingSnapshot = m.snapshot;
    this.snapshotConfig = { configuration: meta.configuration, index: meta.configurationIndex };
    this.setConfiguration(meta.configuration, meta.configurationIndex);
    this.commit = meta.index;
    this.appliedHanded = meta.index;
    this.respond(m, false, meta.index);
  }

  private send(m: RaftMessage): void {
    this.outbox.push(m);
  }
}

export type { ReadState };
