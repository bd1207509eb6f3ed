/**
 * On a new leader, the messages the log says a consumer holds (checked out to it by an
 * earlier leader) whose node is still up: they are not ready and go to no other consumer.
 * They count as the queue's unacked messages; when their consumer re-attaches they count
 * against its prefetch, and its node settles them by log id (ack, reject, requeue). As in
 * RabbitMQ they stay with the consumer's channel when the consumer is cancelled (still
 * acknowledgeable), and return to the queue (a counted return, redelivered) when the channel
 * closes (its node requeues them by log id), when the consumer's node goes down or no longer
 * lists them, or when the consumer has not re-attached within `holdMs` (it no longer exists).
 * Messages got with manual ack (basic.get) are held for their node's get holder, which never
 * re-attaches: they wait for their channel's settle (or their node going down).
 */
import type { Consumer, QueuedMessage } from '../../src/broker/ports';
import { ProxyConsumer } from '../forward/proxy-consumer';
import { SETTLE_ACK, SETTLE_HOLDS, SETTLE_KEEP_ONLY, SETTLE_REJECT } from '../forward/forward-codec';
import { isGetHolder, ownerKey, ownerNode } from './quorum-codec';
import { withDeliveryCount, type LiveQueue } from './live-queue';
import type { QuorumFsm } from './quorum-fsm';

/** Message `id` as an entry delivered by `live` (body read from the member's state; TTL from its enqueue time), or undefined when gone. */
export function heldEntry(fsm: QuorumFsm, live: LiveQueue, id: number): QueuedMessage | undefined {
  const m = fsm.messages.get(id);
  const stored = m && fsm.read(id);
  if (!m || !stored) return undefined;
  stored.storeId = id;
  const message = m.deliveryCount > 0 ? withDeliveryCount(stored, m.deliveryCount) : stored;
  return { message, redelivered: true, expiresAtMs: live.expiryAt(message.expirationMs, m.enqueuedAt) };
}

/** Settles by log id waiting for a leader (bounded): a consumer node's own, or other nodes' while the live queue is built. */
export class PendingLogSettles {
  private list: { from: string; action: number; ids: number[] }[] = [];
  private count = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.list.length;
  }

  keep(from: string, action: number, ids: number[]): void {
    if (this.count + ids.length > this.max) return;
    this.count += ids.length;
    this.list.push({ from, action, ids });
  }

  take(): { from: string; action: number; ids: number[] }[] {
    const list = this.list;
    this.list = [];
    this.count = 0;
    return list;
  }
}

/** The log ids of a SETTLE_HOLDS list (pairs of log id and consumer id). */
export function heldIds(pairs: readonly number[]): number[] {
  const ids: number[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) ids.push(pairs[i]);
  return ids;
}

export class OwnedMessages {
  /** Held ids by owner key. */
  private readonly byOwner = new Map<string, Set<number>>();
  /** Owner key by held id. */
  private readonly owners = new Map<number, string>();
  /** Owners that re-attached, with their consumer (undefined once cancelled: the channel still holds their messages). */
  private readonly attached = new Map<string, Consumer | undefined>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly live: LiveQueue,
    private readonly fsm: QuorumFsm,
    /**
     * A consumer reports holding message `id`, which no one holds here: true when the leader
     * took it out of the ready messages for `owner` (and logged the checkout), false when it
     * cannot (delivered by this leader already, settled, or too late).
     */
    private readonly claim: (owner: string, id: number) => boolean = () => false,
  ) {}

  get size(): number {
    return this.owners.size;
  }

  has(id: number): boolean {
    return this.owners.has(id);
  }

  /** While the live queue is built: message `id` stays with `owner`. */
  hold(owner: string, id: number): void {
    let ids = this.byOwner.get(owner);
    if (!ids) this.byOwner.set(owner, (ids = new Set()));
    ids.add(id);
    this.owners.set(id, owner);
  }

  /** The live queue is built: held messages count as unacked; owners that do not come back in `holdMs` lose them. */
  start(holdMs: number): void {
    this.live.unackedCount += this.owners.size;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const owner of [...this.byOwner.keys()]) if (!this.attached.has(owner) && !isGetHolder(owner)) this.release(owner);
    }, holdMs);
    this.timer.unref?.();
  }

  /** A consumer attached to the live queue: what it holds counts against its prefetch. */
  attach(owner: string, consumer: Consumer): void {
    const ids = this.byOwner.get(owner);
    if (!ids) return;
    this.attached.set(owner, consumer);
    if (consumer instanceof ProxyConsumer) consumer.unacked += ids.size;
  }

  /** A consumer was cancelled: what it holds stays with its channel, but no longer counts against a consumer's prefetch. */
  detach(owner: string | undefined): void {
    if (owner !== undefined && this.attached.has(owner)) this.attached.set(owner, undefined);
  }

  /** Every owner on `node`: its node is down. */
  nodeDown(node: string): void {
    for (const owner of [...this.byOwner.keys()]) if (ownerNode(owner) === node) this.release(owner);
  }

  /**
   * Node `from` settles messages by log id (deliveries from an earlier leader): only those
   * held here for a consumer of that node; others were returned meanwhile (they will be
   * delivered again) or were never checked out in the log.
   */
  settle(from: string, action: number, ids: readonly number[]): void {
    if (action === SETTLE_KEEP_ONLY) return this.keepOnly(from, new Set(ids));
    if (action === SETTLE_HOLDS) return this.holds(from, ids);
    const entries: QueuedMessage[] = [];
    for (const id of ids) {
      const owner = this.owners.get(id);
      if (owner === undefined) {
        // Held by no one: delivered by the old leader, its checkout lost with it; if still ready, not delivered again.
        const m = action === SETTLE_ACK ? this.fsm.messages.get(id) : undefined;
        if (m && m.owner === undefined && m.dead === 0) this.live.ackedByLogId(id);
        continue;
      }
      if (ownerNode(owner) !== from) continue;
      this.forget(owner, id);
      const consumer = this.attached.get(owner);
      if (consumer instanceof ProxyConsumer && consumer.unacked > 0) consumer.unacked--;
      const e = heldEntry(this.fsm, this.live, id);
      if (e) entries.push(e);
      else if (this.live.unackedCount > 0) this.live.unackedCount--;
    }
    if (entries.length === 0) return;
    if (action === SETTLE_ACK || action === SETTLE_REJECT) this.live.settle(entries, action === SETTLE_REJECT);
    else this.live.requeue(entries);
    this.live.drain();
  }

  /**
   * Node `from` lists what its consumers hold (pairs of log id and consumer id): what is held
   * here for them and not listed goes back; what is listed and held by no one (delivered by
   * the old leader, its checkout lost with it) is held for its consumer if still ready.
   */
  private holds(from: string, pairs: readonly number[]): void {
    this.keepOnly(from, new Set(heldIds(pairs)));
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const id = pairs[i];
      if (this.owners.has(id)) continue;
      const owner = ownerKey(from, pairs[i + 1]);
      if (!this.claim(owner, id)) continue;
      this.hold(owner, id);
      const consumer = this.attached.get(owner);
      if (consumer instanceof ProxyConsumer) consumer.unacked++;
    }
  }

  /** Node `from` holds only `ids`: what is held here for its consumers and not among them never reached them. */
  private keepOnly(from: string, ids: ReadonlySet<number>): void {
    for (const [owner, held] of [...this.byOwner]) {
      if (ownerNode(owner) !== from) continue;
      const lost = [...held].filter((id) => !ids.has(id));
      if (lost.length > 0) this.release(owner, lost);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private forget(owner: string, id: number): void {
    this.owners.delete(id);
    const set = this.byOwner.get(owner);
    set?.delete(id);
    if (set?.size === 0) {
      this.byOwner.delete(owner);
      this.attached.delete(owner);
    }
  }

  /** Returns what `owner` holds (`only` those, else all) to the queue (counted, redelivered). */
  private release(owner: string, only?: number[]): void {
    const held = this.byOwner.get(owner);
    if (!held) return;
    const consumer = this.attached.get(owner);
    const ids = only ?? [...held];
    for (const id of ids) held.delete(id);
    if (held.size === 0) {
      this.byOwner.delete(owner);
      this.attached.delete(owner);
    }
    const entries: QueuedMessage[] = [];
    for (const id of ids) {
      this.owners.delete(id);
      const e = heldEntry(this.fsm, this.live, id);
      if (e) entries.push(e);
      else if (this.live.unackedCount > 0) this.live.unackedCount--;
    }
    if (consumer instanceof ProxyConsumer) consumer.unacked = Math.max(0, consumer.unacked - ids.length);
    if (entries.length > 0) this.live.requeue(entries);
  }
}
