/**
 * One confirm for a message routed to several queues, outside any channel (at-least-once
 * dead lettering): every part a queue holds (a remote home, a quorum queue's commit) must
 * end well, and routing itself must have succeeded, before `done(true)`; any failure gives
 * `done(false)`. Called exactly once.
 */
import type { ConfirmParts } from './ports';

export class ConfirmCollector implements ConfirmParts {
  private parts = 0;
  private ok = true;
  private sealed = false;
  private finished = false;

  constructor(private readonly done: (ok: boolean) => void) {}

  hold(_seq: number): void {
    this.parts++;
  }

  partDone(_seq: number, ok: boolean): void {
    this.parts--;
    if (!ok) this.ok = false;
    this.maybeFinish();
  }

  /** Routing is over; `accepted` is whether it reached at least one queue and none refused it. */
  seal(accepted: boolean): void {
    if (!accepted) this.ok = false;
    this.sealed = true;
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || !this.sealed || this.parts > 0) return;
    this.finished = true;
    this.done(this.ok);
  }
}
