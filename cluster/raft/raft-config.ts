import type { ServerId } from './types';

/** Options of the Raft facade. Durations are in ticks of `tickMs` unless named …Ms. */
export interface RaftConfig {
  localId: ServerId;
  /** Timer period driving the core. 50–100 ms in production; a few ms in tests. */
  tickMs?: number;
  /** Followers wait [base, 2 × base) ticks without a leader before campaigning. */
  electionTimeoutTicks?: number;
  heartbeatTicks?: number;
  /** 0 (default): off. See CoreOptions.idleHeartbeatTicks: idle groups heartbeat this rarely. */
  idleHeartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxEntriesPerAppend?: number;
  maxInflightAppends?: number;
  /** Take a snapshot when this many entries were applied since the last one. */
  snapshotThresholdEntries?: number;
  /** Entries kept in the log behind a snapshot, for slightly slow followers. */
  trailingEntries?: number;
  /** Default timeout of apply(), barrier(), membership changes and verifyLeader(). */
  operationTimeoutMs?: number;
  /** Seed for the election-timeout PRNG (random if absent). */
  seed?: number;
  /**
   * Drives the ticks instead of a timer of this server's own (many groups on one node share
   * one timer); called every tickMs.
   */
  ticker?: Ticker;
  /**
   * The log and stable stores keep the order of calls and accept a call before the previous
   * one resolved (one write-ahead log, as SharedWal). Writes are then issued without waiting:
   * a leader replicates while its own write is under way and counts its log towards a commit
   * once durable; replies that promise stored entries wait for the writes before them;
   * committed entries are applied without waiting for unrelated writes (durable-writes.ts).
   */
  orderedStores?: boolean;
  /** CoreOptions.lazyCommitNotice: followers learn a new commit index with the next append or heartbeat. */
  lazyCommitNotice?: boolean;
}

/** A shared timer: add() registers a function called on every tick and returns its removal. */
export interface Ticker {
  add(tick: () => void): () => void;
}

export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'ticker'>> & { ticker: Ticker | undefined };

export function resolveConfig(c: RaftConfig): ResolvedRaftConfig {
  const out: ResolvedRaftConfig = {
    localId: c.localId,
    tickMs: c.tickMs ?? 100,
    electionTimeoutTicks: c.electionTimeoutTicks ?? 10,
    heartbeatTicks: c.heartbeatTicks ?? 1,
    idleHeartbeatTicks: c.idleHeartbeatTicks ?? 0,
    preVote: c.preVote ?? true,
    checkQuorum: c.checkQuorum ?? true,
    maxEntriesPerAppend: c.maxEntriesPerAppend ?? 256,
    maxInflightAppends: c.maxInflightAppends ?? 16,
    snapshotThresholdEntries: c.snapshotThresholdEntries ?? 8192,
    trailingEntries: c.trailingEntries ?? 1024,
    operationTimeoutMs: c.operationTimeoutMs ?? 10_000,
    seed: c.seed ?? Math.floor(Math.random() * 2 ** 32),
    ticker: c.ticker,
    orderedStores: c.orderedStores ?? false,
    lazyCommitNotice: c.lazyCommitNotice ?? false,
  };
  if (!out.localId) throw new Error('raft config: localId is required');
  if (out.heartbeatTicks >= out.electionTimeoutTicks) throw new Error('raft config: heartbeatTicks must be below electionTimeoutTicks');
  return out;
}
