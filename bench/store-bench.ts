/**
 * Message store benchmark.
 *
 *   npx tsc -p . && node dist/bench/store-bench.js [--seconds 5] [--messages 1000000] [--dir PATH]
 *
 * 1. publish: 1 KiB messages with publisher-confirm style flow control (a window of
 *    unconfirmed messages, refilled every event-loop turn); reports records/s and
 *    fsyncs/s. Run once storing only, once acking every message once durable.
 * 2. recovery: stores N 16-byte messages, closes, and times reopening.
 * The directory defaults to the OS temp dir; give --dir on the disk you care about.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32IsNative } from '../src/store/crc32';
import { openSegmentStore } from '../src/store/segment-store';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const seconds = Number(arg('seconds', '5'));
const recoveryMessages = Number(arg('messages', '1000000'));
const baseDir = arg('dir', tmpdir());

async function publishBench(label: string, window: number, ackWhenDurable: boolean): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'warren-bench-'));
  const store = await openSegmentStore({ dir });
  const routing = Buffer.from('amq.direct\u0000bench');
  const properties = Buffer.from([0x10, 0x00, 0x02]);
  const body = Buffer.alloc(1024, 0x61);
  const queues = ['bench'];
  const ids: number[] = [];
  let confirmed = 0;
  let acked = 0;
  let running = true;

  store.onDurable((durable) => {
    while (confirmed < ids.length && ids[confirmed] <= durable) {
      if (ackWhenDurable) store.ack('bench', ids[confirmed]);
      confirmed++;
    }
    if (ackWhenDurable) acked = confirmed;
  });

  const base = store.stats();
  const startedMs = performance.now();
  const publish = (): void => {
    if (!running) return;
    while (ids.length - confirmed < window) ids.push(store.storeMessage(queues, routing, properties, body));
    setImmediate(publish);
  };
  publish();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const elapsedS = (performance.now() - startedMs) / 1000;
  const stats = store.stats();
  const fsyncs = stats.fsyncs - base.fsyncs;
  await store.close();
  const filesLeft = stats.segments;
  rmSync(dir, { recursive: true, force: true });
  const line = {
    scenario: label,
    window,
    confirmedPerS: Math.round(confirmed / elapsedS),
    recordsPerS: Math.round((stats.records - base.records) / elapsedS),
    fsyncsPerS: Math.round(fsyncs / elapsedS),
    recordsPerFsync: Math.round((stats.records - base.records) / Math.max(1, fsyncs)),
    mbPerS: Math.round((stats.bytesWritten - base.bytesWritten) / elapsedS / 1e5) / 10,
    acked,
    segmentsDeleted: stats.segmentsDeleted,
    segmentsLeft: filesLeft,
  };
  console.log(JSON.stringify(line));
}

async function recoveryBench(count: number, queueCount: number): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'warren-bench-'));
  const store = await openSegmentStore({ dir });
  const empty = Buffer.alloc(0);
  const body = Buffer.alloc(16, 0x62);
  const queueLists = Array.from({ length: queueCount }, (_, i) => [`queue-${i}`]);
  const writeStartMs = performance.now();
  for (let i = 0; i < count; ) {
    for (const end = Math.min(count, i + 10000); i < end; i++) store.storeMessage(queueLists[i % queueCount], empty, empty, body);
    await store.flush();
  }
  const writeMs = performance.now() - writeStartMs;
  const bytes = store.stats().bytesWritten;
  await store.close();

  const heapBefore = process.memoryUsage().heapUsed;
  const openStartMs = performance.now();
  const reopened = await openSegmentStore({ dir });
  const openMs = performance.now() - openStartMs;
  const heapAfter = process.memoryUsage().heapUsed;
  const recovered = reopened.recovery;
  let listed = 0;
  for (const ids of recovered.queues.values()) listed += ids.length;
  await reopened.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      scenario: 'recovery',
      messages: count,
      queues: queueCount,
      onDiskMB: Math.round(bytes / 1e5) / 10,
      writeMs: Math.round(writeMs),
      scanMs: Math.round(recovered.durationMs),
      openMs: Math.round(openMs),
      recoveredMessages: recovered.messageCount,
      listed,
      heapGrowthMB: Math.round((heapAfter - heapBefore) / 1e5) / 10,
    }),
  );
}

async function main(): Promise<void> {
  console.log(JSON.stringify({ node: process.version, crc32Native: crc32IsNative, dir: baseDir, seconds }));
  await publishBench('publish 1 KiB, 1 in flight', 1, false);
  await publishBench('publish 1 KiB, 64 publishers x 16 in flight', 1024, false);
  await publishBench('publish 1 KiB, 64 publishers x 100 in flight', 6400, false);
  await publishBench('publish+ack 1 KiB, 64 publishers x 100 in flight', 6400, true);
  await recoveryBench(recoveryMessages, 1);
  await recoveryBench(recoveryMessages, 10);
}

void main();
