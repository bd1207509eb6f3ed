/**
 * One node's stream of confirmed publishes into one quorum queue (an enqueuer): each
 * publish gets the next number, travels to the leader with its origin (EnqueueOrigin), and
 * is kept here until the leader's outcome. When the leader's node goes down or is cut off,
 * when leadership moves, or when the leader refuses a publish (it stopped leading, or the
 * publish came out of order), every publish not yet confirmed is sent again, in order, to
 * the leader this node knows next; the queue's state machine adds each number once
 * (enqueuer-table.ts), so a publish the old leader had replicated is confirmed, not
 * duplicated. A publish is nacked only when no leader is reachable for HOLD_MS on end, when
 * the leader refused it for good (a full queue with reject-publish), or when it has been
 * refused and sent again for MAX_RESEND_MS.
 *
 * The id is random (53 bits) per node start and queue handle: unique across the node's
 * restarts. Memory: the publishes are the ones the node holds for their confirms anyway
 * (in flight to the leader, bounded by the outbox's credit), at most MAX_PENDING_MESSAGES /
 * MAX_PENDING_BYTES; past that a publish goes untracked (nacked if its leader goes).
 */
import { randomInt } from 'node:crypto';
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import type { ConfirmParts } from '../../src/broker/ports';
import type { ResendParts } from '../forward/resend-parts';

const MAX_PENDING_MESSAGES = 20_000;
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** How long a publish waits without a reachable leader (continuously) before it is nacked. */
export const HOLD_MS = 5000;
/**
 * How long a publish may go on being refused and sent again (each time to a reachable
 * leader) before it is nacked: only a fault that never settles comes near it.
 */
export const MAX_RESEND_MS = 30_000;
/** How soon refused publishes are sent again (a leader refusing during a transfer may still be leading). */
const RESEND_DELAY_MS = 10;
/** While publishes wait for a leader: how often reachability is looked at again. */
const POLL_MS = 50;

interface Pending {
  message: Message;
  confirm: ConfirmParts;
  confirmSeq: number;
  seq: number;
  /** The send whose outcome counts (undefined while waiting to be sent again). */
  route: Route | undefined;
  /** Since when it waits without a reachable leader (0 while sent). */
  since: number;
  /** When it was first refused or stranded (0: never). */
  firstRefused: number;
}

export interface EnqueuerHost {
  /** This node's name. */
  readonly self: string;
  /** Where to send now: the leader's node if reachable (this node while it leads), else undefined. */
  target(): string | undefined;
  /** Forwards to the leader on `node`. */
  sendTo(node: string, message: Message, parts: ResendParts, seq: number, origin: EnqueueOrigin): void;
  /** Proposes here (this node leads); false when refused (a full queue). */
  takeLocal(message: Message, parts: ResendParts, seq: number, origin: EnqueueOrigin): boolean;
  /** `count` publishes were nacked here, and why (for the log; never per message on the hot path). */
  nacked?(count: number, reason: NackReason): void;
}

export type NackReason = 'no leader reachable' | 'refused by the leader' | 'resent too long' | 'queue deleted';

/** The confirm parts of one round of sends: outcomes of an older round's refusals are stale. */
class Route implements ResendParts {
  constructor(private readonly e: Enqueuer) {}
  hold(_seq: number): void {}
  partDone(seq: number, ok: boolean): void {
    this.e.outcome(this, seq, ok);
  }
  partResend(seq: number): void {
    this.e.refused(this, seq);
  }
}

export class Enqueuer {
  readonly id = randomInt(1, 2 ** 48) * 32 + randomInt(0, 32);
  private nextSeq = 1;
  /** Unconfirmed publishes by number (in number order: inserted only when sent first). */
  private readonly pending = new Map<number, Pending>();
  /** The lowest number still pending (nextSeq when none). */
  private low = 1;
  private bytes = 0;
  private parked = 0;
  private route: Route | undefined;
  private routeNode = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly host: EnqueuerHost) {}

  /** Publishes waiting for their outcome. */
  get size(): number {
    return this.pending.size;
  }

  /** Takes a confirmed publish (holding part `confirmSeq`); false past the bound (the caller forwards it untracked). */
  send(message: Message, confirm: ConfirmParts, confirmSeq: number): boolean {
    if (this.closed || this.pending.size >= MAX_PENDING_MESSAGES || this.bytes >= MAX_PENDING_BYTES) return false;
    confirm.hold(confirmSeq);
    const seq = this.nextSeq++;
    const p: Pending = { message, confirm, confirmSeq, seq, route: undefined, since: 0, firstRefused: 0 };
    this.pending.set(seq, p);
    this.bytes += message.body.length;
    const node = this.parked > 0 ? undefined : this.host.target();
    if (node === undefined) this.park(p, 0);
    else this.transmit(p, node);
    return true;
  }

  /** The leader moved or became reachable: everything unconfirmed goes to it now, in order. */
  leaderMoved(): void {
    if (this.pending.size > 0 && !this.closed) this.resendAll();
  }

  /** The queue is gone: every publish waiting here is nacked. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const n = this.pending.size;
    for (const p of [...this.pending.values()]) this.finish(p, false);
    if (n > 0) this.host.nacked?.(n, 'queue deleted');
  }

  /** A leader's outcome. An ok counts from any send; a nack only from the latest. */
  outcome(route: Route, seq: number, ok: boolean): void {
    const p = this.pending.get(seq);
    if (!p || (!ok && p.route !== route)) return;
    this.finish(p, ok);
    if (!ok) this.host.nacked?.(1, 'refused by the leader');
  }

  /** The leader refused it, or its node went down with it: sent again shortly, with everything after it. */
  refused(route: Route, seq: number): void {
    const p = this.pending.get(seq);
    if (!p || p.route !== route) return;
    this.park(p, Date.now());
  }

  // ---- internals ----

  private transmit(p: Pending, node: string): void {
    if (!this.route || this.routeNode !== node) {
      this.route = new Route(this);
      this.routeNode = node;
    }
    const route = this.route;
    p.route = route;
    p.since = 0;
    const origin: EnqueueOrigin = { enqueuer: this.id, seq: p.seq, floor: this.low - 1 };
    if (node !== this.host.self) this.host.sendTo(node, p.message, route, p.seq, origin);
    else if (!this.host.takeLocal(p.message, route, p.seq, origin)) this.outcome(route, p.seq, false);
  }

  private park(p: Pending, now: number): void {
    if (p.route !== undefined || p.since === 0) this.parked++;
    // (A parked publish has no route and a since; one sent has a route and no since.)
    p.route = undefined;
    if (p.since === 0) p.since = now || Date.now();
    if (now !== 0 && p.firstRefused === 0) p.firstRefused = now;
    this.schedule(now ? RESEND_DELAY_MS : POLL_MS);
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.retry();
    }, ms);
    this.timer.unref();
  }

  /** Sends everything again when a leader is reachable; else nacks what waited too long and looks again later. */
  private retry(): void {
    if (this.closed || this.parked === 0) return;
    if (this.host.target() !== undefined) return this.resendAll();
    const now = Date.now();
    let n = 0;
    for (const p of [...this.pending.values()]) {
      if (p.route === undefined && now - p.since >= HOLD_MS) {
        this.finish(p, false);
        n++;
      }
    }
    if (n > 0) this.host.nacked?.(n, 'no leader reachable');
    if (this.parked > 0) this.schedule(POLL_MS);
  }

  /**
   * A new round: every unconfirmed publish goes to the leader reachable now, in order (or
   * waits for one); outcomes of earlier sends no longer count, but for an ok. Nacked here:
   * what waited HOLD_MS without a reachable leader while none is reachable now, and what has
   * been refused and sent again for MAX_RESEND_MS. (A publish is never nacked for how long
   * it took while a leader is reachable: under load a handover and the next leader's start
   * can take longer than HOLD_MS, and the next leader takes it.)
   */
  private resendAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const node = this.host.target();
    this.route = undefined;
    const now = Date.now();
    let noLeader = 0;
    let tooLong = 0;
    for (const p of [...this.pending.values()]) {
      if (!this.pending.has(p.seq)) continue;
      const waited = node === undefined && p.since !== 0 && now - p.since >= HOLD_MS;
      const bounced = p.firstRefused !== 0 && now - p.firstRefused >= MAX_RESEND_MS;
      if (waited || bounced) {
        this.finish(p, false);
        if (waited) noLeader++;
        else tooLong++;
        continue;
      }
      if (node === undefined) {
        if (p.route !== undefined) this.park(p, now);
        continue;
      }
      if (p.route === undefined) this.parked--;
      this.transmit(p, node);
    }
    if (noLeader > 0) this.host.nacked?.(noLeader, 'no leader reachable');
    if (tooLong > 0) this.host.nacked?.(tooLong, 'resent too long');
    if (this.parked > 0) this.schedule(POLL_MS);
  }

  private finish(p: Pending, ok: boolean): void {
    this.pending.delete(p.seq);
    if (p.route === undefined) this.parked--;
    this.bytes -= p.message.body.length;
    while (this.low < this.nextSeq && !this.pending.has(this.low)) this.low++;
    p.confirm.partDone(p.confirmSeq, ok);
  }
}
