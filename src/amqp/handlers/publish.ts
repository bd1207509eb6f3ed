import { MethodKey, PropertyFlag, type BasicPublish } from '../../protocol/methods.generated';
import { hasProperty } from '../../protocol/properties';
import { AccessRefused, NotFound, PreconditionFailed } from '../../broker/errors';
import type { Message } from '../../broker/message';
import type { Queue } from '../../broker/queue/queue';
import type { Channel } from '../channel';

const routeScratch: Queue[] = [];

/** basic.publish with its content assembled: checks, tx buffering, routing, returns and confirms. */
export function publish(ch: Channel, method: BasicPublish, message: Message): void {
  const exchange = ch.vhost.exchanges.get(method.exchange);
  if (!exchange) throw new NotFound(`no exchange '${method.exchange}' in vhost '${ch.vhost.name}'`);
  if (exchange.def.internal) throw new AccessRefused(`cannot publish to internal exchange '${method.exchange}' in vhost '${ch.vhost.name}'`);
  if (hasProperty(message.rawProperties, PropertyFlag.userId)) {
    const userId = message.properties.userId;
    if (userId !== ch.connection.user) {
      throw new PreconditionFailed(`user_id property set to '${userId}' but authenticated user was '${ch.connection.user}'`);
    }
  }
  if (ch.tx) {
    ch.tx.publishes.push({ method, message });
    return;
  }
  routeAndEnqueue(ch, method, message);
}

/** Routes and enqueues now (outside a transaction, or at tx.commit). */
export function routeAndEnqueue(ch: Channel, method: BasicPublish, message: Message): void {
  const exchange = ch.vhost.exchanges.get(method.exchange);
  const seq = ch.confirms?.next();
  const queues = routeScratch;
  queues.length = 0;
  if (exchange) ch.vhost.route(exchange, message, queues);
  if (queues.length === 0) {
    if (method.mandatory) sendReturn(ch, 312, 'NO_ROUTE', message);
    if (seq !== undefined) ch.confirms!.settle(seq, true);
    return;
  }
  let accepted = true;
  for (let i = 0; i < queues.length; i++) if (!queues[i].enqueue(message)) accepted = false;
  queues.length = 0;
  if (seq !== undefined) ch.confirms!.settle(seq, accepted);
}

function sendReturn(ch: Channel, replyCode: number, replyText: string, message: Message): void {
  ch.connection.out.content(
    ch.id,
    { key: MethodKey.BasicReturn, args: { replyCode, replyText, exchange: message.exchange, routingKey: message.routingKey } },
    message.rawProperties,
    message.body,
  );
}
