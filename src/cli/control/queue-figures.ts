import type { QueueCounts, QueueHandle } from '../../broker/ports';
import type { VirtualHost } from '../../broker/vhost';
import { countsIfAvailable } from '../../broker/queue/counts-if-available';

/** A queue's figures from its home, and whether that home answered. */
export interface QueueFigures extends QueueCounts {
  state: 'running' | 'down';
}

const DOWN: QueueFigures = { messageCount: 0, consumerCount: 0, unackedCount: 0, messageBytes: 0, state: 'down' };

/** The figures of one queue, asked of its home (through the mesh when it is another node). */
export async function queueFigures(q: QueueHandle): Promise<QueueFigures> {
  const counts = await countsIfAvailable(q);
  return counts ? { ...counts, state: 'running' } : DOWN;
}

/** The figures of every queue of a vhost: local ones directly, remote ones with one request per home. */
export async function vhostQueueFigures(v: VirtualHost): Promise<Map<QueueHandle, QueueFigures>> {
  const remote = v.remote ? await v.remote.remoteCounts(v.name) : new Map<string, QueueCounts>();
  const figures = new Map<QueueHandle, QueueFigures>();
  for (const q of v.queues.values()) {
    if (q.isLocal) figures.set(q, await queueFigures(q));
    else {
      const counts = remote.get(q.name);
      figures.set(q, counts ? { ...counts, state: 'running' } : DOWN);
    }
  }
  return figures;
}

/** Ready plus unacknowledged messages of a vhost. */
export async function vhostMessages(v: VirtualHost): Promise<number> {
  let n = 0;
  for (const f of (await vhostQueueFigures(v)).values()) n += f.messageCount + f.unackedCount;
  return n;
}
