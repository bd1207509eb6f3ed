// Shared helpers for the black-box integration suites: unique names, amqplib connections that are always
// closed, and assertions on AMQP errors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import type { BrokerProcess } from './broker-process';

/** A name no other test (or concurrent test file sharing an external broker) uses. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${randomBytes(5).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until check() returns a truthy value or timeoutMs passes; returns the value or throws. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Rejects after ms with a message naming what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Error-tolerant amqplib channel: server-initiated closes are recorded instead of crashing the test process. */
export interface TrackedChannel<C extends amqp.Channel = amqp.Channel> {
  ch: C;
  errors: Error[];
  closed: Promise<void>;
}

export function track<C extends amqp.Channel>(ch: C): TrackedChannel<C> {
  const errors: Error[] = [];
  ch.on('error', (e: Error) => errors.push(e));
  const closed = new Promise<void>((ok) => ch.once('close', () => ok()));
  return { ch, errors, closed };
}

/**
 * Opens amqplib connections for one test file and closes whatever is still open in closeAll().
 * Connection-level errors are recorded on each connection instead of being thrown as 'error' events.
 */
export class Clients {
  private open: amqp.ChannelModel[] = [];
  constructor(private readonly broker: () => BrokerProcess) {}

  url(opts: { user?: string; password?: string; vhost?: string; query?: string } = {}): string {
    const b = this.broker();
    const user = encodeURIComponent(opts.user ?? 'guest');
    const pass = encodeURIComponent(opts.password ?? 'guest');
    const vhost = opts.vhost === undefined ? '' : `/${encodeURIComponent(opts.vhost)}`;
    const query = opts.query ? `?${opts.query}` : '';
    return `amqp://${user}:${pass}@${b.host}:${b.port}${vhost}${query}`;
  }

  async connect(
    opts: { user?: string; password?: string; vhost?: string; query?: string; socket?: amqp.SocketOptions } = {},
  ): Promise<amqp.ChannelModel & { errors: Error[] }> {
    const conn = (await amqp.connect(this.url(opts), opts.socket)) as amqp.ChannelModel & { errors: Error[] };
    conn.errors = [];
    conn.on('error', (e: Error) => conn.errors.push(e));
    this.open.push(conn);
    conn.once('close', () => {
      this.open = this.open.filter((c) => c !== conn);
    });
    return conn;
  }

  async channel(conn?: amqp.ChannelModel): Promise<amqp.Channel> {
    const c = conn ?? (await this.connect());
    const ch = await c.createChannel();
    ch.on('error', () => {});
    return ch;
  }

  async confirmChannel(conn?: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
    const c = conn ?? (await this.connect());
    const ch = await c.createConfirmChannel();
    ch.on('error', () => {});
    return ch;
  }

  async closeAll(): Promise<void> {
    const all = this.open;
    this.open = [];
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }
}

/**
 * Proves the broker still serves a fresh amqplib client end to end: a new connection publishes `body` with a
 * confirm to a new exclusive queue and gets it back (asserted, with `message` if given), then closes.
 */
export async function freshClientRoundTrip(clients: Clients, body: string, message?: string): Promise<void> {
  const conn = await clients.connect();
  const ch = await conn.createConfirmChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  ch.sendToQueue(q, Buffer.from(body));
  await ch.waitForConfirms();
  const m = await ch.get(q, { noAck: true });
  assert.ok(m && m.content.toString() === body, message);
  await conn.close();
}

/** The AMQP reply code carried by an amqplib error (channel or connection close). */
export function replyCode(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'number') {
    return (err as { code: number }).code;
  }
  const text = String((err as Error)?.message ?? err);
  // amqplib: "... closed by server: 406 (PRECONDITION-FAILED) ..."; @cloudamqp/amqp-client: "... closed: TEXT (406)"
  const m = /(?:by server|replyCode:)\s*:?\s*(\d{3})/.exec(text) ?? /\((\d{3})\)\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Asserts that the promise rejects with an AMQP error carrying the given reply code. */
export async function rejectsWithCode(p: Promise<unknown>, code: number, textPattern?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected an AMQP error ${code}, but the operation succeeded`);
  assert.equal(replyCode(caught), code, `expected reply code ${code}, got: ${String((caught as Error).message ?? caught)}`);
  if (textPattern) assert.match(String((caught as Error).message), textPattern);
  return caught as Error;
}

/** Resolves once a consumer callback has seen n messages (nulls from server cancels are recorded too). */
export function collector() {
  const messages: amqp.ConsumeMessage[] = [];
  let cancelled = false;
  const onMessage = (m: amqp.ConsumeMessage | null) => {
    if (m === null) cancelled = true;
    else messages.push(m);
  };
  return {
    messages,
    onMessage,
    get cancelled() {
      return cancelled;
    },
    waitCount: (n: number, timeoutMs = 5000) => waitFor(() => messages.length >= n, timeoutMs, `${n} messages`),
  };
}
