/**
 * The log's key of each consumer of a quorum queue (see ownerKey): its node and that node's
 * id of it. A consumer of another node is known by its proxy (node and id as it sent them);
 * a consumer of this node keeps one id while it moves between leaders: the id of its remote
 * consumer while the leader is elsewhere, the same id while it consumes from the live queue
 * here.
 */
import type { Consumer } from '../../src/broker/ports';
import { ProxyConsumer } from '../forward/proxy-consumer';
import { ownerKey } from './quorum-codec';

export class ConsumerKeys {
  private readonly localIds = new Map<Consumer, number>();
  private readonly keys = new Map<Consumer, string>();

  constructor(
    private readonly node: string,
    private readonly newId: () => number,
  ) {}

  /** The key of a consumer of the live queue. */
  keyOf(consumer: Consumer): string {
    let key = this.keys.get(consumer);
    if (key !== undefined) return key;
    if (consumer instanceof ProxyConsumer) key = ownerKey(consumer.node, consumer.consumerId);
    else key = ownerKey(this.node, this.idOf(consumer));
    this.keys.set(consumer, key);
    return key;
  }

  /** This node's id of one of its consumers (made once). */
  idOf(consumer: Consumer): number {
    let id = this.localIds.get(consumer);
    if (id === undefined) this.localIds.set(consumer, (id = this.newId()));
    return id;
  }

  /** A consumer of this node consumed from another leader as `id`: it keeps that id here. */
  setId(consumer: Consumer, id: number): void {
    this.localIds.set(consumer, id);
    this.keys.delete(consumer);
  }

  /** Forgets a consumer that went; returns the key it had on the live queue, if any. */
  forget(consumer: Consumer): string | undefined {
    const key = this.keys.get(consumer);
    this.keys.delete(consumer);
    this.localIds.delete(consumer);
    return key;
  }

  /** The live queue is gone (local ids stay: the consumers move to the next leader). */
  clearKeys(): void {
    this.keys.clear();
  }
}
