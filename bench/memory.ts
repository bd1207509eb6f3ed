import { MethodKey } from '../src/protocol/methods.generated';
import { PerfConnection } from '../src/cli/perf/amqp-client';
import { rssBytes, type BrokerUnderTest } from './brokers';
import { runWarrenPerf } from './scenarios';

/**
 * Memory scenarios: the broker's RSS when idle, then with many idle connections, many empty
 * queues, or many queued messages, each on a freshly started broker so that memory freed by
 * an earlier phase cannot be reused by the next. Per-item cost = (RSS loaded − RSS idle) / N.
 */

/** Sizes of the loads. */
export interface MemorySizes {
  connections: number;
  queues: number;
  messages: number;
}

export interface MemoryResult {
  idleRssBytes: number;
  loadedRssBytes: number;
  count: number;
  bytesEach: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS once it stops moving (two readings 500 ms apart within 1 %, or after `maxMs`). */
async function settledRss(pid: number, maxMs = 5000): Promise<number> {
  let prev = rssBytes(pid);
  const deadline = Date.now() + maxMs;
  for (;;) {
    await sleep(500);
    const now = rssBytes(pid);
    if (Math.abs(now - prev) <= prev * 0.01 || Date.now() > deadline) return now;
    prev = now;
  }
}

async function measure(broker: BrokerUnderTest, count: number, load: () => Promise<() => Promise<void>>): Promise<MemoryResult> {
  const idle = await settledRss(broker.pid(), 3000);
  const release = await load();
  const loaded = await settledRss(broker.pid());
  await release();
  return { idleRssBytes: idle, loadedRssBytes: loaded, count, bytesEach: Math.round((loaded - idle) / count) };
}

/** Opens `n` idle connections (handshake done, no channel), 200 handshakes in flight at a time. */
export function idleConnections(broker: BrokerUnderTest, n: number): Promise<MemoryResult> {
  return measure(broker, n, async () => {
    const conns: PerfConnection[] = [];
    let next = 0;
    const opener = async () => {
      while (next < n) {
        next++;
        conns.push(await PerfConnection.open(broker.url, 'bench-idle'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(200, n) }, opener));
    return async () => {
      for (const c of conns) c.socket.destroy();
    };
  });
}

/** Declares `n` empty, non-durable queues, pipelining up to 500 declares on one channel. */
export function emptyQueues(broker: BrokerUnderTest, n: number): Promise<MemoryResult> {
  return measure(broker, n, async () => {
    const conn = await PerfConnection.open(broker.url, 'bench-queues');
    const ch = await conn.openChannel();
    const window = 500;
    for (let start = 0; start < n; start += window) {
      const replies: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(n, start + window); i++) {
        const args = { ticket: 0, queue: `bench-empty-${i}`, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} };
        replies.push(conn.rpc(ch.id, { key: MethodKey.QueueDeclare, args }, MethodKey.QueueDeclareOk, false));
      }
      conn.flush();
      await Promise.all(replies);
    }
    return async () => {
      await conn.close(10_000);
    };
  });
}

/** Queues `n` 16-byte non-persistent messages in one queue with warren-perf (confirms, so all are in). */
export function queuedMessages(broker: BrokerUnderTest, n: number): Promise<MemoryResult> {
  return measure(broker, n, async () => {
    await runWarrenPerf(broker.url, ['-x', '1', '-y', '0', '-s', '16', '-c', '1000', '-C', String(n), '-u', 'bench-memory-messages'], 600_000);
    return async () => {};
  });
}
