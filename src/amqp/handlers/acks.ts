import { PreconditionFailed } from '../../broker/errors';
import { requeueAll, type ChannelState as Channel, type Settlement } from '../channel-state';

export type { Settlement };
import { groupByQueue } from '../../broker/queue/group-by-queue';


/** Applies ack / nack / reject; in a transaction, records it for tx.commit after checking the tag. */
export function settle(ch: Channel, s: Settlement): void {
  if (ch.tx) {
    if (!(s.multiple && s.deliveryTag === 0) && !ch.unacked.has(s.deliveryTag) && !ch.reclaimed?.has(s.deliveryTag)) throw unknownTag(s.deliveryTag);
    ch.tx.settlements.push(s);
    return;
  }
  settleDeliveries(ch, s);
}

export function settleDeliveries(ch: Channel, s: Settlement): void {
  let taken = ch.unacked.take(s.deliveryTag, s.multiple);
  if (!taken) {
    // A delivery returned to its queue by a consumer timeout: the late settle is ignored.
    if (!ch.reclaimed?.forget(s.deliveryTag, s.multiple)) throw unknownTag(s.deliveryTag);
    taken = s.multiple ? ch.unacked.takeUpTo(s.deliveryTag) : [];
    if (taken.length === 0) return;
  }
  for (const u of taken) if (u.consumer) u.consumer.unacked--;
  if (s.requeue === undefined) {
    ch.stats.ack += taken.length;
    ch.vhostStats.ack += taken.length;
  }
  if (s.requeue) {
    requeueAll(taken);
  } else {
    for (const [queue, entries] of groupByQueue(taken)) {
      queue.settle(entries, s.requeue === false);
      queue.drain();
    }
  }
  if (ch.globalPrefetch !== 0) ch.connection.drainChannelQueues(ch);
}

function unknownTag(tag: number) {
  return new PreconditionFailed(`unknown delivery tag ${tag}`);
}
