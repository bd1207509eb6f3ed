import { randomBytes } from 'node:crypto';
import { MethodKey } from '../protocol/methods.generated';
import type { Message } from '../broker/message';
import type { VirtualHost } from '../broker/vhost';
import type { FrameOutput } from './writer';

/** What direct reply-to uses of a requester's channel. */
export interface ReplyChannel {
  readonly id: number;
  readonly state: string;
  readonly connection: { readonly out: FrameOutput };
  replyConsumer: ReplyConsumer | undefined;
  nextDeliveryTag(): number;
}

export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
const REPLY_TO_PREFIX = REPLY_TO_QUEUE + '.';

/** The reply consumer of a channel that consumes from amq.rabbitmq.reply-to. */
export interface ReplyConsumer {
  tag: string;
  /** The opaque part of the rewritten reply-to address. */
  suffix: string;
}

/** Channels that consume from the direct reply-to pseudo queue, by their address suffix (node-wide). */
const requesters = new Map<string, ReplyChannel>();
/** This node's name as it appears in reply addresses (base64url), so a reply reaches its requester's node. */
let nodeTag = Buffer.from('warren@localhost').toString('base64url');

/** Sets the node name written into reply addresses (once, at start). */
export function setReplyNode(nodeName: string): void {
  nodeTag = Buffer.from(nodeName).toString('base64url');
}

export function registerReplyConsumer(ch: ReplyChannel, tag: string): ReplyConsumer {
  const suffix = `${nodeTag}.${randomBytes(18).toString('base64url')}`;
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

/** The node of the requester behind a reply address, when it is another node. */
function remoteNodeOf(routingKey: string): string | undefined {
  const suffix = routingKey.slice(REPLY_TO_PREFIX.length);
  const dot = suffix.indexOf('.');
  if (dot <= 0 || suffix.slice(0, dot) === nodeTag) return undefined;
  return Buffer.from(suffix.slice(0, dot), 'base64url').toString();
}

/** True while the requester behind a reply address is alive (passive declare of the address); a remote one is taken as alive. */
export function replyAddressAlive(routingKey: string): boolean {
  return remoteNodeOf(routingKey) !== undefined || requesters.has(routingKey.slice(REPLY_TO_PREFIX.length));
}

/** Delivers a reply to the requester: straight to its channel, or forwarded to its node. */
export function deliverReply(vhost: VirtualHost, routingKey: string, message: Message): void {
  const node = remoteNodeOf(routingKey);
  if (node !== undefined) return vhost.remote?.forwardReply(node, routingKey, message);
  deliverLocalReply(routingKey, message);
}

/** Delivers a reply to a requester on this node; a reply to a vanished requester is dropped. */
export function deliverLocalReply(routingKey: string, message: Message): void {
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
