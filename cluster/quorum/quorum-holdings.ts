/** A quorum queue's shared state, and its ownership side on a consumer's node: what this node's consumers hold (by log id), settles by log id, what is reported to a new leader. */
import type { QueuedMessage } from '../../src/broker/ports';
import type { QueueHooks } from '../../src/broker/queue/queue';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { Message } from '../../src/broker/message';
import type { Queue } from '../../src/broker/queue/queue';
import type { DeathReason } from '../../src/broker/queue/dead-letter';
import type { Logger } from '../../src/log/logger';
import { RemoteQueue, type RemoteConsumer, type RemoteEntry, type RemoteQueueHost } from '../forward/remote-queue';
import { SETTLE_ACK, SETTLE_REJECT, SETTLE_REQUEUE } from '../forward/forward-codec';
import type { LiveQueue } from './live-queue';
import type { QuorumGroup } from './quorum-group';
import type { DeadLetterWorker } from './dead-letter-worker';
import { PendingLogSettles, type OwnedMessages } from './owned-messages';
import { ConsumerKeys } from './consumer-keys';

/**
 * Settles sent by delivery id to the leader that a consumer node remembers (by log id), to
 * send again to the next leader: the old one may have died before committing them.
 */
const RECENT_SETTLES = 8192;
/** Settles by log id kept while no leader is reachable (consumer side) or while the live queue is built. */
const MAX_PENDING_LOG_SETTLES = 100_000;

/** What a quorum queue needs of its node (those calls that name the queue are in QuorumQueueHost, quorum-queue.ts). */
export interface QuorumNodeHost {
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
  /** Something membership reconciliation looks at changed (a leader elected here, a policy): reconcile soon. */
  reconcileSoon(): void;
}

/**
 * The first of the layers QuorumQueue is built of (quorum-holdings, quorum-publishing,
 * quorum-following, quorum-leading, quorum-queue, each extending the one before): the state
 * they share, and what this node's consumers hold.
 */
export abstract class QuorumHoldings extends RemoteQueue {
  protected live: LiveQueue | undefined;
  /** At-least-once dead lettering on the leader, and the ids it holds. */
  protected dlx: DeadLetterWorker | undefined;
  protected policy: Record<string, unknown> | undefined;
  /**
   * The leader (and its Raft term; 0 when learnt from an announcement) this node's consumers
   * are attached to. It stays while no leader is known: a member that missed a few heartbeats
   * (a loaded machine) starts a pre-vote and knows no leader until the next heartbeat of the
   * same leader, whose live queue, with this node's consumers and their deliveries, never
   * went away. Only a leader of another node or term means attaching them anew.
   */
  protected attachedTo = '';
  protected attachedTerm = 0;
  /** The log's key of each consumer (which consumer holds which message). */
  protected readonly keys: ConsumerKeys;
  /** On the leader: messages held for consumers of earlier leaders. */
  protected owned: OwnedMessages | undefined;
  /** Settles by log id waiting for a leader: this node's own (consumer side), or other nodes' while the live queue is built. */
  protected readonly pendingLogSettles = new PendingLogSettles(MAX_PENDING_LOG_SETTLES);
  /**
   * On a consumer's node: log ids delivered to this node's consumers (with manual ack, by a
   * leader elsewhere or the live queue here) and not settled yet, with this node's id of the
   * consumer (see ConsumerKeys).
   */
  protected readonly outstanding = new Map<number, number>();
  /** On a consumer's node: the last RECENT_SETTLES settles sent by delivery id (log id and action, a ring). */
  private readonly recentIds = new Float64Array(RECENT_SETTLES);
  private readonly recentActions = new Uint8Array(RECENT_SETTLES);
  private recentNext = 0;
  private recentCount = 0;

  constructor(
    host: RemoteQueueHost,
    protected readonly qhost: QuorumNodeHost,
    vhost: string,
    def: QueueDefinition,
    /** This node's member of the Raft group; undefined when it is not a member. */
    protected member: QuorumGroup | undefined,
  ) {
    super(host, vhost, def);
    this.keys = new ConsumerKeys(qhost.nodeName, () => host.newConsumerId());
    // Until a leader is known, the preferred leader is the best guess (for non-members).
    this.home = member ? '' : (def.ownerNode ?? '');
    this.attachedTo = this.home;
    this.policy = qhost.policyFor(vhost, def.name);
  }

  get members(): string[] {
    return this.def.members ?? [];
  }

  /** Deliveries a consumer of this node had buffered, unseen by its client, go back (by log id) when its leader changes. */
  protected unseen(rc: RemoteConsumer): void {
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
  protected resendRecent(): void {
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
  protected holds(): number[] {
    const pairs: number[] = [];
    for (const [id, consumerId] of this.outstanding) pairs.push(id, consumerId);
    return pairs;
  }

  /**
   * This node settles messages by log id (deliveries of an earlier leader): on the live
   * queue here, sent to the leader, or kept until one is reachable.
   */
  protected settleByLog(action: number, ids: number[]): void {
    if (this.owned) return this.owned.settle(this.qhost.nodeName, action, ids);
    const home = this.home;
    if (home !== '' && home !== this.qhost.nodeName && this.host.isUp(home)) return this.host.settleByLogId(home, action, this.vhost, this.name, ids);
    this.pendingLogSettles.keep(this.qhost.nodeName, action, ids);
  }

  /** This node's settles kept while no leader was reachable go to the leader now reachable (others' are dropped). */
  protected sendPendingLogSettles(): void {
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

  /**
   * Settles deliveries: those of the live queue here on it; those of the leader now (by
   * delivery id) through the forwarding path; those of an earlier leader (or an earlier
   * live queue here) by log id.
   */
  protected settleEntries(entries: QueuedMessage[], action: number): void {
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
}
