import { MethodKey, type ConnectionUpdateSecret } from '../protocol/methods.generated';
import type { Logger } from '../log/logger';
import type { FrameOutput } from './writer';

/** What connection.update-secret needs of its connection. */
export interface SecretConnection {
  readonly user: string;
  readonly log: Logger;
  readonly out: FrameOutput;
}

/**
 * connection.update-secret (a client refreshing an OAuth token). RabbitMQ hands the new secret
 * to each auth backend whose state can expire; its internal backend (users with password
 * hashes, the only kind Warren has) cannot expire and keeps its state whatever the secret, so
 * the update is answered with update-secret-ok, as amqplib's and pika's own tests expect. A
 * deleted user's connections are closed when the user is deleted (320), as RabbitMQ closes them.
 */
export function updateSecret(conn: SecretConnection, args: ConnectionUpdateSecret): void {
  conn.log.info({ user: conn.user, reason: args.reason }, 'user updated secret');
  conn.out.method(0, { key: MethodKey.ConnectionUpdateSecretOk, args: {} });
}
