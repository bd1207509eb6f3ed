/**
 * A quorum queue as one node sees it: the QueueHandle routing and the protocol handlers
 * use, on every node of the cluster. While this node leads the queue's Raft group it holds
 * the live queue (live-queue.ts) that consumers attach to and serves the other nodes as a
 * classic queue's home does; otherwise it is a RemoteQueue whose home is the current
 * leader. When the leader changes, consumers move with it without re-subscribing: this
 * node's consumers are attached to the new leader (or to the live queue built here), and
 * their unsettled deliveries from the old leader are redelivered by the new one.
 */
import { NotFound, ResourceLocked } from '../../src/broker/errors';
import type { Message } from '../../src/broker/message';
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
import { DEATH_REASONS } from './quorum-codec';

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

  constructor(
    host: RemoteQueueHost,
    private readonly qhost: QuorumQueueHost,
    vhost: string,
    def: QueueDefinition,
    /** This node's member of the Raft group; undefined when it is not a member. */
    private member: QuorumGroup | undefined,
  ) {
    super(host, vhost, def);
    // Until a leader is known, the preferred leader is the best guess (for non-members).
    this.home = member ? '' : (def.ownerNode ?? '');
    this.attachedTo = this.home;
    this.policy = qhost.policyFor(vhost, def.name);
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
    if (group) group.onRefused = (messages, confirms, seqs) => this.reroute(messages, confirms, seqs, Date.now() + HOLD_MS);
  }

  /**
   * Publishes the group refused without appending them (a leadership transfer under way, or
   * this node just stopped leading) go to the next leader, or wait for it like publishes
   * without a leader, instead of being nacked; nacked only when no leader appears in time.
   */
  private reroute(messages: Message[], confirms: (ConfirmParts | undefined)[], seqs: number[], deadline: number): void {
    if (this.live && !this.deleted && Date.now() < deadline) {
      // Still leading: the transfer has not finished (or was given up); try again shortly.
      setTimeout(() => this.reroute(messages, confirms, seqs, deadline), REROUTE_RETRY_MS).unref();
      return;
    }
    for (let i = 0; i < messages.length; i++) {
      const ok = !this.deleted && Date.now() < deadline + HOLD_MS && this.forward(messages[i], confirms[i], seqs[i]);
      confirms[i]?.partDone(seqs[i], ok);
    }
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
    const epoch = ++this.epoch;
    if (leader === this.qhost.nodeName) {
      this.home = '';
      void this.becomeLeader(epoch);
      return;
    }
    if (this.live) this.stepDown();
    this.followLeader(leader, term);
  }

  /** A node that is not a member learns the leader from its announcement. */
  leaderAnnounced(leader: string): void {
    if (this.member || this.deleted || leader === this.home) return;
    this.followLeader(leader);
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
    // This node's consumers follow the leader: re-attached there with the same ids.
    const giveUpAt = Date.now() + REATTACH_MS;
    for (const rc of this.consumers.values()) {
      rc.buffer.clear();
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
      if (to) group.raft?.leadershipTransfer(to).catch(() => undefined);
      return;
    }
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
      { returned: (id) => this.returned(id), deliveryLimit: () => deliveryLimitOf(this.def.arguments, this.policy) },
      this.qhost.nodeName,
    );
    this.liveCounts.clear();
    const dead: number[] = [];
    // Inherited messages may have been delivered by an earlier leader: marked redelivered.
    // Bodies not held in memory stay on disk: the live queue reads them when their turn comes.
    // Those dead-lettered at least once go on to their dead-letter targets.
    let paged = false;
    for (const [id, m] of group.fsm.messages) {
      if (m.dead > 0) {
        dead.push(id);
        continue;
      }
      if (m.deliveryCount > 0) this.liveCounts.set(id, m.deliveryCount);
      if (!m.message && m.place) paged = true;
      if (paged && live.restorePaged(id, m.size, m.message ? m.message.expirationMs : m.expirationMs, m.message ? m.message.priority : m.priority)) continue;
      const stored = group.fsm.read(id);
      if (!stored) {
        this.qhost.log.error({ queue: this.name, id }, 'quorum queue message body missing on the new leader; dropped');
        group.settle(id);
        continue;
      }
      stored.storeId = id;
      const message = m.deliveryCount > 0 ? withDeliveryCount(stored, m.deliveryCount) : stored;
      live.restore(message);
    }
    group.fsm.listener = (id, message) => {
      message.storeId = id;
      if (!live.enqueue(message)) this.member!.settle(id);
    };
    this.live = live;
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
    // Consumers of this node attached to the old leader now consume here.
    for (const [consumer, rc] of [...this.consumers]) {
      this.consumers.delete(consumer);
      this.host.unregisterConsumer(rc);
      this.attachLive(consumer);
    }
    this.wakeLeaderWaiters();
    this.qhost.announceLeader(this);
    this.qhost.reconcileSoon();
    live.drain();
    // A new queue whose first election another member won hands leadership to the preferred
    // leader (the queue leader locator's choice), if it is up.
    const preferred = this.def.ownerNode;
    if (group.fsm.nextId === 1 && preferred && preferred !== this.qhost.nodeName && this.host.isUp(preferred)) {
      group.raft?.leadershipTransfer(preferred).catch(() => undefined);
    }
  }

  private stopDeadLettering(): void {
    this.dlx?.stop();
    this.dlx = undefined;
    this.dlxIds.clear();
  }

  private stepDown(): void {
    const live = this.live!;
    this.live = undefined;
    this.stopDeadLettering();
    this.member!.fsm.listener = undefined;
    const consumers = [...this.liveConsumers];
    this.liveConsumers.clear();
    for (const c of consumers) live.removeConsumer(c);
    live.markDeleted();
    // Local channels' consumers move to the new leader; proxies are re-attached by their nodes.
    for (const c of consumers) {
      if (c instanceof ProxyConsumer) continue;
      // Registered now, asked of the new leader by followLeader() once it is known.
      const rc = new RemoteConsumer(this.host.newConsumerId(), c, this);
      this.consumers.set(c, rc);
      this.host.registerConsumer(rc);
    }
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
    if (this.deleted || this.held.length >= MAX_HELD_MESSAGES) return false;
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
      h.confirm?.partDone(h.seq, ok);
    }
  }

  private wakeLeaderWaiters(): void {
    if (this.held.length > 0 && (this.live || this.host.isUp(this.home))) this.releaseHeld(true);
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

  /** Led here: proposed to the Raft group; otherwise forwarded to the leader (or held while there is none). */
  override forward(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    if (this.live) return this.takeHere(message, confirm, seq);
    return super.forward(message, confirm, seq);
  }

  override takeHere(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    const live = this.live;
    if (!live || this.deleted) return false;
    // overflow reject-publish: refused at the limit (in-flight publishes may overshoot, as in
    // RabbitMQ); messages waiting for at-least-once dead lettering count.
    const dlxCount = this.dlx?.count ?? 0;
    const dlxBytes = this.dlx?.bytes ?? 0;
    if (live.config.overflow !== 'drop-head' && live.config.maxLength !== undefined && live.messageCount + dlxCount >= live.config.maxLength) return false;
    if (live.config.overflow !== 'drop-head' && live.config.maxLengthBytes !== undefined && live.messageBytes + dlxBytes + message.body.length > live.config.maxLengthBytes) return false;
    this.member!.enqueue(message, confirm, seq);
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

  override async get(noAck: boolean): Promise<GetResult | undefined> {
    await this.waitForLeader();
    if (this.live) {
      if (this.live.config.singleActiveConsumer) {
        throw new ResourceLocked(`cannot obtain access to locked queue '${this.name}' in vhost '${this.vhost}'. basic.get operations are not supported by <<"quorum">> queues with single active consumer`);
      }
      return this.live.get(noAck);
    }
    return super.get(noAck);
  }

  override async addConsumer(consumer: Consumer): Promise<void> {
    await this.waitForLeader();
    if (this.live) {
      this.live.addConsumer(consumer);
      this.liveConsumers.add(consumer);
      return;
    }
    return super.addConsumer(consumer);
  }

  override async removeConsumer(consumer: Consumer): Promise<boolean> {
    if (this.liveConsumers.delete(consumer)) {
      this.live?.removeConsumer(consumer);
      return false;
    }
    return super.removeConsumer(consumer);
  }

  override settle(entries: QueuedMessage[], rejected: boolean): void {
    if (entries.length > 0 && (entries[0] as RemoteEntry).deliveryId !== undefined) return super.settle(entries, rejected);
    this.live?.settle(entries, rejected);
    this.live?.drain();
  }

  override requeue(entries: QueuedMessage[]): void {
    if (entries.length > 0 && (entries[0] as RemoteEntry).deliveryId !== undefined) return super.requeue(entries);
    this.live?.requeue(entries);
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
    this.stopDeadLettering();
    this.liveConsumers.clear();
    const dropped = live ? live.markDeleted() : 0;
    super.markDeleted();
    this.releaseHeld(false);
    this.wakeLeaderWaiters();
    this.qhost.forget(this);
    void this.member?.close(true);
    return dropped;
  }

  /** The leader's node went down: consumers stay, waiting for the next leader. */
  override homeDown(): void {
    for (const rc of this.consumers.values()) rc.buffer.clear();
  }
}
