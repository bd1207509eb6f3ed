import { MethodKey, type AmqpMethod } from '../../protocol/methods.generated';
import { CommandInvalid, NotAllowed, NotImplemented } from '../../broker/errors';
import type { Channel } from '../channel';
import { requeueAll } from '../channel';
import { ChannelConsumer } from '../channel-consumer';
import { generatedName } from '../names';
import { settle } from './acks';
import { resolveQueueName } from './queue';

/** basic.* methods other than publish: qos, consume, cancel, get, ack, nack, reject, recover. */
export function handleBasicMethod(ch: Channel, m: AmqpMethod): void | Promise<void> {
  const out = ch.connection.out;
  switch (m.key) {
    case MethodKey.BasicQos:
      if (m.args.prefetchSize !== 0) throw new NotImplemented(`prefetch_size!=0 (${m.args.prefetchSize})`);
      if (m.args.global) ch.globalPrefetch = m.args.prefetchCount;
      else ch.consumerPrefetch = m.args.prefetchCount;
      out.method(ch.id, { key: MethodKey.BasicQosOk, args: {} });
      ch.connection.drainChannelQueues(ch);
      return;
    case MethodKey.BasicConsume: {
      const a = m.args;
      const queue = ch.vhost.queue(resolveQueueName(ch, a.queue));
      ch.vhost.checkExclusiveAccess(queue, ch.connection.id);
      const tag = a.consumerTag === '' ? generatedName('amq.ctag-') : a.consumerTag;
      if (ch.consumers.has(tag)) throw new NotAllowed(`attempt to reuse consumer tag '${tag}'`);
      const consumer = new ChannelConsumer(ch, queue, tag, a.noAck, a.exclusive, a.arguments, ch.consumerPrefetch);
      queue.checkConsumable(consumer.exclusive);
      ch.consumers.set(tag, consumer);
      if (!a.nowait) out.method(ch.id, { key: MethodKey.BasicConsumeOk, args: { consumerTag: tag } });
      queue.addConsumer(consumer);
      return;
    }
    case MethodKey.BasicCancel: {
      const consumer = ch.consumers.get(m.args.consumerTag);
      const reply = () => {
        if (!m.args.nowait) out.method(ch.id, { key: MethodKey.BasicCancelOk, args: { consumerTag: m.args.consumerTag } });
      };
      if (!consumer) return reply();
      ch.consumers.delete(consumer.tag);
      return ch.connection.removeConsumer(consumer).then(reply);
    }
    case MethodKey.BasicGet: {
      const queue = ch.vhost.queue(resolveQueueName(ch, m.args.queue));
      ch.vhost.checkExclusiveAccess(queue, ch.connection.id);
      const entry = queue.get(m.args.noAck);
      if (!entry) {
        out.method(ch.id, { key: MethodKey.BasicGetEmpty, args: { clusterId: '' } });
        return;
      }
      const deliveryTag = ch.nextDeliveryTag();
      if (!m.args.noAck) ch.trackUnacked(deliveryTag, queue, entry, undefined);
      const msg = entry.message;
      out.content(
        ch.id,
        {
          key: MethodKey.BasicGetOk,
          args: { deliveryTag, redelivered: entry.redelivered, exchange: msg.exchange, routingKey: msg.routingKey, messageCount: queue.messageCount },
        },
        msg.rawProperties,
        msg.body,
      );
      return;
    }
    case MethodKey.BasicAck:
      return settle(ch, { deliveryTag: m.args.deliveryTag, multiple: m.args.multiple, requeue: undefined });
    case MethodKey.BasicNack:
      return settle(ch, { deliveryTag: m.args.deliveryTag, multiple: m.args.multiple, requeue: m.args.requeue });
    case MethodKey.BasicReject:
      return settle(ch, { deliveryTag: m.args.deliveryTag, multiple: false, requeue: m.args.requeue });
    case MethodKey.BasicRecover:
    case MethodKey.BasicRecoverAsync: {
      if (!m.args.requeue) throw new NotImplemented('requeue=false');
      const all = ch.unacked.takeAll();
      for (const u of all) if (u.consumer) u.consumer.unacked--;
      requeueAll(all);
      if (m.key === MethodKey.BasicRecover) out.method(ch.id, { key: MethodKey.BasicRecoverOk, args: {} });
      return;
    }
  }
  throw new CommandInvalid('unimplemented method');
}
