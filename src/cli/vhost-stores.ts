import { join } from 'node:path';
import type { Broker } from '../broker/broker';
import { Message } from '../broker/message';
import { Queue } from '../broker/queue/queue';
import { parseRoutingBlob } from '../broker/routing-blob';
import { logger } from '../log/logger';
import { openSegmentStore, type SegmentMessageStore } from '../store/segment-store';

export interface VhostStores {
  recoveredMessages: number;
  /** True while any store cannot write for lack of space. */
  readonly stalled: boolean;
  /** Called whenever `stalled` may have changed (set by the node: the disk alarm follows it). */
  onStallChange: ((stalled: boolean) => void) | undefined;
  close(): Promise<void>;
}

/**
 * Opens one message store per vhost under `dir` and puts the recovered messages back
 * into their durable queues (marked redelivered). Messages of queues that no longer exist
 * are dropped from the store.
 */
export async function openVhostStores(broker: Broker, dir: string, storeOptions: { cacheMaxBytes: number; statsIntervalMs: number | undefined }): Promise<VhostStores> {
  const stores: SegmentMessageStore[] = [];
  let recoveredMessages = 0;
  const result: VhostStores = {
    recoveredMessages: 0,
    get stalled() {
      return stores.some((s) => s.stalled);
    },
    onStallChange: undefined,
    async close() {
      for (const s of stores) await s.close();
    },
  };
  const watch = (store: SegmentMessageStore) => {
    stores.push(store);
    store.onStall(() => result.onStallChange?.(result.stalled));
  };
  for (const vhost of broker.vhosts.values()) {
    const store = await openSegmentStore({ dir: join(dir, encodeURIComponent(vhost.name)), ...storeOptions });
    watch(store);
    // Attached first: queues past their paging limit page restored messages out to it.
    vhost.attachStore(store);
    for (const [queueName, ids] of store.recovery.queues) {
      const queue = vhost.queues.get(queueName);
      if (!(queue instanceof Queue) || !queue.def.durable) {
        store.deleteQueue(queueName);
        continue;
      }
      // No map of every recovered message: a queue past its paging limit keeps only ids,
      // and a message in several queues still shares its bytes through the store's cache.
      for (const id of ids) {
        let stored;
        try {
          stored = store.read(id);
        } catch (err) {
          // Damaged on disk after the recovery scan checked it: never deliver it.
          logger.error({ err, vhost: vhost.name, queue: queueName, id }, 'recovered message unreadable; dropped');
          store.ack(queueName, id);
          continue;
        }
        if (!stored) continue;
        const { exchange, routingKey } = parseRoutingBlob(stored.routing);
        const message = new Message(exchange, routingKey, stored.properties, stored.body);
        message.storeId = id;
        queue.restore(message);
        recoveredMessages++;
      }
    }
    if (store.recovery.truncatedBytes > 0 || store.recovery.corruptRegions > 0) {
      logger.warn({ vhost: vhost.name, truncatedBytes: store.recovery.truncatedBytes, corruptRegions: store.recovery.corruptRegions }, 'message store recovered with damage');
    }
  }
  broker.onVhostAdded = async (vhost) => {
    const store = await openSegmentStore({ dir: join(dir, encodeURIComponent(vhost.name)), ...storeOptions });
    watch(store);
    vhost.attachStore(store);
  };
  result.recoveredMessages = recoveredMessages;
  return result;
}
