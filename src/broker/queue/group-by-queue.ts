import type { QueueHandle, QueuedMessage } from '../ports';

/** Deliveries grouped by their queue, each group in the order given (requeue and settle per queue). */
export function groupByQueue(items: { queue: QueueHandle; entry: QueuedMessage }[]): Map<QueueHandle, QueuedMessage[]> {
  const grouped = new Map<QueueHandle, QueuedMessage[]>();
  for (const d of items) {
    const list = grouped.get(d.queue);
    if (list) list.push(d.entry);
    else grouped.set(d.queue, [d.entry]);
  }
  return grouped;
}
