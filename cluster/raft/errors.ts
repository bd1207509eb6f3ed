import type { ServerId } from './types';

/** Base of every error the Raft facade rejects with; `code` is stable for mapping. */
export class RaftError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** This server is not the leader. `leaderId`/`leaderAddress` hint where to retry ('' if unknown). */
export class NotLeaderError extends RaftError {
  constructor(readonly leaderId: ServerId, readonly leaderAddress: string) {
    super('NOT_LEADER', leaderId ? `not the leader; the leader is ${leaderId} (${leaderAddress})` : 'not the leader; no known leader');
  }
}

/** Leadership was lost before the operation's entry was committed: its outcome is unknown. */
export class LeadershipLostError extends RaftError {
  constructor() {
    super('LEADERSHIP_LOST', 'leadership lost while the operation was in flight; it may or may not have been applied');
  }
}

/** The operation did not finish in time; like LeadershipLost, its entry may still commit. */
export class RaftTimeoutError extends RaftError {
  constructor(what: string, timeoutMs: number) {
    super('TIMEOUT', `${what} timed out after ${timeoutMs} ms`);
  }
}

export class ShutdownError extends RaftError {
  constructor() {
    super('SHUTDOWN', 'raft is shut down');
  }
}

/** A membership change or leadership transfer refused now (e.g. another change in progress). */
export class ConfigurationError extends RaftError {
  constructor(message: string) {
    super('CONFIGURATION', message);
  }
}
