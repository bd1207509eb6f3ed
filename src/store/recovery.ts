/**
 * Rebuilds a segment store's in-memory state from its files: which messages are live,
 * where each is, which queues hold them in what order, and the segment bookkeeping
 * that governs deletion.
 *
 * Damage handling. An invalid byte range (bad magic, impossible length, CRC mismatch)
 * followed by a valid record in the same segment is reported and skipped: the store
 * never returns its bytes. An invalid range reaching the end of the newest segment that
 * holds any valid record is a torn final write: it is truncated and logged. The same
 * at the end of an older segment cannot come from a crash (the store fsyncs a segment
 * before writing the next), so it is reported as corruption and left in place.
 */
import * as fs from 'node:fs';
import { logger } from '../log/logger';
import { listSegments, segmentPath } from './segment-files';
import { IdList } from './id-list';
import { MessageIndex } from './message-index';
import { Segment, addDependency } from './segment-ledger';
import type { MessageId, RecoveryResult } from './message-store';
import { HEADER_BYTES, RecordType, nextValidRecord, readU64, validRecordEnd } from './record-format';

const log = logger.child({ module: 'store.recovery' });

/** Everything the segment store needs to continue where the files left off. */
export interface RecoveredState {
  segments: Segment[];
  index: MessageIndex<Segment>;
  queues: Map<string, IdList>;
  /** Smallest id that is safe to assign next. */
  nextId: number;
  /** Number the next new segment file takes. */
  nextSegmentNo: number;
  result: RecoveryResult;
}

interface TailDamage {
  segment: Segment;
  validEnd: number;
  fileBytes: number;
}

export function recoverDirectory(dir: string): RecoveredState {
  const startedMs = performance.now();
  const numbers = listSegments(dir);
  const state = new ReplayState();
  const tails: TailDamage[] = [];
  let lastWithRecords = -1;

  for (let i = 0; i < numbers.length; i++) {
    const path = segmentPath(dir, numbers[i]);
    const data = fs.readFileSync(path);
    const segment = new Segment(numbers[i], path, -1, data.length);
    state.segments.push(segment);
    const before = state.recordCount;
    const tail = scanSegment(data, segment, state);
    segment.messages.trim();
    if (tail !== undefined) tails.push(tail);
    if (state.recordCount > before) lastWithRecords = i;
  }

  let truncatedBytes = 0;
  for (const tail of tails) {
    const index = state.segments.indexOf(tail.segment);
    const lost = tail.fileBytes - tail.validEnd;
    if (index >= lastWithRecords) {
      log.warn({ segment: tail.segment.no, offset: tail.validEnd, bytes: lost }, 'torn tail record truncated');
      truncateFile(tail.segment.path, tail.validEnd);
      tail.segment.size = tail.validEnd;
      tail.segment.durableSize = tail.validEnd;
      truncatedBytes += lost;
    } else {
      state.corruptRegions++;
      log.error({ segment: tail.segment.no, offset: tail.validEnd, bytes: lost }, 'corrupt bytes at end of segment skipped');
    }
  }

  const queues = new Map<string, MessageId[]>();
  for (const [name, ids] of state.queues) if (ids.size > 0) queues.set(name, ids.toArray());
  const result: RecoveryResult = {
    queues,
    messageCount: state.index.live,
    recordCount: state.recordCount,
    corruptRegions: state.corruptRegions,
    truncatedBytes,
    segmentCount: state.segments.length,
    durationMs: performance.now() - startedMs,
  };
  return {
    segments: state.segments,
    index: state.index,
    queues: state.queues,
    nextId: Math.max(state.maxId + 1, state.nextIdFloor, 1),
    nextSegmentNo: numbers.length > 0 ? numbers[numbers.length - 1] + 1 : 1,
    result,
  };
}

class ReplayState {
  readonly segments: Segment[] = [];
  readonly index = new MessageIndex<Segment>();
  readonly queues = new Map<string, IdList>();
  maxId = 0;
  nextIdFloor = 1;
  recordCount = 0;
  corruptRegions = 0;

  drop(queue: IdList, id: MessageId, by: Segment): void {
    if (!queue.delete(id)) return;
    if (!this.index.find(id)) return;
    addDependency(by, this.index.foundSegment!);
    this.index.unrefFound();
  }
}

/** Replays the valid records of one segment; returns its damaged tail, if any. */
function scanSegment(data: Buffer, segment: Segment, state: ReplayState): TailDamage | undefined {
  const limit = data.length;
  let pos = 0;
  while (pos < limit) {
    const end = validRecordEnd(data, pos, limit);
    if (end !== -1) {
      replayRecord(data, pos, end, segment, state);
      state.recordCount++;
      pos = end;
      continue;
    }
    const next = nextValidRecord(data, pos + 1, limit);
    if (next === -1) return { segment, validEnd: pos, fileBytes: limit };
    state.corruptRegions++;
    log.error({ segment: segment.no, offset: pos, bytes: next - pos }, 'corrupt record skipped');
    pos = next;
  }
  return undefined;
}

function replayRecord(data: Buffer, pos: number, end: number, segment: Segment, state: ReplayState): void {
  let p = pos + HEADER_BYTES;
  const type = data[p++];
  switch (type) {
    case RecordType.Message: {
      const id = readU64(data, p);
      p += 8;
      const queueCount = data.readUInt16BE(p);
      p += 2;
      if (id <= state.maxId) {
        // Ids are never reused and only increase; anything else is damage that passed the CRC.
        state.corruptRegions++;
        log.error({ segment: segment.no, offset: pos, id }, 'duplicate or out-of-order message id skipped');
        return;
      }
      state.maxId = id;
      let refs = 0;
      for (let i = 0; i < queueCount; i++) {
        const length = data[p];
        const name = data.toString('utf8', p + 1, p + 1 + length);
        p += 1 + length;
        let ids = state.queues.get(name);
        if (ids === undefined) {
          ids = new IdList();
          state.queues.set(name, ids);
        }
        if (ids.add(id)) refs++;
      }
      if (refs > 0) state.index.add(segment, id, pos, end - pos, refs);
      return;
    }
    case RecordType.Ack: {
      const length = data[p];
      const name = data.toString('utf8', p + 1, p + 1 + length);
      p += 1 + length;
      const count = data.readUInt32BE(p);
      p += 4;
      const ids = state.queues.get(name);
      if (ids === undefined) return;
      for (let i = 0; i < count && p + 8 <= end; i++, p += 8) state.drop(ids, readU64(data, p), segment);
      return;
    }
    case RecordType.QueueDelete: {
      const length = data[p];
      const name = data.toString('utf8', p + 1, p + 1 + length);
      const ids = state.queues.get(name);
      if (ids === undefined) return;
      for (const id of ids.toArray()) state.drop(ids, id, segment);
      state.queues.delete(name);
      return;
    }
    case RecordType.SegmentStart: {
      const nextId = readU64(data, p + 4);
      if (nextId > state.nextIdFloor) state.nextIdFloor = nextId;
      return;
    }
    default:
      state.corruptRegions++;
      log.error({ segment: segment.no, offset: pos, type }, 'unknown record type skipped');
  }
}

function truncateFile(path: string, bytes: number): void {
  const fd = fs.openSync(path, 'r+');
  try {
    fs.ftruncateSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
