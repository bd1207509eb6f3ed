import { RaftLog } from './raft-log';
import { Progress } from './progress';
import { configurationAt } from './configuration';
import {
  EMPTY_CONFIGURATION,
  EntryType,
  decodeConfiguration,
  isVoter,
  type Configuration,
  type HardState,
  type LogEntry,
  type ServerId,
  type Snapshot,
} from './types';
import type { RaftMessage } from './messages';
import { ReadOnlyQueue, type ReadState } from './read-only';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface CoreOptions {
  id: ServerId;
  /** Base election timeout; each wait is drawn uniformly from [base, 2 × base). */
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Campaign with a pre-vote round first, so a partitioned server cannot inflate terms. */
  preVote: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum: boolean;
  maxEntriesPerAppend: number;
  /** Unacknowledged append batches per follower in pipelined (replicate) state. */
  maxInflightAppends: number;
  /** Uniform in [0, 1); inject a seeded PRNG for deterministic runs. */
  random: () => number;
  /**
   * 0: off. Otherwise a leader whose followers all hold its whole log and that appended
   * nothing for this many ticks heartbeats only every this many ticks, marking the
   * heartbeats idle; followers then wait electionTimeout() (3 idle beats longer) before campaigning. Many idle
   * groups (quorum queues) then cost next to nothing; any append ends the idle period.
   */
  idleHeartbeatTicks: number;
  /**
   * The application persists entries after handing out the messages of a Ready and reports
   * each durable write with persisted(): the leader counts its own log towards a commit only
   * up to what it reported durable (it replicates while it writes, §10.2.1 of Ongaro's
   * thesis). Off: entries are durable once the Ready is handled, as the contract says.
   */
  asyncStorage?: boolean;
  /**
   * A new commit index reaches followers with the next append or heartbeat instead of an
   * empty append sent at once: half the messages (and the followers' turns) per batch where
   * only the leader's applying is urgent (it confirms); followers apply up to a tick later.
   */
  lazyCommitNotice?: boolean;
}

/** What a server recovered from its stores: the core never reads storage itself. */
export interface CoreInitialState {
  hardState: HardState;
  snapshot?: Snapshot;
  /** Persisted entries; those at or below the snapshot index are ignored. */
  entries: LogEntry[];
  /** Index already applied to the FSM (the snapshot index after a restore). Defaults to it. */
  applied?: number;
}

export interface SoftState {
  role: Role;
  leader: ServerId;
  /**
   * The current term. A change of it alone counts as a new soft state only while a leader is
   * known: the same leader elected again in a later term (a follower that saw no election,
   * or a leader re-elected within one Ready) is a leader change all the same.
   */
  term: number;
}

/** Whether soft state `b` differs from `a` (see SoftState.term). */
export function softStateChanged(a: SoftState, b: SoftState): boolean {
  return a.role !== b.role || a.leader !== b.leader || (b.leader !== '' && a.term !== b.term);
}

/**
 * Everything one RaftCore knows, shared by the modules that act on it: election.ts,
 * replication.ts (the leader side) and follower.ts. Internal to cluster/raft: only
 * RaftCore creates one, and the same single-threaded contract applies.
 *
 * The transitions every role needs live here too: stepping down to follower, timers,
 * commit, and the configuration in force (which takes effect when appended).
 */
export class CoreState {
  readonly id: ServerId;
  readonly opts: CoreOptions;
  readonly log: RaftLog;
  snapshot: Snapshot | undefined;

  role: Role = 'follower';
  term: number;
  vote: ServerId;
  commit: number;
  leader: ServerId = '';

  configuration: Configuration;
  configurationIndex: number;
  snapshotConfig: { configuration: Configuration; index: number };

  readonly progress = new Map<ServerId, Progress>();
  readonly votes = new Map<ServerId, boolean>();
  electionElapsed = 0;
  /** This server starts no more elections of its own (its node is stopping); it still votes and follows. */
  noCampaigns = false;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  leadTransferee: ServerId = '';
  transferElapsed = 0;
  /** Leader: ticks since it last appended or had a follower behind (for the idle heartbeat). */
  quietTicks = 0;
  /** Leader: heartbeating at the idle pace. Follower: the leader's last heartbeat said so. */
  idle = false;
  /** Index of this leader's first entry (its no-op) in its term. */
  termStartIndex = 0;
  needBroadcast = false;
  readonly reads = new ReadOnlyQueue();

  applied: number;
  appliedHanded: number;
  /** The last index known durable in this server's own log (asyncStorage). */
  stableIndex: number;
  outbox: RaftMessage[] = [];
  pendingSnapshot: Snapshot | undefined;
  readStates: ReadState[] = [];

  constructor(opts: CoreOptions, init: CoreInitialState) {
    this.opts = opts;
    this.id = opts.id;
    this.snapshot = init.snapshot;
    const meta = init.snapshot?.meta;
    this.log = new RaftLog(meta, init.entries);
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    const base = meta?.index ?? 0;
    this.commit = Math.max(init.hardState.commit, base);
    if (this.commit > this.log.lastIndex()) throw new Error(`raft: commit ${this.commit} beyond last index`);
    this.applied = Math.max(init.applied ?? base, base);
    this.appliedHanded = this.applied;
    this.stableIndex = this.log.lastIndex();
    this.snapshotConfig = {
      configuration: meta?.configuration ?? EMPTY_CONFIGURATION,
      index: meta?.configurationIndex ?? 0,
    };
    const c = configurationAt(this.log, this.log.lastIndex(), this.snapshotConfig);
    this.configuration = c.configuration;
    this.configurationIndex = c.index;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  send(m: RaftMessage): void {
    this.outbox.push(m);
  }

  becomeFollower(term: number, leader: ServerId): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = '';
    }
    this.role = 'follower';
    this.leader = leader;
    this.idle = false;
    this.resetTimers();
    this.progress.clear();
    this.reads.clear();
    this.leadTransferee = '';
  }

  resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedTimeout();
  }

  /** The election timeout in force: longer while the leader heartbeats at the idle pace. */
  electionTimeout(): number {
    return this.idle ? this.randomizedElectionTimeout + 3 * this.opts.idleHeartbeatTicks : this.randomizedElectionTimeout;
  }

  /** The check-quorum window (and lease) in force. */
  leaseTicks(): number {
    return this.idle ? this.opts.electionTimeoutTicks + 3 * this.opts.idleHeartbeatTicks : this.opts.electionTimeoutTicks;
  }

  resetRandomizedTimeout(): void {
    const base = this.opts.electionTimeoutTicks;
    this.randomizedElectionTimeout = base + Math.floor(this.opts.random() * base);
  }

  commitTo(index: number): void {
    if (index > this.commit) this.commit = Math.min(index, this.log.lastIndex());
  }

  /** A fresh leader-side record for a follower, starting after this server's last entry. */
  newProgress(): Progress {
    return new Progress(this.log.lastIndex() + 1, this.opts.maxInflightAppends);
  }

  noteAppendedConfigs(entries: LogEntry[]): void {
    for (const e of entries) {
      if (e.type === EntryType.Config) this.setConfiguration(decodeConfiguration(e.data), e.index);
    }
  }

  reloadConfiguration(): void {
    const c = configurationAt(this.log, this.log.lastIndex(), this.snapshotConfig);
    this.setConfiguration(c.configuration, c.index);
  }

  setConfiguration(configuration: Configuration, index: number): void {
    this.configuration = configuration;
    this.configurationIndex = index;
    if (this.role !== 'leader') return;
    for (const s of configuration.servers) {
      if (s.id !== this.id && !this.progress.has(s.id)) this.progress.set(s.id, this.newProgress());
    }
    for (const id of [...this.progress.keys()]) {
      if (!configuration.servers.some((s) => s.id === id)) this.progress.delete(id);
    }
    if (this.leadTransferee !== '' && !isVoter(configuration, this.leadTransferee)) this.leadTransferee = '';
  }
}
