/**
 * One member of a quorum queue's Raft group on this node: the Raft server, its stores (log
 * and hard state in the node's shared WAL, snapshots under <dataDir>/quorum/<group id>),
 * the replicated state (QuorumFsm), and the batching of
 * proposals. Enqueues made during one event-loop turn are proposed as one log entry; the
 * settles, checkouts, returns and dead-letter marks of the turns since the last one go in
 * the same entry (CMD_WITH), or on their own at the next tick when no enqueue comes. A
 * publisher confirm waiting on an enqueue is settled once that entry is committed (fsynced
 * on a majority) and applied here.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskSnapshotStore, NotLeaderError, Raft, type LeaderChange, type SharedWal, type Ticker } from '../raft';
import type { ConfirmParts, FlowGate, FlowWaiter } from '../../src/broker/ports';
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import type { Logger } from '../../src/log/logger';
import { CMD_RETURN, CMD_SETTLE, encodeCheckout, encodeDead, encodeEnqueue, encodeEnqueueFrom, encodeIds, encodeWith } from './quorum-codec';
import { partResend } from '../forward/resend-parts';
import type { DeathReason } from '../../src/broker/queue/dead-letter';
import { QuorumFsm } from './quorum-fsm';
import type { GroupTransport } from './quorum-transport';
import { BodyStore } from './body-store';
import { HeldCommands } from './held-commands';
import { decodeIdList, encodeIdList } from './body-fetch';
import { NackLog } from './nack-log';

/** Ticks a new queue's preferred leader lets its campaign wait for answers before it starts over. */
const CAMPAIGN_PATIENCE_TICKS = 4;
/** Messages proposed and not yet committed above which publishers are held back. */
const MAX_INFLIGHT_MESSAGES = 4000;
/** Body bytes proposed and not yet committed above which publishers are held back. */
const MAX_INFLIGHT_BYTES = 16 * 1024 * 1024;
/** Messages in one enqueue entry at most. */
const MAX_BATCH_MESSAGES = 1024;
/** Body bytes in one enqueue entry at most (entries stay in memory until a snapshot). */
const MAX_BATCH_BYTES = 256 * 1024;
/** An idle member snapshots (letting go of its log, held in memory) after this long without entries. */
const IDLE_SNAPSHOT_MS = 2000;

export interface QuorumGroupOptions {
  groupId: string;
  nodeName: string;
  /**
   * The configuration a new group starts with, preferred leader first; undefined for a
   * member added later, which starts empty and receives the log from the leader.
   */
  bootstrapMembers: string[] | undefined;
  dataDir: string;
  transport: GroupTransport;
  /** The node's write-ahead log shared by every group (log entries and hard state). */
  wal: Promise<SharedWal>;
  ticker: Ticker;
  log: Logger;
  tickMs: number;
  electionTimeoutTicks: number;
  snapshotEntries: number;
  /** Body bytes a member holds in memory; later ones go to its body store. */
  memoryBytes?: number;
  /** Body bytes applied after which a member snapshots whatever the entry count. */
  snapshotBytes?: number;
  /** The queue's members now (asked for bodies when installing a snapshot). */
  members?: () => readonly string[];
}

/**
 * How long a batch whose proposal lost leadership waits at most for the log to tell whether
 * it was committed (a cluster without a leader that long: nacked).
 */
const UNKNOWN_OUTCOME_MAX_MS = 30_000;

interface Batch {
  id: number;
  messages: Message[];
  bytes: number;
  confirms: (ConfirmParts | undefined)[];
  seqs: number[];
  /** Outcome unknown: decided once this member has applied up to here, at the latest at giveUpAt. */
  decidedAt?: number;
  giveUpAt?: number;
  /** Each message's origin (a publish forwarded with one); empty while none has. */
  origins: (EnqueueOrigin | undefined)[];
}

export class QuorumGroup implements FlowGate {
  readonly fsm: QuorumFsm;
  private readonly bodies: BodyStore;
  raft: Raft<void> | undefined;
  readonly started: Promise<void>;
  private nextBatchId = Math.floor(Math.random() * 2 ** 40) * 1024;
  private batch: Batch = this.newBatch();
  /** Proposed batches not yet known to be applied, by id. */
  private readonly proposed = new Map<number, Batch>();
  private settles: number[] = [];
  private readonly deaths = new Map<DeathReason, number[]>();
  private returns: number[] = [];
  /** Deliveries of this turn by consumer key (proposed as one checkout entry). */
  private checkouts = new Map<string, number[]>();
  private checkoutCount = 0;
  private scheduled = false;
  private inflight = 0;
  private inflightBytes = 0;
  private fetchFrom = 0;
  private waiters: FlowWaiter[] = [];
  private closed = false;
  private readonly dir: string;
  /**
   * Takes back publishes Raft refused without appending them (leadership is being handed
   * over, or just was): the queue passes them to the next leader instead of nacking them.
   * Each item's confirm part is still held; the callee releases it.
   */
  onRefused: ((messages: Message[], confirms: (ConfirmParts | undefined)[], seqs: number[], origins: (EnqueueOrigin | undefined)[]) => void) | undefined;
  /** Called when no proposed batch is left (a graceful stop waits for that). */
  private onSettled: (() => void) | undefined;
  /** Batches appended by this member as leader whose fate the log has not told yet. */
  private readonly undecided = new Set<Batch>();
  private offUndecided: (() => void) | undefined;
  private readonly nacks: NackLog;
  /**
   * Commands other than enqueues waiting for the next enqueue batch's entry (or the next
   * tick). Dropped if leadership goes before they are proposed (a graceful hand-over
   * proposes them first): a settle never committed leaves its message to be redelivered, as
   * one proposed and not committed does.
   */
  private readonly held: HeldCommands;

  constructor(
    private readonly o: QuorumGroupOptions,
    private readonly onLeaderChange: (change: LeaderChange) => void,
  ) {
    this.dir = join(o.dataDir, 'quorum', o.groupId);
    this.nacks = new NackLog(o.log, o.groupId);
    this.held = new HeldCommands(o.ticker, (commands) => {
      // Lost settles and returns only cost a redelivery after failover.
      if (!this.closed) this.raft?.apply(encodeWith(commands.slice(0, -1), commands[commands.length - 1])).catch(() => undefined);
    });
    this.bodies = new BodyStore(join(this.dir, 'bodies'));
    this.fsm = new QuorumFsm({ bodies: this.bodies, memoryBytes: o.memoryBytes, snapshotBytes: o.snapshotBytes, node: o.nodeName, idleSnapshotMs: IDLE_SNAPSHOT_MS });
    this.fsm.fetch = (ids) => this.fetchBodies(ids);
    o.transport.bodies = (request) => this.fsm.serve(decodeIdList(request));
    this.fsm.batchApplied = (id, refused) => this.batchApplied(id, refused);
    this.fsm.localBatch = (id) => this.proposed.get(id);
    this.started = this.start();
    this.started.catch((err: unknown) => o.log.error({ err, group: o.groupId }, 'quorum queue member failed to start'));
  }

  private async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const { log, stable } = (await this.o.wal).group(this.o.groupId);
    const snapshots = new DiskSnapshotStore(join(this.dir, 'snapshots'));
    const fresh = (await log.lastIndex()) === 0 && (await stable.load()).term === 0 && (await snapshots.latest()) === undefined;
    const boot = this.o.bootstrapMembers;
    if (fresh && boot) {
      await Raft.bootstrap(log, stable, { servers: boot.map((id) => ({ id, address: '', suffrage: 'voter' as const })) });
    }
    if (this.closed) return;
    this.fsm.startingUp = true;
    const raft = new Raft<void>(
      {
        localId: this.o.nodeName,
        tickMs: this.o.tickMs,
        electionTimeoutTicks: this.o.electionTimeoutTicks,
        heartbeatTicks: 1,
        // An idle queue (nothing appended for a second, every member in step) heartbeats once
        // a second: a thousand idle queues cost next to nothing. A dead node is still noticed
        // at once through the mesh; a cut-off idle leader after 3-4 s.
        idleHeartbeatTicks: Math.max(2, Math.round(1000 / this.o.tickMs)),
        snapshotThresholdEntries: this.o.snapshotEntries,
        trailingEntries: Math.min(64, Math.max(1, Math.floor(this.o.snapshotEntries / 16))),
        ticker: this.o.ticker,
        orderedStores: true,
        // Confirms need the commit on the leader only; followers learn it with the next
        // append or heartbeat (a tick at most), not from a message of its own per batch.
        lazyCommitNotice: true,
      },
      this.fsm,
      log,
      stable,
      snapshots,
      this.o.transport,
    );
    raft.on('error', (err) => this.o.log.error({ err, group: this.o.groupId }, 'quorum queue raft stopped'));
    raft.onLeaderChange((change) => {
      // Held commands belong to this member's term as leader: never proposed in another.
      if (change.leaderId !== this.o.nodeName) this.held.take();
      this.onLeaderChange(change);
    });
    this.raft = raft;
    try {
      await raft.ready();
    } finally {
      this.fsm.startingUp = false;
    }
    // Segments of an earlier run that the restored snapshot does not refer to (or all, without one).
    this.bodies.collect();
    // The preferred leader of a new queue campaigns at once instead of after a timeout, and
    // again while no leader is known and its campaign has ended without one (the other
    // members' servers may not have been up for its first vote requests), so that it, not a
    // random member, leads. A campaign waiting for its answers gets CAMPAIGN_PATIENCE_TICKS
    // before it starts over: starting over on every tick, on a loaded machine where an answer
    // takes longer than a tick, went through a dozen terms before one campaign could finish.
    if (fresh && boot?.[0] === this.o.nodeName) {
      raft.campaign();
      let ticks = 0;
      let waited = 0;
      const off = this.o.ticker.add(() => {
        if (this.closed || raft.leader() !== undefined || ++ticks > 40) return off();
        if (raft.state() !== 'follower' && ++waited < CAMPAIGN_PATIENCE_TICKS) return;
        waited = 0;
        raft.campaign();
      });
    }
  }

  isLeader(): boolean {
    return this.raft?.state() === 'leader';
  }

  // ---- proposals (leader only) ----

  /**
   * Proposes a message; `confirm` holds part `seq` until it is committed (or fails). With
   * `origin` (a publish forwarded from another node), the state machine adds it only once
   * however often it is sent.
   */
  enqueue(message: Message, confirm: ConfirmParts | undefined, seq: number, origin?: EnqueueOrigin): void {
    confirm?.hold(seq);
    const b = this.batch;
    if (origin || b.origins.length > 0) {
      while (b.origins.length < b.messages.length) b.origins.push(undefined);
      b.origins.push(origin);
    }
    b.messages.push(message);
    b.bytes += message.body.length;
    b.confirms.push(confirm);
    b.seqs.push(seq);
    this.inflight++;
    this.inflightBytes += message.body.length;
    if (b.messages.length >= MAX_BATCH_MESSAGES || b.bytes >= MAX_BATCH_BYTES) this.flushEnqueues();
    this.schedule();
  }

  settle(id: number): void {
    this.settles.push(id);
    this.schedule();
  }

  /** Message `id` was dead-lettered at least once: it stays until its targets confirmed it. */
  deadLettered(id: number, reason: DeathReason): void {
    let ids = this.deaths.get(reason);
    if (!ids) this.deaths.set(reason, (ids = []));
    ids.push(id);
    this.schedule();
  }

  returned(id: number): void {
    // Log order must follow the live queue's: a checkout of this turn goes before a later return.
    if (this.checkoutCount > 0) this.flushCheckouts();
    this.returns.push(id);
    this.schedule();
  }

  /** Message `id` was handed to consumer `owner` (see ownerKey) with manual ack. */
  checkout(owner: string, id: number): void {
    // ...and a return of this turn before a later checkout (a requeued message delivered again).
    if (this.returns.length > 0) this.flushReturns();
    const ids = this.checkouts.get(owner);
    if (ids) ids.push(id);
    else this.checkouts.set(owner, [id]);
    this.checkoutCount++;
    this.schedule();
  }

  /** FlowGate: publishers wait while too many enqueues are uncommitted. */
  addFlowWaiter(waiter: FlowWaiter): void {
    this.waiters.push(waiter);
  }

  congested(): boolean {
    return this.inflight >= MAX_INFLIGHT_MESSAGES || this.inflightBytes >= MAX_INFLIGHT_BYTES;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.flushCheckouts();
    this.flushReturns();
    if (this.deaths.size > 0) {
      for (const [reason, ids] of this.deaths) this.propose(encodeDead(reason, ids), ids.length);
      this.deaths.clear();
    }
    if (this.settles.length > 0) {
      this.propose(encodeIds(CMD_SETTLE, this.settles), this.settles.length);
      this.settles = [];
    }
    // Held commands refer to messages already applied: ahead of this turn's enqueues in the entry.
    this.flushEnqueues();
  }

  private flushReturns(): void {
    if (this.returns.length === 0) return;
    this.propose(encodeIds(CMD_RETURN, this.returns), this.returns.length);
    this.returns = [];
  }

  private flushCheckouts(): void {
    if (this.checkoutCount === 0) return;
    this.propose(encodeCheckout(this.checkouts), this.checkoutCount);
    this.checkouts = new Map();
    this.checkoutCount = 0;
  }

  private newBatch(): Batch {
    return { id: this.nextBatchId++, messages: [], bytes: 0, confirms: [], seqs: [], origins: [] };
  }

  private flushEnqueues(): void {
    const b = this.batch;
    if (b.messages.length === 0) return;
    this.batch = this.newBatch();
    const raft = this.raft;
    if (!raft || this.closed) return this.settleBatch(b, false);
    this.proposed.set(b.id, b);
    const atMs = Date.now();
    const before = this.held.take();
    raft.apply(b.origins.length > 0 ? encodeEnqueueFrom(b.id, b.messages, b.origins, atMs, before) : encodeEnqueue(b.id, b.messages, atMs, before)).then(
      () => this.settleBatch(b, true),
      (err: unknown) => {
        // Never appended: refused now. Appended but leadership was lost (a transfer, a
        // partition): the entry may still commit under the next leader, and this member
        // then applies it (batchApplied), so the confirm waits for the log's answer.
        if (err instanceof NotLeaderError && !this.closed && this.onRefused) return this.handBack(b);
        if (err instanceof NotLeaderError || this.closed) return this.settleBatch(b, false);
        this.awaitOutcome(b);
      },
    );
  }

  /**
   * The entry of batch `b` is in this member's log at an index no higher than its last one
   * now (or was cut off, if the log is shorter by then). Once this member has applied up to
   * that index, the entry was applied (confirmed, batchApplied) if it was committed; if not
   * applied by then, another entry took its place: nacked. Under load the next leader may
   * take seconds to commit it; a fixed wait nacked publishes that were committed (a
   * rolling-restart run under load nacked 1,937 just after leadership returned to n1).
   */
  private awaitOutcome(b: Batch): void {
    if (b.messages.length === 0) return;
    b.decidedAt = this.raft?.stats().lastIndex ?? 0;
    b.giveUpAt = Date.now() + UNKNOWN_OUTCOME_MAX_MS;
    this.undecided.add(b);
    this.offUndecided ??= this.o.ticker.add(() => this.checkUndecided());
  }

  private checkUndecided(): void {
    const applied = this.raft?.stats().appliedIndex ?? 0;
    const now = Date.now();
    for (const b of this.undecided) {
      if (b.messages.length > 0 && applied < b.decidedAt! && now < b.giveUpAt!) continue;
      this.undecided.delete(b);
      this.settleBatch(b, false);
    }
    if (this.undecided.size > 0) return;
    this.offUndecided?.();
    this.offUndecided = undefined;
  }

  /** A refused batch goes back to the queue (its confirms still held) instead of a nack. */
  private handBack(b: Batch): void {
    this.proposed.delete(b.id);
    const { messages, confirms, seqs, origins } = b;
    b.messages = [];
    b.confirms = [];
    b.seqs = [];
    b.origins = [];
    this.inflight -= messages.length;
    this.onRefused!(messages, confirms, seqs, origins);
    if (this.proposed.size === 0) this.onSettled?.();
    if (this.waiters.length > 0 && this.inflight < MAX_INFLIGHT_MESSAGES / 2) {
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resumeFlow();
    }
  }

  private batchApplied(id: number, refused: number[] | undefined): void {
    const b = this.proposed.get(id);
    if (b) this.settleBatch(b, true, refused);
  }

  /**
   * Settles the confirms of batch `b` once (the first outcome known wins); those at
   * positions `refused` (out of order for their enqueuer) are to be sent again, and so are
   * those with an origin when the outcome is a failure (this member closed, or the entry's
   * fate unknown after leadership was lost): their enqueuer sends them to the next leader,
   * which adds each once whether or not this entry was committed.
   */
  private settleBatch(b: Batch, ok: boolean, refused?: number[]): void {
    if (b.confirms.length === 0 && b.messages.length === 0) return;
    this.proposed.delete(b.id);
    const n = b.messages.length;
    const confirms = b.confirms;
    const seqs = b.seqs;
    const origins = b.origins;
    b.messages = [];
    b.confirms = [];
    b.seqs = [];
    b.origins = [];
    this.inflight -= n;
    this.inflightBytes -= b.bytes;
    b.bytes = 0;
    for (const i of refused ?? []) {
      const c = confirms[i];
      confirms[i] = undefined;
      if (c) partResend(c, seqs[i]);
    }
    let nacked = 0;
    for (let i = 0; i < confirms.length; i++) {
      const c = confirms[i];
      if (!c) continue;
      if (!ok && origins[i]) partResend(c, seqs[i]);
      else {
        if (!ok) nacked++;
        c.partDone(seqs[i], ok);
      }
    }
    if (nacked > 0) this.nacks.add(nacked, this.closed ? 'member closed, no origin' : 'entry not committed, no origin');
    if (this.proposed.size === 0) this.onSettled?.();
    if (this.waiters.length > 0 && this.inflight < MAX_INFLIGHT_MESSAGES / 2 && this.inflightBytes < MAX_INFLIGHT_BYTES / 2) {
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resumeFlow();
    }
  }

  /** Holds `cmd` (naming `ids` messages) for the next enqueue entry, or the next tick. */
  private propose(cmd: Buffer, ids: number): void {
    this.held.hold(cmd, ids);
  }

  /**
   * Hands leadership to `to` (or the most up-to-date voter), the held commands proposed
   * first: entries appended before the transfer reach the new leader, which commits them.
   */
  handOver(to?: string, timeoutMs?: number): Promise<void> {
    const raft = this.raft;
    if (!raft) return Promise.reject(new Error('quorum queue member not started'));
    this.held.flush();
    return raft.leadershipTransfer(to, timeoutMs);
  }

  /**
   * Waits (at most `timeoutMs`) until every batch proposed here has an outcome: after a
   * graceful stop handed leadership over, the new leader commits what this member appended,
   * and this member, still a follower, applies it and confirms instead of nacking on close.
   */
  whenSettled(timeoutMs: number): Promise<void> {
    if (this.proposed.size === 0 && this.batch.messages.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.onSettled = undefined;
        resolve();
      }
      this.onSettled = done;
    });
  }

  /**
   * Asks the leader (else each other member in turn) for bodies of an installed snapshot.
   * Rejects when the one asked cannot answer; the FSM asks again.
   */
  private fetchBodies(ids: number[]): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('closed'));
    const self = this.o.nodeName;
    const leader = this.raft?.leader()?.id;
    let to = leader && leader !== self ? leader : undefined;
    if (!to || this.fetchFrom % 2 === 1) {
      const others = (this.o.members?.() ?? this.o.bootstrapMembers ?? []).filter((m) => m !== self);
      if (others.length > 0) to = others[this.fetchFrom % others.length];
    }
    this.fetchFrom++;
    if (!to) return Promise.reject(new Error('no member to ask for bodies'));
    return this.o.transport.requestBodies(to, encodeIdList(ids));
  }

  /** Waits until everything committed before now is applied here (leader only). */
  async barrier(): Promise<void> {
    await this.raft?.barrier();
  }

  /** Stops the member; with `wipe`, deletes its data (the queue was deleted). */
  async close(wipe: boolean): Promise<void> {
    this.closed = true;
    this.held.take();
    this.fsm.fetch = undefined;
    await this.started.catch(() => undefined);
    await this.raft?.shutdown().catch(() => undefined);
    this.bodies.close();
    for (const b of [...this.proposed.values()]) this.settleBatch(b, false);
    this.settleBatch(this.batch, false);
    this.undecided.clear();
    this.offUndecided?.();
    this.offUndecided = undefined;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resumeFlow();
    if (!wipe) return;
    await (await this.o.wal).drop(this.o.groupId).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
