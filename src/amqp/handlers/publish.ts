import { FIELD_TYPES, type FieldTable } from '../../protocol/field-table';
import { MethodKey, PropertyFlag, type BasicPublish } from '../../protocol/methods.generated';
import { hasProperty } from '../../protocol/properties';
import { AccessRefused, NotFound, PreconditionFailed } from '../../broker/errors';
import { Message, parseExpiration } from '../../broker/message';
import { encodeProperties } from '../../broker/queue/dead-letter';
import type { QueueHandle } from '../../broker/ports';
import type { MessageCounters } from '../../broker/message-stats';
import type { ChannelState as Channel } from '../channel-state';
import { authorizePublish, mayImpersonate } from '../access';
import { checkRoutingHeaders } from '../routing-headers';
import { deliverReply, isReplyAddress, replyAddress, REPLY_TO_QUEUE } from '../direct-reply-to';

const routeScratch: QueueHandle[] = [];
const CHECKED_PROPERTIES = PropertyFlag.userId | PropertyFlag.expiration | PropertyFlag.replyTo;

/** basic.publish with its content assembled: checks, tx buffering, routing, returns and confirms. */
export function publish(ch: Channel, method: BasicPublish, message: Message): void {
  authorizePublish(ch, method.exchange, method.routingKey, message);
  const exchange = ch.vhost.exchanges.get(method.exchange);
  if (!exchange) throw new NotFound(`no exchange '${method.exchange}' in vhost '${ch.vhost.name}'`);
  if (exchange.def.internal) throw new AccessRefused(`cannot publish to internal exchange '${method.exchange}' in vhost '${ch.vhost.name}'`);
  if (hasProperty(message.rawProperties, CHECKED_PROPERTIES)) message = checkProperties(ch, message);
  if (message.hasHeaders) checkRoutingHeaders(message);
  if (ch.tx) {
    // A copy: the publish decoder reuses its arguments object for the channel's next publish.
    ch.tx.publishes.push({ method: { ...method }, message });
    return;
  }
  routeAndEnqueue(ch, method, message);
}

/** user-id must be the connection's user; expiration a valid TTL; reply-to to the pseudo queue is rewritten. */
function checkProperties(ch: Channel, message: Message): Message {
  const props = message.properties;
  if (props.userId !== undefined && props.userId !== ch.connection.user && !mayImpersonate(ch)) {
    throw new PreconditionFailed(`user_id property set to '${props.userId}' but authenticated user was '${ch.connection.user}'`);
  }
  if (props.expiration !== undefined && parseExpiration(props.expiration) === null) {
    throw new PreconditionFailed(`invalid expiration '${props.expiration}'`);
  }
  if (props.replyTo === REPLY_TO_QUEUE) {
    if (!ch.replyConsumer) throw new PreconditionFailed('fast reply consumer does not exist');
    const rewritten = encodeProperties({ ...props, replyTo: replyAddress(ch.replyConsumer) });
    return new Message(message.exchange, message.routingKey, rewritten, message.body);
  }
  return message;
}

/** Routes and enqueues now (outside a transaction, or at tx.commit). */
export function routeAndEnqueue(ch: Channel, method: BasicPublish, message: Message): void {
  const exchange = ch.vhost.exchanges.get(method.exchange);
  const confirms = ch.confirms;
  const seq = confirms?.next();
  ch.stats.publish++;
  ch.vhostStats.publish++;
  if (exchange) exchange.stats.publishIn++;
  if (method.exchange === '' && isReplyAddress(method.routingKey)) {
    // amqp direct reply-to: counts as routed even when the requester is gone.
    deliverReply(ch.vhost, method.routingKey, message);
    if (seq !== undefined) confirms!.settle(seq, true);
    return;
  }
  const queues = routeScratch;
  let delivered: Message;
  let accepted: boolean;
  try {
    if (exchange) ch.vhost.route(exchange, message, queues);
    if (queues.length === 0) {
      countUnroutable(ch, exchange, method.mandatory);
      if (method.mandatory) sendReturn(ch, 312, 'NO_ROUTE', message);
      if (seq !== undefined) confirms!.settle(seq, true);
      return;
    }
    if (exchange) exchange.stats.publishOut++;
    delivered = message.hasHeaders ? withoutBcc(message) : message;
    accepted = ch.vhost.enqueueAll(queues, delivered, confirms, seq);
    for (let i = 0; i < queues.length; i++) {
      const gate = queues[i].flowGate();
      if (gate) ch.connection.waitOn(gate);
    }
  } finally {
    queues.length = 0;
  }
  if (seq === undefined) return;
  const storeId = delivered.storeId;
  const store = ch.vhost.messageStore;
  if (storeId !== undefined && store && store.durableTicket < storeId) {
    // amqp confirms: a persistent message in a durable queue is confirmed once fsynced.
    confirms!.holdUntilDurable(seq, storeId);
    ch.vhost.waitForDurability(confirms!);
  }
  confirms!.finish(seq, accepted);
}

/** Management statistics of a message no queue took: returned (mandatory) or dropped. */
function countUnroutable(ch: Channel, exchange: { stats: MessageCounters } | undefined, mandatory: boolean): void {
  if (mandatory) {
    ch.stats.returnUnroutable++;
    ch.vhostStats.returnUnroutable++;
    if (exchange) exchange.stats.returnUnroutable++;
  } else {
    ch.stats.dropUnroutable++;
    ch.vhostStats.dropUnroutable++;
    if (exchange) exchange.stats.dropUnroutable++;
  }
}

/** BCC routing keys are used for routing but never shown to consumers. */
function withoutBcc(message: Message): Message {
  const headers = message.properties.headers;
  if (!headers || !('BCC' in headers)) return message;
  const copy: FieldTable = { ...headers };
  Object.defineProperty(copy, FIELD_TYPES, { value: { ...(headers[FIELD_TYPES] ?? {}) }, enumerable: false });
  delete copy.BCC;
  return new Message(message.exchange, message.routingKey, encodeProperties({ ...message.properties, headers: copy }), message.body);
}

function sendReturn(ch: Channel, replyCode: number, replyText: string, message: Message): void {
  ch.connection.out.content(
    ch.id,
    { key: MethodKey.BasicReturn, args: { replyCode, replyText, exchange: message.exchange, routingKey: message.routingKey } },
    message.rawProperties,
    message.body,
  );
}
