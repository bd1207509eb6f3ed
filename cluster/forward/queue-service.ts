/**
 * Clustered messaging on one node: the RemoteQueues seam the broker's vhosts use, and the
 * mesh channels that carry it. Every classic queue has one home (QueueDefinition.ownerNode);
 * this service gives the other nodes a RemoteQueue for it, forwards publishes to homes,
 * serves other nodes' forwards, consumers, gets and requests for the queues homed here, and
 * reacts to nodes going down: forwards in flight to a dead home are nacked, consumers of its
 * queues cancelled, and a dead node's consumers and unsettled deliveries here requeued.
 *
 * Mesh channels (frames to one peer keep their order across channels):
 *   q.fwd  forward           publishing node → home
 *   q.out  outcomes/credit   home → publishing node
 *   q.dlv  deliver / cancel  home → consumer's node
 *   q.stl  settle / credit   consumer's node → home
 *   q.req  requests          any node → home (consume, cancel, get, counts, purge)
 *   q.rto  direct reply-to   any node → the requester's node
 */
import type { Mesh } from '../mesh';
import type { Broker } from '../../src/broker/broker';
import { AmqpError, NotFound } from '../../src/broker/errors';
import type { Message } from '../../src/broker/message';
import type { ConfirmParts, FlowGate, MetadataStore, QueueCounts, QueueHandle, RemoteQueues } from '../../src/broker/ports';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import { deliverLocalReply } from '../../src/amqp/direct-reply-to';
import type { ByteReader } from '../../src/protocol/byte-reader';
import type { ByteWriter } from '../../src/protocol/byte-writer';
import type { Logger } from '../../src/log/logger';
import {
  CANCEL,
  CREDIT,
  decodeDeliveryFrame,
  decodeForward,
  decodeOutcomes,
  decodeReply,
  decodeSettle,
  encodeCredit,
  encodeReply,
  encodeRequest,
  encodeSettle,
  reader,
  SETTLE_REQUEUE,
  SETTLE_BY_LOG_ID,
  decodeSettleByLogId,
  encodeSettleByLogId,
  REQ_VHOST_COUNTS,
  encodeTarget,
} from './forward-codec';
import { HomeDeliveries } from './home-deliveries';
import { HomeInbox } from './home-inbox';
import { Outbox } from './outbox';
import { FrameBatch, forEachFrame } from './frame-batch';
import { RemoteQueue, type RemoteConsumer, type RemoteQueueHost } from './remote-queue';
import { HomeRequests } from './home-requests';

const REQUEST_TIMEOUT_MS = 10_000;

export interface QueueServiceOptions {
  nodeName: string;
  mesh: Mesh;
  broker: Broker;
  metadata: () => MetadataStore;
  log: Logger;
  /** Makes the handle of a quorum queue (cluster/quorum), given this service as its host. */
  quorum?: (vhost: string, def: QueueDefinition, host: RemoteQueueHost) => QueueHandle;
  quorumMembersChanged?: (queue: QueueHandle) => void;
}

export class QueueService implements RemoteQueues, RemoteQueueHost {
  private readonly outboxes = new Map<string, Outbox>();
  private readonly deliveryBatches = new Map<string, FrameBatch>();
  private readonly inboxes = new Map<string, HomeInbox>();
  private readonly consumers = new Map<number, RemoteConsumer>();
  private readonly creditDue = new Set<RemoteConsumer>();
  private creditScheduled = false;
  private nextConsumerId = 1;
  private readonly deliveries: HomeDeliveries;
  private readonly requests: HomeRequests;
  private readonly offs: (() => void)[] = [];
  private readonly log: Logger;

  constructor(private readonly o: QueueServiceOptions) {
    this.log = o.log.child({ module: 'forward' });
    const mesh = o.mesh;
    this.deliveries = new HomeDeliveries({
      isUp: (node) => mesh.isUp(node),
      deliveries: (node) => this.deliveryBatch(node),
      autoDelete: (queue) => this.deleteQueue(queue),
    });
    this.requests = new HomeRequests(o.broker, this.deliveries);
    this.offs.push(
      mesh.handle('q.fwd', (from, payload) => {
        const inbox = this.inbox(from);
        forEachFrame(payload, (frame) => inbox.take(decodeForward(frame)));
      }),
      mesh.handle('q.out', (from, payload) => {
        const o = decodeOutcomes(payload);
        this.outboxes.get(from)?.outcomes(o.plainTaken, o.seqs, o.codes);
      }),
      mesh.handle('q.dlv', (from, payload) => forEachFrame(payload, (frame) => this.onDelivery(from, frame))),
      mesh.handle('q.stl', (from, payload) => this.onSettle(from, payload)),
      mesh.handle('q.req', (from, payload) => this.requests.handle(from, payload)),
      mesh.handle('q.rto', (_from, payload) => {
        const { routingKey, message } = decodeReply(payload);
        deliverLocalReply(routingKey, message);
      }),
    );
    const onDown = (name: string) => this.nodeDown(name);
    mesh.on('nodedown', onDown);
    this.offs.push(() => mesh.off('nodedown', onDown));
  }

  close(): void {
    for (const off of this.offs) off();
  }

  /**
   * A graceful stop: waits (at most `timeoutMs`) until every forward this node took or sent
   * has its outcome reported, so publishers elsewhere get confirms rather than nacks when it
   * leaves (a quorum queue's publishes passed on to its new leader, for one).
   */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const busy = () => [...this.inboxes.values()].some((i) => i.unsettled > 0) || [...this.outboxes.values()].some((o) => o.unconfirmed > 0);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  // ---- RemoteQueues (the broker's seam) ----

  handleFor(vhost: string, def: QueueDefinition): QueueHandle | undefined {
    if (def.quorumGroup !== undefined && this.o.quorum) return this.o.quorum(vhost, def, this);
    if (def.ownerNode === undefined || def.ownerNode === this.o.nodeName) return undefined;
    return new RemoteQueue(this, vhost, def);
  }

  forward(queues: QueueHandle | QueueHandle[], message: Message, confirm?: ConfirmParts, seq = 0): boolean {
    if (!Array.isArray(queues)) return (queues as RemoteQueue).forward(message, confirm, seq);
    let accepted = true;
    const byHome = new Map<string, RemoteQueue[]>();
    for (const q of queues as RemoteQueue[]) {
      if (q.forwardsAlone) {
        if (!q.forward(message, confirm, seq)) accepted = false;
        continue;
      }
      const list = byHome.get(q.home);
      if (list) list.push(q);
      else byHome.set(q.home, [q]);
    }
    for (const [home, list] of byHome) {
      // One queue, a quorum queue led here (home is this node), or a home that is down (a
      // quorum queue holds the message for its next leader): each queue decides.
      if (list.length === 1 || home === this.o.nodeName || !this.isUp(home)) {
        for (const q of list) if (!q.forward(message, confirm, seq)) accepted = false;
        continue;
      }
      // A home that is down refuses at once: the publisher gets a nack, never a silent ack.
      if (!this.isUp(home)) accepted = false;
      else this.outbox(home).forward(encodeTarget(list[0].vhost, list.map((q) => q.name)), message, confirm, seq);
    }
    return accepted;
  }

  membersChanged(queue: QueueHandle): void {
    this.o.quorumMembersChanged?.(queue);
  }

  forwardReply(node: string, routingKey: string, message: Message): void {
    if (this.o.mesh.isUp(node)) this.o.mesh.send(node, 'q.rto', encodeReply(routingKey, message));
  }

  async remoteCounts(vhost: string): Promise<Map<string, QueueCounts>> {
    const homes = new Set<string>();
    const quorum: QueueHandle[] = [];
    for (const q of this.o.broker.vhost(vhost)?.queues.values() ?? []) {
      // A quorum queue's figures come from its leader, wherever it is now.
      if (q.def.quorumGroup !== undefined) quorum.push(q);
      else if (q instanceof RemoteQueue && this.isUp(q.home)) homes.add(q.home);
    }
    const all = new Map<string, QueueCounts>();
    await Promise.all(quorum.map((q) => Promise.resolve(q.counts()).then((c) => void all.set(q.name, c), () => undefined)));
    await Promise.all(
      [...homes].map((home) =>
        this.request(home, REQ_VHOST_COUNTS, vhost, '', undefined, (r) => {
          const n = r.u32();
          for (let i = 0; i < n; i++) {
            const name = r.shortstr();
            all.set(name, { messageCount: r.u32(), consumerCount: r.u32(), unackedCount: r.u32(), messageBytes: r.u64() });
          }
        }).catch(() => undefined),
      ),
    );
    return all;
  }

  // ---- RemoteQueueHost ----

  isUp(node: string): boolean {
    return this.o.mesh.isUp(node);
  }

  outbox(home: string): Outbox {
    let box = this.outboxes.get(home);
    if (!box) {
      box = new Outbox((payload) => void this.o.mesh.send(home, 'q.fwd', payload));
      this.outboxes.set(home, box);
    }
    return box;
  }

  async request<T>(home: string, op: number, vhost: string, queue: string, write: ((w: ByteWriter) => void) | undefined, read: (r: ByteReader) => T): Promise<T> {
    // The request must not overtake the forwards gathered for the same home (publish, then get).
    this.outboxes.get(home)?.flush();
    let reply: Buffer;
    try {
      reply = await this.o.mesh.request(home, 'q.req', encodeRequest(op, vhost, queue, write), REQUEST_TIMEOUT_MS);
    } catch (err) {
      throw new NotFound(`home node '${home}' of queue '${queue}' in vhost '${vhost}' is down or inaccessible (${(err as Error).message})`);
    }
    const r = reader(reply);
    const code = r.u16();
    if (code !== 0) {
      const name = r.shortstr();
      throw new AmqpError(code, name, r.longstr().toString());
    }
    return read(r);
  }

  settle(home: string, action: number, ids: number[]): void {
    this.o.mesh.send(home, 'q.stl', encodeSettle(action, ids));
  }

  settleByLogId(home: string, action: number, vhost: string, queue: string, ids: readonly number[]): void {
    this.o.mesh.send(home, 'q.stl', encodeSettleByLogId(action, vhost, queue, ids));
  }

  newConsumerId(): number {
    const id = this.nextConsumerId;
    this.nextConsumerId = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  registerConsumer(rc: RemoteConsumer): void {
    this.consumers.set(rc.id, rc);
  }

  unregisterConsumer(rc: RemoteConsumer): void {
    if (this.consumers.get(rc.id) === rc) this.consumers.delete(rc.id);
    this.creditDue.delete(rc);
  }

  /** Credit goes back to homes once the current burst of work is done (the deliveries of one batch from a home). */
  grantCredit(rc: RemoteConsumer): void {
    this.creditDue.add(rc);
    if (this.creditScheduled) return;
    this.creditScheduled = true;
    process.nextTick(this.sendCreditBound);
  }

  private readonly sendCreditBound = (): void => this.sendCredit();

  private sendCredit(): void {
    this.creditScheduled = false;
    for (const c of this.creditDue) {
      const home = c.queue.consumerHome;
      if (c.creditOwed > 0 && this.isUp(home)) this.o.mesh.send(home, 'q.stl', encodeCredit(c.id, c.creditOwed));
      c.creditOwed = 0;
    }
    this.creditDue.clear();
  }

  // ---- inbound ----

  private onDelivery(from: string, payload: Buffer): void {
    const f = decodeDeliveryFrame(payload);
    const rc = this.consumers.get(f.consumerId);
    if (f.kind === CANCEL) {
      rc?.queue.cancelledByHome(rc);
      return;
    }
    const d = f.delivery!;
    if (!rc || rc.queue.consumerHome !== from) {
      // The consumer is gone here (cancelled meanwhile), or its queue moved to another
      // leader: give the message back.
      if (d.deliveryId !== 0) this.o.mesh.send(from, 'q.stl', encodeSettle(SETTLE_REQUEUE, [d.deliveryId]));
      return;
    }
    if (d.logId > 0 && d.deliveryId !== 0) rc.queue.received(d.logId, rc.id);
    rc.receive({ message: d.message, redelivered: d.redelivered, expiresAtMs: Infinity, deliveryId: d.deliveryId, from, logId: d.logId }, this);
  }

  private onSettle(from: string, payload: Buffer): void {
    if (payload[0] === SETTLE_BY_LOG_ID) {
      const b = decodeSettleByLogId(payload);
      const q = this.o.broker.vhost(b.vhost)?.queues.get(b.queue);
      if (q instanceof RemoteQueue) q.settleByLogId(from, b.action, b.ids);
      return;
    }
    const s = decodeSettle(payload);
    if (s.action === CREDIT) {
      const proxy = this.deliveries.proxy(from, s.consumerId);
      if (!proxy) return;
      proxy.addCredit(s.credit);
      proxy.queue.drain();
      return;
    }
    this.deliveries.settle(from, s.action, s.ids);
  }

  private inbox(from: string): HomeInbox {
    let inbox = this.inboxes.get(from);
    if (!inbox) {
      inbox = new HomeInbox(this.o.broker, (payload) => void this.o.mesh.send(from, 'q.out', payload));
      this.inboxes.set(from, inbox);
    }
    return inbox;
  }

  private deliveryBatch(node: string): FrameBatch {
    let batch = this.deliveryBatches.get(node);
    if (!batch) {
      batch = new FrameBatch((payload) => void this.o.mesh.send(node, 'q.dlv', payload));
      this.deliveryBatches.set(node, batch);
    }
    return batch;
  }

  private nodeDown(node: string): void {
    this.outboxes.get(node)?.failAll();
    this.deliveryBatches.get(node)?.discard();
    this.inboxes.get(node)?.close();
    this.inboxes.delete(node);
    this.deliveries.nodeDown(node);
    for (const vhost of this.o.broker.vhosts.values()) {
      for (const q of vhost.queues.values()) if (q instanceof RemoteQueue && (q.home === node || q.consumerHome === node)) q.homeDown();
    }
  }

  private deleteQueue(queue: QueueHandle): void {
    this.o
      .metadata()
      .apply({ op: 'queue.delete', vhost: queue.vhost, name: queue.name, ifUnused: false, ifEmpty: false })
      .catch((err) => this.log.warn({ err, queue: queue.name }, 'auto-delete of queue failed'));
  }
}
