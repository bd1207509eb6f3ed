/**
 * A home answering other nodes' requests about the queues it holds: consume (a proxy
 * consumer is added to the queue), cancel, get (the delivery is recorded until settled),
 * counts and purge. Errors go back as AMQP reply codes, so the asking node raises the same
 * error its client would get on the home itself (403 exclusive use, 404 no queue, ...).
 */
import type { Broker } from '../../src/broker/broker';
import { AmqpError, NotFound } from '../../src/broker/errors';
import type { QueueHandle } from '../../src/broker/ports';
import { encodeError, okReply, reader, readConsume, REQ_CANCEL, REQ_CONSUME, REQ_COUNTS, REQ_GET, REQ_PURGE, REQ_VHOST_COUNTS, writeGetReply } from './forward-codec';
import type { HomeDeliveries } from './home-deliveries';
import { ProxyConsumer } from './proxy-consumer';
import { RemoteQueue } from './remote-queue';

export class HomeRequests {
  constructor(
    private readonly broker: Broker,
    private readonly deliveries: HomeDeliveries,
  ) {}

  async handle(from: string, payload: Buffer): Promise<Buffer> {
    try {
      return await this.answer(from, payload);
    } catch (err) {
      if (err instanceof AmqpError) return encodeError(err.replyCode, err.replyName, err.message);
      return encodeError(541, 'INTERNAL_ERROR', (err as Error).message);
    }
  }

  private async answer(from: string, payload: Buffer): Promise<Buffer> {
    const r = reader(payload);
    const op = r.u8();
    const vhost = r.shortstr();
    const name = r.shortstr();
    if (op === REQ_VHOST_COUNTS) return this.vhostCounts(vhost);
    const queue = this.localQueue(vhost, name);
    switch (op) {
      case REQ_CONSUME: {
        const req = readConsume(r);
        await this.deliveries.replaceProxy(from, req.consumerId);
        const proxy = new ProxyConsumer(from, req.consumerId, queue, req, this.deliveries);
        await queue.addConsumer(proxy);
        this.deliveries.addProxy(proxy);
        // Deliveries start after the reply is on its way: the client sees consume-ok first.
        setImmediate(() => {
          proxy.active = true;
          queue.drain();
        });
        return okReply();
      }
      case REQ_CANCEL:
        await this.deliveries.removeProxy(from, r.u32());
        return okReply();
      case REQ_GET: {
        const noAck = r.u8() === 1;
        // A quorum queue led here logs which node holds a message got with manual ack.
        const got = queue instanceof RemoteQueue ? await queue.getFor(from, noAck) : await queue.get(noAck);
        return okReply((w) =>
          writeGetReply(
            w,
            got && {
              deliveryId: noAck ? 0 : this.deliveries.track(from, queue, got.entry, undefined),
              redelivered: got.entry.redelivered,
              messageCount: got.messageCount,
              logId: queue.def.quorumGroup !== undefined ? (got.entry.message.storeId ?? 0) : 0,
              message: got.entry.message,
            },
          ),
        );
      }
      case REQ_COUNTS: {
        const c = await queue.counts();
        return okReply((w) => {
          w.u32(c.messageCount);
          w.u32(c.consumerCount);
          w.u32(c.unackedCount);
          w.u64(c.messageBytes);
        });
      }
      case REQ_PURGE: {
        const n = await queue.purge();
        return okReply((w) => w.u32(n));
      }
    }
    throw new AmqpError(540, 'NOT_IMPLEMENTED', `unknown queue request ${op}`);
  }

  /** Every local queue of a vhost with its counts: name, ready, consumers, unacked, bytes. */
  private async vhostCounts(vhost: string): Promise<Buffer> {
    const local = [...(this.broker.vhost(vhost)?.queues.values() ?? [])].filter((q) => q.isLocal && !q.deleted);
    const counts = await Promise.all(local.map((q) => q.counts()));
    return okReply((w) => {
      w.u32(local.length);
      local.forEach((q, i) => {
        w.shortstr(q.name);
        w.u32(counts[i].messageCount);
        w.u32(counts[i].consumerCount);
        w.u32(counts[i].unackedCount);
        w.u64(counts[i].messageBytes);
      });
    });
  }

  private localQueue(vhost: string, name: string): QueueHandle {
    const q = this.broker.vhost(vhost)?.queues.get(name);
    // A quorum queue's handle answers here while led by this node (and passes the request on otherwise).
    if (!q || q.deleted) throw new NotFound(`no queue '${name}' in vhost '${vhost}'`);
    return q;
  }
}
