/**
 * Forwards from this node to one home: sequence numbers, the confirms waiting on that home,
 * and credit. A home reports every forward it has taken (outcomes); forwards not yet
 * reported are in flight. Past CREDIT_MESSAGES or CREDIT_BYTES in flight, the outbox is a
 * closed gate: publishers that fed it stop being read until the home catches up, so a slow
 * home slows its publishers instead of growing buffers.
 */
import type { ConfirmParts, FlowGate, FlowWaiter } from '../../src/broker/ports';
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import { forwardBytes, OUTCOME_OK, OUTCOME_RESEND, writeForwardAt } from './forward-codec';
import { partResend } from './resend-parts';
import { FrameBatch } from './frame-batch';

/** Forwards in flight to one home before its publishers wait. */
const CREDIT_MESSAGES = 4000;
const CREDIT_BYTES = 16 * 1024 * 1024;

interface WaitingConfirm {
  confirm: ConfirmParts;
  confirmSeq: number;
  bytes: number;
}

export type SendFrame = (payload: Buffer) => void;

export class Outbox implements FlowGate {
  private nextSeq = 1;
  private readonly confirms = new Map<number, WaitingConfirm>();
  /** Sizes of forwards without confirm, oldest first (their outcomes come back as a count). */
  private plainInFlight = 0;
  private plainBytes = 0;
  private confirmBytes = 0;
  private readonly waiters = new Set<FlowWaiter>();
  private readonly batch: FrameBatch;

  constructor(send: SendFrame) {
    this.batch = new FrameBatch(send);
  }

  /** Sends the forwards gathered so far (before a request that must not overtake them). */
  flush(): void {
    this.batch.flush();
  }

  get inFlight(): number {
    return this.plainInFlight + this.confirms.size;
  }

  /** Forwards with a confirm whose outcome the home has not reported yet. */
  get unconfirmed(): number {
    return this.confirms.size;
  }

  get congested(): boolean {
    return this.inFlight >= CREDIT_MESSAGES || this.plainBytes + this.confirmBytes >= CREDIT_BYTES;
  }

  /**
   * Sends one forward to the queues `target` names (encodeTarget); with `confirm`, holds a
   * part of `confirmSeq` until the home's outcome. `origin`: a quorum queue publish's (one
   * queue), which its leader may ask to be sent again (partResend), as when the home goes down.
   */
  forward(target: Buffer, message: Message, confirm: ConfirmParts | undefined, confirmSeq: number, origin?: EnqueueOrigin): void {
    const seq = this.nextSeq;
    this.nextSeq = seq >= 0xffffffff ? 1 : seq + 1;
    const bytes = message.body.length + 64;
    if (confirm) {
      confirm.hold(confirmSeq);
      this.confirms.set(seq, { confirm, confirmSeq, bytes });
      this.confirmBytes += bytes;
    } else {
      this.plainInFlight++;
      this.plainBytes += bytes;
    }
    const at = this.batch.reserve(forwardBytes(target, message, origin));
    writeForwardAt(this.batch.buffer, at, seq, confirm !== undefined, target, message, origin);
  }

  /** The home's outcomes arrived. */
  outcomes(plainTaken: number, seqs: number[], codes: number[]): void {
    if (plainTaken > 0 && this.plainInFlight > 0) {
      const share = this.plainBytes / this.plainInFlight;
      const n = Math.min(plainTaken, this.plainInFlight);
      this.plainInFlight -= n;
      this.plainBytes = this.plainInFlight === 0 ? 0 : Math.max(0, this.plainBytes - share * n);
    }
    for (let i = 0; i < seqs.length; i++) {
      const w = this.confirms.get(seqs[i]);
      if (!w) continue;
      this.confirms.delete(seqs[i]);
      this.confirmBytes -= w.bytes;
      if (codes[i] === OUTCOME_RESEND) partResend(w.confirm, w.confirmSeq);
      else w.confirm.partDone(w.confirmSeq, codes[i] === OUTCOME_OK);
    }
    this.maybeRelease();
  }

  /**
   * The home went down: every confirm waiting on it is a nack (or sent again elsewhere, for
   * parts that can: quorum queue publishes), and publishers go on.
   */
  failAll(): void {
    this.batch.discard();
    const waiting = [...this.confirms.values()];
    this.confirms.clear();
    this.confirmBytes = 0;
    this.plainInFlight = 0;
    this.plainBytes = 0;
    for (const w of waiting) partResend(w.confirm, w.confirmSeq);
    this.maybeRelease();
  }

  addFlowWaiter(waiter: FlowWaiter): void {
    if (!this.congested) return waiter.resumeFlow();
    this.waiters.add(waiter);
  }

  private maybeRelease(): void {
    if (this.waiters.size === 0 || this.inFlight > CREDIT_MESSAGES / 2) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.resumeFlow();
  }
}
