import type { QueueCounts, QueueHandle } from '../ports';

/** A queue's counts as its home gives them, or undefined when the home is down or does not answer. */
export async function countsIfAvailable(q: QueueHandle): Promise<QueueCounts | undefined> {
  try {
    q.checkAvailable();
    return await q.counts();
  } catch {
    return undefined;
  }
}
