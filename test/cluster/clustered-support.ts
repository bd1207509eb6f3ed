// amqplib helpers for the clustered-messaging suite: connections that are always torn down
// (a broker that never answers must not keep the test process alive), operations bounded by
// a timeout, consumers that collect for a bounded time, and a metadata barrier.
import * as amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { sleep, waitFor } from './cluster-support';
import type { NetnsCluster } from './netns-cluster';

type Connection = Awaited<ReturnType<typeof amqp.connect>>;

/**
 * WARREN_TEST_ONE_NODE=1 sends every client to node 1 instead of node i: a self-check of the
 * suite's assertions against single-node semantics (the issue asks for exactly those). Then
 * every test passes except those about homes and nodes (placement, balanced, kill -9).
 */
const ONE_NODE = process.env.WARREN_TEST_ONE_NODE === '1';
export const via = (i: number): number => (ONE_NODE ? 0 : i);

/** Every connection opened through `open`, destroyed by `closeAll` whatever state it is in. */
const opened: Connection[] = [];

export async function open(url: string): Promise<Connection> {
  const conn = await timed(amqp.connect(url), 5000, `connect to ${url}`);
  conn.on('error', () => undefined);
  opened.push(conn);
  return conn;
}

export async function channel(url: string): Promise<amqp.Channel> {
  const ch = await timed((await open(url)).createChannel(), 5000, 'channel.open');
  ch.on('error', () => undefined);
  return ch;
}

export async function confirmChannel(url: string): Promise<amqp.ConfirmChannel> {
  const ch = await timed((await open(url)).createConfirmChannel(), 5000, 'channel.open (confirm)');
  ch.on('error', () => undefined);
  return ch;
}

export async function closeAll(): Promise<void> {
  const all = opened.splice(0);
  await Promise.all(all.map((c) => timed(c.close(), 2000, 'connection.close').catch(() => undefined)));
  for (const c of all) (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Rejects with "`what` timed out after ms" unless p settles first. */
export function timed<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Runs one operation on a fresh channel of `url` and returns how it ended and how long it
 * took: an error's text (the server's channel-close reply) or 'ok'. Bounded by timeoutMs.
 */
export async function attempt(url: string, op: (ch: amqp.Channel) => Promise<unknown>, timeoutMs = 5000): Promise<{ outcome: string; ms: number }> {
  const ch = await channel(url);
  const started = Date.now();
  try {
    await timed(op(ch), timeoutMs, 'operation');
    return { outcome: 'ok', ms: Date.now() - started };
  } catch (err) {
    return { outcome: (err as Error).message, ms: Date.now() - started };
  } finally {
    await timed(ch.close(), 1000, 'channel.close').catch(() => undefined);
  }
}

/**
 * A metadata barrier: declares a fresh exchange through node 0 and waits until every node has
 * applied it. Raft applies in log order, so everything declared before is then known everywhere.
 */
export async function barrier(cluster: NetnsCluster): Promise<void> {
  const name = `barrier.${randomBytes(4).toString('hex')}`;
  const ch = await channel(cluster.nodes[0].url);
  await timed(ch.assertExchange(name, 'fanout', { durable: false, autoDelete: false }), 5000, 'barrier declare');
  for (const n of cluster.nodes) {
    if (!n.proc.running) continue;
    await waitFor(`${name} applied on ${n.name}`, async () => (await attempt(n.url, (c) => c.checkExchange(name), 2000)).outcome === 'ok', 5000, 50);
  }
  await timed(ch.deleteExchange(name), 5000, 'barrier delete').catch(() => undefined);
}

export interface Collected {
  messages: amqp.ConsumeMessage[];
  /** True when the server cancelled the consumer (basic.cancel). */
  cancelled: boolean;
  cancel(): Promise<void>;
}

/**
 * Consumes `queue` on `ch` and collects deliveries as they arrive (acking each unless noAck or
 * manual). `done()` resolves when `n` arrived or after timeoutMs, whichever is first.
 */
export async function consume(
  ch: amqp.Channel,
  queue: string,
  o: { noAck?: boolean; manual?: boolean; priority?: number } = {},
): Promise<Collected & { until(n: number, timeoutMs: number): Promise<amqp.ConsumeMessage[]> }> {
  const messages: amqp.ConsumeMessage[] = [];
  const state = { cancelled: false };
  const ok = await timed(
    ch.consume(
      queue,
      (m) => {
        if (m === null) {
          state.cancelled = true;
          return;
        }
        messages.push(m);
        if (!o.noAck && !o.manual) ch.ack(m);
      },
      { noAck: o.noAck ?? false, ...(o.priority === undefined ? {} : { priority: o.priority }) },
    ),
    5000,
    `basic.consume ${queue}`,
  );
  return {
    messages,
    get cancelled() {
      return state.cancelled;
    },
    cancel: () => timed(ch.cancel(ok.consumerTag), 3000, 'basic.cancel').then(() => undefined),
    async until(n: number, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n && Date.now() < deadline) await sleep(20);
      return messages;
    },
  };
}

/** basic.get bounded by a timeout. */
export function get(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage | false> {
  return timed(ch.get(queue), 5000, `basic.get ${queue}`);
}

/** Passive declare of `queue` on every node: [messageCount, consumerCount] per node. */
export async function declareOkCounts(cluster: NetnsCluster, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of cluster.nodes) {
    const ch = await channel(cluster.nodes[via(n.index)].url);
    const ok = await timed(ch.checkQueue(queue), 5000, `passive declare ${queue} on ${n.name}`);
    out.push(`${n.name}: messages=${ok.messageCount} consumers=${ok.consumerCount}`);
    await timed(ch.close(), 1000, 'channel.close').catch(() => undefined);
  }
  return out;
}

/** `warrenctl list_queues name messages messages_ready messages_unacknowledged consumers` row of `queue`, per node. */
export function listQueuesRows(cluster: NetnsCluster, queue: string): string[] {
  return cluster.nodes.map((n, i) => {
    const row = cluster.listQueues(via(i), ['name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers']).find((r) => r.name === queue);
    return row ? `${n.name}: messages=${row.messages} ready=${row.messages_ready} unacked=${row.messages_unacknowledged} consumers=${row.consumers}` : `${n.name}: (no row for ${queue})`;
  });
}
