import type { QueueHandle, QueuedMessage } from '../broker/ports';
import type { ChannelConsumer } from './channel-consumer';

export interface Unacked {
  readonly deliveryTag: number;
  readonly queue: QueueHandle;
  readonly entry: QueuedMessage;
  /** Undefined for basic.get deliveries. */
  readonly consumer: ChannelConsumer | undefined;
}

/** A channel's outstanding deliveries, in delivery-tag order (Map keeps insertion order). */
export class UnackedDeliveries {
  private readonly byTag = new Map<number, Unacked>();

  get size(): number {
    return this.byTag.size;
  }

  add(u: Unacked): void {
    this.byTag.set(u.deliveryTag, u);
  }

  /** The delivery with the lowest tag still unacknowledged. */
  oldest(): Unacked | undefined {
    for (const u of this.byTag.values()) return u;
    return undefined;
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  /**
   * Removes and returns the deliveries a basic.ack/nack/reject names: one tag, or with
   * `multiple` every tag up to and including it (tag 0 with multiple = all). Returns
   * undefined when the tag is unknown (amqp 0-9-1: a 406 channel error).
   */
  take(tag: number, multiple: boolean): Unacked[] | undefined {
    if (!multiple) {
      const u = this.byTag.get(tag);
      if (!u) return undefined;
      this.byTag.delete(tag);
      return [u];
    }
    if (tag !== 0 && !this.byTag.has(tag)) return undefined;
    const taken: Unacked[] = [];
    for (const [t, u] of this.byTag) {
      if (tag !== 0 && t > tag) break;
      taken.push(u);
      this.byTag.delete(t);
    }
    return taken;
  }

  takeAll(): Unacked[] {
    const all = [...this.byTag.values()];
    this.byTag.clear();
    return all;
  }
}
