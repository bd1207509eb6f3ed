/**
 * Bookkeeping that decides when a segment file may be deleted.
 *
 * A segment holds message records and index records (acks, queue deletions). It may go
 * once (a) no queue references any message stored in it, (b) it is not the segment
 * being appended to, and (c) no *other* live segment holds a message that one of its
 * index records removed a reference from. Rule (c) keeps an ack on disk for as long as
 * the message it acknowledged is on disk; without it, recovery would resurrect acked
 * messages. Deleting a segment can therefore make later segments deletable (cascade).
 */

import { SegmentMessages } from './message-index';

export class Segment {
  /** Messages stored here that some queue still references. */
  live = 0;
  /** Where each message record of this segment is and its reference count. */
  readonly messages = new SegmentMessages();
  /** Other segments holding messages that index records here touched. */
  readonly deps = new Set<Segment>();
  /** Segments whose index records touched messages stored here. */
  readonly dependents = new Set<Segment>();
  /** False once it is no longer the append target. */
  active = false;
  deleted = false;
  /** Set once an index record here touched another segment (see deletion ordering). */
  hadDeps = false;
  /** Bytes written and fsynced; deletion waits until it reaches `size`. */
  durableSize: number;

  constructor(
    readonly no: number,
    readonly path: string,
    /** Open descriptor for reads (and writes while active); -1 when closed. */
    public fd: number,
    /** Logical length: bytes written to the file plus bytes waiting in a batch. */
    public size: number,
  ) {
    this.durableSize = size;
  }
}

/** Records that an index record in `from` touched a message stored in `to`. */
export function addDependency(from: Segment, to: Segment): void {
  if (from === to) return;
  from.hadDeps = true;
  from.deps.add(to);
  to.dependents.add(from);
}

export function isDeletable(segment: Segment): boolean {
  return !segment.deleted && !segment.active && segment.live === 0 && segment.deps.size === 0;
}

/**
 * Marks every deletable segment among `start` deleted, then every segment that thereby
 * becomes deletable, and returns them in an order where a segment comes after those
 * whose deletion freed it. Deletable segments with bytes not yet durable are not
 * deleted but added to `deferred`, to be offered again after the next flush.
 * The caller removes the files.
 */
export function collectDeletable(start: Iterable<Segment>, deferred: Set<Segment>): Segment[] {
  const out: Segment[] = [];
  const work = [...start];
  while (work.length > 0) {
    const segment = work.pop()!;
    if (!isDeletable(segment)) continue;
    if (segment.durableSize !== segment.size) {
      deferred.add(segment);
      continue;
    }
    segment.deleted = true;
    out.push(segment);
    for (const dependent of segment.dependents) {
      dependent.deps.delete(segment);
      work.push(dependent);
    }
    segment.dependents.clear();
  }
  return out;
}
