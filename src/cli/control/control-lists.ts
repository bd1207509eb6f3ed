/**
 * The read side of warrenctl: tables of vhosts, users, permissions, queues, exchanges,
 * bindings, connections, consumers and policies, built from the local broker model with
 * rabbitmqctl's info item names and default columns.
 */
import { displayAddress } from '../../amqp/socket-address';
import type { Broker } from '../../broker/broker';
import { matchingPolicy, queuePolicyKind } from '../../broker/policy';
import type { VirtualHost } from '../../broker/vhost';
import type { Connection } from '../../amqp/connection';
import type { FieldTable } from '../../protocol/field-table';
import { fieldTableToJson } from '../../protocol/field-table-json';
import type { CtlTable, ListKind } from './control-protocol';
import { Queue } from '../../broker/queue/queue';
import { vhostMessages, vhostQueueFigures } from './queue-figures';

/** What the lists read: the model and the open AMQP connections. */
export interface ListSource {
  broker: Broker;
  connections(): Iterable<Connection>;
  nodeName: string;
}

type Row = Record<string, unknown>;

interface ListSpec {
  /** Every info item, in rabbitmqctl's order. */
  items: string[];
  /** Columns shown when none are asked for (rabbitmqctl's defaults). */
  defaults: string[];
  /** Whether the list is of one vhost (-p); otherwise of the whole node. */
  perVhost: boolean;
  rows(s: ListSource, vhost: VirtualHost | undefined, user: string | undefined): Row[] | Promise<Row[]>;
}

const SPECS: Record<ListKind, ListSpec> = {
  vhosts: {
    items: ['name', 'tracing', 'messages', 'queues'],
    defaults: ['name'],
    perVhost: false,
    rows: (s) => Promise.all([...s.broker.vhosts.values()].map(async (v) => ({ name: v.name, tracing: false, messages: await vhostMessages(v), queues: v.queues.size }))),
  },
  users: {
    items: ['user', 'tags'],
    defaults: ['user', 'tags'],
    perVhost: false,
    rows: (s) => [...s.broker.users.values()].map((u) => ({ user: u.name, tags: u.tags })),
  },
  permissions: {
    items: ['user', 'configure', 'write', 'read'],
    defaults: ['user', 'configure', 'write', 'read'],
    perVhost: true,
    rows: (s, v) => [...s.broker.permissions.values()].filter((p) => p.vhost === v!.name).map((p) => ({ ...p })),
  },
  user_permissions: {
    items: ['vhost', 'configure', 'write', 'read'],
    defaults: ['vhost', 'configure', 'write', 'read'],
    perVhost: false,
    rows: (s, _v, user) => [...s.broker.permissions.values()].filter((p) => p.user === user).map((p) => ({ ...p })),
  },
  queues: {
    items: ['name', 'vhost', 'durable', 'auto_delete', 'exclusive', 'arguments', 'policy', 'effective_policy_definition', 'messages', 'messages_ready', 'messages_unacknowledged', 'message_bytes', 'message_bytes_ready', 'consumers', 'state', 'type', 'node', 'leader', 'members'],
    defaults: ['name', 'messages'],
    perVhost: true,
    rows: async (s, v) =>
      [...(await vhostQueueFigures(v!))].map(([q, f]) => {
        const policy = matchingPolicy(v!.policies.values(), queuePolicyKind(q.def.arguments), q.name);
        return {
          name: q.name,
          vhost: v!.name,
          durable: q.def.durable,
          auto_delete: q.def.autoDelete,
          exclusive: q.def.exclusive,
          arguments: tableToJson(q.def.arguments),
          policy: policy?.name ?? '',
          effective_policy_definition: policy?.definition ?? {},
          messages: f.messageCount + f.unackedCount,
          messages_ready: f.messageCount,
          messages_unacknowledged: f.unackedCount,
          message_bytes: f.messageBytes,
          message_bytes_ready: f.messageBytes,
          consumers: f.consumerCount,
          state: f.state,
          type: q.def.quorumGroup !== undefined || q.def.arguments['x-queue-type'] === 'quorum' ? 'quorum' : 'classic',
          node: q.def.ownerNode ?? s.nodeName,
          // A quorum queue's handle knows its current leader ('' while there is none).
          leader: 'leaderNode' in q ? String(q.leaderNode) : (q.def.ownerNode ?? s.nodeName),
          members: (q.def.members ?? [q.def.ownerNode ?? s.nodeName]).join(','),
        };
      }),
  },
  exchanges: {
    items: ['name', 'vhost', 'type', 'durable', 'auto_delete', 'internal', 'arguments', 'policy'],
    defaults: ['name', 'type'],
    perVhost: true,
    rows: (_s, v) =>
      [...v!.exchanges.values()].map((e) => ({
        name: e.name,
        vhost: v!.name,
        type: e.def.type,
        durable: e.def.durable,
        auto_delete: e.def.autoDelete,
        internal: e.def.internal,
        arguments: tableToJson(e.def.arguments),
        policy: e.policy?.name ?? '',
      })),
  },
  bindings: {
    items: ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments', 'vhost'],
    defaults: ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'],
    perVhost: true,
    rows: (_s, v) => {
      const rows: Row[] = [];
      const row = (source: string, destination: string, kind: string, routingKey: string, args: FieldTable): Row => ({
        source_name: source,
        source_kind: 'exchange',
        destination_name: destination,
        destination_kind: kind,
        routing_key: routingKey,
        arguments: tableToJson(args),
        vhost: v!.name,
      });
      // As RabbitMQ lists them: every queue's implicit binding to the default exchange first.
      for (const q of v!.queues.values()) rows.push(row('', q.name, 'queue', q.name, {}));
      for (const e of v!.exchanges.values()) {
        for (const b of e.allBindings()) rows.push(row(e.name, b.destination, b.destinationKind, b.routingKey, b.args));
      }
      return rows;
    },
  },
  connections: {
    items: ['name', 'user', 'vhost', 'peer_host', 'peer_port', 'host', 'port', 'state', 'channels', 'protocol', 'timeout', 'client_properties'],
    defaults: ['user', 'peer_host', 'peer_port', 'state'],
    perVhost: false,
    rows: (s) =>
      [...s.connections()].map((c) => ({
        name: `${displayAddress(c.socket.remoteAddress)}:${c.socket.remotePort} -> ${displayAddress(c.socket.localAddress)}:${c.socket.localPort}`,
        user: c.user,
        vhost: c.vhost?.name ?? '',
        peer_host: displayAddress(c.socket.remoteAddress),
        peer_port: c.socket.remotePort ?? 0,
        host: displayAddress(c.socket.localAddress),
        port: c.socket.localPort ?? 0,
        state: c.state === 'open' ? (c.blocked ? 'blocked' : 'running') : c.state,
        channels: c.channels.size,
        protocol: 'AMQP 0-9-1',
        timeout: c.heartbeatSeconds,
        client_properties: tableToJson(c.clientProperties),
      })),
  },
  consumers: {
    items: ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'exclusive', 'arguments', 'vhost'],
    defaults: ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'],
    perVhost: true,
    rows: (s, v) => {
      const rows: Row[] = [];
      for (const c of s.connections()) {
        if (c.vhost !== v) continue;
        for (const ch of c.channels.values()) {
          for (const consumer of ch.consumers.values()) {
            rows.push({
              queue_name: consumer.queue.name,
              channel_pid: `<${c.id}.${ch.id}>`,
              consumer_tag: consumer.tag,
              ack_required: !consumer.noAck,
              prefetch_count: consumer.prefetchCount,
              active: consumer.queue instanceof Queue ? consumer.queue.isActive(consumer) : true,
              exclusive: consumer.exclusive,
              arguments: tableToJson(consumer.args),
              vhost: v!.name,
            });
          }
        }
      }
      return rows;
    },
  },
  topic_permissions: {
    items: ['user', 'exchange', 'write', 'read'],
    defaults: ['user', 'exchange', 'write', 'read'],
    perVhost: true,
    rows: (s, v) => [...s.broker.access.topicPermissions.values()].filter((p) => p.vhost === v!.name).map((p) => ({ ...p })),
  },
  user_topic_permissions: {
    items: ['vhost', 'exchange', 'write', 'read'],
    defaults: ['vhost', 'exchange', 'write', 'read'],
    perVhost: false,
    rows: (s, _v, user) => [...s.broker.access.topicPermissions.values()].filter((p) => p.user === user).map((p) => ({ ...p })),
  },
  vhost_limits: {
    items: ['vhost', 'limits'],
    defaults: ['vhost', 'limits'],
    perVhost: false,
    rows: (s) => [...s.broker.access.vhostLimits].map(([vhost, limits]) => ({ vhost, limits })),
  },
  user_limits: {
    items: ['user', 'limits'],
    defaults: ['user', 'limits'],
    perVhost: false,
    rows: (s) => [...s.broker.access.userLimits].map(([user, limits]) => ({ user, limits })),
  },
  policies: {
    items: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    defaults: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    perVhost: true,
    rows: (_s, v) =>
      [...v!.policies.values()].map((p) => ({ vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority })),
  },
};

/** Builds one table; throws an Error with a user-facing message on an unknown vhost or info item. */
export async function listTable(s: ListSource, kind: ListKind, vhostName: string, user: string | undefined, columns: string[]): Promise<CtlTable> {
  const spec = SPECS[kind];
  if (!spec) throw new Error(`unknown list '${String(kind)}'`);
  const unknown = columns.filter((c) => !spec.items.includes(c));
  if (unknown.length > 0) throw new Error(`Info key(s) ${unknown.join(',')} are not supported. Valid keys: ${spec.items.join(', ')}`);
  let vhost: VirtualHost | undefined;
  if (spec.perVhost) {
    vhost = s.broker.vhost(vhostName);
    if (!vhost) throw new Error(`Virtual host '${vhostName}' does not exist`);
  }
  if ((kind === 'user_permissions' || kind === 'user_topic_permissions') && (user === undefined || !s.broker.users.has(user))) throw new Error(`User '${user}' does not exist`);
  const shown = columns.length > 0 ? columns : spec.defaults;
  return { columns: shown, rows: (await spec.rows(s, vhost, user)).map((r) => shown.map((c) => r[c])) };
}

/** A field table as plain JSON (bigints as numbers or strings, byte strings as text, dates as ISO strings). */
export function tableToJson(table: FieldTable): Record<string, unknown> {
  return fieldTableToJson(table, (d) => d.toISOString());
}
