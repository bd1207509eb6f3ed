import type { LogEntry, ServerId, Snapshot } from './types';

/**
 * The messages Raft servers exchange. Every message names its sender, its recipient
 * and the sender's term; the transport delivers them at most once, in any order, or
 * not at all — the core tolerates loss, duplication and reordering.
 */
export type RaftMessage =
  | AppendEntries
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | VoteRequest
  | VoteResponse
  | InstallSnapshot
  | TimeoutNow;

interface Envelope {
  from: ServerId;
  to: ServerId;
  term: number;
}

/** Leader → follower: entries after (prevIndex, prevTerm), and the leader's commit index. */
export interface AppendEntries extends Envelope {
  type: 'append';
  prevIndex: number;
  prevTerm: number;
  entries: LogEntry[];
  commit: number;
}

/**
 * Follower → leader. On success `index` is the last index now known to match the
 * leader's log. On reject `index` is the rejected prevIndex and `hintIndex` the last
 * index the follower believes could match, so the leader can skip back quickly.
 */
export interface AppendResponse extends Envelope {
  type: 'appendResponse';
  reject: boolean;
  index: number;
  hintIndex: number;
}

/** Leader → follower: keeps the follower from electing; `readSeq` confirms read requests. */
export interface Heartbeat extends Envelope {
  type: 'heartbeat';
  commit: number;
  readSeq: number;
  /** The leader heartbeats at its idle pace: wait longer before campaigning. */
  idle: boolean;
}

export interface HeartbeatResponse extends Envelope {
  type: 'heartbeatResponse';
  readSeq: number;
}

/**
 * A vote request. With `preVote` the sender has not incremented its term: `term` is
 * the term it would campaign in, and a grant changes nothing on the voter.
 * `transfer` marks a campaign started by TimeoutNow, which bypasses the leader lease.
 */
export interface VoteRequest extends Envelope {
  type: 'vote';
  preVote: boolean;
  lastIndex: number;
  lastTerm: number;
  transfer: boolean;
}

export interface VoteResponse extends Envelope {
  type: 'voteResponse';
  preVote: boolean;
  reject: boolean;
}

/** Leader → far-behind follower: replace your log with this snapshot. */
export interface InstallSnapshot extends Envelope {
  type: 'installSnapshot';
  snapshot: Snapshot;
}

/** Leader → transfer target: campaign now, skipping pre-vote and the leader lease. */
export interface TimeoutNow extends Envelope {
  type: 'timeoutNow';
}
