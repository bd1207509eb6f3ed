/**
 * Group commit for the segment store: records are encoded into the `filling` batch;
 * on the next event-loop turn (or as soon as the previous flush ends) that batch is
 * written with one write per touched segment and one fdatasync each, then the durable
 * ticket moves to the batch's last ticket and listeners run. Records encoded during a
 * flush form the next batch, so writers share fsyncs without any timer.
 */
import * as fs from 'node:fs';
import { logger } from '../log/logger';
import type { StoreStats, Ticket } from './message-store';
import { syncDirectory } from './segment-files';
import type { Segment } from './segment-ledger';
import { StoreFailedError } from './store-errors';
import { WriteBatch } from './write-batch';

const log = logger.child({ module: 'store' });

/** How long a flush that ran out of space waits before writing the batch again. */
const NO_SPACE_RETRY_MS = 500;

/** Out of space (or quota): the batch is kept and written again later instead of failing the store. */
function isNoSpace(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}

interface FlushWaiter {
  generation: number;
  resolve: (ticket: Ticket) => void;
  reject: (error: Error) => void;
}

/**
 * The two batches (filling, in flight), the flush loop and its waiters and listeners.
 * Single-threaded like the store that owns it; after the first write or fsync error
 * it is failed for good: flush() rejects and onFailure listeners have been told.
 * Running out of space is the exception: the in-flight batch stays in memory (nothing in it
 * was reported durable), onStall listeners hear `true`, and the whole batch is written again
 * every NO_SPACE_RETRY_MS at the same file offsets (positional writes, so a partial write is
 * simply overwritten) until it succeeds; then they hear `false`.
 */
export class GroupCommit {
  /** Set when a segment file was created since the last flush: the directory is fsynced before that flush completes. */
  needsDirSync = false;

  private readonly durableListeners: ((ticket: Ticket) => void)[] = [];
  private readonly failureListeners: ((error: Error) => void)[] = [];
  private readonly stallListeners: ((stalled: boolean) => void)[] = [];
  private stalledBy: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set when the owner is closing: running out of space then fails the store instead of waiting. */
  private closing = false;
  private readonly waiters: FlushWaiter[] = [];
  private fillingBatch = new WriteBatch();
  private inFlight = new WriteBatch();
  private flushing = false;
  private flushScheduled = false;
  private generation = 1;
  private closed = false;
  private failed: Error | undefined;

  /**
   * @param durable the ticket already durable (the last recovered id)
   * @param afterFlush runs after each completed flush, before waiters and listeners (the store reclaims space there)
   */
  constructor(
    private readonly dir: string,
    private readonly counters: StoreStats,
    private durable: Ticket,
    private readonly afterFlush: () => void,
  ) {}

  /** The batch new records are encoded into. */
  get filling(): WriteBatch {
    return this.fillingBatch;
  }

  get durableTicket(): Ticket {
    return this.durable;
  }

  /** The first write or fsync error, once the store has failed. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** True while records wait to be written or a flush is under way. */
  get busy(): boolean {
    return !this.fillingBatch.empty || this.flushing;
  }

  /** Bytes encoded but not yet durable. */
  get pendingBytes(): number {
    return this.fillingBatch.length + this.inFlight.length;
  }

  /** True while either batch still has bytes for `segment` (its descriptor must stay open). */
  touches(segment: Segment): boolean {
    return this.fillingBatch.touches(segment) || this.inFlight.touches(segment);
  }

  /** A copy of record bytes that are still only in memory (either batch), else undefined. */
  copyOut(segment: Segment, offset: number, length: number): Buffer | undefined {
    return this.fillingBatch.copyOut(segment, offset, length) ?? this.inFlight.copyOut(segment, offset, length);
  }

  onDurable(listener: (durableTicket: Ticket) => void): void {
    this.durableListeners.push(listener);
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** Told `true` when a flush ran out of space (and is being retried), `false` once it succeeded. */
  onStall(listener: (stalled: boolean) => void): void {
    this.stallListeners.push(listener);
  }

  /** True while the last flush could not write for lack of space. */
  get stalled(): boolean {
    return this.stalledBy !== undefined;
  }

  /** The owner is closing: a stalled flush gives up (failing its waiters) so that closing can finish. */
  abandonIfStalled(): void {
    this.closing = true;
    if (this.stalledBy === undefined) return;
    clearTimeout(this.retryTimer);
    const error = this.stalledBy;
    this.setStalled(undefined);
    this.fail(error);
  }

  /** Resolves with the durable ticket once everything encoded so far is durable. */
  flush(): Promise<Ticket> {
    if (this.failed !== undefined) return Promise.reject(new StoreFailedError(this.failed));
    if (this.fillingBatch.empty && !this.flushing) return Promise.resolve(this.durable);
    const generation = this.fillingBatch.empty ? this.generation - 1 : this.generation;
    return new Promise((resolve, reject) => {
      this.waiters.push({ generation, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a flush on the next event-loop turn unless one is scheduled or running. */
  schedule(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(this.startFlush);
  }

  /** No flush starts after this; the store calls it once it has drained and closes its files. */
  close(): void {
    this.closed = true;
  }

  private readonly startFlush = (): void => {
    this.flushScheduled = false;
    if (this.flushing || this.fillingBatch.empty || this.failed !== undefined || this.closed) return;
    const batch = this.fillingBatch;
    this.fillingBatch = this.inFlight;
    this.inFlight = batch;
    this.generation++;
    this.flushing = true;
    this.writeChunk(0, 0);
  };

  /** Writes chunk `index` of the in-flight batch from byte `done` on, then the rest. */
  private writeChunk(index: number, done: number): void {
    const batch = this.inFlight;
    const chunk = batch.chunks[index];
    const length = chunk.end - chunk.start - done;
    fs.write(chunk.segment.fd, batch.buffer, chunk.start + done, length, chunk.fileOffset + done, (error, written) => {
      if (error) return this.writeFailed(error);
      this.counters.bytesWritten += written;
      if (written < length) return this.writeChunk(index, done + written);
      const next = batch.chunks[index + 1];
      // A segment is made durable before the next one is written, so a crash can only
      // tear the newest segment's tail.
      if (next === undefined || next.segment !== chunk.segment) this.syncChunk(index);
      else this.writeChunk(index + 1, 0);
    });
  }

  private syncChunk(index: number): void {
    const chunk = this.inFlight.chunks[index];
    fs.fdatasync(chunk.segment.fd, (error) => {
      if (error) return this.writeFailed(error);
      this.counters.fsyncs++;
      const batch = this.inFlight;
      for (let i = 0; i <= index; i++) {
        const c = batch.chunks[i];
        if (c.segment === chunk.segment) c.segment.durableSize = c.fileOffset + (c.end - c.start);
      }
      if (index + 1 < batch.chunks.length) this.writeChunk(index + 1, 0);
      else this.finishFlush();
    });
  }

  private finishFlush(): void {
    if (this.needsDirSync) {
      // New segment files must survive a crash before their records count as durable.
      this.needsDirSync = false;
      try {
        syncDirectory(this.dir);
        this.counters.fsyncs++;
      } catch (error) {
        return this.fail(error as Error);
      }
    }
    if (this.stalledBy !== undefined) {
      log.info({ dir: this.dir }, 'message store writes again after running out of space');
      this.setStalled(undefined);
    }
    const batch = this.inFlight;
    const completed = this.generation - 1;
    if (batch.lastTicket > this.durable) this.durable = batch.lastTicket;
    this.counters.flushes++;
    batch.reset();
    this.flushing = false;
    try {
      this.afterFlush();
    } catch (error) {
      log.error({ err: error }, 'segment reclamation failed');
    }
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      if (waiter.generation <= completed) {
        this.waiters.splice(i, 1);
        waiter.resolve(this.durable);
      } else i++;
    }
    for (const listener of this.durableListeners) {
      try {
        listener(this.durable);
      } catch (error) {
        log.error({ err: error }, 'onDurable listener threw');
      }
    }
    if (!this.fillingBatch.empty) this.startFlush();
  }

  /** A write or fsync of the in-flight batch failed: out of space waits and retries, anything else fails the store. */
  private writeFailed(error: NodeJS.ErrnoException): void {
    if (!isNoSpace(error) || this.closing) return this.fail(error);
    if (this.stalledBy === undefined) {
      log.error({ err: error, dir: this.dir }, 'message store out of space; holding the batch and retrying');
      this.setStalled(error);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.failed === undefined && this.inFlight.chunks.length > 0) this.writeChunk(0, 0);
    }, NO_SPACE_RETRY_MS);
  }

  private setStalled(error: Error | undefined): void {
    this.stalledBy = error;
    for (const listener of this.stallListeners) {
      try {
        listener(error !== undefined);
      } catch (err) {
        log.error({ err }, 'onStall listener threw');
      }
    }
  }

  private fail(error: Error): void {
    if (this.failed !== undefined) return;
    this.failed = error;
    this.flushing = false;
    log.error({ err: error, dir: this.dir }, 'message store write failed; store is now failed');
    const failed = new StoreFailedError(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(failed);
    for (const listener of this.failureListeners) listener(failed);
  }
}
