/**
 * Quorum queues on one node: makes each quorum queue's handle (and, on member nodes, its
 * Raft member), multiplexes every group's Raft traffic over one mesh channel, tells nodes
 * that are not members which node leads a queue ('qq.ldr'), and speeds up failover: when a
 * leader's node goes down, one surviving member (the first by name) campaigns at once
 * instead of waiting for an election timeout.
 */
import type { Mesh } from '../mesh';
import type { Broker } from '../../src/broker/broker';
import type { QueueHandle } from '../../src/broker/ports';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { Queue, QueueHooks } from '../../src/broker/queue/queue';
import type { Message } from '../../src/broker/message';
import type { DeathReason } from '../../src/broker/queue/dead-letter';
import { matchingPolicy } from '../../src/broker/policy';
import type { Logger } from '../../src/log/logger';
import type { RemoteQueueHost } from '../forward/remote-queue';
import { QuorumGroup } from './quorum-group';
import { QuorumQueue, type QuorumQueueHost } from './quorum-queue';
import { QuorumTransports } from './quorum-transport';
import { SharedTicker } from './shared-ticker';
import { SharedWal } from '../raft';
import { join } from 'node:path';

const LEADER_CHANNEL = 'qq.ldr';
const WHO_CHANNEL = 'qq.who';
/**
 * Ticks without a leader's message after which a member campaigns (randomized up to twice
 * that): 0.5–1 s at the default 50 ms tick. A dead node is noticed at once through the mesh
 * and a graceful stop hands leadership over, so this counts only for a leader cut off or
 * hung; shorter (5 ticks, as before) made members of a loaded machine (load 20–30 on 2
 * cores, processes paused for 0.3–1 s) depose leaders that were only slow, a dozen times a
 * minute.
 */
const ELECTION_TIMEOUT_TICKS = 10;
/** How long after a node returns the leaders it prefers are handed back to it. */
const RETURN_LEADERS_AFTER_MS = 3000;
/**
 * A member this many entries or fewer behind the leader counts as caught up: a leadership
 * transfer to it holds proposals for a round trip, not for its catch-up.
 */
const CAUGHT_UP_ENTRIES = 256;
/** How often, and how long at most, leaders wait for a returning node to catch up before they go back to it. */
const RETURN_RETRY_MS = 500;
const RETURN_GIVE_UP_MS = 30_000;
/** How long a graceful stop waits for the outcome of publishes its leaders had appended. */
const SETTLE_ON_STOP_MS = 4000;

export interface QuorumServiceOptions {
  nodeName: string;
  mesh: Mesh;
  broker: Broker;
  dataDir: string;
  log: Logger;
  /** Raft tick of quorum queue groups; elections time out after 10–20 ticks. */
  tickMs: number;
  /** Entries after which a member snapshots its state (default 4096). */
  snapshotEntries?: number;
  memoryBytes?: number;
  snapshotBytes?: number;
  /** How long a new leader keeps a consumer's unacked messages (checked out by an earlier leader) for it to re-attach (default 5000 ms). */
  reattachHoldMs?: number;
}

/** One member's view of a quorum queue, for quorum_status. */
export interface QuorumMemberStatus {
  node: string;
  raftState: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastLogIndex: number;
  snapshotIndex: number;
}

export class QuorumService implements QuorumQueueHost {
  readonly log: Logger;
  private readonly transports: QuorumTransports;
  private readonly queues = new Map<string, QuorumQueue>();
  private readonly offs: (() => void)[] = [];
  private readonly wal: Promise<SharedWal>;
  private readonly ticker: SharedTicker;
  /** Set by the node when membership reconciliation runs (membership-reconciler.ts). */
  onReconcileSoon: (() => void) | undefined;
  stopping = false;

  constructor(private readonly o: QuorumServiceOptions) {
    this.log = o.log.child({ module: 'quorum' });
    this.wal = SharedWal.open(join(o.dataDir, 'quorum', 'wal'));
    this.wal.then(
      (w) => w.tornTailBytes > 0 && this.log.warn({ bytes: w.tornTailBytes }, 'quorum queue WAL: torn tail cut off'),
      (err: unknown) => this.log.error({ err }, 'quorum queue WAL cannot be opened: quorum queues on this node stay down'),
    );
    this.ticker = new SharedTicker(o.tickMs, this.log);
    this.transports = new QuorumTransports(o.mesh, this.log);
    this.offs.push(
      o.mesh.handle(LEADER_CHANNEL, (from, payload) => {
        const { group, term } = decodeAnnouncement(payload);
        this.queues.get(group)?.leaderAnnounced(from, term);
      }),
      // A node that is not a member asks who leads; the leader answers with an announcement.
      o.mesh.handle(WHO_CHANNEL, (from, payload) => {
        const q = this.queues.get(payload.toString('utf8'));
        if (q?.leading && this.o.mesh.isUp(from)) this.o.mesh.send(from, LEADER_CHANNEL, announcement(q));
      }),
    );
    const onUp = (node: string) => this.nodeUp(node);
    const onDown = (node: string) => this.nodeDown(node);
    o.mesh.on('nodeup', onUp);
    o.mesh.on('nodedown', onDown);
    this.offs.push(() => o.mesh.off('nodeup', onUp), () => o.mesh.off('nodedown', onDown));
  }

  get nodeName(): string {
    return this.o.nodeName;
  }

  /** The handle of a quorum queue on this node (its Raft member too, when this node is one). */
  handle(vhost: string, def: QueueDefinition, host: RemoteQueueHost): QueueHandle {
    const queue: QuorumQueue = new QuorumQueue(host, this, vhost, def, undefined);
    queue.setGroup(this.memberOf(queue));
    this.queues.set(def.quorumGroup!, queue);
    return queue;
  }

  /** The queue's definition lists other members now: this node's member starts or stops. */
  membersChanged(handle: QueueHandle): void {
    const queue = this.queues.get(handle.def.quorumGroup ?? '');
    if (queue !== handle || !queue) return;
    const isMember = queue.members.includes(this.o.nodeName);
    if (isMember && !queue.group) queue.setGroup(this.memberOf(queue));
    else if (!isMember && queue.group) queue.setGroup(undefined);
  }

  private memberOf(queue: QuorumQueue): QuorumGroup | undefined {
    const def = queue.def;
    if (!queue.members.includes(this.o.nodeName)) return undefined;
    const initial = def.initialMembers ?? def.members ?? [];
    const preferred = def.ownerNode ?? initial[0];
    const group: QuorumGroup = new QuorumGroup(
      {
        groupId: def.quorumGroup!,
        nodeName: this.o.nodeName,
        // The preferred leader first: it campaigns at once when the group is new.
        bootstrapMembers: initial.includes(this.o.nodeName) ? [preferred, ...initial.filter((m) => m !== preferred)] : undefined,
        dataDir: this.o.dataDir,
        transport: this.transports.open(def.quorumGroup!),
        wal: this.wal,
        ticker: this.ticker,
        log: this.log,
        tickMs: this.o.tickMs,
        electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
        snapshotEntries: this.o.snapshotEntries ?? 4096,
        memoryBytes: this.o.memoryBytes,
        snapshotBytes: this.o.snapshotBytes,
        members: () => queue.members,
      },
      // A member being replaced (deleted and added again) must not steer the queue.
      (change) => {
        if (queue.group === group) queue.leaderChanged(change.leaderId, change.term);
      },
    );
    return group;
  }

  /** The handle of the queue with Raft group `groupId`, if this node has it. */
  byGroup(groupId: string): QuorumQueue | undefined {
    return this.queues.get(groupId);
  }

  /** Every quorum queue handle of this node. */
  all(): IterableIterator<QuorumQueue> {
    return this.queues.values();
  }

  status(queue: QuorumQueue): QuorumMemberStatus | undefined {
    const raft = queue.group?.raft;
    if (!raft) return undefined;
    const s = raft.stats();
    return {
      node: this.o.nodeName,
      raftState: s.state,
      term: s.term ?? 0,
      commitIndex: s.commitIndex ?? 0,
      appliedIndex: s.appliedIndex,
      lastLogIndex: s.lastIndex ?? 0,
      snapshotIndex: s.lastSnapshotIndex,
    };
  }

  // ---- QuorumQueueHost ----

  get reattachHoldMs(): number {
    return this.o.reattachHoldMs ?? 5000;
  }

  hooksFor(vhost: string): Pick<QueueHooks, 'deadLetter' | 'expired'> {
    return this.o.broker.vhost(vhost) ?? { deadLetter: () => undefined, expired: () => undefined };
  }

  deadLetterConfirmed(vhost: string, queue: Queue, message: Message, reason: DeathReason, done: (ok: boolean) => void): void {
    const v = this.o.broker.vhost(vhost);
    if (v) v.deadLetterConfirmed(queue, message, reason, done);
    else done(false);
  }

  policyFor(vhost: string, name: string): Record<string, unknown> | undefined {
    const v = this.o.broker.vhost(vhost);
    return v ? matchingPolicy(v.policies.values(), 'quorum_queue', name)?.definition : undefined;
  }

  announceLeader(queue: QuorumQueue): void {
    const payload = announcement(queue);
    for (const p of this.o.mesh.peers()) {
      if (this.o.mesh.isUp(p.name) && !queue.members.includes(p.name)) this.o.mesh.send(p.name, LEADER_CHANNEL, payload);
    }
  }

  askLeader(queue: QuorumQueue): void {
    const payload = Buffer.from(queue.def.quorumGroup!, 'utf8');
    for (const m of queue.members) if (m !== this.o.nodeName && this.o.mesh.isUp(m)) this.o.mesh.send(m, WHO_CHANNEL, payload);
  }

  reconcileSoon(): void {
    this.onReconcileSoon?.();
  }

  forget(queue: QuorumQueue): void {
    if (this.queues.get(queue.def.quorumGroup!) === queue) this.queues.delete(queue.def.quorumGroup!);
  }

  /**
   * A graceful stop: every queue led here hands leadership to another running member first,
   * so its clients elsewhere wait a round trip instead of an election timeout.
   */
  async handOff(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const transfers: Promise<unknown>[] = [];
    for (const q of this.queues.values()) {
      const raft = q.group?.raft;
      raft?.stopCampaigns();
      if (!q.leading || !raft) continue;
      // To the running member furthest along: a lagging one would hold publishes while it catches up.
      let to: string | undefined;
      let best = -1;
      for (const m of q.members) {
        if (m === this.o.nodeName || !this.o.mesh.isUp(m)) continue;
        const match = raft.followerMatch(m)?.match ?? 0;
        if (match > best) (best = match), (to = m);
      }
      if (to) transfers.push(q.group!.handOver(to, timeoutMs).catch(() => undefined));
    }
    await Promise.all(transfers);
    // What the old leaders appended is committed by the new ones; this node, a follower now,
    // applies it and confirms it instead of nacking it when its members close.
    await Promise.all([...this.queues.values()].map((q) => q.group?.whenSettled(SETTLE_ON_STOP_MS)));
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    this.transports.close();
    await Promise.all([...this.queues.values()].map((q) => q.group?.close(false)));
    this.ticker.stop();
    await (await this.wal.catch(() => undefined))?.close();
  }

  private nodeUp(node: string): void {
    this.reconcileSoon();
    for (const q of this.queues.values()) if (q.leading && !q.members.includes(node)) this.o.mesh.send(node, LEADER_CHANNEL, announcement(q));
    // Leaders go back to their preferred node when it returns (RabbitMQ leaves them piled on
    // the survivors until an operator rebalances), once it had time to catch up.
    const timer = setTimeout(() => this.returnLeaders(node, Date.now() + RETURN_GIVE_UP_MS), RETURN_LEADERS_AFTER_MS);
    timer.unref();
  }

  /**
   * Hands back to `node` the queues it prefers to lead, each once its member has caught up
   * (a node that just started, on a loaded machine, may need seconds to replay and receive
   * the log; a transfer to it before that holds every publish of the queue meanwhile).
   */
  private returnLeaders(node: string, giveUpAt: number): void {
    if (!this.o.mesh.isUp(node) || this.stopping) return;
    let waiting = false;
    for (const q of this.queues.values()) {
      if (!q.leading || q.deleted || q.def.ownerNode !== node || !q.members.includes(node)) continue;
      const raft = q.group?.raft;
      const m = raft?.followerMatch(node);
      if (!raft || !m) continue;
      if (m.lastIndex - m.match > CAUGHT_UP_ENTRIES) {
        waiting = true;
        continue;
      }
      q.group!.handOver(node).catch((err: unknown) => this.log.debug({ err, queue: q.name, node }, 'leader not returned to its preferred node'));
    }
    if (!waiting) return;
    if (Date.now() >= giveUpAt) {
      this.log.info({ node }, 'quorum queue leaders not returned: the node has not caught up');
      return;
    }
    setTimeout(() => this.returnLeaders(node, giveUpAt), RETURN_RETRY_MS).unref();
  }

  private nodeDown(node: string): void {
    this.reconcileSoon();
    for (const q of this.queues.values()) {
      // What consumers of that node held (from an earlier leader) goes back to the queue.
      if (q.leading) q.nodeDown(node);
      const raft = q.group?.raft;
      if (!raft || raft.leader()?.id !== node) continue;
      // Every survivor stops honouring the dead leader's lease; the first by name campaigns
      // now (and once more shortly, in case its request reached a member that had not yet
      // seen the node go down).
      raft.leaderDown();
      const survivors = q.members.filter((m) => m !== node && (m === this.o.nodeName || this.o.mesh.isUp(m))).sort();
      if (survivors[0] !== this.o.nodeName || this.stopping) continue;
      raft.campaign();
      setTimeout(() => {
        if (raft.leader() === undefined) raft.campaign();
      }, 25).unref();
    }
  }
}

/**
 * A leader's announcement to nodes that are not members: the group id, then (after a NUL)
 * the leader's Raft term, so that a node whose consumers are attached to that leader in an
 * earlier term re-attaches them when the same node is elected again. Without a term (an
 * older node's): 0.
 */
function announcement(q: QuorumQueue): Buffer {
  const term = q.group?.raft?.stats().term ?? 0;
  return Buffer.from(`${q.def.quorumGroup!}\0${term}`, 'utf8');
}

function decodeAnnouncement(payload: Buffer): { group: string; term: number } {
  const text = payload.toString('utf8');
  const nul = text.indexOf('\0');
  if (nul < 0) return { group: text, term: 0 };
  return { group: text.slice(0, nul), term: Number(text.slice(nul + 1)) || 0 };
}
