/**
 * A quorum queue as one node sees it: the QueueHandle routing and the protocol handlers
 * use, on every node of the cluster. While this node leads the queue's Raft group it holds
 * the live queue (live-queue.ts) that consumers attach to and serves the other nodes as a
 * classic queue's home does; otherwise it is a RemoteQueue whose home is the current
 * leader. When the leader changes, consumers move with it without re-subscribing: this
 * node's consumers are attached to the new leader (or to the live queue built here) with
 * the same consumer ids, and the messages the log says they hold stay theirs (owned-messages.ts):
 * they settle them by log id on the new leader.
 */
import { NotFound, ResourceLocked } from '../../src/broker/errors';
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import type { ConfirmParts, Consumer, FlowGate, GetResult, QueueCounts, QueuedMessage } from '../../src/broker/ports';
import type { QueueHooks } from '../../src/broker/queue/queue';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import { RemoteConsumer, RemoteQueue, type RemoteEntry, type RemoteQueueHost } from '../forward/remote-queue';
import { ProxyConsumer } from '../forward/proxy-consumer';
import type { Logger } from '../../src/log/logger';
import { LiveQueue, withDeliveryCount } from './live-queue';
import type { QuorumGroup } from './quorum-group';
import { deliveryLimitOf } from '../../src/broker/queue/quorum-arguments';
import { livePagingStore } from './live-paging';
import type { Queue } from '../../src/broker/queue/queue';
import type { DeathReason } from '../../src/broker/queue/dead-letter';
import { DeadLetterWorker } from './dead-letter-worker';
import { DEATH_REASONS, GET_HOLDER, ownerKey, ownerNode } from './quorum-codec';
import { heldEntry, heldIds, OwnedMessages, PendingLogSettles } from './owned-messages';
import { ConsumerKeys } from './consumer-keys';
import { restoreLive } from './live-restore';
import { SETTLE_ACK, SETTLE_HOLDS, SETTLE_KEEP_ONLY, SETTLE_REJECT, SETTLE_REQUEUE } from '../forward/forward-codec';
import { Enqueuer } from './enqueuer';
import { partResend } from '../forward/resend-parts';
import { NackLog } from './nack-log';

/** How long declare-ok, get, consume and counts wait for a leader to be elected. */
const LEADER_WAIT_MS = 5000;
/** Publishes kept while the queue has no reachable leader, and for how long at most. */
const MAX_HELD_MESSAGES = 20_000;
const HOLD_MS = 5000;
/** How soon a publish refused during a leadership transfer is offered again. */
const REROUTE_RETRY_MS = 10;
/** How long a consumer following a new leader is offered to it again before it is cancelled, and how often. */
const REATTACH_MS = 15_000;
const REATTACH_RETRY_MS = 250;
/**
 * Settles sent by delivery id to the leader that a consumer node remembers (by log id), to
 * send again to the next leader: the old one may have died before committing them.
 */
const RECENT_SETTLES = 8192;
/** Settles by log id kept while no leader is reachable (consumer side) or while the live queue is built. */
const MAX_PENDING_LOG_SETTLES = 100_000;

interface HeldPublish {
  message: Message;
  confirm: ConfirmParts | undefined;
  seq: number;
}

export interface QuorumQueueHost {
  readonly nodeName: string;
  readonly log: Logger;
  /** The node is stopping gracefully: it has handed its leaders over and must not lead again. */
  readonly stopping: boolean;
  /** How long a new leader holds messages for a consumer (of a node still up) that has not re-attached (WARREN_QUORUM_REATTACH_HOLD_MS). */
  readonly reattachHoldMs: number;
  /** The live queue's hooks (dead lettering through the vhost, expiry); released is the queue's own. */
  hooksFor(vhost: string): Pick<QueueHooks, 'deadLetter' | 'expired'>;
  /** At-least-once dead lettering: routes through `queue`'s DLX, `done(true)` once every target confirmed. */
  deadLetterConfirmed(vhost: string, queue: Queue, message: Message, reason: DeathReason, done: (ok: boolean) => void): void;
  policyFor(vhost: string, name: string): Record<string, unknown> | undefined;
  /** This node just became leader: tell the nodes that are not members. */
  announceLeader(queue: QuorumQueue): void;
  /** Something membership reconciliation looks at changed (a leader elected here, a policy): reconcile soon. */
  reconcileSoon(): void;
  /** This node is not a member and knows no leader: ask the members (the leader announces itself). */
  askLeader(queue: QuorumQueue): void;
  /** The queue is gone here: forget it. */
  forget(queue: QuorumQueue): void;
}

export class QuorumQueue extends RemoteQueue {
  private live: LiveQueue | undefined;
  private readonly liveConsumers = new Set<Consumer>();
  private readonly liveCounts = new Map<number, number>();
  /** At-least-once dead lettering on the leader, and the ids it holds. */
  private dlx: DeadLetterWorker | undefined;
  private readonly dlxIds = new Set<number>();
  private leaderWaiters: (() => void)[] = [];
  private held: HeldPublish[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private policy: Record<string, unknown> | undefined;
  /** Bumped on each leadership change, so a slow live-queue build does not outlive its term. */
  private epoch = 0;
  /**
   * The leader (and its Raft term; 0 when learnt from an announcement) this node's consumers
   * are attached to. It stays while no leader is known: a member that missed a few heartbeats
   * (a loaded machine) starts a pre-vote and knows no leader until the next heartbeat of the
   * same leader, whose live queue, with this node's consumers and their deliveries, never
   * went away. Only a leader of another node or term means attaching them anew.
   */
  private attachedTo = '';
  private attachedTerm = 0;
  /** The log's key of each consumer (which consumer holds which message). */
  private readonly keys: ConsumerKeys;
  /** On the leader: messages held for consumers of earlier leaders. */
  private owned: OwnedMessages | undefined;
  /** On a new leader, for its first moments: the ids it took from the ready messages (see claimReady). */
  private takenSinceStart: Set<number> | undefined;
  /** Settles by log id waiting for a leader: this node's own (consumer side), or other nodes' while the live queue is built. */
  private readonly pendingLogSettles = new PendingLogSettles(MAX_PENDING_LOG_SETTLES);
  /**
   * On a consumer's node: log ids delivered to this node's consumers (with manual ack, by a
   * leader elsewhere or the live queue here) and not settled yet, with this node's id of the
   * consumer (see ConsumerKeys).
   */
  private readonly outstanding = new Map<number, number>();
  /** On a consumer's node: the last RECENT_SETTLES settles sent by delivery id (log id and action, a ring). */
  private readonly recentIds = new Float64Array(RECENT_SETTLES);
  private readonly recentActions = new Uint8Array(RECENT_SETTLES);
  private recentNext = 0;
  private recentCount = 0;
  /** This node's confirmed publishes to the leader, sent again to the next one when it goes. */
  private readonly enqueuer: Enqueuer;
  /** Nacks said on this node, counted by reason (logged at most once a second). */
  private readonly nacks: NackLog;

  constructor(
    host: RemoteQueueHost,
    private readonly qhost: QuorumQueueHost,
    vhost: string,
    def: QueueDefinition,
    /** This node's member of the Raft group; undefined when it is not a member. */
    private member: QuorumGroup | undefined,
  ) {
    super(host, vhost, def);
    this.keys = new ConsumerKeys(qhost.nodeName, () => host.newConsumerId());
    // Until a leader is known, the preferred leader is the best guess (for non-members).
    this.home = member ? '' : (def.ownerNode ?? '');
    this.attachedTo = this.home;
    this.policy = qhost.policyFor(vhost, def.name);
    this.nacks = new NackLog(qhost.log, def.name);
    this.enqueuer = new Enqueuer({
      nacked: (count, reason) => this.nacks.add(count, `enqueuer: ${reason}`),
      self: qhost.nodeName,
      target: () => (this.live ? qhost.nodeName : this.home !== '' && this.host.isUp(this.home) ? this.home : undefined),
      sendTo: (_node, message, parts, seq, origin) => super.forward(message, parts, seq, origin),
      takeLocal: (message, parts, seq, origin) => this.takeHere(message, parts, seq, origin),
    });
  }

  override get forwardsAlone(): boolean {
    return true;
  }

  get group(): QuorumGroup | undefined {
    return this.member;
  }

  /**
   * This node became a member (`group`) or stopped being one (undefined): a member removed
   * stops leading, closes its Raft server and deletes its data, and follows the leader.
   */
  setGroup(group: QuorumGroup | undefined): void {
    const old = this.member;
    if (old === group) return;
    if (!group && old) {
      const leader = old.raft?.leader()?.id ?? '';
      const term = old.raft?.stats().term ?? 0;
      this.epoch++;
      if (this.live) this.stepDown();
      this.member = undefined;
      void old.close(true);
      this.followLeader(leader === this.qhost.nodeName ? '' : leader, term);
      if (this.home === '' || !this.host.isUp(this.home)) this.qhost.askLeader(this);
      return;
    }
    this.member = group;
    if (group) group.onRefused = (messages, confirms, seqs, origins) => this.reroute(messages, confirms, seqs, origins, Date.now() + HOLD_MS);
  }

  /**
   * Publishes the group refused without appending them (a leadership transfer under way, or
   * this node just stopped leading) go to the next leader, or wait for it like publishes
   * without a leader, instead of being nacked; nacked only when no leader appears in time.
   */
  private reroute(messages: Message[], confirms: (ConfirmParts | undefined)[], seqs: number[], origins: (EnqueueOrigin | undefined)[], deadline: number): void {
    if (origins.length > 0) {
      // Those with an origin are sent again by their enqueuer, in its order, to the leader it knows.
      const rest: number[] = [];
      for (let i = 0; i < messages.length; i++) {
        const c = confirms[i];
        if (!origins[i]) rest.push(i);
        else if (c) partResend(c, seqs[i]);
      }
      messages = rest.map((i) => messages[i]);
      confirms = rest.map((i) => confirms[i]);
      seqs = rest.map((i) => seqs[i]);
      origins = [];
      if (messages.length === 0) return;
    }
    if (this.live && !this.deleted && Date.now() < deadline) {
      // Still leading: the transfer has not finished (or was given up); try again shortly.
      setTimeout(() => this.reroute(messages, confirms, seqs, origins, deadline), REROUTE_RETRY_MS).unref();
      return;
    }
    let nacked = 0;
    for (let i = 0; i < messages.length; i++) {
      const ok = !this.deleted && Date.now() < deadline + HOLD_MS && this.forward(messages[i], confirms[i], seqs[i]);
      if (!ok && confirms[i]) nacked++;
      confirms[i]?.partDone(seqs[i], ok);
    }
    this.nacks.add(nacked, 'refused during a handover, no origin, no leader in time');
  }

  get leading(): boolean {
    return this.live !== undefined;
  }

  /** The node leading the queue now, as this node knows it ('' while there is none). */
  get leaderNode(): string {
    return this.live ? this.qhost.nodeName : this.home;
  }

  get members(): string[] {
    return this.def.members ?? [];
  }

  // ---- leadership ----

  override get consumerHome(): string {
    return this.attachedTo;
  }

  /** The group's leader is now `leader` ('' while there is none), in Raft term `term`. */
  leaderChanged(leader: string, term = 0): void {
    if (this.deleted) return;
    this.qhost.log.info({ queue: this.name, leader, term }, 'quorum queue leader changed');
    const epoch = ++this.epoch;
    if (leader === this.qhost.nodeName) {
      // Elected again in a later term with no moment between (one Ready): the earlier term's
      // live queue goes, as it would have through a leader-unknown moment.
      if (this.live) this.stepDown();
      this.home = '';
      void this.becomeLeader(epoch);
      return;
    }
    if (this.live) this.stepDown();
    this.followLeader(leader, term);
  }

  /**
   * A node that is not a member learns the leader (and its term; 0 from an older node) from
   * its announcement; the same leader in a later term had its live queue built anew.
   */
  leaderAnnounced(leader: string, term = 0): void {
    if (this.member || this.deleted) return;
    if (leader === this.home && leader === this.attachedTo && (term === 0 || term === this.attachedTerm)) return;
    this.followLeader(leader, term);
  }

  private followLeader(leader: string, term = 0): void {
    const moved = leader !== this.home;
    this.home = leader;
    if (leader === '') return;
    if (moved) this.wakeLeaderWaiters();
    // The same leader in the same term (this node only lost sight of it for a while): its
    // consumers are still attached there, their deliveries buffered here still theirs. (An
    // announcement to a node that is not a member carries no term: 0 matches any.)
    if (leader === this.attachedTo && (term === this.attachedTerm || term === 0 || this.attachedTerm === 0)) {
      if (term !== 0) this.attachedTerm = term;
      if (moved && this.consumers.size > 0) this.qhost.log.info({ queue: this.name, leader, term }, 'quorum queue leader known again, same term: consumers stay attached');
      return;
    }
    this.attachedTo = leader;
    this.attachedTerm = term;
    // This node's consumers follow the leader: re-attached there with the same ids. What
    // their clients have not seen yet goes back, the settles sent to the old leader are sent
    // again by log id, and the leader learns what they still hold (what it holds for them
    // beyond that was lost on the way), before the consumes, on the same link.
    for (const rc of this.consumers.values()) this.unseen(rc);
    this.resendRecent();
    // (Sent even when empty: a get reply lost with the old leader leaves a message held for this node's get holder.)
    this.settleByLog(SETTLE_HOLDS, this.holds());
    const giveUpAt = Date.now() + REATTACH_MS;
    for (const rc of this.consumers.values()) {
      rc.creditOwed = 0;
      this.reattach(rc, leader, term, giveUpAt);
    }
  }

  /**
   * Asks `leader` to take consumer `rc`. A leader that is stopping, or was elected a moment
   * ago on a loaded machine, may not answer yet: asked again while it is up (a leader that
   * went down is followed by the next one), cancelled only when it keeps refusing.
   */
  private reattach(rc: RemoteConsumer, leader: string, term: number, giveUpAt: number): void {
    this.requestConsume(rc).catch((err: unknown) => {
      if (this.deleted || this.attachedTo !== leader || this.attachedTerm !== term || this.consumers.get(rc.consumer) !== rc) return;
      if (!this.host.isUp(leader)) return;
      if (Date.now() < giveUpAt) {
        setTimeout(() => this.reattach(rc, leader, term, giveUpAt), REATTACH_RETRY_MS).unref();
        return;
      }
      this.qhost.log.warn({ err, queue: this.name, leader }, 'consumer could not follow the quorum queue leader');
      this.cancelledByHome(rc);
    });
  }

  private async becomeLeader(epoch: number): Promise<void> {
    const group = this.member!;
    try {
      // Everything committed by earlier leaders is applied before the live queue is built.
      await group.barrier();
    } catch {
      return;
    }
    if (epoch !== this.epoch || this.deleted || !group.isLeader()) return;
    if (this.qhost.stopping) {
      // Elected again while the node stops (the member it handed over to was slow to take
      // over): handed on at once, rather than take publishes and leave with them unconfirmed.
      const to = this.members.find((m) => m !== this.qhost.nodeName && this.host.isUp(m));
      if (to) group.handOver(to).catch(() => undefined);
      return;
    }
    this.buildLive(group);
  }

  private buildLive(group: QuorumGroup): void {
    const hooks = this.qhost.hooksFor(this.vhost);
    const pages = livePagingStore(group, this.liveCounts, (id) => {
      this.liveCounts.delete(id);
      if (this.live) group.settle(id);
    });
    const live = new LiveQueue(
      this.vhost,
      this.def,
      {
        messageStore: pages,
        deadLetter: (q, m, r) => (m.storeId !== undefined && this.atLeastOnce() ? this.deadLetterAtLeastOnce(m.storeId, m.body.length, r) : hooks.deadLetter(q, m, r)),
        expired: (q) => hooks.expired(q),
        released: (_q, m) => this.released(m),
      },
      this.policy,
      {
        returned: (id) => this.returned(id),
        deliveryLimit: () => deliveryLimitOf(this.def.arguments, this.policy),
        checkedOut: (consumer, id) => this.checkedOut(consumer, id),
      },
      this.qhost.nodeName,
    );
    this.liveCounts.clear();
    const owned = new OwnedMessages(live, group.fsm, (owner, id) => this.claimReady(owner, id));
    // What this leader takes from the ready messages in its first moments: a consumer
    // reporting one of those as its own (the old leader's delivery) is too late for it.
    const taken = new Set<number>();
    this.takenSinceStart = taken;
    setTimeout(() => {
      if (this.takenSinceStart === taken) this.takenSinceStart = undefined;
    }, this.qhost.reattachHoldMs).unref();
    const self = this.qhost.nodeName;
    // Settles by log id that waited for this leader (this node's own, those it sent the old
    // leader by delivery id, and other nodes' sent during the build).
    this.resendRecent();
    const early = this.pendingLogSettles.take();
    const acked = new Set<number>();
    const settledEarly = new Set<number>();
    for (const p of early) if (p.action === SETTLE_ACK) for (const id of p.ids) acked.add(id);
    // What consumers report holding (this node's, and other nodes' that followed this leader
    // before its live queue was built): held for them even where the log lost the checkout.
    const claimed = new Map<number, string>();
    for (const p of early) {
      if (p.action !== SETTLE_HOLDS) continue;
      for (let i = 0; i + 1 < p.ids.length; i += 2) claimed.set(p.ids[i], ownerKey(p.from, p.ids[i + 1]));
    }
    for (const [id, consumerId] of this.outstanding) claimed.set(id, ownerKey(self, consumerId));
    const { dead, returnNow } = restoreLive(group.fsm, live, this.liveCounts, owned, {
      self,
      acked,
      claimed,
      checkout: (owner, id) => group.checkout(owner, id),
      settle: (id) => {
        acked.delete(id);
        settledEarly.add(id);
        group.settle(id);
      },
      isUp: (node) => this.host.isUp(node),
      missing: (id) => {
        this.qhost.log.error({ queue: this.name, id }, 'quorum queue message body missing on the new leader; dropped');
        group.settle(id);
      },
    });
    group.fsm.listener = (id, message) => {
      message.storeId = id;
      if (!live.enqueue(message)) this.member!.settle(id);
    };
    this.live = live;
    this.owned = owned;
    owned.start(this.qhost.reattachHoldMs);
    // Held by consumers of a node that is down (the old leader's): back to the queue, counted.
    if (returnNow.length > 0) {
      const entries = returnNow.map((id) => heldEntry(group.fsm, live, id)).filter((e) => e !== undefined);
      live.unackedCount += entries.length;
      live.requeue(entries);
    }
    this.dlx = new DeadLetterWorker({
      read: (id) => group.fsm.read(id),
      publish: (m, reason, done) => this.qhost.deadLetterConfirmed(this.vhost, live, m, reason, done),
      settle: (id) => {
        this.dlxIds.delete(id);
        if (this.live === live) group.settle(id);
      },
    });
    for (const id of dead) {
      const m = group.fsm.messages.get(id)!;
      this.dlxIds.add(id);
      this.dlx.add(id, DEATH_REASONS[m.dead - 1], m.size);
    }
    this.home = this.qhost.nodeName;
    this.attachedTo = '';
    this.attachedTerm = 0;
    // Consumers of this node attached to the old leader now consume here, keeping what they hold.
    for (const [consumer, rc] of [...this.consumers]) {
      this.consumers.delete(consumer);
      this.host.unregisterConsumer(rc);
      this.unseen(rc);
      this.keys.setId(consumer, rc.id);
      this.attachLive(consumer);
      owned.attach(ownerKey(self, rc.id), consumer);
    }
    for (const p of early) {
      if (p.action === SETTLE_HOLDS) owned.settle(p.from, SETTLE_KEEP_ONLY, heldIds(p.ids));
      else owned.settle(p.from, p.action, p.ids.filter((id) => !settledEarly.has(id)));
    }
    // What the log says this node's consumers hold and they do not (lost on the way from the old leader) goes back.
    owned.settle(self, SETTLE_KEEP_ONLY, [...this.outstanding.keys()]);
    this.wakeLeaderWaiters();
    this.qhost.announceLeader(this);
    this.qhost.reconcileSoon();
    // TTL counts from the enqueue time in the log: what expired meanwhile goes now.
    live.checkExpiry();
    live.drain();
    // A new queue whose first election another member won hands leadership to the preferred
    // leader (the queue leader locator's choice), if it is up.
    const preferred = this.def.ownerNode;
    if (group.fsm.nextId === 1 && preferred && preferred !== this.qhost.nodeName && this.host.isUp(preferred)) {
      group.handOver(preferred).catch(() => undefined);
    }
  }

  /** The live queue handed message `id` to `consumer` with manual ack: logged; one of this node's is outstanding here. */
  private checkedOut(consumer: Consumer, id: number): void {
    if (!(consumer instanceof ProxyConsumer)) this.outstanding.set(id, this.keys.idOf(consumer));
    this.takenSinceStart?.add(id);
    this.member!.checkout(this.keys.keyOf(consumer), id);
  }

  /**
   * A consumer node reports its consumer `owner` holds message `id`, which the log says no
   * one holds (the old leader delivered it; the checkout died with it): unless this leader
   * took it from the ready messages already, it stays ready no more but is held for that
   * consumer, the checkout logged again. Only in the leader's first moments (the hold time).
   */
  private claimReady(owner: string, id: number): boolean {
    const live = this.live;
    const taken = this.takenSinceStart;
    if (!live || !taken || taken.has(id) || this.dlxIds.has(id)) return false;
    const m = this.member!.fsm.messages.get(id);
    if (!m || m.owner !== undefined || m.dead !== 0) return false;
    const node = ownerNode(owner);
    if (node !== this.qhost.nodeName && !this.host.isUp(node)) return false;
    taken.add(id);
    live.holdReady(id);
    this.member!.checkout(owner, id);
    return true;
  }

  private stopDeadLettering(): void {
    this.dlx?.stop();
    this.dlx = undefined;
    this.dlxIds.clear();
  }

  private stepDown(): void {
    const live = this.live!;
    this.live = undefined;
    this.owned?.stop();
    this.owned = undefined;
    this.takenSinceStart = undefined;
    this.keys.clearKeys();
    this.stopDeadLettering();
    this.member!.fsm.listener = undefined;
    const consumers = [...this.liveConsumers];
    this.liveConsumers.clear();
    for (const c of consumers) live.removeConsumer(c);
    live.markDeleted();
    // Local channels' consumers move to the new leader; proxies are re-attached by their nodes.
    for (const c of consumers) {
      if (c instanceof ProxyConsumer) continue;
      // Registered now (with its id: the log's owner key), asked of the new leader by followLeader() once it is known.
      const rc = new RemoteConsumer(this.keys.idOf(c), c, this);
      this.consumers.set(c, rc);
      this.host.registerConsumer(rc);
    }
  }

  /** Deliveries a consumer of this node had buffered, unseen by its client, go back (by log id) when its leader changes. */
  private unseen(rc: RemoteConsumer): void {
    const ids: number[] = [];
    for (const e of rc.buffer.clear()) {
      if (e.deliveryId === 0 || e.logId === 0) continue;
      ids.push(e.logId);
      this.outstanding.delete(e.logId);
    }
    if (ids.length > 0) this.settleByLog(SETTLE_REQUEUE, ids);
  }

  /**
   * The settles this node sent the old leader by delivery id may have died with it: sent
   * again by log id (the new leader applies only those of messages it holds for this node's
   * consumers; a requeued message delivered here again since is not requeued twice).
   */
  private resendRecent(): void {
    const n = this.recentCount;
    if (n === 0) return;
    const byAction = new Map<number, number[]>();
    for (let k = 0; k < n; k++) {
      const at = (this.recentNext - n + k + RECENT_SETTLES) % RECENT_SETTLES;
      const id = this.recentIds[at];
      if (this.outstanding.has(id)) continue;
      const action = this.recentActions[at];
      const ids = byAction.get(action);
      if (ids) ids.push(id);
      else byAction.set(action, [id]);
    }
    this.recentCount = 0;
    for (const [action, ids] of byAction) this.settleByLog(action, ids);
  }

  /** A delivery with manual ack reached a consumer of this node (its log id and the consumer's id, see outstanding). */
  override received(logId: number, consumerId: number): void {
    this.outstanding.set(logId, consumerId);
  }

  /** What this node's consumers hold, as SETTLE_HOLDS lists it: pairs of log id and consumer id. */
  private holds(): number[] {
    const pairs: number[] = [];
    for (const [id, consumerId] of this.outstanding) pairs.push(id, consumerId);
    return pairs;
  }

  /**
   * This node settles messages by log id (deliveries of an earlier leader): on the live
   * queue here, sent to the leader, or kept until one is reachable.
   */
  private settleByLog(action: number, ids: number[]): void {
    if (this.owned) return this.owned.settle(this.qhost.nodeName, action, ids);
    const home = this.home;
    if (home !== '' && home !== this.qhost.nodeName && this.host.isUp(home)) return this.host.settleByLogId(home, action, this.vhost, this.name, ids);
    this.pendingLogSettles.keep(this.qhost.nodeName, action, ids);
  }

  /** This node's settles kept while no leader was reachable go to the leader now reachable (others' are dropped). */
  private sendPendingLogSettles(): void {
    const home = this.home;
    if (this.live || home === '' || home === this.qhost.nodeName || !this.host.isUp(home)) return;
    for (const p of this.pendingLogSettles.take()) if (p.from === this.qhost.nodeName) this.host.settleByLogId(home, p.action, this.vhost, this.name, p.ids);
  }

  /** Node `from` settles messages by log id (delivered by an earlier leader). */
  override settleByLogId(from: string, action: number, ids: number[]): void {
    if (this.owned) {
      this.owned.settle(from, action, ids);
      return;
    }
    // Elected, building the live queue: applied once it is built.
    if (this.member && this.home === '') this.pendingLogSettles.keep(from, action, ids);
  }

  private attachLive(consumer: Consumer): void {
    try {
      this.live!.addConsumer(consumer);
      this.liveConsumers.add(consumer);
    } catch {
      consumer.cancelledByQueue(this);
    }
  }

  /** x-dead-letter-strategy at-least-once, effective only with a DLX and overflow reject-publish (else at-most-once, as RabbitMQ). */
  private atLeastOnce(): boolean {
    const live = this.live;
    if (!live || live.config.deadLetterExchange === undefined || live.config.overflow !== 'reject-publish') return false;
    return (this.def.arguments['x-dead-letter-strategy'] ?? this.policy?.['dead-letter-strategy']) === 'at-least-once';
  }

  private deadLetterAtLeastOnce(id: number, bytes: number, reason: DeathReason): void {
    this.dlxIds.add(id);
    this.member!.deadLettered(id, reason);
    this.dlx!.add(id, reason, bytes);
  }

  private released(message: Message): void {
    const id = message.storeId;
    if (id === undefined || this.dlxIds.has(id)) return;
    this.takenSinceStart?.add(id);
    this.liveCounts.delete(id);
    if (this.live) this.member!.settle(id);
  }

  private returned(id: number): number {
    const n = (this.liveCounts.get(id) ?? 0) + 1;
    this.liveCounts.set(id, n);
    this.member!.returned(id);
    return n;
  }

  /** Publishes arriving while no leader is reachable wait (bounded) for the next one instead of being nacked. */
  override holdWhileAway(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    if (this.deleted || this.held.length >= MAX_HELD_MESSAGES) {
      if (confirm && !this.deleted) this.nacks.add(1, 'no leader reachable and the hold is full');
      return false;
    }
    confirm?.hold(seq);
    this.held.push({ message, confirm, seq });
    this.heldTimer ??= setTimeout(() => this.releaseHeld(false), HOLD_MS);
    return true;
  }

  /** Passes held publishes to the leader now reachable (or refuses them: no leader in time, deleted). */
  private releaseHeld(toLeader: boolean): void {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const held = this.held;
    this.held = [];
    for (const h of held) {
      let ok = false;
      if (toLeader && !this.deleted) ok = this.forward(h.message, h.confirm, h.seq);
      // One forwarded with its origin goes back to its enqueuer, which sends it to the leader it knows.
      if (!ok && h.message.origin && h.confirm && !this.deleted) partResend(h.confirm, h.seq);
      else {
        if (!ok && h.confirm) this.nacks.add(1, toLeader ? 'held while no leader, the leader refused it' : 'held while no leader, no origin, none in time');
        h.confirm?.partDone(h.seq, ok);
      }
    }
  }

  private wakeLeaderWaiters(): void {
    if (!this.deleted) this.enqueuer.leaderMoved();
    if (this.held.length > 0 && (this.live || this.host.isUp(this.home))) this.releaseHeld(true);
    if (this.pendingLogSettles.size > 0) this.sendPendingLogSettles();
    const w = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const f of w) f();
  }

  private async waitForLeader(): Promise<void> {
    if (this.live || (this.home !== '' && this.host.isUp(this.home))) return;
    if (!this.member) this.qhost.askLeader(this);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LEADER_WAIT_MS);
      this.leaderWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.live || (this.home !== '' && this.host.isUp(this.home))) return;
    throw new NotFound(`quorum queue '${this.name}' in vhost '${this.vhost}' has no leader: fewer than a majority of its members (${this.members.join(', ')}) are reachable`);
  }

  // ---- QueueHandle ----

  override checkAvailable(): void {}

  /**
   * A confirmed publish goes through this node's enqueuer (to the leader with its origin,
   * proposed here while this node leads; sent again to the next leader if the outcome is
   * lost with a leader, here or elsewhere). Otherwise: led here, proposed to the Raft
   * group; else forwarded to the leader (or held while there is none), one forwarded from
   * another node with its origin kept.
   */
  override forward(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    if (confirm && !message.origin && !this.deleted && this.enqueuer.send(message, confirm, seq)) return true;
    if (this.live) return this.takeHere(message, confirm, seq);
    return super.forward(message, confirm, seq, message.origin);
  }

  override takeHere(message: Message, confirm: ConfirmParts | undefined, seq: number, origin = message.origin): boolean {
    const live = this.live;
    if (!live || this.deleted) return false;
    // overflow reject-publish: refused at the limit (in-flight publishes may overshoot, as in
    // RabbitMQ); messages waiting for at-least-once dead lettering count.
    const dlxCount = this.dlx?.count ?? 0;
    const dlxBytes = this.dlx?.bytes ?? 0;
    if (live.config.overflow !== 'drop-head' && live.config.maxLength !== undefined && live.messageCount + dlxCount >= live.config.maxLength) return false;
    if (live.config.overflow !== 'drop-head' && live.config.maxLengthBytes !== undefined && live.messageBytes + dlxBytes + message.body.length > live.config.maxLengthBytes) return false;
    this.member!.enqueue(message, confirm, seq, origin);
    return true;
  }

  override async counts(): Promise<QueueCounts> {
    // Without a leader (a minority side), figures fall back to zero, as RabbitMQ's do.
    const led = await this.waitForLeader().then(
      () => true,
      () => false,
    );
    if (!led) return { messageCount: 0, consumerCount: 0, unackedCount: 0, messageBytes: 0 };
    if (this.live) return this.live.counts();
    return super.counts();
  }

  override get(noAck: boolean): Promise<GetResult | undefined> {
    return this.getFor(this.qhost.nodeName, noAck);
  }

  /**
   * basic.get for a channel of node `node`. With manual ack the message is checked out in the
   * log to that node's get holder (GET_HOLDER) until the channel settles it; on the getting
   * node it is outstanding (listed to a new leader, settled there by log id).
   */
  override async getFor(node: string, noAck: boolean): Promise<GetResult | undefined> {
    await this.waitForLeader();
    if (this.live) {
      if (this.live.config.singleActiveConsumer) {
        throw new ResourceLocked(`cannot obtain access to locked queue '${this.name}' in vhost '${this.vhost}'. basic.get operations are not supported by <<"quorum">> queues with single active consumer`);
      }
      const got = this.live.get(noAck);
      const id = got?.entry.message.storeId;
      if (got && id !== undefined) this.takenSinceStart?.add(id);
      if (got && !noAck && id !== undefined) {
        if (node === this.qhost.nodeName) this.outstanding.set(id, GET_HOLDER);
        this.member!.checkout(ownerKey(node, GET_HOLDER), id);
      }
      return got;
    }
    const got = await super.get(noAck);
    const logId = got ? (got.entry as RemoteEntry).logId : 0;
    if (!noAck && logId > 0) this.outstanding.set(logId, GET_HOLDER);
    return got;
  }

  override async addConsumer(consumer: Consumer): Promise<void> {
    await this.waitForLeader();
    if (this.live) {
      // A consumer of an earlier leader coming back (same node, same id) holds its messages
      // again: they count against its prefetch before anything is delivered to it.
      this.owned?.attach(this.keys.keyOf(consumer), consumer);
      this.live.addConsumer(consumer);
      this.liveConsumers.add(consumer);
      return;
    }
    return super.addConsumer(consumer);
  }

  override async removeConsumer(consumer: Consumer): Promise<boolean> {
    const key = this.keys.forget(consumer);
    if (this.liveConsumers.delete(consumer)) {
      this.live?.removeConsumer(consumer);
      // What it held from an earlier leader stays with its channel (acknowledgeable, as in
      // RabbitMQ): the channel settles it by log id, or requeues it so when it closes.
      this.owned?.detach(key);
      return false;
    }
    return super.removeConsumer(consumer);
  }

  override settle(entries: QueuedMessage[], rejected: boolean): void {
    this.settleEntries(entries, rejected ? SETTLE_REJECT : SETTLE_ACK);
  }

  override requeue(entries: QueuedMessage[]): void {
    this.settleEntries(entries, SETTLE_REQUEUE);
  }

  /**
   * Settles deliveries: those of the live queue here on it; those of the leader now (by
   * delivery id) through the forwarding path; those of an earlier leader (or an earlier
   * live queue here) by log id.
   */
  private settleEntries(entries: QueuedMessage[], action: number): void {
    const live = this.live;
    let here: QueuedMessage[] | undefined;
    let remote: QueuedMessage[] | undefined;
    let byLog: number[] | undefined;
    for (const e of entries) {
      const r = e as RemoteEntry;
      if (r.logId > 0) this.outstanding.delete(r.logId);
      if (r.deliveryId === undefined) {
        const id = e.message.storeId;
        if (id !== undefined) this.outstanding.delete(id);
        if (live && !(id !== undefined && this.owned?.has(id))) (here ??= []).push(e);
        else if (id !== undefined) (byLog ??= []).push(id);
      } else if (!live && r.from === this.consumerHome && this.host.isUp(r.from)) (remote ??= []).push(e);
      else if (r.deliveryId !== 0 && r.logId > 0) (byLog ??= []).push(r.logId);
    }
    if (here && live) {
      if (action === SETTLE_REQUEUE) live.requeue(here);
      else {
        live.settle(here, action === SETTLE_REJECT);
        live.drain();
      }
    }
    if (remote) {
      for (const e of remote) {
        this.recentIds[this.recentNext] = (e as RemoteEntry).logId;
        this.recentActions[this.recentNext] = action;
        this.recentNext = (this.recentNext + 1) % RECENT_SETTLES;
      }
      this.recentCount = Math.min(RECENT_SETTLES, this.recentCount + remote.length);
      if (action === SETTLE_REQUEUE) super.requeue(remote);
      else super.settle(remote, action === SETTLE_REJECT);
    }
    if (byLog) this.settleByLog(action, byLog);
  }

  override async purge(): Promise<number> {
    await this.waitForLeader();
    if (this.live) return this.live.purge();
    return super.purge();
  }

  override drain(): void {
    this.live?.drain();
    super.drain();
  }

  override flowGate(): FlowGate | undefined {
    if (this.live) return this.live.flowGate() ?? (this.member!.congested() ? this.group : undefined);
    return super.flowGate();
  }

  override touch(): void {
    this.live?.touch();
  }

  /** The policy applying to the queue (its definition), if any. */
  get policyDefinition(): Record<string, unknown> | undefined {
    return this.policy;
  }

  override applyPolicy(policy: Record<string, unknown> | undefined): void {
    this.policy = policy;
    this.live?.applyPolicy(policy);
    if (this.live) this.qhost.reconcileSoon();
  }

  override markDeleted(): number {
    const live = this.live;
    this.live = undefined;
    this.owned?.stop();
    this.owned = undefined;
    this.stopDeadLettering();
    this.liveConsumers.clear();
    this.outstanding.clear();
    const dropped = live ? live.markDeleted() : 0;
    super.markDeleted();
    this.releaseHeld(false);
    this.enqueuer.close();
    this.wakeLeaderWaiters();
    this.qhost.forget(this);
    void this.member?.close(true);
    return dropped;
  }

  /** The leader's node went down: consumers stay, waiting for the next leader (what they had not seen goes back to it). */
  override homeDown(): void {
    for (const rc of this.consumers.values()) this.unseen(rc);
  }

  /** A node went down: what its consumers held here goes back to the queue. */
  nodeDown(node: string): void {
    this.owned?.nodeDown(node);
  }
}
