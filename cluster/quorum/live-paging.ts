/**
 * The paging store of a quorum queue's live queue (src/broker/queue/paged-messages.ts):
 * bodies come from the member's replicated state (memory, or its body store on disk), with
 * x-delivery-count for a message returned before; what a purge drops unread is settled in
 * the log through `settle`.
 */
import type { PagingStore } from '../../src/broker/queue/paged-messages';
import { routingBlob } from '../../src/broker/routing-blob';
import { withDeliveryCount } from './live-queue';
import type { QuorumGroup } from './quorum-group';

export function livePagingStore(group: QuorumGroup, deliveryCounts: ReadonlyMap<number, number>, settle: (id: number) => void): PagingStore {
  return {
    read: (id) => {
      const stored = group.fsm.read(id);
      if (!stored) return undefined;
      const count = deliveryCounts.get(id) ?? 0;
      const m = count > 0 ? withDeliveryCount(stored, count) : stored;
      return { routing: routingBlob(m), properties: m.rawProperties, body: m.body };
    },
    ack: (_queue, id) => {
      settle(id);
      return 0;
    },
    ackMany: (_queue, ids) => {
      for (const id of ids) settle(id);
      return 0;
    },
  };
}
