/**
 * What applying one metadata command produced, as data: the FSM cannot throw at the
 * proposer (it runs on every node, in log order), so an AMQP error raised by the model
 * travels back as its reply code, name and text and is rethrown by the proposer, on
 * whichever node the client is connected to.
 */
import type { CommandResult } from '../../src/broker/definitions';
import { AmqpError } from '../../src/broker/errors';

export interface ApplyOutcome {
  /** The Raft log index of the command: a follower waits until it has applied it too. */
  index: number;
  result?: CommandResult;
  error?: { code: number; name: string; message: string };
}

/**
 * A leader's answer to a forwarded command: its outcome; `retry` when it did not propose it
 * (not the leader any more); `failed` when it proposed it but cannot tell whether it
 * committed (leadership lost, timeout).
 */
export type ForwardReply = { ok: ApplyOutcome } | { retry: string; leader?: string } | { failed: string };

export function encodeForwardReply(reply: ForwardReply): Buffer {
  return Buffer.from(JSON.stringify(reply), 'utf8');
}

export function decodeForwardReply(bytes: Buffer): ForwardReply {
  return JSON.parse(bytes.toString('utf8')) as ForwardReply;
}

/** The outcome of a model error (an AmqpError keeps its reply code; anything else is 541). */
export function errorOutcome(index: number, err: unknown): ApplyOutcome {
  if (err instanceof AmqpError) return { index, error: { code: err.replyCode, name: err.replyName, message: err.message } };
  return { index, error: { code: 541, name: 'INTERNAL_ERROR', message: String((err as Error)?.message ?? err) } };
}

/** Returns the result, or throws the AmqpError the model raised. */
export function unwrapOutcome(outcome: ApplyOutcome): CommandResult {
  if (outcome.error) throw new AmqpError(outcome.error.code, outcome.error.name, outcome.error.message);
  return outcome.result ?? {};
}
