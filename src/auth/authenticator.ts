import type { Broker } from '../broker/broker';
import { certificateUsername, type CertLoginOptions } from './cert-login';
import { checkPassword } from './password';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** How connections authenticate: mechanisms offered, loopback-only users, certificate logins. */
export interface AuthSettings {
  /** Mechanisms offered, from auth_mechanisms (EXTERNAL only on TLS connections). */
  mechanisms: readonly string[];
  /** Users that may log in from loopback addresses only (RabbitMQ's loopback_users; guest by default). */
  loopbackUsers: ReadonlySet<string>;
  certLogin: CertLoginOptions;
  /** ssl_options.verify = verify_peer: EXTERNAL is refused otherwise, as its certificates are unchecked. */
  tlsVerifyPeer: boolean;
}

export const DEFAULT_AUTH: AuthSettings = {
  mechanisms: ['PLAIN', 'AMQPLAIN'],
  loopbackUsers: new Set(['guest']),
  certLogin: { from: 'distinguished_name', sanType: 'dns', sanIndex: 0 },
  tlsVerifyPeer: false,
};

/** `detail` is RabbitMQ's log text (`user 'u' - invalid credentials`); the client sees only `wire`. */
export type AuthResult = { ok: true; user: string; tags: string[] } | { ok: false; detail: string; wire: string };

function refused(mechanism: string, detail: string): AuthResult {
  return {
    ok: false,
    detail: `${mechanism} login refused: ${detail}`,
    wire: `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
  };
}

function loggedIn(broker: Broker, mechanism: string, username: string, remoteAddress: string | undefined, auth: AuthSettings): AuthResult {
  if (auth.loopbackUsers.has(username) && !isLoopbackAddress(remoteAddress)) {
    return refused(mechanism, `user '${username}' can only connect via localhost`);
  }
  return { ok: true, user: username, tags: broker.users.get(username)!.tags };
}

/** PLAIN / AMQPLAIN: the internal backend checks the password, then the loopback rule applies. */
export function authenticate(broker: Broker, mechanism: string, username: string, password: string, remoteAddress: string | undefined, auth: AuthSettings): AuthResult {
  const user = broker.users.get(username);
  if (!user || !checkPassword(password, user.passwordHash, user.hashingAlgorithm)) return refused(mechanism, `user '${username}' - invalid credentials`);
  return loggedIn(broker, mechanism, username, remoteAddress, auth);
}

/**
 * EXTERNAL (rabbitmq_auth_mechanism_ssl): the user named by the client certificate, which
 * must exist; no password is checked. `peerCertificate` is the DER of the verified certificate.
 */
export function authenticateExternal(broker: Broker, peerCertificate: Buffer | undefined, remoteAddress: string | undefined, auth: AuthSettings): AuthResult {
  if (!peerCertificate) return refused('EXTERNAL', 'connection peer presented no TLS (x.509) certificate');
  if (!auth.tlsVerifyPeer) return refused('EXTERNAL', 'TLS configuration is unsafe');
  let username: string | undefined;
  try {
    username = certificateUsername(peerCertificate, auth.certLogin);
  } catch {
    username = undefined;
  }
  if (username === undefined) return refused('EXTERNAL', 'no name found');
  if (!broker.users.has(username)) return refused('EXTERNAL', `user '${username}' - invalid credentials`);
  return loggedIn(broker, 'EXTERNAL', username, remoteAddress, auth);
}

/** True when `user` has any permission on `vhost`. */
export function canAccessVhost(broker: Broker, user: string, vhost: string): boolean {
  return broker.permission(user, vhost) !== undefined;
}
