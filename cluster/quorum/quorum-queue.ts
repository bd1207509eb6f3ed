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
import { ResourceLocked } from '../../src/broker/errors';
import type { Consumer, FlowGate, GetResult, QueueCounts, QueuedMessage } from '../../src/broker/ports';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { RemoteEntry, RemoteQueueHost } from '../forward/remote-queue';
import { SETTLE_ACK, SETTLE_REJECT, SETTLE_REQUEUE } from '../forward/forward-codec';
import type { QuorumGroup } from './quorum-group';
import { GET_HOLDER, ownerKey } from './quorum-codec';
import type { QuorumNodeHost } from './quorum-holdings';
import { QuorumLeading } from './quorum-leading';

export interface QuorumQueueHost extends QuorumNodeHost {
  /** This node just became leader: tell the nodes that are not members. */
  announceLeader(queue: QuorumQueue): void;
  /** This node is not a member and knows no leader: ask the members (the leader announces itself). */
  askLeader(queue: QuorumQueue): void;
  /** The queue is gone here: forget it. */
  forget(queue: QuorumQueue): void;
}

/**
 * The quorum queue's QueueHandle, the top of its layers: quorum-holdings (shared state, what
 * this node's consumers hold), quorum-publishing, quorum-following, quorum-leading.
 */
export class QuorumQueue extends QuorumLeading {
  constructor(
    host: RemoteQueueHost,
    private readonly queueHost: QuorumQueueHost,
    vhost: string,
    def: QueueDefinition,
    /** This node's member of the Raft group; undefined when it is not a member. */
    member: QuorumGroup | undefined,
  ) {
    super(host, queueHost, vhost, def, member);
  }

  override get forwardsAlone(): boolean {
    return true;
  }

  get group(): QuorumGroup | undefined {
    return this.member;
  }

  get leading(): boolean {
    return this.live !== undefined;
  }

  /** The node leading the queue now, as this node knows it ('' while there is none). */
  get leaderNode(): string {
    return this.live ? this.qhost.nodeName : this.home;
  }

  protected override announceLeader(): void {
    this.queueHost.announceLeader(this);
  }

  protected override askLeader(): void {
    this.queueHost.askLeader(this);
  }

  // ---- QueueHandle ----

  override checkAvailable(): void {}

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
    this.queueHost.forget(this);
    void this.member?.close(true);
    return dropped;
  }

  /** A node went down: what its consumers held here goes back to the queue. */
  nodeDown(node: string): void {
    this.owned?.nodeDown(node);
  }
}
