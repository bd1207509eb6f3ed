import { PreconditionFailed } from '../../broker/errors';
import type { Queue } from '../../broker/queue/queue';
import type { Channel } from '../channel';
import { requeueAll } from '../channel';

/** A basic.ack (requeue undefined) or basic.nack/reject (requeue set). */
export interface Settlement {
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean | undefined;
}

/** Applies ack / nack / reject; in a transaction, records it for tx.commit after checking the tag. */
export function settle(ch: Channel, s: Settlement): void {
  if (ch.tx) {
    if (!(s.multiple && s.deliveryTag === 0) && !ch.unacked.has(s.deliveryTag)) throw unknownTag(s.deliveryTag);
    ch.tx.settlements.push(s);
    return;
  }
  settleDeliveries(ch, s);
}

export function settleDeliveries(ch: Channel, s: Settlement): void {
  const taken = ch.unacked.take(s.deliveryTag, s.multiple);
  if (!taken) throw unknownTag(s.deliveryTag);
  const touched = new Set<Queue>();
  for (const u of taken) {
    if (u.consumer) u.consumer.unacked--;
    touched.add(u.queue);
  }
  if (s.requeue) {
    requeueAll(taken);
  } else {
    const rejected = s.requeue === false;
    for (const u of taken) u.queue.settle(u.entry, rejected);
  }
  for (const q of touched) q.drain();
  if (ch.globalPrefetch !== 0) ch.connection.drainChannelQueues(ch);
}

function unknownTag(tag: number) {
  return new PreconditionFailed(`unknown delivery tag ${tag}`);
}
