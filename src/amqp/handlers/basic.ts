import { MethodKey, type AmqpMethod } from '../../protocol/methods.generated';
import { CommandInvalid, NotAllowed, NotImplemented, PreconditionFailed } from '../../broker/errors';
import { fieldType, FIELD_TYPE_NAMES, INTEGER_FIELD_TYPES, type FieldTable } from '../../protocol/field-table';
import { registerReplyConsumer, REPLY_TO_QUEUE, unregisterReplyConsumer } from '../direct-reply-to';
import type { ChannelState as Channel } from '../channel-state';
import type { GetResult, QueueHandle } from '../../broker/ports';
import { requeueAll } from '../channel-state';
import { ChannelConsumer, countDelivery } from '../channel-consumer';
import { generatedName } from '../names';
import { settle } from './acks';
import { resolveQueueName } from './queue';
import { authorize } from '../access';
import { isQuorum } from '../../broker/queue/quorum-arguments';

/** basic.* methods other than publish: qos, consume, cancel, get, ack, nack, reject, recover. */
export function handleBasicMethod(ch: Channel, m: AmqpMethod): void | Promise<void> {
  const out = ch.connection.out;
  switch (m.key) {
    case MethodKey.BasicQos:
      if (m.args.prefetchSize !== 0) throw new NotImplemented(`prefetch_size!=0 (${m.args.prefetchSize})`);
      if (m.args.global) ch.globalPrefetch = m.args.prefetchCount;
      else {
        // RabbitMQ: a per-consumer qos lifts the channel-wide limit, for consumers old and new.
        ch.consumerPrefetch = m.args.prefetchCount;
        ch.globalPrefetch = 0;
      }
      out.method(ch.id, { key: MethodKey.BasicQosOk, args: {} });
      ch.connection.drainChannelQueues(ch);
      return;
    case MethodKey.BasicConsume: {
      const a = m.args;
      if (a.queue === REPLY_TO_QUEUE) return consumeReplies(ch, a.consumerTag, a.noAck, a.nowait);
      authorize(ch, 'read', 'queue', resolveQueueName(ch, a.queue));
      const priority = consumerPriority(a.arguments);
      const queue = ch.vhost.availableQueue(resolveQueueName(ch, a.queue));
      const timeoutMs = consumerTimeout(a.arguments, queue);
      ch.vhost.checkExclusiveAccess(queue, ch.connection.id);
      const tag = a.consumerTag === '' ? generatedName('amq.ctag-') : a.consumerTag;
      if (ch.consumers.has(tag)) throw new NotAllowed(`attempt to reuse consumer tag '${tag}'`);
      const consumer = new ChannelConsumer(ch, queue, tag, a.noAck, a.exclusive, a.arguments, ch.consumerPrefetch, priority, timeoutMs);
      // The consumer takes nothing until consume-ok is out: deliveries must follow it.
      const added = queue.addConsumer(consumer);
      const start = (): void => {
        if (ch.state !== 'open') return void queue.removeConsumer(consumer);
        ch.consumers.set(tag, consumer);
        if (!a.nowait) out.method(ch.id, { key: MethodKey.BasicConsumeOk, args: { consumerTag: tag } });
        consumer.active = true;
        queue.drain();
      };
      if (added instanceof Promise) return added.then(start);
      start();
      return;
    }
    case MethodKey.BasicCancel: {
      const consumer = ch.consumers.get(m.args.consumerTag);
      const reply = () => {
        if (!m.args.nowait) out.method(ch.id, { key: MethodKey.BasicCancelOk, args: { consumerTag: m.args.consumerTag } });
      };
      if (ch.replyConsumer?.tag === m.args.consumerTag) {
        unregisterReplyConsumer(ch.replyConsumer);
        ch.replyConsumer = undefined;
        return reply();
      }
      if (!consumer) return reply();
      ch.consumers.delete(consumer.tag);
      return ch.connection.removeConsumer(consumer).then(reply);
    }
    case MethodKey.BasicGet: {
      authorize(ch, 'read', 'queue', resolveQueueName(ch, m.args.queue));
      const queue = ch.vhost.availableQueue(resolveQueueName(ch, m.args.queue));
      ch.vhost.checkExclusiveAccess(queue, ch.connection.id);
      const noAck = m.args.noAck;
      const result = queue.get(noAck);
      if (result instanceof Promise) return result.then((r) => sendGetReply(ch, queue, noAck, r));
      sendGetReply(ch, queue, noAck, result);
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

/** basic.get-ok with the message (tracked for ack unless no-ack), or get-empty. */
function sendGetReply(ch: Channel, queue: QueueHandle, noAck: boolean, result: GetResult | undefined): void {
  const out = ch.connection.out;
  if (!result) {
    ch.stats.getEmpty++;
    ch.vhostStats.getEmpty++;
    out.method(ch.id, { key: MethodKey.BasicGetEmpty, args: { clusterId: '' } });
    return;
  }
  const { entry, messageCount } = result;
  const deliveryTag = ch.nextDeliveryTag();
  countDelivery(ch.stats, ch.vhostStats, noAck, entry.redelivered, true);
  if (!noAck) ch.trackUnacked(deliveryTag, queue, entry, undefined);
  const msg = entry.message;
  out.content(
    ch.id,
    { key: MethodKey.BasicGetOk, args: { deliveryTag, redelivered: entry.redelivered, exchange: msg.exchange, routingKey: msg.routingKey, messageCount } },
    msg.rawProperties,
    msg.body,
  );
}


/** x-priority of basic.consume: any integer type, default 0; anything else is a 406. */
function consumerPriority(args: FieldTable): number {
  if (!('x-priority' in args)) return 0;
  const tag = fieldType(args, 'x-priority');
  if (!INTEGER_FIELD_TYPES.has(tag)) {
    throw new PreconditionFailed(`invalid arg 'x-priority' for consumer: {unacceptable_type,${FIELD_TYPE_NAMES[tag] ?? tag}} (expected an integer)`);
  }
  return Number(args['x-priority']);
}

/**
 * x-consumer-timeout of basic.consume (RabbitMQ 4.3): the consumer's own timeout in ms, taking
 * precedence over its queue's and the node's (0 = none, as for those). Quorum queues only: a
 * classic queue refuses it with RabbitMQ's text; a value that is not a non-negative integer is a 406.
 */
function consumerTimeout(args: FieldTable, queue: QueueHandle): number | undefined {
  if (!('x-consumer-timeout' in args)) return undefined;
  if (!isQuorum(queue.def.arguments)) {
    throw new PreconditionFailed(`invalid arg 'x-consumer-timeout' for queue '${queue.name}' in vhost '${queue.vhost}' of queue type rabbit_classic_queue`);
  }
  const tag = fieldType(args, 'x-consumer-timeout');
  const value = Number(args['x-consumer-timeout']);
  if (!INTEGER_FIELD_TYPES.has(tag)) {
    throw new PreconditionFailed(`invalid arg 'x-consumer-timeout' for consumer: {unacceptable_type,${FIELD_TYPE_NAMES[tag] ?? tag}} (expected an integer)`);
  }
  if (value < 0) throw new PreconditionFailed(`invalid arg 'x-consumer-timeout' for consumer: {value_negative,${value}}`);
  return value;
}

/** basic.consume on amq.rabbitmq.reply-to: the requester side of direct reply-to. */
function consumeReplies(ch: Channel, requestedTag: string, noAck: boolean, nowait: boolean): void {
  if (!noAck) throw new PreconditionFailed('reply consumer cannot acknowledge');
  if (ch.replyConsumer) throw new PreconditionFailed('reply consumer already set');
  const tag = requestedTag === '' ? generatedName('amq.ctag-') : requestedTag;
  if (ch.consumers.has(tag)) throw new NotAllowed(`attempt to reuse consumer tag '${tag}'`);
  ch.replyConsumer = registerReplyConsumer(ch, tag);
  if (!nowait) ch.connection.out.method(ch.id, { key: MethodKey.BasicConsumeOk, args: { consumerTag: tag } });
}
