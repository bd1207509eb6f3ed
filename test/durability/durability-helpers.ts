/**
 * Helpers for the durability suites, which run real warren-server processes and kill,
 * restart and damage them: confirmed publishing that survives the broker dying under
 * it, draining a queue into a list, a process's RSS, the vhost's segment files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';

/** mulberry32 (the Raft simulation's PRNG), so a failing seed can be replayed. */
export { seededRandom as prng } from '../../cluster/raft/prng';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A body of `bytes` that starts with `id:` so a consumer can tell which message it is. */
export function bodyFor(id: number, bytes: number, tag = 'm'): Buffer {
  const body = Buffer.alloc(Math.max(bytes, 16), 0x2e);
  body.write(`${tag}:${id}:`, 0, 'latin1');
  return body;
}

/** The id written by {@link bodyFor}. */
export function idOf(body: Buffer): number {
  const text = body.toString('latin1', 0, 32);
  return Number(text.split(':')[1]);
}

/** A connection whose 'error' events are swallowed (the broker may be killed under it). */
export async function connectQuietly(url: string): Promise<amqp.ChannelModel> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  return conn;
}

export interface PublishRun {
  /** Ids whose publish was confirmed (basic.ack) by the broker. */
  confirmed: Set<number>;
  /** Ids handed to the client library (confirmed or not). */
  published: number;
  nacked: number;
}

export interface PublishOptions {
  count: number;
  bodyBytes: number;
  /** Unconfirmed publishes allowed in flight. */
  window?: number;
  exchange?: string;
  persistent?: boolean;
  /** Called after each confirm; may kill the broker. */
  onConfirm?: (id: number, run: PublishRun) => void;
}

/**
 * Publishes `count` messages with publisher confirms to `routingKey`, keeping at most
 * `window` unconfirmed. Resolves when every publish is settled or the connection died
 * (then the unsettled ones count as unconfirmed).
 */
export async function publishConfirmed(conn: amqp.ChannelModel, routingKey: string, options: PublishOptions): Promise<PublishRun> {
  const run: PublishRun = { confirmed: new Set(), published: 0, nacked: 0 };
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  const window = options.window ?? 500;
  let inFlight = 0;
  let dead = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const died = (): void => {
    dead = true;
    poke();
  };
  conn.once('close', died);
  ch.once('close', died);
  for (let id = 0; id < options.count && !dead; id++) {
    while (inFlight >= window && !dead) await new Promise<void>((r) => (wake = r));
    if (dead) break;
    inFlight++;
    run.published++;
    try {
      ch.publish(options.exchange ?? '', routingKey, bodyFor(id, options.bodyBytes), { persistent: options.persistent ?? true }, (err) => {
        inFlight--;
        if (err) {
          // When the connection dies amqplib fails every unsettled publish with 'channel closed': not a nack.
          if (err.message === 'message nacked') run.nacked++;
          else died();
        }
        else {
          run.confirmed.add(id);
          options.onConfirm?.(id, run);
        }
        poke();
      });
    } catch {
      break; // channel closed under us
    }
    // Let socket writes and confirms through now and then.
    if (id % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  while (inFlight > 0 && !dead) await new Promise<void>((r) => (wake = r));
  conn.off('close', died);
  if (!dead) await ch.close().catch(() => undefined);
  return run;
}

export interface Delivered {
  id: number;
  redelivered: boolean;
}

/**
 * Consumes (with acks) until `expected` messages arrived, then returns them in arrival
 * order. Rejects if no message came for `idleMs`.
 */
export async function consumeAll(conn: amqp.ChannelModel, queue: string, expected: number, idleMs = 5000, prefetch = 500): Promise<Delivered[]> {
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  const got: Delivered[] = [];
  if (expected === 0) {
    await ch.close();
    return got;
  }
  await new Promise<void>((resolve, reject) => {
    let timer = setTimeout(fail, idleMs);
    function fail(): void {
      reject(new Error(`no message for ${idleMs} ms after ${got.length} of ${expected} from ${queue}`));
    }
    void ch.consume(queue, (msg) => {
      if (msg === null) return;
      got.push({ id: idOf(msg.content), redelivered: msg.fields.redelivered });
      ch.ack(msg);
      clearTimeout(timer);
      if (got.length >= expected) resolve();
      else timer = setTimeout(fail, idleMs);
    });
  });
  await ch.close();
  return got;
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Segment files of the default vhost's message store, oldest first. */
export function segmentFiles(dataDir: string, vhost = '/'): string[] {
  const dir = join(dataDir, 'msgs', encodeURIComponent(vhost));
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wseg'))
    .sort()
    .map((n) => join(dir, n));
}
