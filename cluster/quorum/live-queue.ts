/**
 * The live queue of a quorum queue on its leader: a classic in-memory queue (consumers,
 * prefetch, priorities, single active consumer, TTL, length limits, dead lettering) whose
 * messages come from the Raft log. Every message carries its log id as storeId, so the
 * hooks turn each removal into a replicated settle; a requeue becomes a replicated return,
 * counted against x-delivery-limit and marked with x-delivery-count; a delivery with manual
 * ack becomes a replicated checkout (which consumer holds the message).
 */
import { Queue, type QueueHooks } from '../../src/broker/queue/queue';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { Consumer, GetResult, QueuedMessage } from '../../src/broker/ports';
import { Message } from '../../src/broker/message';
import { encodeProperties } from '../../src/broker/queue/dead-letter';
import { FIELD_TYPES, type FieldTable } from '../../src/protocol/field-table';
import type { ReadyMessages } from '../../src/broker/queue/ready-messages';
import { PagedMessages } from '../../src/broker/queue/paged-messages';
import { StrictPriorityMessages } from '../../src/broker/queue/strict-priority-messages';

export interface LiveOwner {
  /** Records a failed delivery of message `id`; returns its delivery count now. */
  returned(id: number): number;
  /** Deliveries after which a message is dropped or dead-lettered; Infinity for no limit. */
  deliveryLimit(): number;
  /** Message `id` was handed to `consumer` with manual ack (logged as a checkout). */
  checkedOut(consumer: Consumer, id: number): void;
}

export class LiveQueue extends Queue {
  constructor(
    vhost: string,
    def: QueueDefinition,
    private readonly liveHooks: QueueHooks,
    policy: Record<string, unknown> | undefined,
    private readonly owner: LiveOwner,
    leaderNode: string,
  ) {
    // Paged as a durable classic queue's messages are, through the hooks' messageStore: the
    // member's replicated state, which reads bodies not held in memory from its disk.
    // Its owner is the leader, the node that proposes the deletion when x-expires runs out.
    super(vhost, { ...def, durable: true, autoDelete: false, ownerNode: leaderNode }, liveHooks, policy);
    this.quorumOverflow();
  }

  /**
   * Message priorities as RabbitMQ 4.0–4.2's quorum queues have them (no opt-in; above 4 is
   * high, two high for each normal one); each level pages as a durable queue does. Built
   * from the messages' properties, so a new leader rebuilds the levels from its state.
   */
  protected override newReadyMessages(): ReadyMessages {
    return new StrictPriorityMessages(() => new PagedMessages(this.def.name, this.hooks));
  }

  /**
   * Ready messages a consumer acked by log id after this leader's start (delivered by the
   * old leader in its last moments: the checkout and the ack both died with it): released
   * when their turn comes instead of being delivered again. Bounded.
   */
  private readonly ackedLate = new Set<number>();

  /**
   * Ready messages taken out of the queue while their entry stays in the ready list (a consumer
   * reported holding them after this leader started: delivered by the old leader, the checkout
   * lost): their entry is skipped when its turn comes.
   */
  private readonly heldElsewhere = new Set<number>();

  /** Ready message `id` is now held for a consumer (see heldElsewhere). */
  holdReady(id: number): void {
    this.heldElsewhere.add(id);
    this.unackedCount++;
  }

  /** Message `id`, held by no one, was acked by a consumer of an earlier leader. */
  ackedByLogId(id: number): void {
    if (this.ackedLate.size < 100_000) this.ackedLate.add(id);
  }

  protected override settledElsewhere(entry: QueuedMessage): boolean {
    const id = entry.message.storeId;
    if (id !== undefined && this.heldElsewhere.size > 0 && this.heldElsewhere.delete(id)) return true;
    if (this.ackedLate.size === 0 || id === undefined || !this.ackedLate.delete(id)) return false;
    this.liveHooks.released(this, entry.message);
    return true;
  }

  /** basic.get: as Queue's, except that a message acked late by log id is released and one held elsewhere skipped, not handed out. */
  override get(noAck: boolean): GetResult | undefined {
    for (;;) {
      const got = super.get(noAck);
      const id = got?.entry.message.storeId;
      if (got && id !== undefined && this.heldElsewhere.size > 0 && this.heldElsewhere.delete(id)) {
        if (!noAck && this.unackedCount > 0) this.unackedCount--;
        continue;
      }
      if (!got || this.ackedLate.size === 0 || id === undefined || !this.ackedLate.delete(id)) return got;
      if (!noAck && this.unackedCount > 0) this.unackedCount--;
      this.liveHooks.released(this, got.entry.message);
    }
  }

  protected override delivered(consumer: Consumer, entry: QueuedMessage): void {
    const id = entry.message.storeId;
    if (id !== undefined) this.owner.checkedOut(consumer, id);
  }

  /** RabbitMQ's quorum queues ignore the exclusive flag of basic.consume. */
  override checkConsumable(_exclusive: boolean): void {}

  override applyPolicy(policy: Record<string, unknown> | undefined): void {
    super.applyPolicy(policy);
    this.quorumOverflow();
  }

  /** RabbitMQ's quorum queues accept reject-publish-dlx but behave as drop-head. */
  private quorumOverflow(): void {
    if (this.config.overflow === 'reject-publish-dlx') this.config = { ...this.config, overflow: 'drop-head' };
  }

  override requeue(entries: QueuedMessage[]): void {
    const keep: QueuedMessage[] = [];
    const limit = this.owner.deliveryLimit();
    for (const e of entries) {
      const id = e.message.storeId;
      if (id === undefined || this.deleted) {
        keep.push(e);
        continue;
      }
      const count = this.owner.returned(id);
      if (count > limit) {
        // A poison message: dead-lettered (when configured) and removed.
        this.liveHooks.deadLetter(this, e.message, 'delivery_limit');
        this.settle([e], false);
        continue;
      }
      if (this.heldElsewhere.size > 0 && this.heldElsewhere.delete(id)) {
        // Its entry is still in the ready list: it becomes ready again there.
        if (this.unackedCount > 0) this.unackedCount--;
        continue;
      }
      keep.push({ message: withDeliveryCount(e.message, count), redelivered: true, expiresAtMs: e.expiresAtMs });
    }
    super.requeue(keep);
  }
}

/** A copy of `message` whose headers carry x-delivery-count (RabbitMQ 4.x sets it on redelivery). */
export function withDeliveryCount(message: Message, count: number): Message {
  const props = { ...message.properties };
  const old = props.headers;
  const headers: FieldTable = { ...(old ?? {}) };
  Object.defineProperty(headers, FIELD_TYPES, { value: { ...(old?.[FIELD_TYPES] ?? {}), 'x-delivery-count': 'l' }, enumerable: false, configurable: true });
  headers['x-delivery-count'] = count;
  props.headers = headers;
  const copy = new Message(message.exchange, message.routingKey, encodeProperties(props), message.body);
  copy.storeId = message.storeId;
  return copy;
}
