// Shared bits for the RabbitMQ-extension suites (each starts its broker with test/helpers/broker-fixture.ts): polling
// reads, x-death access and channel-close capture. Black-box only: everything goes through amqplib.
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import { isRabbitMqVersion } from '../helpers/broker-process';
import { type Clients, sleep, track, withTimeout } from '../helpers/amqp-test';

/** True against RabbitMQ 3.10 (WARREN_TEST_RABBITMQ=3.10), which lacks a few 4.x behaviours these suites assert. */
export const rabbit310 = isRabbitMqVersion('3.10');

/** basic.get, retried until a message arrives or timeoutMs passes (then false). */
export async function getWait(
  ch: amqp.Channel,
  queue: string,
  opts: { noAck?: boolean; timeoutMs?: number } = {},
): Promise<amqp.GetMessage | false> {
  const deadline = Date.now() + (opts.timeoutMs ?? 3000);
  for (;;) {
    const m = await ch.get(queue, { noAck: opts.noAck ?? true });
    if (m || Date.now() > deadline) return m;
    await sleep(20);
  }
}

/** basic.get (no-ack unless told otherwise), asserting that a message arrives within timeoutMs. */
export async function mustGet(
  ch: amqp.Channel,
  queue: string,
  what: string,
  opts: { noAck?: boolean; timeoutMs?: number } = {},
): Promise<amqp.GetMessage> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const m = await getWait(ch, queue, { noAck: opts.noAck ?? true, timeoutMs });
  assert.ok(m, `expected a message in ${what} within ${timeoutMs} ms, got none`);
  return m;
}

/** Every ready message body of the queue, taken with no-ack, in order. */
export async function drainBodies(ch: amqp.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push(m.content.toString());
  }
}

/** One x-death entry as amqplib decodes it (timestamps arrive as { '!': 'timestamp', value }). */
export interface XDeath {
  queue: string;
  reason: string;
  count: number;
  time: unknown;
  exchange: string;
  'routing-keys': string[];
  'original-expiration'?: string;
}

/** The x-death array of a message, asserting it is present. */
export function xDeath(m: amqp.Message): XDeath[] {
  const xd = m.properties.headers?.['x-death'] as XDeath[] | undefined;
  assert.ok(Array.isArray(xd), `expected an x-death array header, headers were ${JSON.stringify(m.properties.headers)}`);
  return xd;
}

/** The x-death entry for (queue, reason), asserting it exists. */
export function deathFor(m: amqp.Message, queue: string, reason: string): XDeath {
  const entry = xDeath(m).find((d) => d.queue === queue && d.reason === reason);
  assert.ok(entry, `no x-death entry for ${queue}/${reason}: ${JSON.stringify(xDeath(m))}`);
  return entry;
}

/** Asserts that an x-death time field is an AMQP timestamp (seconds) close to now. */
export function assertRecentTimestamp(time: unknown): void {
  assert.ok(time && typeof time === 'object', `x-death time should be a timestamp, got ${JSON.stringify(time)}`);
  const t = time as { '!': string; value: number };
  assert.equal(t['!'], 'timestamp', `x-death time should have field type T, got ${JSON.stringify(time)}`);
  const nowSec = Date.now() / 1000;
  assert.ok(Math.abs(t.value - nowSec) < 120, `x-death time ${t.value} should be seconds near ${Math.round(nowSec)}`);
}

/** The reply code and text with which the server closed a channel, after the action that should close it. */
export async function channelCloseOf(
  ch: amqp.Channel,
  action: (ch: amqp.Channel) => unknown,
  timeoutMs = 3000,
): Promise<{ code: number | undefined; message: string }> {
  const t = track(ch);
  try {
    await action(ch);
  } catch {
    // The rejected RPC is expected; the close is inspected below.
  }
  await withTimeout(t.closed, timeoutMs, 'the server to close the channel');
  const err = t.errors[0] as (Error & { code?: number }) | undefined;
  assert.ok(err, 'the channel closed without an error (expected a server-initiated close)');
  return { code: err.code, message: err.message };
}

/** Declares a queue through a throwaway channel and returns the server's close code, or 0 on success. */
export async function declareCode(
  clients: Clients,
  conn: amqp.ChannelModel,
  queue: string,
  options: amqp.Options.AssertQueue,
): Promise<{ code: number; message: string }> {
  const ch = await clients.channel(conn);
  try {
    await ch.assertQueue(queue, options);
    await ch.close();
    return { code: 0, message: '' };
  } catch (e) {
    const err = e as Error & { code?: number };
    return { code: err.code ?? -1, message: err.message };
  }
}
