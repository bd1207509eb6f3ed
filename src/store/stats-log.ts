/**
 * An optional periodic log of a store's counters, for benchmarks and diagnosis:
 * WARREN_STORE_STATS_MS=<interval> logs, per store, the counters and their rates over
 * the interval (records/s, fsyncs/s, MiB/s written) plus the process's heap, at info.
 * Nothing is logged per message.
 */
import { logger } from '../log/logger';
import type { StoreStats } from './message-store';

const log = logger.child({ module: 'store.stats' });

/** Reads the interval from the environment; undefined when the log is off. */
export function statsIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.WARREN_STORE_STATS_MS;
  if (text === undefined || text.trim() === '') return undefined;
  const ms = Number(text);
  return Number.isFinite(ms) && ms >= 100 ? ms : undefined;
}

/** Starts logging `stats()` every `intervalMs`; returns the function that stops it. */
export function startStatsLog(dir: string, stats: () => StoreStats, intervalMs: number): () => void {
  let last = stats();
  let lastMs = performance.now();
  const timer = setInterval(() => {
    const now = stats();
    const nowMs = performance.now();
    const seconds = (nowMs - lastMs) / 1000;
    const rate = (key: 'records' | 'fsyncs' | 'flushes' | 'bytesWritten'): number => Math.round((now[key] - last[key]) / seconds);
    const memory = process.memoryUsage();
    log.info(
      {
        dir,
        ...now,
        recordsPerSecond: rate('records'),
        fsyncsPerSecond: rate('fsyncs'),
        flushesPerSecond: rate('flushes'),
        writtenMiBPerSecond: Math.round(rate('bytesWritten') / 2 ** 20),
        heapUsedMiB: Math.round(memory.heapUsed / 2 ** 20),
        arrayBuffersMiB: Math.round(memory.arrayBuffers / 2 ** 20),
        rssMiB: Math.round(memory.rss / 2 ** 20),
      },
      'message store stats',
    );
    last = now;
    lastMs = nowMs;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The read cache bound: WARREN_STORE_CACHE_BYTES, default 16 MiB. */
export function cacheBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.WARREN_STORE_CACHE_BYTES;
  const bytes = text === undefined || text.trim() === '' ? NaN : Number(text);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : 16 * 1024 * 1024;
}
