import { EventEmitter } from 'node:events';
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type AlarmKind = 'memory' | 'disk';

export interface AlarmLimits {
  /** Memory above which publishers are blocked, in bytes. */
  memoryHighWatermarkBytes: number;
  /** Free disk space below which publishers are blocked, in bytes. */
  diskFreeLimitBytes: number;
  /** Where the data lives (the disk that is watched). */
  dataDir: string;
  checkIntervalMs: number;
}

/**
 * Parses RabbitMQ-style limits: a fraction of RAM ("0.4"), or an absolute size
 * ("512MB", "2GiB", "1000000").
 */
export function parseSize(text: string, relativeTo?: number): number {
  const t = text.trim();
  const fraction = /^0?\.\d+$|^1(\.0+)?$/.test(t) ? Number(t) : undefined;
  if (fraction !== undefined && relativeTo !== undefined) return Math.floor(fraction * relativeTo);
  const m = /^(\d+(?:\.\d+)?)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(t);
  if (!m) throw new Error(`cannot read '${text}' as a size`);
  const units: Record<string, number> = { k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };
  return Math.floor(Number(m[1]) * (m[2] ? units[m[2].toLowerCase()] : 1));
}

export function defaultMemoryWatermark(): number {
  return Math.floor(0.4 * totalmem());
}

/** The memory alarm clears below this fraction of the watermark. */
const MEMORY_CLEAR_FRACTION = 0.9;

/** Client bytes read between two memory checks outside the timer. */
const INGRESS_CHECK_BYTES = 4 * 1024 * 1024;

let collectGarbage: (() => void) | undefined;
function gcNow(): void {
  if (!collectGarbage) {
    setFlagsFromString('--expose_gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  collectGarbage();
}

/**
 * The memory and disk alarms, as RabbitMQ raises them: checked on a timer; 'change'
 * is emitted with the set of active alarms whenever it changes.
 */
export class ResourceAlarms extends EventEmitter {
  readonly active = new Set<AlarmKind>();
  /** Checks that threw (e.g. EMFILE reading /proc while file descriptors ran out), and the last reason. */
  checkFailures = 0;
  lastCheckError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set by a message store that hit ENOSPC: the disk alarm is on until the store could write again. */
  private storeFull = false;
  private lastRssBytes = 0;
  private ingressBytes = 0;

  constructor(private readonly limits: AlarmLimits) {
    super();
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.limits.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Memory in use: the process's resident set, as RabbitMQ's default `rss` strategy measures
   * its total (heap, message buffers, socket buffers and pending writes all count). Reading it
   * opens /proc/self/stat, which fails with EMFILE when descriptors run out: the last reading stands.
   */
  memoryUsedBytes(): number {
    try {
      this.lastRssBytes = process.memoryUsage.rss();
    } catch (err) {
      this.noteFailure(err);
    }
    return this.lastRssBytes;
  }

  /**
   * Bytes read from clients: every INGRESS_CHECK_BYTES of them the memory is checked at once,
   * so a fast publisher cannot outrun the timer (a late timer on a busy machine let the RSS
   * overshoot the watermark by a fifth).
   */
  noteIngress(bytes: number): void {
    this.ingressBytes += bytes;
    if (this.ingressBytes < INGRESS_CHECK_BYTES) return;
    this.ingressBytes = 0;
    this.check();
  }

  /** A message store could not write for lack of space (true) or wrote again (false): the disk alarm follows at once. */
  setStoreFull(full: boolean): void {
    if (this.storeFull === full) return;
    this.storeFull = full;
    this.check();
  }

  diskFreeBytes(): number {
    try {
      const s = statfsSync(this.limits.dataDir);
      return s.bavail * s.bsize;
    } catch {
      return Infinity;
    }
  }

  /** Re-evaluates both alarms. Never throws: it runs on a timer, and a failed probe keeps the last state. */
  check(): void {
    try {
      this.evaluate();
    } catch (err) {
      this.noteFailure(err);
    }
  }

  private evaluate(): void {
    // While the memory alarm is on, collect garbage first so that freed messages count.
    if (this.active.has('memory')) gcNow();
    // V8's heap limit can be lower than the watermark (a fraction of RAM): past half of it the
    // alarm goes off too, early enough that growth between two checks cannot exhaust the heap.
    const heap = getHeapStatistics();
    const heapNearLimit = heap.used_heap_size > 0.5 * heap.heap_size_limit;
    // Once on, the alarm clears below 90 % of the watermark: the collection run right after it
    // went off must not toggle it (publishers would be blocked and unblocked in quick turns).
    const threshold = this.limits.memoryHighWatermarkBytes * (this.active.has('memory') ? MEMORY_CLEAR_FRACTION : 1);
    const memory = heapNearLimit || this.memoryUsedBytes() > threshold;
    const disk = this.storeFull || this.diskFreeBytes() < this.limits.diskFreeLimitBytes;
    const before = [...this.active].sort().join();
    memory ? this.active.add('memory') : this.active.delete('memory');
    disk ? this.active.add('disk') : this.active.delete('disk');
    if ([...this.active].sort().join() !== before) this.emit('change', this.active);
  }

  private noteFailure(err: unknown): void {
    this.checkFailures++;
    this.lastCheckError = (err as Error)?.message ?? String(err);
  }

  /** The reason RabbitMQ sends in connection.blocked. */
  reason(): string {
    const m = this.active.has('memory');
    const d = this.active.has('disk');
    return m && d ? 'low on memory & disk' : m ? 'low on memory' : 'low on disk';
  }
}
