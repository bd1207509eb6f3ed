import type { Deque } from '../../util/deque';
import type { QueuedMessage } from '../ports';

/** One counter for every queue: only the order within a queue matters, and it is increasing. */
let nextSeq = 1;

/**
 * Gives an entry leaving the ready list its position in the queue's order, the first time only.
 * Ready lists hand out entries in queue order, so these positions follow it.
 */
export function markTaken(entry: QueuedMessage): void {
  if (!entry.seq) entry.seq = nextSeq++;
}

/**
 * Puts a requeued entry back where it was, as RabbitMQ restores each message at its original
 * position: the head of a ready list holds the requeued entries in queue order (seq ascending),
 * then the never delivered ones (seq 0). Rejecting 1, 2, 3 one by one brings back 1, 2, 3.
 * O(requeued entries ahead of it); a batch requeued newest first inserts at the head each time.
 */
export function putBack(items: Deque<QueuedMessage>, entry: QueuedMessage): void {
  const seq = entry.seq ?? 0;
  let i = 0;
  if (seq !== 0) {
    for (;;) {
      const ahead = items.at(i);
      if (ahead === undefined || !ahead.seq || ahead.seq > seq) break;
      i++;
    }
  }
  if (i === 0) items.unshift(entry);
  else items.insertAt(i, entry);
}
