import { randomBytes } from 'node:crypto';
import { MethodKey } from '../protocol/methods.generated';
import type { Message } from '../broker/message';
import type { Channel } from './channel';

export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
const REPLY_TO_PREFIX = REPLY_TO_QUEUE + '.';

/** The reply consumer of a channel that consumes from amq.rabbitmq.reply-to. */
export interface ReplyConsumer {
  tag: string;
  /** The opaque part of the rewritten reply-to address. */
  suffix: string;
}

/** Channels that consume from the direct reply-to pseudo queue, by their address suffix (node-wide). */
const requesters = new Map<string, Channel>();

export function registerReplyConsumer(ch: Channel, tag: string): ReplyConsumer {
  const suffix = randomBytes(18).toString('base64url');
  requesters.set(suffix, ch);
  return { tag, suffix };
}

export function unregisterReplyConsumer(consumer: ReplyConsumer): void {
  requesters.delete(consumer.suffix);
}

export function replyAddress(consumer: ReplyConsumer): string {
  return REPLY_TO_PREFIX + consumer.suffix;
}

export function isReplyAddress(routingKey: string): boolean {
  return routingKey.startsWith(REPLY_TO_PREFIX);
}

/** True while the requester behind a reply address is alive (passive declare of the address). */
export function replyAddressAlive(routingKey: string): boolean {
  return requesters.has(routingKey.slice(REPLY_TO_PREFIX.length));
}

/** Delivers a reply straight to the requester's channel; a reply to a vanished requester is dropped. */
export function deliverReply(routingKey: string, message: Message): void {
  const ch = requesters.get(routingKey.slice(REPLY_TO_PREFIX.length));
  const consumer = ch?.replyConsumer;
  if (!ch || !consumer || ch.state !== 'open') return;
  ch.connection.out.content(
    ch.id,
    {
      key: MethodKey.BasicDeliver,
      args: { consumerTag: consumer.tag, deliveryTag: ch.nextDeliveryTag(), redelivered: false, exchange: message.exchange, routingKey },
    },
    message.rawProperties,
    message.body,
  );
}
