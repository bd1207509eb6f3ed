/**
 * Prometheus text exposition with rabbitmq_prometheus's metric names, so RabbitMQ's Grafana
 * dashboards read Warren. Built from this node's rows (Prometheus scrapes every node, as with
 * RabbitMQ). `perObject` gives one sample per queue / exchange / channel / connection with
 * RabbitMQ's labels; otherwise each family is one sum.
 */
import type { NodeSource, Row } from './broker-view';

type Labels = Record<string, string>;

class Exposition {
  private readonly families = new Map<string, { type: string; help: string; samples: string[] }>();

  add(name: string, type: 'gauge' | 'counter' | 'untyped', help: string, value: number, labels?: Labels): void {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { type, help, samples: [] }));
    f.samples.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
  }

  /** Declares a family even when it has no sample (dashboards look for the names). */
  declare(name: string, type: 'gauge' | 'counter' | 'untyped', help: string): void {
    if (!this.families.has(name)) this.families.set(name, { type, help, samples: [] });
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# TYPE ${name} ${f.type}`, `# HELP ${name} ${f.help}`, ...f.samples);
    }
    return `${out.join('\n')}\n`;
  }
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

const stat = (row: Row, key: string): number => Number((row.message_stats as Row | undefined)?.[key] ?? 0);

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value: (row: Row) => number;
}

const QUEUE: Family[] = [
  { name: 'rabbitmq_queue_messages_ready', type: 'gauge', help: 'Messages ready to be delivered to consumers', value: (r) => Number(r.messages_ready) },
  { name: 'rabbitmq_queue_messages_unacked', type: 'gauge', help: 'Messages delivered to consumers but not yet acknowledged', value: (r) => Number(r.messages_unacknowledged) },
  { name: 'rabbitmq_queue_messages', type: 'gauge', help: 'Sum of ready and unacknowledged messages - total queue depth', value: (r) => Number(r.messages) },
  { name: 'rabbitmq_queue_consumers', type: 'gauge', help: 'Consumers on a queue', value: (r) => Number(r.consumers) },
  { name: 'rabbitmq_queue_consumer_capacity', type: 'gauge', help: 'Consumer capacity', value: (r) => Number(r.consumer_capacity ?? 0) },
  { name: 'rabbitmq_queue_messages_bytes', type: 'gauge', help: 'Size in bytes of ready and unacknowledged messages', value: (r) => Number(r.message_bytes ?? 0) },
  { name: 'rabbitmq_queue_messages_ready_bytes', type: 'gauge', help: 'Size in bytes of ready messages', value: (r) => Number(r.message_bytes_ready ?? 0) },
  { name: 'rabbitmq_queue_messages_unacked_bytes', type: 'gauge', help: 'Size in bytes of all unacknowledged messages', value: (r) => Number(r.message_bytes_unacknowledged ?? 0) },
  { name: 'rabbitmq_queue_get_ack_total', type: 'counter', help: 'Messages fetched with basic.get in manual acknowledgement mode', value: (r) => stat(r, 'get') },
  { name: 'rabbitmq_queue_get_total', type: 'counter', help: 'Messages fetched with basic.get in automatic acknowledgement mode', value: (r) => stat(r, 'get_no_ack') },
  { name: 'rabbitmq_queue_get_empty_total', type: 'counter', help: 'Times basic.get found the queue empty', value: (r) => stat(r, 'get_empty') },
  { name: 'rabbitmq_queue_messages_delivered_ack_total', type: 'counter', help: 'Messages delivered to consumers in manual acknowledgement mode', value: (r) => stat(r, 'deliver') },
  { name: 'rabbitmq_queue_messages_delivered_total', type: 'counter', help: 'Messages delivered to consumers in automatic acknowledgement mode', value: (r) => stat(r, 'deliver_no_ack') },
  { name: 'rabbitmq_queue_messages_redelivered_total', type: 'counter', help: 'Messages redelivered to consumers', value: (r) => stat(r, 'redeliver') },
  { name: 'rabbitmq_queue_messages_acked_total', type: 'counter', help: 'Messages acknowledged by consumers', value: (r) => stat(r, 'ack') },
  { name: 'rabbitmq_queue_messages_published_total', type: 'counter', help: 'Messages published to queues', value: (r) => stat(r, 'publish') },
];

const EXCHANGE: Family[] = [
  { name: 'rabbitmq_exchange_messages_published_total', type: 'counter', help: 'Messages published into an exchange', value: (r) => stat(r, 'publish_in') },
  { name: 'rabbitmq_exchange_messages_routed_total', type: 'counter', help: 'Messages routed out of an exchange to queues', value: (r) => stat(r, 'publish_out') },
  { name: 'rabbitmq_exchange_messages_unroutable_returned_total', type: 'counter', help: 'Unroutable messages returned to publishers', value: (r) => stat(r, 'return_unroutable') },
  { name: 'rabbitmq_exchange_messages_unroutable_dropped_total', type: 'counter', help: 'Unroutable messages dropped', value: (r) => stat(r, 'drop_unroutable') },
];

const CHANNEL: Family[] = [
  { name: 'rabbitmq_channel_consumers', type: 'gauge', help: 'Consumers on a channel', value: (r) => Number(r.consumer_count) },
  { name: 'rabbitmq_channel_messages_unacked', type: 'gauge', help: 'Delivered but not yet acknowledged messages', value: (r) => Number(r.messages_unacknowledged) },
  { name: 'rabbitmq_channel_messages_unconfirmed', type: 'gauge', help: 'Published but not yet confirmed messages', value: (r) => Number(r.messages_unconfirmed) },
  { name: 'rabbitmq_channel_messages_uncommitted', type: 'gauge', help: 'Messages received in a transaction but not yet committed', value: (r) => Number(r.messages_uncommitted) },
  { name: 'rabbitmq_channel_acks_uncommitted', type: 'gauge', help: 'Message acknowledgements in a transaction not yet committed', value: (r) => Number(r.acks_uncommitted) },
  { name: 'rabbitmq_consumer_prefetch', type: 'gauge', help: 'Limit of unacknowledged messages for each consumer', value: (r) => Number(r.prefetch_count) },
  { name: 'rabbitmq_channel_prefetch', type: 'gauge', help: 'Total limit of unacknowledged messages for all consumers on a channel', value: (r) => Number(r.global_prefetch_count) },
  { name: 'rabbitmq_channel_messages_published_total', type: 'counter', help: 'Messages published into an exchange on a channel', value: (r) => stat(r, 'publish') },
  { name: 'rabbitmq_channel_messages_confirmed_total', type: 'counter', help: 'Messages published into an exchange and confirmed on the channel', value: (r) => stat(r, 'confirm') },
  { name: 'rabbitmq_channel_messages_unroutable_returned_total', type: 'counter', help: 'Messages published as mandatory into an exchange and returned to the publisher as unroutable', value: (r) => stat(r, 'return_unroutable') },
  { name: 'rabbitmq_channel_messages_unroutable_dropped_total', type: 'counter', help: 'Messages published as non-mandatory into an exchange and dropped as unroutable', value: (r) => stat(r, 'drop_unroutable') },
  { name: 'rabbitmq_channel_get_ack_total', type: 'counter', help: 'Messages fetched with basic.get in manual acknowledgement mode', value: (r) => stat(r, 'get') },
  { name: 'rabbitmq_channel_get_total', type: 'counter', help: 'Messages fetched with basic.get in automatic acknowledgement mode', value: (r) => stat(r, 'get_no_ack') },
  { name: 'rabbitmq_channel_get_empty_total', type: 'counter', help: 'Times basic.get found the queue empty', value: (r) => stat(r, 'get_empty') },
  { name: 'rabbitmq_channel_messages_delivered_ack_total', type: 'counter', help: 'Messages delivered to consumers in manual acknowledgement mode', value: (r) => stat(r, 'deliver') },
  { name: 'rabbitmq_channel_messages_delivered_total', type: 'counter', help: 'Messages delivered to consumers in automatic acknowledgement mode', value: (r) => stat(r, 'deliver_no_ack') },
  { name: 'rabbitmq_channel_messages_redelivered_total', type: 'counter', help: 'Messages redelivered to consumers', value: (r) => stat(r, 'redeliver') },
  { name: 'rabbitmq_channel_messages_acked_total', type: 'counter', help: 'Messages acknowledged by consumers', value: (r) => stat(r, 'ack') },
];

const CONNECTION: Family[] = [
  { name: 'rabbitmq_connection_incoming_bytes_total', type: 'counter', help: 'Bytes received on a connection', value: (r) => Number(r.recv_oct) },
  { name: 'rabbitmq_connection_outgoing_bytes_total', type: 'counter', help: 'Bytes sent on a connection', value: (r) => Number(r.send_oct) },
  { name: 'rabbitmq_connection_pending_packets', type: 'gauge', help: 'Bytes waiting to be sent on a connection', value: (r) => Number(r.send_pend) },
  { name: 'rabbitmq_connection_channels', type: 'gauge', help: 'Channels on a connection', value: (r) => Number(r.channels) },
];

function addFamilies(x: Exposition, families: Family[], rows: Row[], perObject: boolean, labels: (r: Row) => Labels): void {
  for (const f of families) {
    if (perObject) {
      x.declare(f.name, f.type, f.help);
      for (const r of rows) x.add(f.name, f.type, f.help, f.value(r), labels(r));
    } else {
      let sum = 0;
      for (const r of rows) sum += f.value(r);
      x.add(f.name, f.type, f.help, sum);
    }
  }
}

export interface PrometheusInfo {
  version: string;
  clusterName: string;
  exchanges: Row[];
}

/** The text for /metrics (perObject false) or /metrics/per-object. */
export async function renderMetrics(local: NodeSource, info: PrometheusInfo, perObject: boolean): Promise<string> {
  const [node, queues, channels, connections, consumers, stats, churn] = await Promise.all([local.node(), local.queues(undefined), local.channels(), local.connections(), local.consumers(), local.messageStats(), local.churn()]);
  const x = new Exposition();
  x.add('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info', 1, {
    rabbitmq_version: info.version,
    prometheus_plugin_version: info.version,
    prometheus_client_version: info.version,
    erlang_version: process.version,
    product_name: 'Warren',
    product_version: info.version,
  });
  x.add('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info', 1, {
    rabbitmq_node: local.nodeName,
    rabbitmq_cluster: info.clusterName,
    rabbitmq_cluster_permanent_id: info.clusterName,
    rabbitmq_endpoint: perObject ? 'per-object' : 'aggregated',
  });
  x.add('rabbitmq_connections', 'gauge', 'Connections currently open', connections.length);
  x.add('rabbitmq_channels', 'gauge', 'Channels currently open', channels.length);
  x.add('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers.length);
  x.add('rabbitmq_queues', 'gauge', 'Queues available', queues.length);

  const c = (name: string, help: string, key: string) => x.add(name, 'counter', help, Number(churn[key] ?? 0));
  c('rabbitmq_connections_opened_total', 'Total number of connections opened', 'connection_created');
  c('rabbitmq_connections_closed_total', 'Total number of connections closed or terminated', 'connection_closed');
  c('rabbitmq_channels_opened_total', 'Total number of channels opened', 'channel_created');
  c('rabbitmq_channels_closed_total', 'Total number of channels closed', 'channel_closed');
  c('rabbitmq_queues_declared_total', 'Total number of queues declared', 'queue_declared');
  c('rabbitmq_queues_created_total', 'Total number of queues created', 'queue_created');
  c('rabbitmq_queues_deleted_total', 'Total number of queues deleted', 'queue_deleted');

  const ms = stats.node;
  const n = (k: string) => Number(ms[k] ?? 0);
  const g = (name: string, help: string, value: number) => x.add(name, 'counter', help, value, { protocol: 'amqp091' });
  g('rabbitmq_global_messages_received_total', 'Total number of messages received from publishers', n('publish'));
  g('rabbitmq_global_messages_routed_total', 'Total number of messages routed to queues or streams', n('publish') - n('return_unroutable') - n('drop_unroutable'));
  g('rabbitmq_global_messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', n('drop_unroutable'));
  g('rabbitmq_global_messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', n('return_unroutable'));
  g('rabbitmq_global_messages_confirmed_total', 'Total number of messages confirmed to publishers', n('confirm'));
  const d = (name: string, help: string, value: number) => x.add(name, 'counter', help, value, { protocol: 'amqp091', queue_type: 'rabbit_classic_queue' });
  d('rabbitmq_global_messages_delivered_total', 'Total number of messages delivered to consumers', n('deliver_get'));
  d('rabbitmq_global_messages_delivered_consume_manual_ack_total', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', n('deliver'));
  d('rabbitmq_global_messages_delivered_consume_auto_ack_total', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', n('deliver_no_ack'));
  d('rabbitmq_global_messages_delivered_get_manual_ack_total', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', n('get'));
  d('rabbitmq_global_messages_delivered_get_auto_ack_total', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', n('get_no_ack'));
  d('rabbitmq_global_messages_get_empty_total', 'Total number of times basic.get operations fetched no message', n('get_empty'));
  d('rabbitmq_global_messages_redelivered_total', 'Total number of messages redelivered to consumers', n('redeliver'));
  d('rabbitmq_global_messages_acknowledged_total', 'Total number of messages acknowledged by consumers', n('ack'));
  x.add('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers.length, { protocol: 'amqp091' });
  x.add('rabbitmq_global_publishers', 'gauge', 'Current number of publishers', channels.filter((c) => stat(c, 'publish') > 0).length, { protocol: 'amqp091' });

  const alarm = (on: unknown) => (on ? 1 : 0);
  x.add('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', Number(node.fd_used));
  x.add('rabbitmq_process_max_fds', 'gauge', 'Open file descriptors limit', Number(node.fd_total));
  x.add('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', Number(node.mem_used));
  x.add('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', Number(node.mem_limit));
  x.add('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', Number(node.disk_free));
  x.add('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', Number(node.disk_free_limit));
  x.add('rabbitmq_erlang_uptime_seconds', 'gauge', 'Node uptime', Number(node.uptime) / 1000);
  x.add('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is set to 1 when the memory alarm is in effect, 0 otherwise', alarm(node.mem_alarm));
  x.add('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is set to 1 when the free disk space alarm is in effect, 0 otherwise', alarm(node.disk_free_alarm));

  addFamilies(x, QUEUE, queues, perObject, (r) => ({ vhost: String(r.vhost), queue: String(r.name) }));
  if (perObject) {
    for (const r of queues) x.add('rabbitmq_queue_info', 'gauge', 'A metric with a constant 1 value and labels that provide some queue details', 1, { vhost: String(r.vhost), queue: String(r.name), queue_type: 'rabbit_classic_queue', membership: 'leader' });
  }
  addFamilies(x, EXCHANGE, info.exchanges, perObject, (r) => ({ vhost: String(r.vhost), exchange: String(r.name) }));
  addFamilies(x, CHANNEL, channels, perObject, (r) => ({ channel: String(r.name) }));
  addFamilies(x, CONNECTION, connections, perObject, (r) => ({ connection: String(r.name) }));
  return x.text();
}
