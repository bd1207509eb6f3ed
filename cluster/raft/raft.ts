import { EventEmitter } from 'node:events';
import { RaftCore, type Ready, type Role } from './raft-core';
import { resolveConfig, type RaftConfig, type ResolvedRaftConfig } from './raft-config';
import { seededRandom } from './prng';
import { ConfigurationError, LeadershipLostError, NotLeaderError, RaftTimeoutError, ShutdownError } from './errors';
import { EntryType, encodeConfiguration, findServer, voters, type Configuration, type HardState, type ServerId } from './types';
import type { FSM } from './fsm';
import type { LogStore } from './log-store';
import type { StableStore } from './stable-store';
import type { SnapshotStore } from './snapshot-store';
import type { Transport } from './transport';
import type { ConfChange } from './configuration';
import { DurableWrites } from './durable-writes';

export type RaftState = Role | 'shutdown';

/** Emitted as 'leaderChange' whenever this server learns of a different leader (or none: id ''). */
export interface LeaderChange {
  leaderId: ServerId;
  leaderAddress: string;
  term: number;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * A hashicorp/raft-shaped server around RaftCore: real timers, the stores, the FSM and
 * the transport. All methods may be called at any time from the event loop; operations
 * that need the leader reject with NotLeaderError (with a leader hint) elsewhere.
 * Internally one drive loop handles a Ready at a time: persist, send, apply, advance.
 */
export class Raft<R = unknown> extends EventEmitter {
  private readonly cfg: ResolvedRaftConfig;
  private core: RaftCore | undefined;
  private readonly started: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private untick: (() => void) | undefined;
  private running = false;
  private rerun = false;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  private storeLastIndex = 0;
  private snapshotIndex = 0;
  private appliedIndex = 0;
  private readCtx = 0;
  private readonly applyFutures = new Map<number, Waiter<R> & { term: number }>();
  private readonly readWaiters = new Map<number, Waiter<number>>();
  private appliedWaiters: ({ index: number } & Waiter<void>)[] = [];
  private transferWaiter: Waiter<void> | undefined;
  /**
   * apply() calls waiting for a leadership transfer to end (the core refuses proposals
   * meanwhile), in call order; later calls queue behind them, so commands keep their order.
   */
  private transferHeld: { command: Buffer; timeoutMs: number; resolve(r: R): void; reject(e: Error): void }[] = [];
  private role: Role = 'follower';
  private leaderId: ServerId = '';
  /** The term of the last leader change reported (the leader's term while one is known). */
  private leaderTerm = 0;
  /** Ordered stores only: the writes issued and not waited for. */
  private readonly writes: DurableWrites | undefined;

  constructor(
    config: RaftConfig,
    private readonly fsm: FSM<R>,
    private readonly logStore: LogStore,
    private readonly stableStore: StableStore,
    private readonly snapshotStore: SnapshotStore,
    private readonly transport: Transport,
  ) {
    super();
    this.cfg = resolveConfig(config);
    if (this.cfg.orderedStores) {
      this.writes = new DurableWrites({
        persisted: (index, term) => this.core?.persisted(index, term),
        send: (m) => {
          if (!this.closed) this.transport.send(m.to, m, this.addressOf(m.to));
        },
        wake: () => this.schedule(),
        failed: (err) => {
          // A storage failure leaves state unknown: stop rather than risk diverging.
          this.report(err);
          void this.shutdown();
        },
      });
    }
    this.started = this.start();
    this.started.catch((err: unknown) => this.report(err));
  }

  /**
   * Writes the initial configuration (index 1, term 1) into empty stores, as hashicorp's
   * BootstrapCluster does. Call on every initial member with the same configuration,
   * before constructing Raft; a server that joins later is added by the leader instead.
   */
  static async bootstrap(logStore: LogStore, stableStore: StableStore, configuration: Configuration): Promise<void> {
    if ((await logStore.lastIndex()) > 0 || (await stableStore.load()).term > 0) {
      throw new ConfigurationError('bootstrap: stores already hold state');
    }
    await logStore.storeEntries([{ index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(configuration) }]);
    await stableStore.save({ term: 1, vote: '', commit: 0 });
  }

  /** Resolves once stores are loaded and the FSM restored; rejects if that failed. */
  ready(): Promise<void> {
    return this.started;
  }

  private async start(): Promise<void> {
    let hardState = await this.stableStore.load();
    const snapshot = await this.snapshotStore.latest();
    if (snapshot) await this.fsm.restore(snapshot.data);
    this.snapshotIndex = snapshot?.meta.index ?? 0;
    this.appliedIndex = this.snapshotIndex;
    this.storeLastIndex = await this.logStore.lastIndex();
    if (snapshot && this.storeLastIndex > 0 && !(await this.logContinues(snapshot.meta.index, snapshot.meta.term))) {
      // An installed snapshot was saved but the crash came before the truncation of the old
      // log was durable: those entries are stale (and would leave a gap before the next).
      await this.logStore.truncateSuffix(1);
      this.storeLastIndex = 0;
    }
    const entries = await this.logStore.getRange(this.snapshotIndex + 1, this.storeLastIndex);
    const c = this.cfg;
    if (!c.orderedStores) {
      // Two files written at once: a crash can keep a hard state whose commit index covers
      // entries of the same write that the log lost. What the log kept is committed all the
      // same; the rest comes again from the leader.
      hardState = { ...hardState, commit: Math.min(hardState.commit, Math.max(this.snapshotIndex, this.storeLastIndex)) };
    }
    this.core = new RaftCore(
      {
        id: c.localId, electionTimeoutTicks: c.electionTimeoutTicks, heartbeatTicks: c.heartbeatTicks,
        preVote: c.preVote, checkQuorum: c.checkQuorum, maxEntriesPerAppend: c.maxEntriesPerAppend,
        maxInflightAppends: c.maxInflightAppends, random: seededRandom(c.seed), idleHeartbeatTicks: c.idleHeartbeatTicks,
        asyncStorage: c.orderedStores, lazyCommitNotice: c.lazyCommitNotice,
      },
      { hardState, snapshot, entries, applied: this.snapshotIndex },
    );
    if (this.closed) return;
    this.transport.onMessage((m) => {
      if (this.closed || !this.core) return;
      this.core.step(m);
      this.schedule();
    });
    const tick = () => {
      this.core?.tick();
      this.transferEnded();
      this.schedule();
    };
    if (c.ticker) this.untick = c.ticker.add(tick);
    else this.timer = setInterval(tick, c.tickMs);
    // A lone voter need not wait for an election timeout.
    const vs = voters(this.core.getConfiguration());
    if (vs.length === 1 && vs[0] === c.localId) this.core.campaign();
    this.schedule();
  }

  /** Whether the stored log holds the entry (index, term) a snapshot ends with (entries after it follow it). */
  private async logContinues(index: number, term: number): Promise<boolean> {
    if (this.storeLastIndex < index) return false;
    const [e] = await this.logStore.getRange(index, index);
    // Compacted away with the snapshot's own deletePrefix: what is left follows the snapshot.
    if (!e) return (await this.logStore.firstIndex()) === index + 1;
    return e.term === term;
  }

  // ---- operations ----------------------------------------------------------------

  /** Replicates `command` and resolves with the FSM's apply() result once committed and applied here. */
  async apply(command: Buffer, timeoutMs = this.cfg.operationTimeoutMs): Promise<R> {
    const core = await this.leaderCore();
    // A leader handing over refuses proposals; rather than a NotLeaderError from a server
    // that may stay leader (the transfer can time out), wait for the outcome.
    if (core.transferring() || this.transferHeld.length > 0) {
      return new Promise<R>((resolve, reject) => this.transferHeld.push({ command, timeoutMs, resolve, reject }));
    }
    return this.propose(core, command, timeoutMs);
  }

  private propose(core: RaftCore, command: Buffer, timeoutMs: number): Promise<R> {
    const index = core.propose([command]);
    if (index === 0) return Promise.reject(this.notLeader());
    return this.awaitIndex(index, core.stats().term, timeoutMs, 'apply');
  }

  /** Resolves once every entry before the call is applied to the FSM (leader only). */
  async barrier(timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    const core = await this.leaderCore();
    await this.waitApplied(core.lastIndex(), timeoutMs);
  }

  /** Resolves if a quorum still acknowledges this server as leader (a ReadIndex round). */
  async verifyLeader(timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    await this.confirmedReadIndex(timeoutMs);
  }

  /**
   * For linearizable reads: confirms leadership, then waits until the FSM has applied
   * everything committed at the time of the call. Read the FSM after it resolves.
   */
  async readBarrier(timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    const index = await this.confirmedReadIndex(timeoutMs);
    await this.waitApplied(index, timeoutMs);
  }

  addVoter(id: ServerId, address: string, timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    return this.changeConfiguration({ type: 'addVoter', id, address }, timeoutMs);
  }

  addNonVoter(id: ServerId, address: string, timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    return this.changeConfiguration({ type: 'addNonVoter', id, address }, timeoutMs);
  }

  removeServer(id: ServerId, timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    return this.changeConfiguration({ type: 'removeServer', id }, timeoutMs);
  }

  /** Hands leadership to `to` (or the most up-to-date voter); resolves when this server stops leading. */
  async leadershipTransfer(to?: ServerId, timeoutMs = this.cfg.operationTimeoutMs): Promise<void> {
    const core = await this.leaderCore();
    if (this.transferWaiter) throw new ConfigurationError('a leadership transfer is already in progress');
    if (!core.transferLeadership(to)) throw new ConfigurationError(`cannot transfer leadership to ${to ?? 'any voter'}`);
    this.schedule();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.transferWaiter = undefined;
        reject(new RaftTimeoutError('leadership transfer', timeoutMs));
      }, timeoutMs);
      this.transferWaiter = { resolve, reject, timer };
    });
  }

  /** The leader's node is known to be down: votes are no longer held back by its lease. */
  leaderDown(): void {
    if (this.closed || !this.core) return;
    this.core.forgetLeaderLease();
    this.schedule();
  }

  /**
   * Starts no more elections after timeouts: the node is stopping gracefully and has handed
   * its leadership over; elected again, it would take publishes only to leave with them.
   * It still votes, follows and takes a leadership transfer.
   */
  stopCampaigns(): void {
    this.core?.stopCampaigns();
  }

  /** Starts an election now instead of after a timeout (e.g. the preferred leader of a new group). */
  campaign(): void {
    if (this.closed || !this.core || this.role === 'leader') return;
    this.core.campaign();
    this.schedule();
  }

  state(): RaftState {
    return this.closed ? 'shutdown' : this.role;
  }

  /** The current leader as this server knows it, or undefined. */
  leader(): { id: ServerId; address: string } | undefined {
    if (!this.leaderId) return undefined;
    return { id: this.leaderId, address: this.addressOf(this.leaderId) };
  }

  getConfiguration(): Configuration {
    return this.core?.getConfiguration() ?? { servers: [] };
  }

  stats() {
    return {
      state: this.state(),
      ...(this.core?.stats() ?? {}),
      appliedIndex: this.appliedIndex,
      lastSnapshotIndex: this.snapshotIndex,
      configuration: this.getConfiguration(),
    };
  }

  /**
   * The term of entry `index` as this server's Raft holds it in memory (undefined when
   * compacted away or beyond its log). Ahead of the stores while writes are under way: an
   * InstallSnapshot replaces the log here at once, the stores only once the snapshot is saved.
   */
  termAt(index: number): number | undefined {
    return this.core?.termAt(index);
  }

  /**
   * Leader only: how far `id`'s log is known to match this leader's (0 when unknown), and
   * this leader's last index. A leadership transfer to a member that lags holds proposals
   * until it has caught up (or the transfer times out).
   */
  followerMatch(id: ServerId): { match: number; lastIndex: number } | undefined {
    const core = this.core;
    if (this.closed || !core || core.stats().role !== 'leader') return undefined;
    return { match: core.progressOf(id)?.match ?? 0, lastIndex: core.lastIndex() };
  }

  /** Subscribes to leader changes; returns an unsubscribe function. */
  onLeaderChange(listener: (change: LeaderChange) => void): () => void {
    this.on('leaderChange', listener);
    return () => this.off('leaderChange', listener);
  }

  /** Stops timers and the transport, rejects pending operations, waits for the drive loop. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.untick?.();
    this.writes?.stop();
    await this.started.catch(() => undefined);
    this.failAll(new ShutdownError());
    await this.transport.close();
    await this.idle;
    await this.logStore.close();
    await this.stableStore.close();
    await this.snapshotStore.close();
  }

  // ---- the drive loop ----------------------------------------------------------------

  private schedule(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.closed || !this.core?.hasReady()) return;
    this.running = true;
    this.idle = this.loop()
      .catch((err: unknown) => {
        // A storage failure leaves state unknown: stop rather than risk diverging.
        this.report(err);
        void this.shutdown();
      })
      .finally(() => {
        this.running = false;
      });
  }

  private async loop(): Promise<void> {
    do {
      this.rerun = false;
      while (!this.closed && this.core?.hasReady()) {
        const rd = this.core.ready();
        await this.handleReady(rd);
        this.core.advance();
        await this.maybeSnapshot();
      }
    } while (this.rerun && !this.closed);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (this.writes) return this.handleReadyOrdered(rd, this.writes);
    if (rd.softState) this.onSoftState(rd.softState.role, rd.softState.leader, rd.softState.term);
    if (rd.snapshot) await this.installSnapshot(rd);
    // New entries and the hard state are written together (two stores, one wait), both
    // durable before any message goes out.
    let hardSaved: Promise<void> | undefined;
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      if (first <= this.storeLastIndex) await this.logStore.truncateSuffix(first);
      const stored = this.logStore.storeEntries(rd.entries);
      if (rd.hardState) hardSaved = this.stableStore.save(rd.hardState);
      await stored;
      this.storeLastIndex = rd.entries[rd.entries.length - 1].index;
    } else if (rd.hardState) hardSaved = this.stableStore.save(rd.hardState);
    if (hardSaved) await hardSaved;
    if (this.closed) return;
    for (const m of rd.messages) this.transport.send(m.to, m, this.addressOf(m.to));
    this.applyCommitted(rd);
  }

  /**
   * Ordered stores: writes are issued in order and not waited for. The leader's appends go
   * out while its own write is under way; replies that promise stored entries
   * (appendResponse) or a vote wait until every earlier write is durable; committed entries
   * are applied at once (committed means durable on a majority, the leader's own log counted
   * only once persisted() reported it; a follower applies those that came with new entries
   * a turn later, after their write is issued). A new term or vote is durable before anything goes
   * out, as is everything before a snapshot is installed.
   */
  private async handleReadyOrdered(rd: Ready, w: DurableWrites): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.role, rd.softState.leader, rd.softState.term);
    if (rd.snapshot) {
      await w.whenDurable();
      await this.installSnapshot(rd);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      if (first <= this.storeLastIndex) w.track(this.logStore.truncateSuffix(first));
      const last = rd.entries[rd.entries.length - 1];
      w.track(this.logStore.storeEntries(rd.entries), last.index, last.term);
      this.storeLastIndex = last.index;
    }
    if (rd.hardState) this.hard = { ...rd.hardState };
    const h = this.hard;
    const prev = this.savedHard;
    if (h && (!prev || prev.term !== h.term || prev.vote !== h.vote)) {
      this.savedHard = { ...h };
      w.track(this.stableStore.save(h));
      await w.whenDurable();
    } else if (h && prev && prev.commit !== h.commit && rd.entries.length > 0) {
      // A new commit index alone is not written (nothing needs it durable: a restarted
      // server learns it again from the leader, and a snapshot writes it first); it goes
      // with the next entries, in the same write. A write of its own would hold up the next
      // batch's entries, which queue behind it in the WAL.
      this.savedHard = { ...h };
      w.track(this.stableStore.save(h));
    }
    if (this.closed) return;
    for (const m of rd.messages) {
      if (m.type === 'appendResponse' || m.type === 'voteResponse') w.sendWhenDurable(m);
      else this.transport.send(m.to, m, this.addressOf(m.to));
    }
    if (rd.entries.length > 0 && rd.committedEntries.length > 0 && this.role !== 'leader') {
      // A follower learns a commit with the next entries (lazyCommitNotice): their write
      // (issued at the end of this turn, with other groups') and the acknowledgement waiting
      // for it go first; applying (decoding a batch) comes after, off the leader's path.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed) return;
    }
    this.applyCommitted(rd);
  }

  private async installSnapshot(rd: Ready): Promise<void> {
    const snapshot = rd.snapshot!;
    await this.snapshotStore.save(snapshot);
    await this.logStore.truncateSuffix(1);
    this.storeLastIndex = 0;
    await this.fsm.restore(snapshot.data);
    this.snapshotIndex = snapshot.meta.index;
    this.appliedIndex = this.snapshotIndex;
  }

  private applyCommitted(rd: Ready): void {
    for (const e of rd.committedEntries) {
      const result = e.type === EntryType.Command ? this.fsm.apply(e) : (undefined as R);
      this.appliedIndex = e.index;
      const f = this.applyFutures.get(e.index);
      if (f) {
        this.applyFutures.delete(e.index);
        clearTimeout(f.timer);
        if (f.term === e.term) f.resolve(result);
        else f.reject(new LeadershipLostError());
      }
    }
    this.releaseAppliedWaiters();
    for (const rs of rd.readStates) {
      const w = this.readWaiters.get(rs.ctx);
      if (w) {
        this.readWaiters.delete(rs.ctx);
        clearTimeout(w.timer);
        w.resolve(rs.index);
      }
    }
  }

  /**
   * Ordered stores: the hard state last written (a change of term or vote is waited for),
   * and the latest one (its commit index may be ahead of the one written).
   */
  private savedHard: HardState | undefined;
  private hard: HardState | undefined;

  private onSoftState(role: Role, leaderId: ServerId, term: number): void {
    const wasLeader = this.role === 'leader';
    const termBefore = this.leaderTerm;
    this.role = role;
    // Leading in a later term (re-elected within one Ready) ends the earlier term's leadership too.
    if (wasLeader && (role !== 'leader' || term !== termBefore)) {
      const lost = new LeadershipLostError();
      for (const f of this.applyFutures.values()) clearTimeout(f.timer), f.reject(lost);
      this.applyFutures.clear();
      for (const w of this.readWaiters.values()) clearTimeout(w.timer), w.reject(lost);
      this.readWaiters.clear();
      for (const w of this.appliedWaiters) clearTimeout(w.timer), w.reject(lost);
      this.appliedWaiters = [];
      const t = this.transferWaiter;
      this.transferWaiter = undefined;
      if (t) clearTimeout(t.timer), t.resolve();
      this.releaseTransferHeld();
    }
    // The same leader in a later term is a change too: it was elected again, and what
    // followed it in its earlier term (a queue's consumers on its live queue) must follow anew.
    if (leaderId !== this.leaderId || (leaderId !== '' && term !== termBefore)) {
      this.leaderId = leaderId;
      this.leaderTerm = term;
      const change: LeaderChange = { leaderId, leaderAddress: leaderId ? this.addressOf(leaderId) : '', term };
      this.emit('leaderChange', change);
    }
  }

  private async maybeSnapshot(): Promise<void> {
    const core = this.core;
    if (!core || this.closed || this.appliedIndex <= this.snapshotIndex) return;
    if (this.appliedIndex - this.snapshotIndex < this.cfg.snapshotThresholdEntries && !this.fsm.snapshotDue?.()) return;
    // The loop is not applying while we await here, so the FSM image matches appliedIndex.
    const index = this.appliedIndex;
    // Messages reach the core while the loop awaits: an InstallSnapshot may already have
    // replaced its log past `index` (the next Ready installs it; no snapshot of ours then),
    // or may do so while we await below (compact() then ignores this older snapshot).
    if (core.termAt(index) === undefined) return;
    const meta = core.snapshotMetaAt(index);
    // The commit index on disk must cover the snapshot before the snapshot exists.
    if (this.writes) {
      const h = this.hard;
      if (h && this.savedHard && this.savedHard.commit < h.commit) {
        this.savedHard = { ...h };
        this.writes.track(this.stableStore.save(h));
      }
      await this.writes.whenDurable();
    }
    await this.fsm.prepareSnapshot?.();
    const data = await this.fsm.snapshot();
    const snapshot = { meta, data };
    await this.snapshotStore.save(snapshot);
    this.snapshotIndex = index;
    const upTo = core.compact(snapshot, this.cfg.trailingEntries);
    if (upTo > 0) await this.logStore.deletePrefix(upTo);
  }

  // ---- helpers -------------------------------------------------------------------------

  private async leaderCore(): Promise<RaftCore> {
    await this.started;
    if (this.closed) throw new ShutdownError();
    const core = this.core as RaftCore;
    if (core.stats().role !== 'leader') throw this.notLeader();
    return core;
  }

  private notLeader(): NotLeaderError {
    const l = this.core?.stats().role === 'leader' ? '' : this.core?.stats().leader ?? '';
    return new NotLeaderError(l, l ? this.addressOf(l) : '');
  }

  private addressOf(id: ServerId): string {
    return (this.core && findServer(this.core.getConfiguration(), id)?.address) ?? '';
  }

  private async changeConfiguration(change: ConfChange, timeoutMs: number): Promise<void> {
    const core = await this.leaderCore();
    const r = core.proposeConfChange(change);
    if (typeof r === 'string') throw new ConfigurationError(r);
    await this.awaitIndex(r, core.stats().term, timeoutMs, change.type);
  }

  private awaitIndex(index: number, term: number, timeoutMs: number, what: string): Promise<R> {
    this.schedule();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.applyFutures.delete(index);
        reject(new RaftTimeoutError(what, timeoutMs));
      }, timeoutMs);
      this.applyFutures.set(index, { resolve, reject, timer, term });
    });
  }

  private async confirmedReadIndex(timeoutMs: number): Promise<number> {
    const core = await this.leaderCore();
    const ctx = ++this.readCtx;
    if (!core.readIndex(ctx)) throw this.notLeader();
    const p = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readWaiters.delete(ctx);
        reject(new RaftTimeoutError('verifyLeader', timeoutMs));
      }, timeoutMs);
      this.readWaiters.set(ctx, { resolve, reject, timer });
    });
    this.schedule();
    return p;
  }

  private waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: { index: number } & Waiter<void> = { index, resolve, reject };
      w.timer = setTimeout(() => {
        this.appliedWaiters = this.appliedWaiters.filter((x) => x !== w);
        reject(new RaftTimeoutError('barrier', timeoutMs));
      }, timeoutMs);
      this.appliedWaiters.push(w);
      this.schedule();
    });
  }

  /** A transfer that ran out of time leaves this server leading: held applies go on, the transfer fails. */
  private transferEnded(): void {
    if (this.core?.transferring()) return;
    this.releaseTransferHeld();
    const t = this.transferWaiter;
    if (t && this.role === 'leader' && this.core?.stats().role === 'leader') {
      this.transferWaiter = undefined;
      clearTimeout(t.timer);
      t.reject(new ConfigurationError('leadership transfer did not complete in time; still the leader'));
    }
  }

  /** Proposes the held applies now, in order (synchronously, so no later apply overtakes them), or refuses them. */
  private releaseTransferHeld(): void {
    const held = this.transferHeld;
    if (held.length === 0) return;
    this.transferHeld = [];
    const core = this.core;
    for (const h of held) {
      if (this.closed) h.reject(new ShutdownError());
      else if (!core || core.stats().role !== 'leader') h.reject(this.notLeader());
      else this.propose(core, h.command, h.timeoutMs).then(h.resolve, h.reject);
    }
  }

  private releaseAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const still: typeof this.appliedWaiters = [];
    for (const w of this.appliedWaiters) {
      if (w.index <= this.appliedIndex) clearTimeout(w.timer), w.resolve();
      else still.push(w);
    }
    this.appliedWaiters = still;
  }

  /** Emits 'error' if anyone listens (an unheard 'error' event would crash the process). */
  private report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private failAll(err: Error): void {
    for (const f of this.applyFutures.values()) clearTimeout(f.timer), f.reject(err);
    this.applyFutures.clear();
    for (const w of this.readWaiters.values()) clearTimeout(w.timer), w.reject(err);
    this.readWaiters.clear();
    for (const w of this.appliedWaiters) clearTimeout(w.timer), w.reject(err);
    this.appliedWaiters = [];
    if (this.transferWaiter) clearTimeout(this.transferWaiter.timer), this.transferWaiter.reject(err);
    this.transferWaiter = undefined;
    this.releaseTransferHeld();
  }
}
