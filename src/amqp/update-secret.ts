import { MethodKey, type ConnectionUpdateSecret } from '../protocol/methods.generated';
import { NotAllowed } from '../broker/errors';
import { canAccessVhost } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import type { VirtualHost } from '../broker/vhost';
import type { Logger } from '../log/logger';
import type { FrameOutput } from './writer';

/** What connection.update-secret needs of its connection. */
export interface SecretConnection {
  readonly broker: Broker;
  readonly user: string;
  readonly vhost: VirtualHost | undefined;
  readonly log: Logger;
  readonly out: FrameOutput;
}

/**
 * connection.update-secret (a client refreshing an OAuth token). RabbitMQ hands the new secret
 * to each auth backend whose state can expire; its internal backend (users with password
 * hashes, the only kind Warren has) cannot expire and keeps its state whatever the secret, so
 * the update is answered with update-secret-ok. What is checked is the user behind the
 * connection: deleted, or without access to the vhost any more, the update is refused with 530
 * as a refusing backend's is.
 */
export function updateSecret(conn: SecretConnection, args: ConnectionUpdateSecret): void {
  const user = conn.broker.users.get(conn.user);
  if (!user || !conn.vhost || !canAccessVhost(conn.broker, conn.user, conn.vhost.name)) {
    conn.log.warn({ user: conn.user, reason: args.reason }, 'secret update refused');
    throw new NotAllowed('New secret was refused by one of the backends');
  }
  conn.log.info({ user: conn.user, reason: args.reason }, 'user updated secret');
  conn.out.method(0, { key: MethodKey.ConnectionUpdateSecretOk, args: {} });
}
