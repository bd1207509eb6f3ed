/**
 * The AMQP side of authorisation: one call per operation, each doing RabbitMQ's checks for
 * it in RabbitMQ's order (rabbit_channel), so that the handlers hold a single line each.
 * Publishing checks once per (channel, exchange) and keeps the grant until any permission
 * changes; everything else checks every time (a map lookup and a compiled pattern).
 */
import type { FieldTable } from '../protocol/field-table';
import { AccessRefused, PreconditionFailed } from '../broker/errors';
import { AccessModel } from '../broker/access-model';
import type { Message } from '../broker/message';
import { checkResource, checkTopic, isPermitted, refusal, topicMatcher, topicRefusal, type Permission, type ResourceKind } from '../auth/permissions';
import type { ChannelState as Channel } from './channel-state';
import { isReplyAddress, REPLY_TO_QUEUE } from './direct-reply-to';

const DEFAULT_EXCHANGE_DENIED = 'operation not permitted on the default exchange';
/** Never matches: a topic pattern that does not compile. */
const NEVER = /(?!)/;

export function authorize(ch: Channel, perm: Permission, kind: ResourceKind, name: string): void {
  checkResource(ch.broker, ch.connection.user, ch.vhost.name, perm, kind, name);
}

/** Passive declare (RabbitMQ 4.2.7+/4.3.1+): any one of read, write or configure; the refusal names configure. */
export function authorizePassive(ch: Channel, kind: ResourceKind, name: string): void {
  const { broker, user } = ch.connection;
  const vhost = ch.vhost.name;
  for (const perm of ['read', 'write', 'configure'] as const) if (isPermitted(broker, user, vhost, perm, kind, name)) return;
  throw refusal('configure', kind, name, vhost, user);
}

/** exchange.declare: configure; a new exchange with an alternate exchange also needs read on itself and write on the AE. */
export function authorizeExchangeDeclare(ch: Channel, name: string, args: FieldTable): void {
  authorize(ch, 'configure', 'exchange', name);
  const ae = args['alternate-exchange'];
  if (typeof ae === 'string' && !name.startsWith('amq.') && !ch.vhost.exchanges.has(name)) {
    authorize(ch, 'read', 'exchange', name);
    authorize(ch, 'write', 'exchange', ae);
  }
}

/**
 * queue.declare of a client- or server-named queue: configure; a new queue with a dead-letter
 * exchange also needs read on itself and write on the DLX; a new queue must fit the vhost's max-queues.
 */
export function authorizeQueueDeclare(ch: Channel, name: string, args: FieldTable): void {
  authorize(ch, 'configure', 'queue', name);
  const vhost = ch.vhost;
  if (vhost.queues.has(name)) return;
  const dlx = args['x-dead-letter-exchange'];
  if (typeof dlx === 'string') {
    authorize(ch, 'read', 'queue', name);
    authorize(ch, 'write', 'exchange', dlx);
  }
  const max = AccessModel.limit(ch.broker.access.vhostLimits.get(vhost.name), 'max-queues');
  if (max !== undefined && vhost.queues.size + 1 > max) {
    throw new PreconditionFailed(`cannot declare queue '${name}': queue limit in vhost '${vhost.name}' (${max}) is reached`);
  }
}

/**
 * queue.bind/unbind and exchange.bind/unbind: write on the destination, neither end the
 * default exchange, read on the source, and the topic read permission on the binding key
 * when the source is a topic exchange.
 */
export function authorizeBind(ch: Channel, kind: ResourceKind, destination: string, source: string, routingKey: string): void {
  if (kind === 'queue' && (destination === REPLY_TO_QUEUE || isReplyAddress(destination))) return;
  authorize(ch, 'write', kind, destination);
  if (source === '' || (kind === 'exchange' && destination === '')) throw new AccessRefused(DEFAULT_EXCHANGE_DENIED);
  authorize(ch, 'read', 'exchange', source);
  const exchange = ch.vhost.exchanges.get(source);
  if (exchange?.def.type === 'topic') checkTopic(ch.broker, ch.connection.user, ch.vhost.name, source, 'read', routingKey);
}

/**
 * Grants a channel holds for publishing, by exchange name: `true`, or the topic pattern routing
 * keys must match. Valid while the broker's access version is unchanged (it moves with every
 * permission change and every exchange declared or deleted, so a name always means the same exchange).
 */
interface PublishGrants {
  version: number;
  byName: Map<string, true | RegExp>;
}
const publishGrants = new WeakMap<Channel, PublishGrants>();

/**
 * basic.publish: write on the exchange (before it is looked up: a refusal wins over 404),
 * then, on a topic exchange, the topic write permission for the routing key and every CC
 * and BCC key. The exchange check is done once per channel and exchange.
 */
export function authorizePublish(ch: Channel, exchangeName: string, routingKey: string, message: Message): void {
  const version = ch.broker.access.version;
  // The common case, a channel publishing to the same exchange again: one comparison.
  if (ch.grantedExchange === exchangeName && ch.grantedVersion === version) return;
  let grants = publishGrants.get(ch);
  if (grants === undefined || grants.version !== version) {
    grants = { version, byName: new Map() };
    publishGrants.set(ch, grants);
  }
  let grant = grants.byName.get(exchangeName);
  if (grant === true) return grantedAgain(ch, exchangeName, version);
  if (grant === undefined) {
    authorize(ch, 'write', 'exchange', exchangeName);
    const exchange = ch.vhost.exchanges.get(exchangeName);
    if (exchange === undefined) return; // 404 from the publish itself; nothing cached
    const topic = exchange.def.type === 'topic' && !exchange.def.internal ? topicMatcher(ch.broker, ch.connection.user, ch.vhost.name, exchangeName, 'write') : undefined;
    grant = topic === undefined ? true : (topic ?? NEVER);
    grants.byName.set(exchangeName, grant);
    if (grant === true) return grantedAgain(ch, exchangeName, version);
  }
  checkTopicKey(ch, grant, routingKey, exchangeName);
  if (message.hasHeaders) {
    const headers = message.properties.headers!;
    for (const header of ['CC', 'BCC']) {
      const keys = headers[header];
      if (Array.isArray(keys)) for (const key of keys) if (typeof key === 'string') checkTopicKey(ch, grant, key, exchangeName);
    }
  }
}

/** Remembers the exchange a channel may publish to without topic checks, until permissions change. */
function grantedAgain(ch: Channel, exchangeName: string, version: number): void {
  ch.grantedExchange = exchangeName;
  ch.grantedVersion = version;
}

function checkTopicKey(ch: Channel, pattern: RegExp, key: string, exchange: string): void {
  if (!pattern.test(key)) throw topicRefusal('write', key, exchange, ch.vhost.name, ch.connection.user);
}

/** A user tagged `impersonator` may publish with another user's user-id. */
export function mayImpersonate(ch: Channel): boolean {
  return ch.broker.users.get(ch.connection.user)?.tags.includes('impersonator') ?? false;
}
