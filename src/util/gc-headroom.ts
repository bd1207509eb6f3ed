/**
 * Keeps V8's old-generation limit a fixed headroom above the live heap.
 *
 * Why: V8 counts the external memory (Buffer backing stores) allocated since the last
 * mark-compact against the old generation's limit, and starts incremental marking as soon
 * as what is left under that limit is smaller than the young generation. A broker's live
 * heap is small (15–20 MB), so V8's growing factor leaves it 8–12 MB above that, while its
 * young generation grows to 16 MB and bodies stream through Buffers at 10–100 MB/s. Once in
 * that state the node runs a full mark-compact 10–15 times a second and never a scavenge:
 * measured on the quorum-queue benchmark, 2–2.5 × the CPU per message, in rounds that
 * fell into it at random. The limit's growing factor is the one V8 flag that can be changed
 * on a running process, so after every mark-compact it is set such that the next limit is
 * `headroom` above the live heap. Large heaps (a tenth of the headroom would be enough)
 * are left to V8's own factor.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** V8 grows the limit by at least this factor anyway (its minimum, 1.1). */
const MIN_PERCENT = 10;
/** The largest growth asked for (a 5× limit over a tiny heap). */
const MAX_PERCENT = 400;

/**
 * The heap growing percent that puts the next limit `headroomBytes` above `liveBytes`, or 0
 * (V8 chooses) when V8's minimum growth already gives that much.
 */
export function growingPercentFor(liveBytes: number, headroomBytes: number): number {
  if (headroomBytes <= 0 || liveBytes <= 0) return 0;
  const percent = Math.ceil((headroomBytes / liveBytes) * 100);
  if (percent <= MIN_PERCENT) return 0;
  return Math.min(percent, MAX_PERCENT);
}

/**
 * Starts adjusting the growing factor after each mark-compact; `onChange` sees each new
 * percent (for the log). headroomBytes 0 (or less): does nothing. Returns the stop.
 */
export function keepGcHeadroom(headroomBytes: number, onChange?: (percent: number, liveBytes: number) => void): () => void {
  let percent = 0;
  const apply = (): void => {
    const live = getHeapStatistics().used_heap_size;
    const next = growingPercentFor(live, headroomBytes);
    if (next === percent) return;
    percent = next;
    setFlagsFromString(`--heap-growing-percent=${next}`);
    onChange?.(next, live);
  };
  if (headroomBytes <= 0) return () => undefined;
  apply();
  const observer = new PerformanceObserver((list) => {
    // One adjustment per batch of entries: the heap size read is the one after them.
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) apply();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
