import type { Broker } from '../broker/broker';
import { checkPassword } from './password';

/** Users that may connect only from loopback, as RabbitMQ's loopback_users (guest by default). */
const LOOPBACK_ONLY_USERS = new Set(['guest']);

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

export type AuthResult = { ok: true; user: string; tags: string[] } | { ok: false; reason: string };

/** Checks credentials against the broker's users. */
export function authenticate(broker: Broker, username: string, password: string, remoteAddress: string | undefined): AuthResult {
  const user = broker.users.get(username);
  if (!user || !checkPassword(password, user.passwordHash)) {
    return { ok: false, reason: `Login was refused using authentication mechanism PLAIN. For details see the broker logfile.` };
  }
  if (LOOPBACK_ONLY_USERS.has(username) && !isLoopbackAddress(remoteAddress) && process.env.WARREN_LOOPBACK_USERS !== 'none') {
    return { ok: false, reason: `user '${username}' can only connect via localhost` };
  }
  return { ok: true, user: username, tags: user.tags };
}

/** True when `user` has any permission on `vhost`. */
export function canAccessVhost(broker: Broker, user: string, vhost: string): boolean {
  return broker.permission(user, vhost) !== undefined;
}
