/**
 * What each kind of object keeps history of, and how its columns answer as RabbitMQ's
 * `*_details` fields: message counters (msg_rates, in message_stats), queue lengths (lengths)
 * and bytes in and out (data_rates). `fill*` write one object's values into a reused array.
 */
import type { ChurnCounters, CounterField, MessageCounters } from '../broker/message-stats';
import type { HistoryField, HistoryLayout } from './object-history';
import { JSON_NAMES } from './rates';

const DELIVER_GET: CounterField[] = ['deliver', 'deliverNoAck', 'get', 'getNoAck'];

export const QUEUE_COUNTERS: CounterField[] = ['publish', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack'];
export const EXCHANGE_COUNTERS: CounterField[] = ['publishIn', 'publishOut'];
export const CHANNEL_COUNTERS: CounterField[] = ['publish', 'confirm', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack', 'returnUnroutable', 'dropUnroutable'];

/** Message counters first (with deliver_get when they include deliveries), then `extra` counters and gauges. */
function layout(counters: CounterField[], dataRates: boolean, lengths: boolean): HistoryLayout {
  const fields: HistoryField[] = counters.map((f, i) => ({ name: JSON_NAMES[f], columns: [i], range: 'msg_rates', inStats: true }));
  const deliverGet = DELIVER_GET.map((f) => counters.indexOf(f));
  if (deliverGet.every((i) => i >= 0)) fields.push({ name: 'deliver_get', columns: deliverGet, range: 'msg_rates', inStats: true });
  let n = counters.length;
  if (dataRates) {
    fields.push({ name: 'recv_oct', columns: [n], range: 'data_rates', inStats: false }, { name: 'send_oct', columns: [n + 1], range: 'data_rates', inStats: false });
    n += 2;
  }
  if (lengths) {
    fields.push(
      { name: 'messages_ready', columns: [n], range: 'lengths', inStats: false },
      { name: 'messages_unacknowledged', columns: [n + 1], range: 'lengths', inStats: false },
      { name: 'messages', columns: [n, n + 1], range: 'lengths', inStats: false },
    );
  }
  return { counters: n, gauges: lengths ? 2 : 0, fields };
}

export const QUEUE_LAYOUT = layout(QUEUE_COUNTERS, false, true);
export const EXCHANGE_LAYOUT = layout(EXCHANGE_COUNTERS, false, false);
export const CHANNEL_LAYOUT = layout(CHANNEL_COUNTERS, false, false);
/** A vhost: its channels' counters, its connections' bytes, its queues' lengths (as RabbitMQ's vhost object). */
export const VHOST_LAYOUT = layout(CHANNEL_COUNTERS, true, true);
export const CONNECTION_LAYOUT: HistoryLayout = layout([], true, false);

/** Node figures, as RabbitMQ's node_stats: object churn (counters), then memory, descriptors, sockets, processes and free disk. */
export const NODE_COUNTERS = ['connection_created', 'connection_closed', 'channel_created', 'channel_closed', 'queue_declared', 'queue_created', 'queue_deleted'];
/** The broker's churn counters, in NODE_COUNTERS' order. */
export const NODE_CHURN: (keyof ChurnCounters)[] = ['connectionCreated', 'connectionClosed', 'channelCreated', 'channelClosed', 'queueDeclared', 'queueCreated', 'queueDeleted'];
export const NODE_GAUGES = ['mem_used', 'fd_used', 'sockets_used', 'proc_used', 'disk_free'];
export const NODE_LAYOUT: HistoryLayout = {
  counters: NODE_COUNTERS.length,
  gauges: NODE_GAUGES.length,
  fields: [...NODE_COUNTERS, ...NODE_GAUGES].map((name, i) => ({ name, columns: [i], range: 'node_stats', inStats: false })),
  wide: true,
};

/** Column of recv_oct in the vhost and connection layouts (send_oct follows). */
export const VHOST_RECV_COLUMN = CHANNEL_COUNTERS.length;
export const CONNECTION_RECV_COLUMN = 0;

/** Writes `counters`' fields into `into` from column 0; returns the next column. */
export function fillCounters(into: Float64Array, fields: CounterField[], counters: MessageCounters): number {
  for (let i = 0; i < fields.length; i++) into[i] = counters[fields[i]];
  return fields.length;
}
