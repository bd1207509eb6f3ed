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

  /** Unacknowledged deliveries, lowest tag first. */
  inOrder(): IterableIterator<Unacked> {
    return this.byTag.values();
  }

  /** Removes the deliveries with these tags (those still there). */
  remove(tags: readonly number[]): Unacked[] {
    const taken: Unacked[] = [];
    for (const t of tags) {
      const u = this.byTag.get(t);
      if (u) {
        this.byTag.delete(t);
        taken.push(u);
      }
    }
    return taken;
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
    if (tag === 0) return this.takeAll();
    return this.byTag.has(tag) ? this.takeUpTo(tag) : undefined;
  }

  /** Removes every delivery up to and including `tag`, whether or not `tag` itself is there. */
  takeUpTo(tag: number): Unacked[] {
    const taken: Unacked[] = [];
    for (const [t, u] of this.byTag) {
      if (t > tag) break;
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

/** Most returned tags a channel remembers (the oldest are forgotten first). */
const MAX_RECLAIMED = 65_536;

/**
 * Delivery tags the server took back from the client (timed-out deliveries returned to
 * their queue): a late ack, nack or reject of one is ignored, not a 406 unknown tag.
 */
export class ReclaimedTags {
  private readonly tags = new Set<number>();

  add(tag: number): void {
    if (this.tags.size >= MAX_RECLAIMED) for (const t of this.tags) {
      this.tags.delete(t);
      break;
    }
    this.tags.add(tag);
  }

  has(tag: number): boolean {
    return this.tags.has(tag);
  }

  /** Forgets `tag` (with `multiple`, every tag up to it); false when `tag` is not one of them. */
  forget(tag: number, multiple: boolean): boolean {
    if (!this.tags.has(tag)) return false;
    if (!multiple) this.tags.delete(tag);
    else for (const t of this.tags) if (t <= tag) this.tags.delete(t);
    return true;
  }
}
