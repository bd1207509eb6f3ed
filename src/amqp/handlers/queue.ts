import { MethodKey, type AmqpMethod } from '../../protocol/methods.generated';
import { AccessRefused, CommandInvalid, NotFound } from '../../broker/errors';
import { headersMatchMode } from '../../broker/exchange/headers';
import type { Binding } from '../../broker/binding';
import type { QueueDefinition } from '../../broker/queue/queue-definition';
import { countsIfAvailable } from '../../broker/queue/counts-if-available';
import type { ChannelState as Channel } from '../channel-state';
import { cleanName, generatedName } from '../names';
import { validateQueueArguments } from '../../broker/queue/queue-config';
import { isQuorum, validateQuorumProperties } from '../../broker/queue/quorum-arguments';
import { isReplyAddress, REPLY_TO_QUEUE, replyAddressAlive } from '../direct-reply-to';
import { authorize, authorizeBind, authorizePassive, authorizeQueueDeclare } from '../access';

/** The queue a method names; empty means the last queue declared on this channel. */
export function resolveQueueName(ch: Channel, name: string): string {
  const cleaned = cleanName(name);
  if (cleaned !== '') return cleaned;
  if (ch.lastQueueName === undefined) throw new NotFound('no previously declared queue');
  return ch.lastQueueName;
}

export async function handleQueueMethod(ch: Channel, m: AmqpMethod): Promise<void> {
  const vhost = ch.vhost;
  const conn = ch.connection;
  const out = conn.out;
  switch (m.key) {
    case MethodKey.QueueDeclare: {
      const a = m.args;
      let name: string;
      if (a.passive && (a.queue === REPLY_TO_QUEUE || isReplyAddress(a.queue))) {
        if (a.queue !== REPLY_TO_QUEUE && !replyAddressAlive(a.queue)) throw new NotFound(`no queue '${a.queue}' in vhost '${vhost.name}'`);
        if (!a.nowait) out.method(ch.id, { key: MethodKey.QueueDeclareOk, args: { queue: a.queue, messageCount: 0, consumerCount: a.queue === REPLY_TO_QUEUE ? 0 : 1 } });
        return;
      }
      if (a.passive) {
        // RabbitMQ takes a passive declare's name as it is: '' is not the last declared queue.
        name = cleanName(a.queue);
        authorizePassive(ch, 'queue', name);
        const q = vhost.availableQueue(name);
        vhost.checkExclusiveAccess(q, conn.id);
      } else {
        name = cleanName(a.queue);
        if (name === '') name = generatedName('amq.gen-');
        else if (name.startsWith('amq.')) throw new AccessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
        authorizeQueueDeclare(ch, name, a.arguments);
        validateQueueArguments(a.arguments, name, vhost.name);
        if (isQuorum(a.arguments)) validateQuorumProperties({ serverNamed: cleanName(a.queue) === '', durable: a.durable, exclusive: a.exclusive, autoDelete: a.autoDelete }, name, vhost.name);
        // A durable queue whose home is down cannot be declared again until it returns.
        vhost.queues.get(name)?.checkAvailable();
        const def: QueueDefinition = {
          name,
          durable: a.exclusive ? false : a.durable,
          exclusive: a.exclusive,
          autoDelete: a.autoDelete,
          arguments: a.arguments,
          exclusiveOwner: a.exclusive ? conn.id : undefined,
        };
        const result = await conn.metadata.apply({ op: 'queue.declare', vhost: vhost.name, queue: def, connectionId: conn.id });
        if (result.created && a.exclusive) conn.exclusiveQueues.add(name);
      }
      ch.lastQueueName = name;
      if (!a.nowait) {
        const { messageCount, consumerCount } = await vhost.queue(name).counts();
        out.method(ch.id, { key: MethodKey.QueueDeclareOk, args: { queue: name, messageCount, consumerCount } });
      }
      return;
    }
    case MethodKey.QueueBind:
    case MethodKey.QueueUnbind: {
      const a = m.args;
      const bind = m.key === MethodKey.QueueBind;
      const binding: Binding = {
        source: cleanName(a.exchange),
        destination: resolveQueueName(ch, a.queue),
        destinationKind: 'queue',
        routingKey: a.routingKey,
        args: a.arguments,
      };
      authorizeBind(ch, 'queue', binding.destination, binding.source, binding.routingKey);
      if (binding.source === '') throw new AccessRefused('operation not permitted on the default exchange');
      if (binding.destination === REPLY_TO_QUEUE || isReplyAddress(binding.destination)) {
        throw new AccessRefused(`operation not permitted on the direct reply-to pseudo queue`);
      }
      const q = vhost.queue(binding.destination);
      // RabbitMQ unbinds a binding that does not exist without looking at the queue's owner.
      if (bind || vhost.bindingsToDestination('queue', q.name).some((b) => b.source === binding.source && b.routingKey === binding.routingKey)) {
        vhost.checkExclusiveAccess(q, conn.id);
      }
      if (bind) {
        const source = vhost.exchange(binding.source);
        if (source.def.type === 'headers') headersMatchMode(binding.args);
        await conn.metadata.apply({ op: 'binding.add', vhost: vhost.name, binding });
        if (!m.args.nowait) out.method(ch.id, { key: MethodKey.QueueBindOk, args: {} });
      } else {
        if (vhost.exchanges.has(binding.source)) await conn.metadata.apply({ op: 'binding.remove', vhost: vhost.name, binding });
        out.method(ch.id, { key: MethodKey.QueueUnbindOk, args: {} });
      }
      return;
    }
    case MethodKey.QueuePurge: {
      const name = resolveQueueName(ch, m.args.queue);
      authorize(ch, 'read', 'queue', name);
      const q = vhost.availableQueue(name);
      vhost.checkExclusiveAccess(q, conn.id);
      const messageCount = await q.purge();
      if (!m.args.nowait) out.method(ch.id, { key: MethodKey.QueuePurgeOk, args: { messageCount } });
      return;
    }
    case MethodKey.QueueDelete: {
      const a = m.args;
      const name = resolveQueueName(ch, a.queue);
      authorize(ch, 'configure', 'queue', name);
      const q = vhost.queues.get(name);
      let messageCount = 0;
      ch.heldCancels = [];
      try {
        if (q) {
          vhost.checkExclusiveAccess(q, conn.id);
          // Clustered, the command is applied by the Raft leader, whose count of a queue homed
          // elsewhere is 0: delete-ok reports the home's count just before the delete.
          const before = vhost.remote && !q.deleted ? await countsIfAvailable(q) : undefined;
          const result = await conn.metadata.apply({ op: 'queue.delete', vhost: vhost.name, name, ifUnused: a.ifUnused, ifEmpty: a.ifEmpty });
          messageCount = vhost.remote ? (before?.messageCount ?? 0) : (result.messageCount ?? 0);
          conn.exclusiveQueues.delete(name);
        }
        if (!a.nowait) out.method(ch.id, { key: MethodKey.QueueDeleteOk, args: { messageCount } });
      } finally {
        // RabbitMQ answers delete-ok before it cancels the deleting channel's own consumers.
        const held = ch.heldCancels;
        ch.heldCancels = undefined;
        for (const tag of held) ch.sendCancel(tag);
      }
      return;
    }
  }
  throw new CommandInvalid('unimplemented method');
}
