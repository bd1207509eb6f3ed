import { Raft } from '../../../cluster/raft/raft';
import { NotLeaderError } from '../../../cluster/raft/errors';
import type { FSM } from '../../../cluster/raft/fsm';
import type { Ticker } from '../../../cluster/raft/raft-config';
import type { LogEntry } from '../../../cluster/raft/types';
import { QuorumFsm } from '../../../cluster/quorum/quorum-fsm';
import { CMD_RETURN, CMD_SETTLE, encodeCheckout, encodeEnqueue, encodeEnqueueFrom, encodeIds, encodeWith, ownerNode } from '../../../cluster/quorum/quorum-codec';
import { Message, type EnqueueOrigin } from '../../../src/broker/message';
import type { SimDisk } from './sim-disk';
import type { SimNetwork, SimTransport } from './sim-network';
import type { QueueChecker } from './queue-checker';

/** Raft settings of one simulated server (small numbers, so snapshots and installs are frequent). */
export interface MemberSettings {
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** 0: off; else an idle leader heartbeats this rarely (as quorum queues do). */
  idleHeartbeatTicks: number;
  snapshotEvery: number;
  trailingEntries: number;
  maxEntriesPerAppend: number;
  maxInflightAppends: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** The log and hard state share one ordered WAL (quorum queues); false: separate files (the metadata store). */
  orderedStores: boolean;
}

/**
 * The leader's live queue, as cluster/quorum's QuorumQueue builds it once the new leader has
 * applied everything committed before (barrier): messages ready for delivery, those out
 * with the consumer, and the delivery counts it announces (x-delivery-count).
 */
export interface LiveQueue {
  readonly term: number;
  ready: number[];
  /** Delivered by this live queue, with the consumer holding each. */
  readonly out: Map<number, string>;
  readonly counts: Map<number, number>;
  /** Held for consumers of earlier leaders (the log's checkouts), with their holder. */
  readonly held: Map<number, string>;
  /** Ticks this live queue has run (held messages are given back after HOLD_TICKS). */
  ticks: number;
}

/** Ticks a new leader holds messages for their consumers (OwnedMessages' hold time). */
export const HOLD_TICKS = 25;

/** What the client learns about its proposals. */
export interface MemberEvents {
  enqueueConfirmed(member: QueueMember, tags: string[]): void;
  /** Messages with an origin the state machine refused as out of order (to be sent again). */
  enqueueRefused(tags: string[]): void;
  settleConfirmed(ids: number[]): void;
  /** Whether a node is up (as the mesh tells a leader). */
  isUp(node: string): boolean;
  /** The facade stopped on an error (a store failed): the run fails. */
  raftError(member: QueueMember, err: Error): void;
}

/** A shared timer the simulation fires by hand. */
class ManualTicker implements Ticker {
  private fns: (() => void)[] = [];
  add(tick: () => void): () => void {
    this.fns.push(tick);
    return () => {
      this.fns = this.fns.filter((f) => f !== tick);
    };
  }
  fire(): void {
    for (const f of this.fns.slice()) f();
  }
}

/** Hands every apply and restore of the real QuorumFsm to the checker. */
class ObservedFsm implements FSM<void> {
  constructor(private readonly member: QueueMember, readonly inner: QuorumFsm, private readonly checker: QueueChecker) {}

  apply(entry: LogEntry): void {
    this.checker.beforeApply(this.member.id, entry);
    this.inner.apply(entry);
    this.member.appliedCommands++;
    this.checker.afterApply(this.member.id, entry, this.inner);
  }

  snapshot(): Buffer {
    return this.inner.snapshot();
  }

  restore(data: Buffer): void {
    this.inner.restore(data);
    this.checker.onRestore(this.member.id, this.member.disk.read().snapshots[0]?.meta.index ?? 0, this.inner, this.member.running);
  }
}

/**
 * One server of the quorum queue: the real Raft facade (cluster/raft) with the real queue
 * state machine (cluster/quorum's QuorumFsm) on a simulated disk and network, plus what a
 * leader does with them in cluster/quorum: a live queue built after a barrier, enqueue
 * batches confirmed when applied, settles, checkouts and returns held for the next enqueue
 * entry (CMD_WITH) or proposed alone at the next tick, dropped when leadership goes and
 * proposed before a hand-over, as QuorumGroup does; a leader applies its own enqueue
 * batches from the messages it proposed (QuorumFsm.localBatch), not from the entry.
 */
export class QueueMember {
  raft: Raft<void> | undefined;
  fsm = new QuorumFsm();
  live: LiveQueue | undefined;
  appliedCommands = 0;
  /** The current incarnation finished starting (a restore now is an installed snapshot). */
  running = false;
  private ticker = new ManualTicker();
  private transport: SimTransport | undefined;
  private epoch = 0;
  /** Enqueue batches proposed by this incarnation and not yet known applied, by batch id. */
  private readonly proposed = new Map<number, { tags: string[]; messages: Message[]; origins: (EnqueueOrigin | undefined)[] }>();
  /** Commands held for the next enqueue entry (or the next tick), and the settles among them. */
  private held: Buffer[] = [];
  private heldSettles: number[] = [];

  constructor(
    readonly id: string,
    readonly disk: SimDisk,
    private readonly network: SimNetwork,
    private readonly checker: QueueChecker,
    private readonly events: MemberEvents,
    private readonly settings: MemberSettings,
    private readonly seed: number,
  ) {}

  get alive(): boolean {
    return this.raft !== undefined;
  }

  /** Starts a server from what its disk holds (its memory is new). */
  start(): void {
    const s = this.settings;
    this.fsm = new QuorumFsm();
    this.fsm.batchApplied = (batchId, refused) => this.batchApplied(batchId, refused);
    this.fsm.localBatch = (batchId) => this.proposed.get(batchId);
    this.dropHeld();
    this.ticker = new ManualTicker();
    this.transport = this.network.transport(this.id);
    const { log, stable, snapshots } = this.disk.open();
    const raft = new Raft<void>(
      {
        localId: this.id,
        electionTimeoutTicks: s.electionTimeoutTicks,
        heartbeatTicks: s.heartbeatTicks,
        idleHeartbeatTicks: s.idleHeartbeatTicks,
        snapshotThresholdEntries: s.snapshotEvery,
        trailingEntries: s.trailingEntries,
        maxEntriesPerAppend: s.maxEntriesPerAppend,
        maxInflightAppends: s.maxInflightAppends,
        preVote: s.preVote,
        checkQuorum: s.checkQuorum,
        // Long enough never to fire: outcomes come from the simulated cluster alone.
        operationTimeoutMs: 1e9,
        seed: this.seed + this.epoch * 7919,
        ticker: this.ticker,
        lazyCommitNotice: true, // as quorum-group.ts
        orderedStores: s.orderedStores,
      },
      new ObservedFsm(this, this.fsm, this.checker),
      log,
      stable,
      snapshots,
      this.transport,
    );
    raft.on('error', (err: Error) => this.events.raftError(this, err));
    raft.onLeaderChange((c) => this.leaderChanged(c.leaderId));
    this.raft = raft;
    this.running = false;
    void raft.ready().then(() => {
      if (this.raft === raft) this.running = true;
    });
  }

  /** Power loss: the process is gone, the disk keeps what was synced (and a prefix of the rest). */
  crash(rand: () => number): void {
    const raft = this.raft;
    if (!raft) return;
    this.raft = undefined;
    this.epoch++;
    this.live = undefined;
    this.proposed.clear();
    this.disk.crash(rand);
    void this.transport?.close();
    this.network.forget(this.id);
    // Clears its timers and rejects its waiters; its stores are dead, so nothing is written.
    void raft.shutdown().catch(() => undefined);
  }

  /** An orderly stop at the end of a run (clears the facade's timers). */
  async stop(): Promise<void> {
    const raft = this.raft;
    this.raft = undefined;
    this.live = undefined;
    this.disk.crash(() => 0.999);
    await Promise.race([raft?.shutdown().catch(() => undefined), new Promise((r) => setImmediate(r))]);
  }

  tick(): void {
    this.ticker.fire();
    this.proposeHeld();
    const live = this.live;
    if (live && live.held.size > 0 && ++live.ticks === HOLD_TICKS) {
      // Holders that did not come back in time lose their messages (the real leader waits OWNED_HOLD_MS).
      this.release(live, [...live.held.keys()]);
    }
  }

  /** Node `node` went down: what its consumers held (from earlier leaders, or out from this one) goes back to the queue. */
  nodeDown(node: string): void {
    const live = this.live;
    if (!live) return;
    this.release(live, [...live.held].filter(([, owner]) => ownerNode(owner) === node).map(([id]) => id));
    const out = [...live.out].filter(([, owner]) => ownerNode(owner) === node).map(([id]) => id);
    for (const id of out) {
      live.out.delete(id);
      live.counts.set(id, (live.counts.get(id) ?? 0) + 1);
    }
    if (out.length === 0) return;
    live.ready.unshift(...out);
    this.proposeIds(CMD_RETURN, out);
  }

  /** Held messages go back to the queue: a counted return each, ready again (at the front). */
  private release(live: LiveQueue, ids: number[]): void {
    if (ids.length === 0) return;
    for (const id of ids) {
      live.held.delete(id);
      live.counts.set(id, (live.counts.get(id) ?? 0) + 1);
      this.checker.onRelease(live.term, id);
    }
    live.ready.unshift(...ids);
    this.proposeIds(CMD_RETURN, ids);
  }

  stats() {
    return this.raft?.stats();
  }

  // ---- leadership, as cluster/quorum's QuorumQueue handles it ----

  private leaderChanged(leader: string): void {
    const epoch = ++this.epoch;
    this.live = undefined;
    if (leader !== this.id) this.dropHeld();
    if (leader !== this.id) return;
    const raft = this.raft;
    if (!raft) return;
    raft.barrier().then(
      () => {
        if (epoch !== this.epoch || this.raft !== raft || raft.state() !== 'leader') return;
        const term = raft.stats().term ?? 0;
        const live: LiveQueue = { term, ready: [], out: new Map(), counts: new Map(), held: new Map(), ticks: 0 };
        const gone: number[] = [];
        for (const [id, m] of this.fsm.messages) {
          if (m.deliveryCount > 0) live.counts.set(id, m.deliveryCount);
          // Held by a consumer: kept for it while its node is up, given back at once otherwise.
          if (m.owner !== undefined) {
            live.held.set(id, m.owner);
            if (!this.events.isUp(ownerNode(m.owner))) gone.push(id);
            continue;
          }
          live.ready.push(id);
        }
        this.fsm.listener = (id) => {
          if (this.live === live) live.ready.push(id);
        };
        this.live = live;
        this.release(live, gone);
      },
      () => undefined,
    );
  }

  // ---- proposals ----

  /** Proposes one enqueue batch if this server leads; false when it does not (the client is told no). */
  enqueue(batchId: number, tags: string[], onNack: () => void, origins?: EnqueueOrigin[]): boolean {
    const raft = this.raft;
    if (!raft || !this.live) return false;
    const messages = tags.map((t) => new Message('', t, Buffer.from([0x10, 0x00, 0x02]), Buffer.from(t)));
    this.proposed.set(batchId, { tags, messages, origins: origins ?? [] });
    const settles = this.heldSettles;
    const before = this.takeHeld();
    raft.apply(origins ? encodeEnqueueFrom(batchId, messages, origins, 0, before) : encodeEnqueue(batchId, messages, undefined, before)).then(
      () => {
        this.batchApplied(batchId, undefined);
        if (settles.length > 0) this.events.settleConfirmed(settles);
      },
      (err: unknown) => {
        // Refused at once: a nack. Leadership lost: the outcome is unknown, the batch may
        // still be applied here under the next leader (batchApplied), as QuorumGroup waits.
        if (err instanceof NotLeaderError) {
          this.proposed.delete(batchId);
          onNack();
        }
      },
    );
    return true;
  }

  private batchApplied(batchId: number, refused: number[] | undefined): void {
    const tags = this.proposed.get(batchId)?.tags;
    if (!tags) return;
    this.proposed.delete(batchId);
    if (refused) this.events.enqueueRefused(refused.map((i) => tags[i]));
    this.events.enqueueConfirmed(this, refused ? tags.filter((_, i) => !refused.includes(i)) : tags);
  }

  /** Consumer `consumer` ("node/id") takes the next ready message from the live queue, if any (a checkout). */
  takeDelivery(consumer: string): { id: number; count: number; live: LiveQueue } | undefined {
    const live = this.live;
    if (!live) return undefined;
    const id = live.ready.shift();
    if (id === undefined) return undefined;
    live.out.set(id, consumer);
    this.propose(encodeCheckout(new Map([[consumer, [id]]])));
    return { id, count: live.counts.get(id) ?? 0, live };
  }

  /**
   * The consumer acked `id`, delivered by `live` (or, that live queue gone, by log id: only
   * a message this leader holds for that consumer); false when neither applies.
   */
  ack(live: LiveQueue, id: number, consumer: string): boolean {
    if (!this.takeBack(live, id, consumer)) return false;
    this.live!.counts.delete(id);
    this.proposeIds(CMD_SETTLE, [id]);
    return true;
  }

  /** The consumer rejected `id` with requeue: its delivery count grows and it is ready again. */
  requeue(live: LiveQueue, id: number, consumer: string): boolean {
    const byLogId = this.live !== live;
    if (!this.takeBack(live, id, consumer)) return false;
    const now = this.live!;
    // A held message its holder gave back: it may go to another consumer before the return commits.
    if (byLogId) this.checker.onRelease(now.term, id);
    now.counts.set(id, (now.counts.get(id) ?? 0) + 1);
    now.ready.push(id);
    this.proposeIds(CMD_RETURN, [id]);
    return true;
  }

  private takeBack(live: LiveQueue, id: number, consumer: string): boolean {
    const now = this.live;
    if (!now) return false;
    if (now === live) return now.out.delete(id);
    if (now.held.get(id) !== consumer) return false;
    now.held.delete(id);
    this.checker.onSettleByLogId();
    return true;
  }

  /** queue.purge: every ready message (not those out with consumers) is settled. */
  purge(): number {
    const live = this.live;
    if (!live || live.ready.length === 0) return 0;
    const ids = live.ready;
    live.ready = [];
    for (const id of ids) live.counts.delete(id);
    this.proposeIds(CMD_SETTLE, ids);
    return ids.length;
  }

  private propose(data: Buffer): void {
    if (this.raft) this.held.push(data);
  }

  private proposeIds(cmd: number, ids: number[]): void {
    if (!this.raft) return;
    this.held.push(encodeIds(cmd, ids));
    if (cmd === CMD_SETTLE) this.heldSettles.push(...ids);
  }

  private takeHeld(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.heldSettles = [];
    return held;
  }

  private dropHeld(): void {
    this.takeHeld();
  }

  /** The held commands as one entry (as QuorumGroup at a tick with no enqueue). */
  private proposeHeld(): void {
    const raft = this.raft;
    if (!raft || this.held.length === 0) return;
    const settles = this.heldSettles;
    const held = this.takeHeld();
    raft.apply(encodeWith(held.slice(0, -1), held[held.length - 1])).then(
      () => {
        if (settles.length > 0) this.events.settleConfirmed(settles);
      },
      // Lost settles and returns only cost a redelivery after failover.
      () => undefined,
    );
  }

  /** A leadership transfer, the held commands proposed first (QuorumGroup.handOver). */
  handOver(to: string | undefined): void {
    this.proposeHeld();
    this.raft?.leadershipTransfer(to).catch(() => undefined);
  }
}
