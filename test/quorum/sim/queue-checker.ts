import type { LogEntry } from '../../../cluster/raft/types';
import type { QuorumFsm } from '../../../cluster/quorum/quorum-fsm';
import { CMD_CHECKOUT, CMD_ENQUEUE, CMD_RETURN, CMD_SETTLE, decodeCommand, splitWith } from '../../../cluster/quorum/quorum-codec';
import { EnqueuerTable, ORIGIN_NEW } from '../../../cluster/quorum/enqueuer-table';

/** A message as the committed log says: its tag (routing key), delivery count, settle. */
export interface RefMessage {
  id: number;
  tag: string;
  count: number;
  /** Terms of the log entries whose return counted (one per delivery failure). */
  returnTerms: number[];
  settled: { index: number; term: number } | undefined;
  /** The consumer the log says holds it, and the term of the checkout entry. */
  owner: { key: string; term: number } | undefined;
  /** The term in which a leader gave it back from a consumer that did not come back (its return may not be committed yet). */
  releasedTerm: number;
}

/** Thrown when a property fails; the simulation adds the seed and step. */
export class InvariantError extends Error {}

export function fail(property: string, detail: string): never {
  throw new InvariantError(`${property} violated: ${detail}`);
}

function mix(h: number, n: number): number {
  h = Math.imul(h ^ (n & 0xffffffff), 16777619);
  return Math.imul(h ^ Math.floor(n / 2 ** 32), 16777619) >>> 0;
}

function hashString(s: string | undefined): number {
  if (s === undefined) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A digest of a queue state: next id, and every message's id, delivery count and owner, in id order. */
function digestOf(nextId: number, messages: Iterable<[number, { deliveryCount?: number; count?: number; owner?: string; tag?: string }]>): number {
  let h = mix(0x811c9dc5, nextId);
  for (const [id, m] of messages) h = mix(mix(mix(mix(h, id), m.deliveryCount ?? m.count ?? 0), hashString(m.owner)), hashString(m.tag));
  return h;
}

/** The state's digest, each message's tag (its routing key, read from its body's copy) included. */
export function fsmDigest(fsm: QuorumFsm): number {
  return digestOf(fsm.nextId, [...fsm.messages].map(([id, m]) => [id, { deliveryCount: m.deliveryCount, owner: m.owner, tag: m.message?.routingKey }]));
}

/**
 * The reference: the committed log as the servers applied it, replayed into a plain model
 * of the queue written from the commands' meaning (enqueue assigns the next ids, return
 * counts a failed delivery, settle removes). Every server's QuorumFsm must equal it at
 * every index it reaches, whether by applying entries or by restoring a snapshot.
 */
export class QueueChecker {
  /** Command entries applied anywhere, by index (the committed log, as far as known). */
  private readonly log = new Map<number, { term: number; data: Buffer }>();
  /** Command indexes in order, and the model's digest after each. */
  private readonly indexes: number[] = [];
  private readonly digests: number[] = [];
  /** The queue as the log says, after the last recorded index. */
  readonly present = new Map<number, RefMessage>();
  readonly byId = new Map<number, RefMessage>();
  readonly byTag = new Map<string, RefMessage>();
  private nextId = 1;
  /** The log's enqueuer numbers (the state machine's rule; whether it keeps each message once is checked by tag). */
  private readonly enqueuers = new EnqueuerTable();
  /** Copies of a message that came again and were recognised (duplicates and out-of-order refusals). */
  resentSkipped = 0;
  private readonly leaderByTerm = new Map<number, string>();
  confirmedEnqueues = new Set<string>();
  settlesConfirmed = 0;
  staleDeliveries = 0;
  /** Deliveries of messages some consumer held in an earlier term (released first, or to the same consumer). */
  ownedDeliveries = 0;
  releases = 0;
  settlesByLogId = 0;
  restores = 0;
  /** Restores of a snapshot sent by the leader (the others are restarts). */
  installs = 0;

  get lastIndex(): number {
    return this.indexes.length === 0 ? 0 : this.indexes[this.indexes.length - 1];
  }

  /** A server is about to apply command entry `e` (it is committed: record it in the log). */
  beforeApply(node: string, e: LogEntry): void {
    const known = this.log.get(e.index);
    if (known) {
      if (known.term !== e.term || !known.data.equals(e.data)) fail('state machine safety', `${node} applied a different command at ${e.index} (term ${e.term}, first seen term ${known.term})`);
    } else {
      if (e.index <= this.lastIndex) fail('state machine safety', `${node} applied ${e.index}, which no one applied before although ${this.lastIndex} was`);
      this.record(e);
    }
  }

  /** A server applied command entry `e`; `fsm` is its state after it. */
  afterApply(node: string, e: LogEntry, fsm: QuorumFsm): void {
    const i = this.position(e.index);
    if (this.indexes[i] !== e.index) fail('internal', `no digest at ${e.index}`);
    if (fsmDigest(fsm) !== this.digests[i]) fail('replica state', `${node}'s queue after index ${e.index} differs from the log's (${this.describe(fsm)})`);
  }

  /** A server restored a snapshot covering the log up to `index`. */
  onRestore(node: string, index: number, fsm: QuorumFsm, installed: boolean): void {
    this.restores++;
    if (installed) this.installs++;
    // The last command at or before `index` (a snapshot may also cover noop and config entries).
    const i = this.position(index);
    const expected = i < 0 ? digestOf(1, []) : this.digests[i];
    if (fsmDigest(fsm) !== expected) fail('snapshot', `${node} restored a snapshot at ${index} that differs from the log's state there`);
  }

  /** Position of the last command index ≤ `index` (-1 if none). */
  private position(index: number): number {
    let lo = 0;
    let hi = this.indexes.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexes[mid] <= index) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private record(e: LogEntry): void {
    this.log.set(e.index, { term: e.term, data: e.data });
    this.enqueuers.prune(e.index);
    // A CMD_WITH entry is its commands one after the other.
    for (const part of splitWith(e.data)) this.recordCommand(e, decodeCommand(part));
    this.indexes.push(e.index);
    this.digests.push(digestOf(this.nextId, [...this.present].map(([id, r]) => [id, { count: r.count, owner: r.owner?.key, tag: r.tag }])));
  }

  private recordCommand(e: LogEntry, c: ReturnType<typeof decodeCommand>): void {
    if (c.cmd === CMD_ENQUEUE) {
      for (let i = 0; i < c.messages.length; i++) {
        const m = c.messages[i];
        const origin = c.origins?.[i];
        if (origin && this.enqueuers.admit(origin, e.index) !== ORIGIN_NEW) {
          this.resentSkipped++;
          continue;
        }
        const tag = m.routingKey;
        if (this.byTag.has(tag)) fail('no duplicates', `message ${tag} enqueued twice in the log (again at ${e.index})`);
        const r: RefMessage = { id: this.nextId++, tag, count: 0, returnTerms: [], settled: undefined, owner: undefined, releasedTerm: 0 };
        this.present.set(r.id, r);
        this.byId.set(r.id, r);
        this.byTag.set(tag, r);
      }
    } else if (c.cmd === CMD_CHECKOUT) {
      for (const { owner, ids } of c.owners) {
        for (const id of ids) {
          const r = this.present.get(id);
          // A leader hands out only messages it has not seen settled: a checkout after the settle is out of order.
          if (!r) fail('checkout of a present message', `checkout of message ${id} to ${owner} at ${e.index} (term ${e.term}) but it is not in the queue`);
          r.owner = { key: owner, term: e.term };
        }
      }
    } else {
      for (const id of c.ids) {
        const r = this.present.get(id);
        // The client settles and returns only what a leader delivered from its state after
        // applying every earlier term's entries: a command naming a message no longer there
        // means a settle twice (or a return after the settle) reached the log.
        if (!r) {
          const was = this.byId.get(id);
          const what = c.cmd === CMD_SETTLE ? 'settle' : 'return';
          fail('settled once', `${what} of message ${id} at ${e.index} (term ${e.term}) but ${was ? `it was settled at ${was.settled?.index} (term ${was.settled?.term})` : 'it was never enqueued'}`);
        }
        if (c.cmd === CMD_RETURN) {
          r.count++;
          r.returnTerms.push(e.term);
          r.owner = undefined;
        } else if (c.cmd === CMD_SETTLE) {
          r.settled = { index: e.index, term: e.term };
          r.owner = undefined;
          this.present.delete(id);
        }
      }
    }
  }

  /** A client's enqueue was confirmed (committed): each tag must be in the log now. */
  onEnqueueConfirmed(node: string, tags: string[]): void {
    for (const tag of tags) {
      if (!this.byTag.has(tag)) fail('confirmed means committed', `${node} confirmed ${tag}, which no server applied`);
      this.confirmedEnqueues.add(tag);
    }
  }

  /** A client's settle was confirmed (committed). */
  onSettleConfirmed(ids: number[]): void {
    for (const id of ids) if (!this.byId.get(id)?.settled) fail('confirmed means committed', `settle of ${id} confirmed but not applied`);
    this.settlesConfirmed += ids.length;
  }

  /**
   * A leader whose live queue was built in `term` (after applying everything committed in
   * earlier terms) delivers message `id` with delivery count `count`.
   */
  onDelivery(node: string, term: number, id: number, count: number, consumer: string): void {
    const r = this.byId.get(id);
    if (!r) fail('delivery', `${node} delivered message ${id}, which the log never enqueued`);
    // A message the log says another consumer holds (a checkout committed before this
    // leader's term) goes to no one else unless this leader gave it back first.
    const o = r.owner;
    if (!r.settled && o && o.key !== consumer && o.term < term && r.releasedTerm !== term) {
      fail('owned stays with its consumer', `${node} (leader in term ${term}) delivered ${r.tag} (id ${id}) to ${consumer}, held by ${o.key} since term ${o.term}`);
    }
    this.ownedDeliveries += o && o.term < term ? 1 : 0;
    if (r.settled) {
      if (r.settled.term < term) fail('settled stays settled', `${node} (leader in term ${term}) delivered ${r.tag} (id ${id}), settled at ${r.settled.index} in term ${r.settled.term}`);
      // Settled by a newer leader while this one does not know yet (it will step down).
      if (r.settled.term > term) this.staleDeliveries++;
    }
    const committedBefore = r.returnTerms.filter((t) => t < term).length;
    if (count < committedBefore) fail('delivery count monotonic', `${node} (term ${term}) delivered ${r.tag} with count ${count}, but ${committedBefore} returns were committed before its term`);
  }

  /** A leader in `term` gave message `id` back from its holder (who did not come back, or whose node is down). */
  onRelease(term: number, id: number): void {
    const r = this.byId.get(id);
    if (r) r.releasedTerm = term;
    this.releases++;
  }

  /** A held message was settled by log id on a later leader (its holder acked it there). */
  onSettleByLogId(): void {
    this.settlesByLogId++;
  }

  /** Election safety, checked after every step. */
  onLeader(node: string, term: number): void {
    const other = this.leaderByTerm.get(term);
    if (other === undefined) this.leaderByTerm.set(term, node);
    else if (other !== node) fail('election safety', `${other} and ${node} both led term ${term}`);
  }

  /** At the end, after the queue was drained: everything confirmed was settled, and nothing is left. */
  checkDrained(): void {
    for (const tag of this.confirmedEnqueues) {
      const r = this.byTag.get(tag);
      if (!r?.settled) fail('never lost', `confirmed message ${tag} was never settled (id ${r?.id})`);
    }
    if (this.present.size > 0) fail('drained', `${this.present.size} messages left in the log's queue`);
  }

  private describe(fsm: QuorumFsm): string {
    const mine = [...fsm.messages].slice(0, 8).map(([id, m]) => `${id}:${m.deliveryCount}:${m.owner ?? ''}`).join(' ');
    const ref = [...this.present].slice(0, 8).map(([id, m]) => `${id}:${m.count}:${m.owner?.key ?? ''}`).join(' ');
    return `server nextId ${fsm.nextId} [${mine}…] vs log nextId ${this.nextId} [${ref}…] at the log's end`;
  }
}
