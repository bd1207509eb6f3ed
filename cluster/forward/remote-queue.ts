/**
 * A queue homed on another node, as this node sees it: the QueueHandle that routing,
 * publish, consume and get use. Publishes are forwarded to the home (outbox), requests
 * (consume, get, counts, purge) are asked of it over the mesh, and deliveries for this
 * node's consumers arrive from it, each handed to its consumer when the consumer can take
 * it (or buffered, within the credit the home was granted).
 */
import { NotFound } from '../../src/broker/errors';
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import type { ConfirmParts, Consumer, FlowGate, GetResult, QueueCounts, QueueHandle, QueuedMessage } from '../../src/broker/ports';
import type { Outbox } from './outbox';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import { Deque } from '../../src/util/deque';
import { encodeTarget, REQ_CANCEL, REQ_CONSUME, REQ_COUNTS, REQ_GET, REQ_PURGE, readGetReply, SETTLE_ACK, SETTLE_REJECT, SETTLE_REQUEUE, writeConsume } from './forward-codec';
import type { ByteReader } from '../../src/protocol/byte-reader';
import type { ByteWriter } from '../../src/protocol/byte-writer';

/** A message delivered by a home, with the home's id of the delivery (0 for no-ack). */
export interface RemoteEntry extends QueuedMessage {
  readonly deliveryId: number;
  /** The node that delivered it (a quorum queue's home moves with its leader). */
  readonly from: string;
  /** A quorum queue's log id of the message (0 otherwise): a later leader settles it by that. */
  readonly logId: number;
}

/** What a remote queue asks of the node's queue service. */
export interface RemoteQueueHost {
  isUp(node: string): boolean;
  outbox(home: string): Outbox;
  request<T>(home: string, op: number, vhost: string, queue: string, write: ((w: ByteWriter) => void) | undefined, read: (r: ByteReader) => T): Promise<T>;
  settle(home: string, action: number, ids: number[]): void;
  /** Settles a quorum queue's messages by log id at `home` (its leader now). */
  settleByLogId(home: string, action: number, vhost: string, queue: string, ids: readonly number[]): void;
  newConsumerId(): number;
  registerConsumer(rc: RemoteConsumer): void;
  unregisterConsumer(rc: RemoteConsumer): void;
  grantCredit(rc: RemoteConsumer): void;
}

/** A consumer of this node on a remote queue: deliveries it could not take yet wait here. */
export class RemoteConsumer {
  readonly buffer = new Deque<RemoteEntry>();
  /** Deliveries handed to the consumer whose credit has not been returned to the home yet. */
  creditOwed = 0;

  constructor(
    readonly id: number,
    readonly consumer: Consumer,
    readonly queue: RemoteQueue,
  ) {}

  receive(entry: RemoteEntry, host: RemoteQueueHost): void {
    if (this.buffer.length === 0 && this.consumer.canTake()) {
      this.consumer.deliver(this.queue, entry);
      this.creditOwed++;
      host.grantCredit(this);
      return;
    }
    this.buffer.push(entry);
  }

  drain(host: RemoteQueueHost): void {
    let delivered = false;
    while (this.buffer.length > 0 && this.consumer.canTake()) {
      this.consumer.deliver(this.queue, this.buffer.shift()!);
      this.creditOwed++;
      delivered = true;
    }
    if (delivered) host.grantCredit(this);
  }
}

const noWrite = undefined;

export class RemoteQueue implements QueueHandle {
  readonly isLocal = false;
  deleted = false;
  routeMark = 0;
  private homeNode: string;
  /** The outbox to the home (replaced when a quorum queue's leader moves), and this queue's name as forwards carry it. */
  private outbox: Outbox | undefined;
  private readonly target: Buffer;
  protected readonly consumers = new Map<Consumer, RemoteConsumer>();

  constructor(
    protected readonly host: RemoteQueueHost,
    readonly vhost: string,
    readonly def: QueueDefinition,
  ) {
    this.homeNode = def.ownerNode ?? '';
    this.outbox = this.homeNode === '' ? undefined : host.outbox(this.homeNode);
    this.target = encodeTarget(vhost, [def.name]);
  }

  /** The node holding the queue: fixed for a classic queue, the current leader of a quorum queue ('' when none). */
  get home(): string {
    return this.homeNode;
  }

  set home(node: string) {
    if (node === this.homeNode) return;
    this.homeNode = node;
    this.outbox = node === '' ? undefined : this.host.outbox(node);
  }

  /**
   * The node this node's consumers of the queue are attached to, where their deliveries come
   * from and their credit, acks and cancels go: the home, except that a quorum queue's
   * consumers stay with the last leader while no leader is known.
   */
  get consumerHome(): string {
    return this.homeNode;
  }

  get name(): string {
    return this.def.name;
  }

  checkAvailable(): void {
    if (this.deleted || this.host.isUp(this.home)) return;
    throw new NotFound(`home node '${this.home}' of ${this.def.durable ? 'durable' : 'transient'} queue '${this.name}' in vhost '${this.vhost}' is down or inaccessible`);
  }

  enqueue(message: Message): boolean {
    return this.forward(message, undefined, 0);
  }

  /**
   * Forwards a message routed to this queue alone; false when the home is down (a nack),
   * unless the queue holds it until its home is back (holdWhileAway).
   */
  forward(message: Message, confirm: ConfirmParts | undefined, seq: number, origin?: EnqueueOrigin): boolean {
    const box = this.outbox;
    if (box === undefined || !this.host.isUp(this.homeNode)) return this.holdWhileAway(message, confirm, seq);
    box.forward(this.target, message, confirm, seq, origin);
    return true;
  }

  /** True when publishes to it are forwarded one queue at a time, never in a frame naming several (a quorum queue's carry their origin). */
  get forwardsAlone(): boolean {
    return false;
  }

  counts(): Promise<QueueCounts> {
    this.checkAvailable();
    return this.host.request(this.home, REQ_COUNTS, this.vhost, this.name, noWrite, (r) => ({
      messageCount: r.u32(),
      consumerCount: r.u32(),
      unackedCount: r.u32(),
      messageBytes: r.u64(),
    }));
  }

  async get(noAck: boolean): Promise<GetResult | undefined> {
    this.checkAvailable();
    const g = await this.host.request(this.home, REQ_GET, this.vhost, this.name, (w) => w.u8(noAck ? 1 : 0), readGetReply);
    if (!g) return undefined;
    const entry: RemoteEntry = { message: g.message, redelivered: g.redelivered, expiresAtMs: Infinity, deliveryId: g.deliveryId, from: this.home, logId: g.logId };
    return { entry, messageCount: g.messageCount };
  }

  /** basic.get asked by node `node` of this node as the queue's home (a quorum queue's leader logs the holder). */
  getFor(_node: string, noAck: boolean): Promise<GetResult | undefined> {
    return this.get(noAck);
  }

  async addConsumer(consumer: Consumer): Promise<void> {
    this.checkAvailable();
    const rc = new RemoteConsumer(this.host.newConsumerId(), consumer, this);
    this.consumers.set(consumer, rc);
    this.host.registerConsumer(rc);
    try {
      await this.requestConsume(rc);
    } catch (err) {
      this.consumers.delete(consumer);
      this.host.unregisterConsumer(rc);
      throw err;
    }
  }

  protected requestConsume(rc: RemoteConsumer): Promise<void> {
    const consumer = rc.consumer;
    return this.host.request(
      this.home,
      REQ_CONSUME,
      this.vhost,
      this.name,
      (w) => writeConsume(w, { consumerId: rc.id, tag: consumer.tag, noAck: consumer.noAck, exclusive: consumer.exclusive, priority: consumer.priority, prefetchCount: consumer.prefetchCount, args: consumer.args }),
      () => undefined,
    );
  }

  async removeConsumer(consumer: Consumer): Promise<boolean> {
    const rc = this.consumers.get(consumer);
    if (!rc) return false;
    this.consumers.delete(consumer);
    this.host.unregisterConsumer(rc);
    // Deliveries still buffered here were never seen by the client: back to the queue.
    const unseen = rc.buffer.clear().filter((e) => e.deliveryId !== 0);
    if (unseen.length > 0) this.requeue(unseen);
    const home = this.consumerHome;
    if (!this.host.isUp(home) || this.deleted) return false;
    // The home deletes an auto-delete queue itself when its last consumer goes.
    await this.host.request(home, REQ_CANCEL, this.vhost, this.name, (w) => w.u32(rc.id), () => undefined).catch(() => undefined);
    return false;
  }

  settle(entries: QueuedMessage[], rejected: boolean): void {
    this.sendSettle(rejected ? SETTLE_REJECT : SETTLE_ACK, entries);
  }

  requeue(entries: QueuedMessage[]): void {
    this.sendSettle(SETTLE_REQUEUE, entries);
  }

  private sendSettle(action: number, entries: QueuedMessage[]): void {
    const home = this.consumerHome;
    if (this.deleted || !this.host.isUp(home)) return;
    const ids: number[] = [];
    for (const e of entries) {
      const r = e as RemoteEntry;
      // A delivery from a former home (a quorum queue's old leader) is redelivered by the new one.
      if (r.deliveryId && r.from === home) ids.push(r.deliveryId);
    }
    if (ids.length > 0) this.host.settle(home, action, ids);
  }

  /** A delivery of a quorum queue's message `logId` with manual ack arrived for this node's consumer `consumerId`. */
  received(_logId: number, _consumerId: number): void {}

  /** Node `from` settles messages by log id (a quorum queue led here; nothing for a classic queue). */
  settleByLogId(_from: string, _action: number, _ids: number[]): void {}

  purge(): Promise<number> {
    this.checkAvailable();
    return this.host.request(this.home, REQ_PURGE, this.vhost, this.name, noWrite, (r) => r.u32());
  }

  drain(): void {
    for (const rc of this.consumers.values()) rc.drain(this.host);
  }

  flowGate(): FlowGate | undefined {
    const box = this.outbox;
    return box?.congested ? box : undefined;
  }

  touch(): void {}

  applyPolicy(_policy: Record<string, unknown> | undefined): void {}

  markDeleted(): number {
    this.deleted = true;
    this.cancelConsumers();
    return 0;
  }

  /**
   * Takes a message forwarded to this node as if it were the home (a quorum queue led
   * here); false for a classic queue, whose home is elsewhere.
   */
  takeHere(_message: Message, _confirm: ConfirmParts | undefined, _seq: number): boolean {
    return false;
  }

  /**
   * Keeps a message while the home is not reachable, to pass on when it is (a quorum queue
   * electing a new leader); false for a classic queue, whose publishes are refused then.
   */
  holdWhileAway(_message: Message, _confirm: ConfirmParts | undefined, _seq: number): boolean {
    return false;
  }

  /** Its home is down: consumers here are cancelled (basic.cancel to clients that asked for it). */
  homeDown(): void {
    this.cancelConsumers();
  }

  /** The home cancelled one consumer (queue deleted there). */
  cancelledByHome(rc: RemoteConsumer): void {
    if (this.consumers.get(rc.consumer) !== rc) return;
    this.consumers.delete(rc.consumer);
    this.host.unregisterConsumer(rc);
    rc.consumer.cancelledByQueue(this);
  }

  private cancelConsumers(): void {
    const all = [...this.consumers.values()];
    this.consumers.clear();
    for (const rc of all) {
      this.host.unregisterConsumer(rc);
      rc.consumer.cancelledByQueue(this);
    }
  }
}
