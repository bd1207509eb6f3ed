/**
 * A home's record of what it delivered to other nodes: the proxies of their consumers, and
 * every message delivered with manual ack (to a consumer or a basic.get) not yet settled,
 * by node and delivery id. Settlements from a node are applied to the home queue; when a
 * node goes down, its consumers are removed and its unsettled messages requeued, as
 * RabbitMQ does for a channel that closes.
 */
import type { QueueHandle, QueuedMessage } from '../../src/broker/ports';
import { groupByQueue } from '../../src/broker/queue/group-by-queue';
import { CANCEL_BYTES, deliveryBytes, SETTLE_REJECT, SETTLE_REQUEUE, writeCancelAt, writeDeliveryAt } from './forward-codec';
import type { FrameBatch } from './frame-batch';
import type { ProxyConsumer, ProxyHost } from './proxy-consumer';

interface Delivered {
  queue: QueueHandle;
  entry: QueuedMessage;
  consumer: ProxyConsumer | undefined;
}

export interface DeliveriesHost {
  isUp(node: string): boolean;
  /** The batch of deliveries (and cancels, which must not overtake them) to a node. */
  deliveries(node: string): FrameBatch;
  /** A consumer removed left an auto-delete queue without consumers. */
  autoDelete(queue: QueueHandle): void;
}

export class HomeDeliveries implements ProxyHost {
  private nextDeliveryId = 1;
  private readonly proxies = new Map<string, Map<number, ProxyConsumer>>();
  private readonly unsettled = new Map<string, Map<number, Delivered>>();

  constructor(private readonly host: DeliveriesHost) {}

  isUp(node: string): boolean {
    return this.host.isUp(node);
  }

  addProxy(proxy: ProxyConsumer): void {
    let m = this.proxies.get(proxy.node);
    if (!m) this.proxies.set(proxy.node, (m = new Map()));
    m.set(proxy.consumerId, proxy);
  }

  proxy(node: string, consumerId: number): ProxyConsumer | undefined {
    return this.proxies.get(node)?.get(consumerId);
  }

  /** Removes a proxy from its queue (basic.cancel or channel closed on its node). */
  async removeProxy(node: string, consumerId: number): Promise<void> {
    const proxy = this.proxies.get(node)?.get(consumerId);
    if (!proxy) return;
    this.proxies.get(node)!.delete(consumerId);
    await this.removeProxyOf(proxy);
  }

  /**
   * A consumer node attaches a consumer again under an id that has a proxy here (it followed
   * a quorum queue's leader back to this node, or asked again after getting no answer): the
   * old proxy goes, and what was delivered through it and not settled is requeued (the
   * consumer node dropped it when it re-attached), not left held by a proxy nobody settles.
   */
  async replaceProxy(node: string, consumerId: number): Promise<void> {
    const old = this.proxies.get(node)?.get(consumerId);
    if (!old) return;
    await this.removeProxy(node, consumerId);
    const m = this.unsettled.get(node);
    if (!m) return;
    const taken: Delivered[] = [];
    for (const [id, d] of m) {
      if (d.consumer !== old) continue;
      m.delete(id);
      taken.push(d);
    }
    this.apply(taken, SETTLE_REQUEUE);
  }

  /** Records a message handed to a node with manual ack; returns its delivery id. */
  track(node: string, queue: QueueHandle, entry: QueuedMessage, consumer: ProxyConsumer | undefined): number {
    const id = this.nextDeliveryId;
    this.nextDeliveryId = id >= 0xffffffff ? 1 : id + 1;
    let m = this.unsettled.get(node);
    if (!m) this.unsettled.set(node, (m = new Map()));
    m.set(id, { queue, entry, consumer });
    return id;
  }

  deliver(proxy: ProxyConsumer, queue: QueueHandle, entry: QueuedMessage): void {
    let id = 0;
    if (!proxy.noAck) {
      proxy.unacked++;
      id = this.track(proxy.node, queue, entry, proxy);
    }
    const batch = this.host.deliveries(proxy.node);
    const at = batch.reserve(deliveryBytes(entry.message));
    // A quorum queue's message carries its log id (a later leader settles it by that).
    const logId = queue.def.quorumGroup !== undefined ? (entry.message.storeId ?? 0) : 0;
    writeDeliveryAt(batch.buffer, at, proxy.consumerId, id, entry.redelivered, logId, entry.message);
  }

  /** The queue cancelled a proxy (deleted): its node is told, and the proxy forgotten. */
  cancelled(proxy: ProxyConsumer): void {
    this.proxies.get(proxy.node)?.delete(proxy.consumerId);
    if (!this.host.isUp(proxy.node)) return;
    const batch = this.host.deliveries(proxy.node);
    const at = batch.reserve(CANCEL_BYTES);
    writeCancelAt(batch.buffer, at, proxy.consumerId);
  }

  /** A node acked, rejected or requeued deliveries. */
  settle(node: string, action: number, ids: number[]): void {
    const m = this.unsettled.get(node);
    if (!m) return;
    const taken: Delivered[] = [];
    for (const id of ids) {
      const d = m.get(id);
      if (!d) continue;
      m.delete(id);
      if (d.consumer && d.consumer.unacked > 0) d.consumer.unacked--;
      taken.push(d);
    }
    this.apply(taken, action);
  }

  private apply(taken: Delivered[], action: number): void {
    for (const [queue, entries] of groupByQueue(taken)) {
      if (action === SETTLE_REQUEUE) queue.requeue(entries);
      else {
        queue.settle(entries, action === SETTLE_REJECT);
        queue.drain();
      }
    }
  }

  /** A node went down: its consumers go, its unsettled deliveries are requeued. */
  nodeDown(node: string): void {
    const proxies = this.proxies.get(node);
    this.proxies.delete(node);
    for (const proxy of proxies?.values() ?? []) void this.removeProxyOf(proxy);
    const m = this.unsettled.get(node);
    this.unsettled.delete(node);
    if (m) this.apply([...m.values()], SETTLE_REQUEUE);
  }

  private async removeProxyOf(proxy: ProxyConsumer): Promise<void> {
    proxy.releaseWaiters();
    if ((await proxy.queue.removeConsumer(proxy)) && !proxy.queue.deleted) this.host.autoDelete(proxy.queue);
  }
}
