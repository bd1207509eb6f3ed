import { Histogram } from './histogram';

/**
 * Counters and the latency histogram shared by every producer and consumer of one thread.
 * Roles increment the fields directly (single-threaded, no locking); the role group reads
 * them for snapshots. Counters are cumulative; the histogram is reset at every snapshot.
 */
export class ThreadStats {
  sent = 0;
  confirmed = 0;
  nacked = 0;
  received = 0;
  readonly latency = new Histogram();
  /** First failure of any role, as a message. */
  error: string | null = null;
}

/** The current wall-clock time in ms with sub-ms precision; comparable across threads and processes of one host. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
