/**
 * The durable message store: one directory of append-only segment files per vhost.
 * See README.md in this folder for the design and record-format.ts for the bytes.
 */
import * as fs from 'node:fs';
import { logger } from '../log/logger';
import { MessageCache } from './message-cache';
import { type MessageId, type MessageStore, type RecoveryResult, type StoreStats, type StoredMessage, type Ticket, emptyStats } from './message-store';
import {
  HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  SEGMENT_START_RECORD_BYTES,
  ackRecordBytes,
  decodeMessage,
  messageRecordBytes,
  queueDeleteRecordBytes,
  validRecordEnd,
  writeAckRecord,
  writeMessageRecord,
  writeQueueDeleteRecord,
  writeSegmentStartRecord,
} from './record-format';
import { recoverDirectory } from './recovery';
import { GroupCommit } from './group-commit';
import { segmentPath, syncDirectory } from './segment-files';
import { IdList } from './id-list';
import { MessageIndex } from './message-index';
import { Segment, addDependency, collectDeletable } from './segment-ledger';
import { DEFAULT_CACHE_BYTES, startStatsLog } from './stats-log';
import { CorruptRecordError, StoreClosedError, StoreFailedError } from './store-errors';

const log = logger.child({ module: 'store' });

/** Heap cost of one cache entry beyond its bytes (entry and message objects, Map slot, three Buffer objects). */
const CACHE_ENTRY_OVERHEAD_BYTES = 320;

export interface SegmentStoreOptions {
  /** Directory of this store's segment files (one per vhost); created if missing. */
  dir: string;
  /** A segment rolls over when the next record would take it past this. Default 16 MiB. */
  segmentMaxBytes?: number;
  /** Bound on cached message bytes. Default 16 MiB. */
  cacheMaxBytes?: number;
  /** When set, the store's counters are logged this often (milliseconds, at least 100). */
  statsIntervalMs?: number;
}

/** Descriptors of inactive segments kept open (for reads, and rolled-over ones until written). */
const OPEN_FDS_LIMIT = 8;

/**
 * Opens (recovering) the store in `options.dir`. Recovery reads every segment, truncates
 * a torn tail, skips and reports damaged records, then starts a new segment and deletes
 * segments that hold nothing live. The result is on `store.recovery`.
 */
export async function openSegmentStore(options: SegmentStoreOptions): Promise<SegmentMessageStore> {
  fs.mkdirSync(options.dir, { recursive: true });
  const store = new SegmentMessageStore(options);
  // On a full disk the new segment's first record cannot be written: open anyway (the
  // disk alarm keeps publishers off) and keep the dead segments until writes work again.
  if (!(await store.flushUnlessStalled())) store.reclaimRecovered();
  const intervalMs = options.statsIntervalMs;
  if (intervalMs !== undefined && intervalMs >= 100) store.stopStatsLog = startStatsLog(store.dir, () => store.stats(), intervalMs);
  return store;
}

/**
 * {@link MessageStore} on segment files with group commit. Create it with
 * {@link openSegmentStore}. Writes go to an in-memory batch; one flush per event-loop
 * turn (or as soon as the previous flush finishes) writes the batch with one write per
 * touched segment and one fdatasync, then advances `durableTicket` (group-commit.ts).
 */
export class SegmentMessageStore implements MessageStore {
  readonly dir: string;
  readonly segmentMaxBytes: number;
  /** What open() found; the broker rebuilds its durable queues from `queues`. */
  readonly recovery: RecoveryResult;

  private readonly index: MessageIndex<Segment>;
  private readonly queues: Map<string, IdList>;
  private readonly segments = new Map<number, Segment>();
  private readonly queueNameBytes = new Map<string, Buffer>();
  private readonly cache: MessageCache;
  private readonly counters = emptyStats();
  private readonly deletionCandidates = new Set<Segment>();
  private readonly scratchNames: Buffer[] = [];
  private readonly scratchIds: MessageId[] = [];

  private active: Segment;
  /**
   * Segments with a descriptor open that is not the active one's: rolled-over segments until
   * their last batch is written, and segments opened for reads, least recently used first.
   * Bounded, so a large backlog does not hold one descriptor per 16 MiB segment.
   */
  private readonly openFds = new Set<Segment>();
  private nextSegmentNo: number;
  private seq: number;
  private readonly commit: GroupCommit;
  private unsyncedUnlinks = 0;
  private closed = false;
  /** Set when WARREN_STORE_STATS_MS turned the periodic stats log on. */
  stopStatsLog: (() => void) | undefined;

  /** Use {@link openSegmentStore}; the constructor recovers synchronously. */
  constructor(options: SegmentStoreOptions) {
    this.dir = options.dir;
    this.segmentMaxBytes = options.segmentMaxBytes ?? 16 * 1024 * 1024;
    this.cache = new MessageCache(options.cacheMaxBytes ?? DEFAULT_CACHE_BYTES, CACHE_ENTRY_OVERHEAD_BYTES);
    if (this.segmentMaxBytes < 4096) throw new RangeError('segmentMaxBytes must be at least 4096');
    const state = recoverDirectory(this.dir);
    this.recovery = state.result;
    this.index = state.index;
    this.queues = state.queues;
    for (const segment of state.segments) this.segments.set(segment.no, segment);
    this.seq = state.nextId - 1;
    this.commit = new GroupCommit(this.dir, this.counters, this.seq, () => this.reclaim());
    this.nextSegmentNo = state.nextSegmentNo;
    this.active = this.createSegment();
    log.info(
      {
        dir: this.dir,
        messages: state.result.messageCount,
        queues: state.result.queues.size,
        segments: state.result.segmentCount,
        corruptRegions: state.result.corruptRegions,
        truncatedBytes: state.result.truncatedBytes,
        durationMs: Math.round(state.result.durationMs),
      },
      'message store recovered',
    );
  }

  get durableTicket(): Ticket {
    return this.commit.durableTicket;
  }

  get lastTicket(): Ticket {
    return this.seq;
  }

  storeMessage(queues: readonly string[], routing: Buffer, properties: Buffer, body: Buffer): MessageId {
    this.checkWritable();
    const names = this.uniqueQueueNames(queues);
    const bytes = messageRecordBytes(names, routing, properties, body);
    if (bytes - HEADER_BYTES > MAX_PAYLOAD_BYTES) throw new RangeError('message too large for the store');
    const segment = this.segmentFor(bytes);
    const pos = this.commit.filling.reserve(segment, bytes);
    const id = ++this.seq;
    writeMessageRecord(this.commit.filling.buffer, pos, id, names, routing, properties, body);
    this.commit.filling.lastTicket = id;
    this.index.add(segment, id, segment.size - bytes, bytes, names.length);
    for (let i = 0; i < queues.length; i++) this.queueIds(queues[i]).add(id);
    this.cache.set(id, { routing, properties, body });
    this.counters.records++;
    this.commit.schedule();
    return id;
  }

  ack(queue: string, id: MessageId): Ticket {
    this.scratchIds.length = 0;
    this.scratchIds.push(id);
    return this.ackMany(queue, this.scratchIds);
  }

  ackMany(queue: string, ids: readonly MessageId[]): Ticket {
    this.checkWritable();
    const held = this.queues.get(queue);
    if (held === undefined) return this.seq;
    let count = 0;
    for (let i = 0; i < ids.length; i++) if (held.has(ids[i])) count++;
    if (count === 0) return this.seq;
    const acked = count === ids.length ? ids : ids.filter((id) => held.has(id));
    const name = this.nameBytes(queue);
    const bytes = ackRecordBytes(name, acked.length);
    const segment = this.segmentFor(bytes);
    const pos = this.commit.filling.reserve(segment, bytes);
    writeAckRecord(this.commit.filling.buffer, pos, name, acked);
    for (let i = 0; i < acked.length; i++) {
      // A repeated id is written twice but released once.
      if (held.delete(acked[i])) this.release(acked[i], segment);
    }
    return this.appended();
  }

  deleteQueue(queue: string): Ticket {
    this.checkWritable();
    const held = this.queues.get(queue);
    if (held === undefined) return this.seq;
    this.queues.delete(queue);
    if (held.size === 0) {
      this.queueNameBytes.delete(queue);
      return this.seq;
    }
    const name = this.nameBytes(queue);
    this.queueNameBytes.delete(queue);
    const bytes = queueDeleteRecordBytes(name);
    const segment = this.segmentFor(bytes);
    const pos = this.commit.filling.reserve(segment, bytes);
    writeQueueDeleteRecord(this.commit.filling.buffer, pos, name);
    for (const id of held) this.release(id, segment);
    return this.appended();
  }

  read(id: MessageId): StoredMessage | undefined {
    if (this.closed) throw new StoreClosedError();
    if (!this.index.find(id)) return undefined;
    const segment = this.index.foundSegment!;
    const offset = segment.messages.offset(this.index.foundIndex);
    const length = segment.messages.length(this.index.foundIndex);
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      return cached;
    }
    this.counters.cacheMisses++;
    const raw = this.commit.copyOut(segment, offset, length) ?? this.readFromFile(segment, offset, length);
    if (raw === undefined || validRecordEnd(raw, 0, raw.length) !== raw.length) {
      this.counters.corruptReads++;
      log.error({ segment: segment.no, offset, id }, 'corrupt message record on read');
      throw new CorruptRecordError(segment.no, offset);
    }
    const message = decodeMessage(raw, 0, raw.length);
    this.cache.set(id, message);
    return message;
  }

  has(id: MessageId): boolean {
    return this.index.has(id);
  }

  queueMessageIds(queue: string): MessageId[] {
    const held = this.queues.get(queue);
    return held === undefined ? [] : held.toArray();
  }

  onDurable(listener: (durableTicket: Ticket) => void): void {
    this.commit.onDurable(listener);
  }

  onFailure(listener: (error: Error) => void): void {
    this.commit.onFailure(listener);
  }

  /** Told `true` when writes ran out of space (they are retried), `false` when they succeed again. */
  onStall(listener: (stalled: boolean) => void): void {
    this.commit.onStall(listener);
  }

  get stalled(): boolean {
    return this.commit.stalled;
  }

  /** Flushes; resolves true instead of waiting when the flush stalls for lack of space. */
  flushUnlessStalled(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.commit.onStall((stalled) => stalled && resolve(true));
      this.commit.flush().then(() => resolve(false), reject);
    });
  }

  flush(): Promise<Ticket> {
    return this.commit.flush();
  }

  stats(): StoreStats {
    const s = { ...this.counters };
    s.pendingBytes = this.commit.pendingBytes;
    s.liveMessages = this.index.live;
    s.indexBytes = this.index.sizeBytes;
    for (const ids of this.queues.values()) s.indexBytes += ids.sizeBytes;
    s.segments = this.segments.size;
    s.cacheBytes = this.cache.sizeBytes;
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopStatsLog?.();
    try {
      // Out of space now, closing cannot wait for it: what is not durable was never confirmed.
      this.commit.abandonIfStalled();
      // onDurable listeners may write (acks) while we wait, so drain until quiet.
      while (this.commit.busy) await this.flush();
    } catch {
      // Already reported through onFailure; closing must still release the files.
    }
    this.closed = true;
    this.commit.close();
    for (const segment of this.segments.values()) {
      if (segment.fd !== -1) fs.closeSync(segment.fd);
      segment.fd = -1;
    }
    this.cache.clear();
  }

  /** Deletes segments recovery found dead; called once by openSegmentStore. */
  reclaimRecovered(): void {
    this.deleteSegments(collectDeletable(this.segments.values(), this.deletionCandidates));
  }

  // ---- write path ----

  private checkWritable(): void {
    if (this.closed) throw new StoreClosedError();
    const failure = this.commit.failure;
    if (failure !== undefined) throw new StoreFailedError(failure);
  }

  /** Bookkeeping after a non-message record was reserved and encoded. */
  private appended(): Ticket {
    const ticket = ++this.seq;
    this.commit.filling.lastTicket = ticket;
    this.counters.records++;
    this.commit.schedule();
    return ticket;
  }

  /** Drops one queue reference to `id` by an index record written to `by`. */
  private release(id: MessageId, by: Segment): void {
    if (!this.index.find(id)) return;
    const segment = this.index.foundSegment!;
    addDependency(by, segment);
    if (!this.index.unrefFound()) return;
    this.cache.delete(id);
    if (segment.live === 0) this.deletionCandidates.add(segment);
  }

  /** The segment a record of `bytes` goes to, rolling over to a new one if needed. */
  private segmentFor(bytes: number): Segment {
    const active = this.active;
    if (active.size > SEGMENT_START_RECORD_BYTES && active.size + bytes > this.segmentMaxBytes) {
      active.active = false;
      this.openFds.add(active);
      active.messages.trim();
      this.deletionCandidates.add(active);
      this.active = this.createSegment();
    }
    return this.active;
  }

  private createSegment(): Segment {
    const no = this.nextSegmentNo++;
    const path = segmentPath(this.dir, no);
    const fd = fs.openSync(path, 'wx+');
    const segment = new Segment(no, path, fd, 0);
    segment.active = true;
    this.segments.set(no, segment);
    this.commit.needsDirSync = true;
    this.counters.segmentsCreated++;
    const pos = this.commit.filling.reserve(segment, SEGMENT_START_RECORD_BYTES);
    this.commit.filling.records--; // not a caller's record
    writeSegmentStartRecord(this.commit.filling.buffer, pos, this.seq + 1);
    this.commit.schedule();
    return segment;
  }

  // ---- space reclamation ----

  private reclaim(): void {
    this.closeIdleFds(OPEN_FDS_LIMIT);
    if (this.deletionCandidates.size === 0) return;
    const candidates = [...this.deletionCandidates];
    this.deletionCandidates.clear();
    this.deleteSegments(collectDeletable(candidates, this.deletionCandidates));
  }

  private deleteSegments(doomed: Segment[]): void {
    for (const segment of doomed) {
      // An index record in this segment kept acks for another, already unlinked, segment
      // alive; that unlink must be durable first or a crash could bring back the acked
      // messages without their acks.
      if (segment.hadDeps && this.unsyncedUnlinks > 0) {
        syncDirectory(this.dir);
        this.counters.fsyncs++;
        this.unsyncedUnlinks = 0;
      }
      if (segment.fd !== -1) fs.closeSync(segment.fd);
      segment.fd = -1;
      this.openFds.delete(segment);
      try {
        fs.unlinkSync(segment.path);
      } catch (error) {
        log.warn({ err: error, segment: segment.no }, 'segment file could not be removed');
      }
      this.segments.delete(segment.no);
      this.index.removeSegment(segment);
      this.unsyncedUnlinks++;
      this.counters.segmentsDeleted++;
    }
  }

  // ---- helpers ----

  /** Closes descriptors of inactive segments, oldest use first, until at most `keep` are open. */
  private closeIdleFds(keep: number): void {
    if (this.openFds.size <= keep) return;
    for (const segment of this.openFds) {
      if (this.openFds.size <= keep) return;
      if (segment.active || this.commit.touches(segment)) continue;
      if (segment.fd !== -1) fs.closeSync(segment.fd);
      segment.fd = -1;
      this.openFds.delete(segment);
    }
  }

  private readFromFile(segment: Segment, offset: number, length: number): Buffer | undefined {
    if (segment.fd === -1) {
      this.closeIdleFds(OPEN_FDS_LIMIT - 1);
      segment.fd = fs.openSync(segment.path, 'r');
      this.openFds.add(segment);
    } else if (!segment.active && this.openFds.delete(segment)) {
      this.openFds.add(segment); // most recently used last
    }
    const raw = Buffer.allocUnsafe(length);
    const got = fs.readSync(segment.fd, raw, 0, length, offset);
    return got === length ? raw : undefined;
  }

  private queueIds(queue: string): IdList {
    let ids = this.queues.get(queue);
    if (ids === undefined) {
      ids = new IdList();
      this.queues.set(queue, ids);
    }
    return ids;
  }

  private nameBytes(queue: string): Buffer {
    let bytes = this.queueNameBytes.get(queue);
    if (bytes === undefined) {
      bytes = Buffer.from(queue, 'utf8');
      if (bytes.length > 255) throw new RangeError('queue name longer than 255 bytes');
      this.queueNameBytes.set(queue, bytes);
    }
    return bytes;
  }

  /** Encoded names of `queues` without repeats (reuses one scratch array). */
  private uniqueQueueNames(queues: readonly string[]): Buffer[] {
    if (queues.length === 0) throw new RangeError('a message needs at least one queue');
    if (queues.length > 0xffff) throw new RangeError('too many queues for one message');
    const names = this.scratchNames;
    names.length = 0;
    if (queues.length <= 8) {
      for (let i = 0; i < queues.length; i++) {
        const name = this.nameBytes(queues[i]);
        if (!names.includes(name)) names.push(name);
      }
      return names;
    }
    for (const queue of new Set(queues)) names.push(this.nameBytes(queue));
    return names;
  }
}
