/**
 * A new leader's live queue, filled from the replicated state. Inherited messages may have
 * been delivered by an earlier leader: they are marked redelivered, with x-delivery-count
 * when returned before. Those a consumer holds (a checkout in the log) stay its own while
 * its node is up (OwnedMessages) and go back to the queue at once otherwise; so do those a
 * consumer node reported holding whose checkout the log lacks (lost with the old leader). Bodies not held
 * in memory stay on disk: the live queue reads them when their turn comes. TTL counts from
 * the enqueue time in the log. Those dead-lettered at least once are listed for the
 * dead-letter worker.
 */
import { storedPriority } from '../../src/broker/queue/strict-priority-messages';
import type { QuorumFsm } from './quorum-fsm';
import { withDeliveryCount, type LiveQueue } from './live-queue';
import type { OwnedMessages } from './owned-messages';
import { ownerNode } from './quorum-codec';

export interface RestoreContext {
  /** This node (its own consumers' messages are held for them). */
  self: string;
  isUp(node: string): boolean;
  /** A message whose body is nowhere on this member: dropped (settled). */
  missing(id: number): void;
  /**
   * Messages held by no one that a consumer acked by log id before this leader was ready (a
   * delivery of the old leader whose checkout and ack both died with it): settled, not restored.
   */
  acked: ReadonlySet<number>;
  settle(id: number): void;
  /**
   * Messages a consumer node reported its consumers hold (owner key by log id): one the log
   * says no one holds (delivered by the old leader, its checkout lost with it) is held for
   * that consumer, and its checkout logged again, rather than delivered a second time.
   */
  claimed: ReadonlyMap<number, string>;
  checkout(owner: string, id: number): void;
}

export function restoreLive(
  fsm: QuorumFsm,
  live: LiveQueue,
  counts: Map<number, number>,
  owned: OwnedMessages,
  o: RestoreContext,
): { dead: number[]; returnNow: number[] } {
  const dead: number[] = [];
  const returnNow: number[] = [];
  let paged = false;
  for (const [id, m] of fsm.messages) {
    if (m.dead > 0) {
      dead.push(id);
      continue;
    }
    if (m.owner === undefined && o.acked.has(id)) {
      o.settle(id);
      continue;
    }
    if (m.deliveryCount > 0) counts.set(id, m.deliveryCount);
    const claim = m.owner === undefined ? o.claimed.get(id) : undefined;
    if (claim !== undefined && (ownerNode(claim) === o.self || o.isUp(ownerNode(claim)))) {
      owned.hold(claim, id);
      o.checkout(claim, id);
      continue;
    }
    if (m.owner !== undefined) {
      const node = ownerNode(m.owner);
      if (node === o.self || o.isUp(node)) owned.hold(m.owner, id);
      else returnNow.push(id);
      continue;
    }
    if (!m.message && m.place) paged = true;
    if (paged && live.restorePaged(id, m.size, m.message ? m.message.expirationMs : m.expirationMs, m.message ? storedPriority(m.message) : m.priority, m.enqueuedAt)) continue;
    const stored = fsm.read(id);
    if (!stored) {
      o.missing(id);
      continue;
    }
    stored.storeId = id;
    const message = m.deliveryCount > 0 ? withDeliveryCount(stored, m.deliveryCount) : stored;
    live.restore(message, m.enqueuedAt);
  }
  return { dead, returnNow };
}
