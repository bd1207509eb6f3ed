/**
 * Connection and channel limits checked at connection.open and channel.open, in
 * RabbitMQ's order and with its texts (all 530 NOT_ALLOWED, closing the connection):
 * the vhost's and the user's max-connections, then the user's max-channels across all of
 * its connections. Counting walks the open connections only when a limit is set.
 */
import { NotAllowed } from '../broker/errors';
import { AccessModel } from '../broker/access-model';
import type { Connection } from './connection';

export function checkConnectionLimits(conn: Connection, vhost: string): void {
  const { access } = conn.broker;
  const peers = conn.ctx.peers;
  if (!peers) return;
  const vhostMax = AccessModel.limit(access.vhostLimits.get(vhost), 'max-connections');
  if (vhostMax !== undefined && count(peers, (c) => c.vhost?.name === vhost) >= vhostMax) {
    throw new NotAllowed(`access to vhost '${vhost}' refused for user '${conn.user}': connection limit (${vhostMax}) is reached`);
  }
  const userMax = AccessModel.limit(access.userLimits.get(conn.user), 'max-connections');
  if (userMax !== undefined && count(peers, (c) => c.user === conn.user) >= userMax) {
    throw new NotAllowed(`connection refused for user '${conn.user}': user connection limit (${userMax}) is reached`);
  }
}

export function checkChannelLimit(conn: Connection): void {
  const max = AccessModel.limit(conn.broker.access.userLimits.get(conn.user), 'max-channels');
  if (max === undefined || !conn.ctx.peers) return;
  let channels = 0;
  for (const c of conn.ctx.peers) if (c.state === 'open' && c.user === conn.user) channels += c.channels.size;
  if (channels >= max) {
    throw new NotAllowed(`number of channels opened for user '${conn.user}' has reached the maximum allowed user limit of ${max}`);
  }
}

function count(peers: Iterable<Connection>, match: (c: Connection) => boolean): number {
  let n = 0;
  for (const c of peers) if (c.state === 'open' && match(c)) n++;
  return n;
}
