/**
 * Connection and channel limits checked at connection.open and channel.open, in
 * RabbitMQ's order and with its texts (all 530 NOT_ALLOWED, closing the connection):
 * the node's max_connections, the vhost's and the user's max-connections, then the user's max-channels across all of
 * its connections. Counting walks the open connections only when a limit is set.
 */
import { NotAllowed } from '../broker/errors';
import { AccessModel } from '../broker/access-model';
import type { Broker } from '../broker/broker';

/** What the limit checks read of a connection, and of its listener's other connections (Connection implements it). */
export interface LimitedConnection {
  readonly broker: Broker;
  readonly user: string;
  readonly state: string;
  readonly vhost: { readonly name: string } | undefined;
  readonly channels: { readonly size: number };
  readonly ctx: { readonly peers?: Iterable<LimitedConnection>; readonly limits: { readonly maxConnections?: number } };
}

export function checkConnectionLimits(conn: LimitedConnection, vhost: string): void {
  const { access } = conn.broker;
  const peers = conn.ctx.peers;
  if (!peers) return;
  const nodeMax = conn.ctx.limits.maxConnections;
  if (nodeMax !== undefined && count(peers, () => true) >= nodeMax) {
    throw new NotAllowed(`connection refused: node connection limit (${nodeMax}) is reached`);
  }
  const vhostMax = AccessModel.limit(access.vhostLimits.get(vhost), 'max-connections');
  if (vhostMax !== undefined && count(peers, (c) => c.vhost?.name === vhost) >= vhostMax) {
    throw new NotAllowed(`access to vhost '${vhost}' refused for user '${conn.user}': connection limit (${vhostMax}) is reached`);
  }
  const userMax = AccessModel.limit(access.userLimits.get(conn.user), 'max-connections');
  if (userMax !== undefined && count(peers, (c) => c.user === conn.user) >= userMax) {
    throw new NotAllowed(`connection refused for user '${conn.user}': user connection limit (${userMax}) is reached`);
  }
}

export function checkChannelLimit(conn: LimitedConnection): void {
  const max = AccessModel.limit(conn.broker.access.userLimits.get(conn.user), 'max-channels');
  if (max === undefined || !conn.ctx.peers) return;
  let channels = 0;
  for (const c of conn.ctx.peers) if (c.state === 'open' && c.user === conn.user) channels += c.channels.size;
  if (channels >= max) {
    throw new NotAllowed(`number of channels opened for user '${conn.user}' has reached the maximum allowed user limit of ${max}`);
  }
}

function count(peers: Iterable<LimitedConnection>, match: (c: LimitedConnection) => boolean): number {
  let n = 0;
  for (const c of peers) if (c.state === 'open' && match(c)) n++;
  return n;
}
