/** A quorum queue led by this node: leader changes, the live queue built from the log (and dropped when leadership goes), checkouts, messages held for earlier leaders' consumers, at-least-once dead lettering. */
import type { Message } from '../../src/broker/message';
import type { Consumer } from '../../src/broker/ports';
import { deliveryLimitOf } from '../../src/broker/queue/quorum-arguments';
import type { DeathReason } from '../../src/broker/queue/dead-letter';
import { RemoteConsumer } from '../forward/remote-queue';
import { ProxyConsumer } from '../forward/proxy-consumer';
import { SETTLE_ACK, SETTLE_HOLDS, SETTLE_KEEP_ONLY } from '../forward/forward-codec';
import { LiveQueue } from './live-queue';
import type { QuorumGroup } from './quorum-group';
import { livePagingStore } from './live-paging';
import { DeadLetterWorker } from './dead-letter-worker';
import { DEATH_REASONS, ownerKey, ownerNode } from './quorum-codec';
import { heldEntry, heldIds, OwnedMessages } from './owned-messages';
import { restoreLive } from './live-restore';
import { QuorumFollowing } from './quorum-following';

export abstract class QuorumLeading extends QuorumFollowing {
  protected readonly liveConsumers = new Set<Consumer>();
  private readonly liveCounts = new Map<number, number>();
  private readonly dlxIds = new Set<number>();
  /** Bumped on each leadership change, so a slow live-queue build does not outlive its term. */
  private epoch = 0;
  /** On a new leader, for its first moments: the ids it took from the ready messages (see claimReady). */
  protected takenSinceStart: Set<number> | undefined;

  /** This node just became leader: tell the nodes that are not members. */
  protected abstract announceLeader(): void;

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
      if (this.home === '' || !this.host.isUp(this.home)) this.askLeader();
      return;
    }
    this.member = group;
    if (group) group.onRefused = (messages, confirms, seqs, origins) => this.refused(messages, confirms, seqs, origins);
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
    this.announceLeader();
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

  protected stopDeadLettering(): void {
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
}
