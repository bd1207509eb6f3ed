/**
 * An optional periodic log of a store's counters, for benchmarks and diagnosis:
 * WARREN_STORE_STATS_MS=<interval> (read by src/config) logs, per store, the counters and their rates over
 * the interval (records/s, fsyncs/s, MiB/s written) plus the process's heap, at info.
 * Nothing is logged per message.
 */
import { logger } from '../log/logger';
import type { StoreStats } from './message-store';

const log = logger.child({ module: 'store.stats' });

/** Starts logging `stats()` every `intervalMs`; returns the function that stops it. */
export function startStatsLog(dir: string, stats: () => StoreStats, intervalMs: number): () => void {
  let last = stats();
  let lastMs = performance.now();
  const timer = setInterval(() => {
    try {
      logOnce();
    } catch (err) {
      // A periodic probe must not kill the process (process.memoryUsage() throws EMFILE when descriptors run out).
      log.warn({ err }, 'message store stats could not be read');
    }
  }, intervalMs);
  const logOnce = () => {
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
  };
  timer.unref();
  return () => clearInterval(timer);
}

/** The read cache bound unless configured (WARREN_STORE_CACHE_BYTES): 16 MiB. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
