/**
 * A home's side of the forwards from one node: enqueues each forwarded message on the local
 * queues it names and reports outcomes back, batched per burst of work (process.nextTick:
 * the outcomes of one Raft apply or one received batch go together, and reach the mesh before
 * its end-of-turn write, not one event-loop turn later). A confirm
 * for a persistent message in durable queues is reported once the store has fsynced it.
 * While a target queue's consumers hold publishers back (flow control), outcomes are
 * withheld, so the publishing node's credit runs out and its publishers wait too.
 */
import type { Broker } from '../../src/broker/broker';
import type { ConfirmParts, FlowWaiter, QueueHandle } from '../../src/broker/ports';
import type { DurabilityWaiter, VirtualHost } from '../../src/broker/vhost';
import { Deque } from '../../src/util/deque';
import { encodeOutcomes, OUTCOME_NACK, OUTCOME_OK, OUTCOME_RESEND, type Forward } from './forward-codec';
import type { ResendParts } from './resend-parts';

interface AwaitingDisk {
  seq: number;
  storeId: number;
  ok: boolean;
}

/** Confirms of one vhost waiting for its store's fsync, in store-id order. */
class DiskWaits implements DurabilityWaiter {
  readonly waiting = new Deque<AwaitingDisk>();

  constructor(
    private readonly inbox: HomeInbox,
    private readonly vhost: VirtualHost,
  ) {}

  add(seq: number, storeId: number, ok: boolean): void {
    if (this.waiting.length === 0) this.vhost.waitForDurability(this);
    this.waiting.push({ seq, storeId, ok });
  }

  durableUpTo(ticket: number): void {
    while (this.waiting.length > 0 && this.waiting.peek()!.storeId <= ticket) {
      const a = this.waiting.shift()!;
      this.inbox.localDone(a.seq, a.ok);
    }
    if (this.waiting.length === 0) this.vhost.forgetWaiter(this);
  }

  forget(): void {
    this.waiting.clear();
    this.vhost.forgetWaiter(this);
  }
}

/** A confirm that also waits on parts held by queues (a quorum queue's commit). */
interface Held {
  parts: number;
  ok: boolean;
  localDone: boolean;
  /** A part asked for the forward to be sent again (a quorum queue's leader refused it). */
  resend: boolean;
}

export class HomeInbox implements FlowWaiter, ConfirmParts, ResendParts {
  private readonly held = new Map<number, Held>();
  private plainTaken = 0;
  private seqs: number[] = [];
  private codes: number[] = [];
  private flushScheduled = false;
  private heldBack = false;
  private closed = false;
  private readonly disk = new Map<string, DiskWaits>();
  private readonly targets: QueueHandle[] = [];
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly broker: Broker,
    private readonly send: (payload: Buffer) => void,
  ) {}

  take(f: Forward): void {
    const vhost = this.broker.vhost(f.vhost);
    const targets = this.targets;
    targets.length = 0;
    if (vhost) {
      for (const name of f.queues) {
        const q = vhost.queues.get(name);
        // A quorum queue's handle is not local, but takes forwards while led here.
        if (q && !q.deleted) targets.push(q);
      }
    }
    // A queue missing here (deleted meanwhile) refuses the message: the publisher gets a nack.
    let ok = targets.length === f.queues.length;
    if (targets.length > 0) ok = vhost!.enqueueAll(targets, f.message, f.confirm ? this : undefined, f.seq) && ok;
    for (let i = 0; i < targets.length && !this.heldBack; i++) {
      const gate = targets[i].flowGate();
      if (gate) {
        this.heldBack = true;
        gate.addFlowWaiter(this);
      }
    }
    targets.length = 0;
    if (!f.confirm) {
      this.plainTaken++;
      return this.scheduleFlush();
    }
    const storeId = f.message.storeId;
    const store = vhost?.messageStore;
    if (storeId !== undefined && store && store.durableTicket < storeId) {
      let waits = this.disk.get(vhost!.name);
      if (!waits) this.disk.set(vhost!.name, (waits = new DiskWaits(this, vhost!)));
      waits.add(f.seq, storeId, ok);
      return;
    }
    this.localDone(f.seq, ok);
  }

  /** ConfirmParts: a queue (quorum) holds a part of forward `seq`'s outcome. */
  hold(seq: number): void {
    const h = this.held.get(seq);
    if (h) h.parts++;
    else this.held.set(seq, { parts: 1, ok: true, localDone: false, resend: false });
  }

  /** ResendParts: the forwarding node is to send forward `seq` again (to the queue's leader as it knows it). */
  partResend(seq: number): void {
    const h = this.held.get(seq);
    if (h) h.resend = true;
    this.partDone(seq, false);
  }

  partDone(seq: number, ok: boolean): void {
    const h = this.held.get(seq);
    if (!h) return;
    if (!ok) h.ok = false;
    if (--h.parts > 0 || !h.localDone) return;
    this.held.delete(seq);
    this.outcome(seq, h.ok, h.resend);
  }

  /** This node's own part of forward `seq` is done (enqueued, fsynced). */
  localDone(seq: number, ok: boolean): void {
    const h = this.held.get(seq);
    if (!h) return this.outcome(seq, ok);
    if (!ok) h.ok = false;
    h.localDone = true;
    if (h.parts > 0) return;
    this.held.delete(seq);
    this.outcome(seq, h.ok, h.resend);
  }

  outcome(seq: number, ok: boolean, resend = false): void {
    this.seqs.push(seq);
    this.codes.push(ok ? OUTCOME_OK : resend ? OUTCOME_RESEND : OUTCOME_NACK);
    this.scheduleFlush();
  }

  /** FlowWaiter: the queue that held publishers back can take more. */
  resumeFlow(): void {
    this.heldBack = false;
    this.scheduleFlush();
  }

  /** Forwards with a confirm whose outcome is not yet sent back (a graceful stop waits for them). */
  get unsettled(): number {
    return this.held.size + this.seqs.length;
  }

  /** The publishing node went away: nothing more is reported to it. */
  close(): void {
    this.closed = true;
    for (const w of this.disk.values()) w.forget();
    this.disk.clear();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.heldBack || this.closed) return;
    this.flushScheduled = true;
    process.nextTick(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.heldBack || this.closed) return;
    if (this.plainTaken === 0 && this.seqs.length === 0) return;
    const payload = encodeOutcomes(this.plainTaken, this.seqs, this.codes);
    this.plainTaken = 0;
    this.seqs = [];
    this.codes = [];
    this.send(payload);
  }
}
