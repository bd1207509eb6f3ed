/** AMQP 0-9-1 connections and channels as /api/connections and /api/channels list them. */
import type { Channel } from '../amqp/channel';
import type { Connection } from '../amqp/connection';
import type { Row } from './broker-view';
import { tableToJson } from './json-values';
import type { RateSampler } from './rates';

export function amqpConnectionRow(c: Connection, nodeName: string, rates = NO_DATA_RATES): Row {
  const s = c.socket;
  const props = tableToJson(c.clientProperties);
  let recv = 0;
  let send = 0;
  try {
    recv = s.bytesRead;
    send = s.bytesWritten;
  } catch {
    // a destroyed socket no longer reports its byte counts
  }
  return {
    name: connectionName(c),
    node: nodeName,
    vhost: c.vhost?.name ?? null,
    user: c.user,
    user_who_performed_action: c.user,
    user_provided_name: typeof props.connection_name === 'string' ? props.connection_name : undefined,
    type: 'network',
    protocol: 'AMQP 0-9-1',
    auth_mechanism: 'PLAIN',
    connected_at: connectedAt(c),
    host: stripMapped(s.localAddress),
    port: s.localPort,
    peer_host: stripMapped(s.remoteAddress),
    peer_port: s.remotePort,
    ssl: false,
    ssl_protocol: null,
    ssl_key_exchange: null,
    ssl_cipher: null,
    ssl_hash: null,
    peer_cert_subject: null,
    peer_cert_issuer: null,
    peer_cert_validity: null,
    timeout: c.heartbeatSeconds,
    frame_max: c.out.frameMaxBytes,
    channel_max: c.channelMax,
    client_properties: props,
    state: c.state === 'open' ? (c.blocked ? 'blocked' : 'running') : c.state === 'handshake' ? 'starting' : c.state,
    channels: c.channels.size,
    recv_oct: recv,
    recv_oct_details: { rate: round(rates.recv) },
    recv_cnt: 0,
    send_oct: send,
    send_oct_details: { rate: round(rates.send) },
    send_cnt: 0,
    send_pend: s.writableLength,
    reductions: 0,
    garbage_collection: {},
  };
}

export function amqpChannelRow(c: Connection, ch: Channel, nodeName: string, rates: RateSampler): Row {
  const name = connectionName(c);
  return {
    name: `${name} (${ch.id})`,
    number: ch.id,
    node: nodeName,
    vhost: c.vhost?.name ?? null,
    user: c.user,
    user_who_performed_action: c.user,
    connection_details: { name, peer_host: stripMapped(c.socket.remoteAddress), peer_port: c.socket.remotePort },
    state: ch.flowActive ? 'running' : 'flow',
    transactional: ch.tx !== undefined,
    confirm: ch.confirms !== undefined,
    consumer_count: ch.consumers.size,
    messages_unacknowledged: ch.unacked.size,
    messages_unconfirmed: 0,
    messages_uncommitted: ch.tx?.publishes.length ?? 0,
    acks_uncommitted: ch.tx?.settlements.length ?? 0,
    prefetch_count: ch.consumerPrefetch,
    global_prefetch_count: ch.globalPrefetch,
    pending_raft_commands: 0,
    message_stats: rates.messageStats(ch.stats),
    reductions: 0,
    garbage_collection: {},
  };
}

/** Bytes per second received and sent, over the last sampling tick. */
export interface DataRates {
  recv: number;
  send: number;
}

export const NO_DATA_RATES: DataRates = { recv: 0, send: 0 };

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const connectedAtMs = new WeakMap<Connection, number>();

function connectedAt(c: Connection): number {
  let at = connectedAtMs.get(c);
  if (at === undefined) connectedAtMs.set(c, (at = Date.now()));
  return at;
}

/** As RabbitMQ names a connection: "peer_host:peer_port -> host:port". */
export function connectionName(c: Connection): string {
  const s = c.socket;
  return `${stripMapped(s.remoteAddress)}:${s.remotePort} -> ${stripMapped(s.localAddress)}:${s.localPort}`;
}

export function stripMapped(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice(7) : (address ?? '');
}
