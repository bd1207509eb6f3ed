/**
 * A confirm part that can be told "not taken, send it again" besides ok and nack: a quorum
 * queue's leader refusing a publish forwarded with its origin (it stopped leading, or the
 * publish came out of order) tells the forwarding node, which sends it again to the leader
 * it knows (cluster/quorum/enqueuer.ts). Parts that cannot resend take it as a nack.
 */
import type { ConfirmParts } from '../../src/broker/ports';

export interface ResendParts extends ConfirmParts {
  partResend(seq: number): void;
}

/** Tells `confirm` that part `seq` should be sent again (a nack for parts that cannot resend). */
export function partResend(confirm: ConfirmParts, seq: number): void {
  const r = confirm as Partial<ResendParts>;
  if (r.partResend) r.partResend(seq);
  else confirm.partDone(seq, false);
}
