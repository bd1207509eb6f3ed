// Helpers for the access-control suites: users made with warrenctl, and an assertion that one AMQP
// operation on a fresh channel is refused with a given code and RabbitMQ's exact reply text.
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import { uniqueName } from '../helpers/amqp-test';
import { ctlOk } from '../ctl/ctl-support';

/** Adds a user with password 'pw' and the three patterns on vhost `vhost`; returns its name. */
export async function addUser(dataDir: string, prefix: string, configure: string, write: string, read: string, vhost = '/'): Promise<string> {
  const user = uniqueName(prefix);
  await ctlOk(dataDir, ['add_user', user, 'pw']);
  await ctlOk(dataDir, ['set_permissions', '-p', vhost, user, configure, write, read]);
  return user;
}

/**
 * Runs op on a new channel of conn and asserts the channel is closed by the server with
 * `code` and reply text exactly `text` (the connection must survive a channel error).
 */
export async function assertRefused(conn: amqp.ChannelModel, op: (ch: amqp.ConfirmChannel) => unknown, code: number, text: string): Promise<void> {
  const ch = await conn.createConfirmChannel();
  let error: Error | undefined;
  ch.on('error', (e: Error) => (error ??= e));
  const closed = new Promise<void>((ok) => ch.once('close', () => ok()));
  try {
    await op(ch);
  } catch (e) {
    error ??= e as Error;
  }
  await closed;
  assert.ok(error, `expected ${code} ${text}, but the operation succeeded`);
  assert.equal((error as { code?: number }).code, code, error.message);
  assert.ok(error.message.includes(`"${text}"`), `expected reply text "${text}", got: ${error.message}`);
}

/** Runs op on a new confirm channel and asserts it succeeds (and the channel stays open). */
export async function assertAllowed(conn: amqp.ChannelModel, op: (ch: amqp.ConfirmChannel) => unknown): Promise<void> {
  const ch = await conn.createConfirmChannel();
  let error: Error | undefined;
  ch.on('error', (e: Error) => (error ??= e));
  await op(ch);
  await ch.waitForConfirms();
  await ch.close();
  assert.equal(error, undefined);
}
