/** MQTT and STOMP connections as /api/connections lists them (RabbitMQ 3.10's row for its MQTT and STOMP plugins). */
import type { ConnectionListing, ListedConnection } from '../adapter/listed-connection';
import { NO_DATA_RATES } from './amqp-connection-rows';
import type { Row } from './broker-view';

/** "peer_host:peer_port -> host:port", as RabbitMQ names every connection. */
export function listingName(l: ConnectionListing): string {
  return `${l.peerHost}:${l.peerPort ?? 0} -> ${l.host}:${l.port ?? 0}`;
}

export function protocolConnectionRow(l: ConnectionListing, nodeName: string, rates = NO_DATA_RATES): Row {
  return {
    name: listingName(l),
    node: nodeName,
    vhost: l.vhost,
    user: l.user,
    user_who_performed_action: l.user,
    // RabbitMQ's MQTT and STOMP plugins open direct connections inside the broker.
    type: 'direct',
    protocol: l.protocol,
    connected_at: l.connectedAtMs,
    host: l.host,
    port: l.port ?? 0,
    peer_host: l.peerHost,
    peer_port: l.peerPort ?? 0,
    ssl: false,
    client_properties: l.clientProperties,
    ...(l.clientProperties.client_id !== undefined ? { variable_map: { client_id: l.clientProperties.client_id } } : {}),
    channels: 1,
    channel_max: 1,
    frame_max: 0,
    state: 'running',
    recv_oct: l.recvBytes,
    recv_oct_details: { rate: Math.round(rates.recv * 10) / 10 },
    recv_cnt: 0,
    send_oct: l.sendBytes,
    send_oct_details: { rate: Math.round(rates.send * 10) / 10 },
    send_cnt: 0,
    send_pend: 0,
  };
}

/** The logged-in connections of `all`, with their listings. */
export function listed(all: Iterable<ListedConnection>): { c: ListedConnection; l: ConnectionListing }[] {
  const out: { c: ListedConnection; l: ConnectionListing }[] = [];
  for (const c of all) {
    const l = c.listing();
    if (l) out.push({ c, l });
  }
  return out;
}
