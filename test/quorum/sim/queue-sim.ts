import { seededRandom } from '../../../cluster/raft/prng';
import { Raft } from '../../../cluster/raft/raft';
import type { Configuration } from '../../../cluster/raft/types';
import type { EnqueueOrigin } from '../../../src/broker/message';
import { SimDisk } from './sim-disk';
import { SimNetwork } from './sim-network';
import { QueueChecker, fail } from './queue-checker';
import { QueueMember, type LiveQueue, type MemberSettings } from './queue-member';

export interface QueueSimOptions extends Partial<MemberSettings> {
  seed: number;
  nodes: number;
  dropRate: number;
  duplicateRate: number;
  /** Probability that a delivered message goes through the wire codec. */
  codecRate: number;
  /** Probability, per step and server, that its disk completes the writes pending. */
  syncRate: number;
}

/** Lets every promise the last action resolved run (the servers react fully to an event). */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** The random events of a step and their weights (what is left of 1 goes to disk syncs). */
const ACTIONS = [
  [0.4, 'deliverOne'],
  [0.08, 'tickAll'],
  [0.05, 'tickOne'],
  [0.12, 'enqueue'],
  [0.08, 'consume'],
  [0.064, 'ack'],
  [0.016, 'requeue'],
  [0.004, 'purge'],
  [0.004, 'crash'],
  [0.01, 'restart'],
  [0.003, 'partition'],
  [0.002, 'oneWay'],
  [0.008, 'heal'],
  [0.003, 'transfer'],
  [0.002, 'campaign'],
] as const;

type Action = (typeof ACTIONS)[number][1] | 'sync';

interface Delivery {
  member: QueueMember;
  live: LiveQueue;
  id: number;
  /** The consumer holding it ("node/id"): it acks on whichever server leads once its live queue is gone. */
  consumer: string;
}

/**
 * A deterministic world: N quorum queue servers (real Raft facade + real QuorumFsm) on a
 * simulated network and disks, and a client that publishes with confirms, consumes, acks,
 * requeues and purges. One seeded PRNG decides every event (delivery order, loss,
 * duplication, ticks, disk syncs, crashes, partitions, client actions), so a seed replays.
 */
export class QueueSim {
  readonly rand: () => number;
  readonly network = new SimNetwork();
  readonly checker = new QueueChecker();
  readonly members: QueueMember[] = [];
  steps = 0;
  /** Steps after which some server ran a live queue. */
  liveSteps = 0;
  crashes = 0;
  partitions = 0;
  private nextTag = 1;
  private nextBatch = 1;
  private deliveries: Delivery[] = [];
  /** Acks the client made lately (their settle may die with the leader): sent again by log id to each new leader. */
  private recentAcks: Delivery[] = [];
  private lastLive: LiveQueue | undefined;
  private raftErrors: string[] = [];
  /** Commit index of each server on the minority side of the partition in force, when it began. */
  private minorityCommit = new Map<string, number>();
  /** The commit index last checked per server (reset on restart). */
  private commitChecked = new Map<string, number>();
  /** Told of every step (SIM_TRACE). */
  trace: ((line: string) => void) | undefined;
  stats = { enqueued: 0, nacked: 0, delivered: 0, acked: 0, requeued: 0, purged: 0, resent: 0, refused: 0 };
  /**
   * The client's enqueuer (as cluster/quorum/enqueuer.ts): publishes sent with an origin,
   * tag → number, in number order, until confirmed; sent again (the oldest, in order) at random,
   * as after a leader change; never nacked (a refusal or a lost leadership leaves them here).
   */
  private readonly unconfirmed = new Map<string, number>();
  private nextSeq = 1;

  constructor(readonly opts: QueueSimOptions) {
    this.rand = seededRandom(opts.seed);
    const settings: MemberSettings = {
      electionTimeoutTicks: opts.electionTimeoutTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 2,
      idleHeartbeatTicks: opts.idleHeartbeatTicks ?? 0,
      snapshotEvery: opts.snapshotEvery ?? 6,
      trailingEntries: opts.trailingEntries ?? 2,
      maxEntriesPerAppend: opts.maxEntriesPerAppend ?? 4,
      maxInflightAppends: opts.maxInflightAppends ?? 4,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      orderedStores: opts.orderedStores ?? true,
    };
    const events = {
      enqueueConfirmed: (m: QueueMember, tags: string[]) => {
        this.checker.onEnqueueConfirmed(m.id, tags);
        for (const t of tags) this.unconfirmed.delete(t);
      },
      enqueueRefused: (tags: string[]) => void (this.stats.refused += tags.length),
      settleConfirmed: (ids: number[]) => this.checker.onSettleConfirmed(ids),
      raftError: (m: QueueMember, err: Error) => this.raftErrors.push(`${m.id}: ${err.message}`),
      isUp: (node: string) => this.members.some((m) => m.id === node && m.alive),
    };
    for (let i = 1; i <= opts.nodes; i++) {
      const seed = Math.floor(this.rand() * 2 ** 32);
      this.members.push(new QueueMember(`n${i}`, new SimDisk(!settings.orderedStores), this.network, this.checker, events, settings, seed));
    }
  }

  /** Writes the initial configuration on every disk and starts every server. */
  async start(): Promise<void> {
    const config: Configuration = { servers: this.members.map((m) => ({ id: m.id, address: m.id, suffrage: 'voter' })) };
    for (const m of this.members) {
      const { log, stable } = m.disk.open();
      let done = false;
      const boot = Raft.bootstrap(log, stable, config).then(() => (done = true));
      for (let k = 0; k < 10 && !done; k++) {
        m.disk.sync();
        await settle();
      }
      await boot;
    }
    for (const m of this.members) m.start();
    await settle();
  }

  leader(): QueueMember | undefined {
    let best: QueueMember | undefined;
    for (const m of this.members) {
      const s = m.stats();
      if (s?.role === 'leader' && (!best || (s.term ?? 0) > (best.stats()?.term ?? 0))) best = m;
    }
    return best;
  }

  private pick<T>(xs: T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.rand() * xs.length)];
  }

  /** One random event, then the servers' reactions, then the invariants. */
  async step(): Promise<void> {
    this.steps++;
    let r = this.rand();
    const action = ACTIONS.find(([w]) => (r -= w) < 0)?.[1] ?? 'sync';
    const note = this[action]();
    this.trace?.(`step ${this.steps} ${action}${note ? ` ${note}` : ''}`);
    for (const m of this.members) if (m.disk.pendingWrites > 0 && this.rand() < this.opts.syncRate) m.disk.sync();
    await settle();
    this.resendAcks();
    this.checkStep();
    if (this.members.some((m) => m.live)) this.liveSteps++;
  }

  /** A new live queue: the client's recent acks go to it again (as a consumer node does when it follows a new leader). */
  private resendAcks(): void {
    const l = this.leader();
    const live = l?.live;
    if (!l || !live || live === this.lastLive) return;
    this.lastLive = live;
    for (const d of this.recentAcks) if (d.live !== live && l.ack(d.live, d.id, d.consumer)) this.trace?.(`  ack of ${d.id} by ${d.consumer} sent again to ${l.id}`);
  }

  private tickAll(): void {
    for (const m of this.members) m.tick();
  }

  private tickOne(): string | void {
    const m = this.pick(this.members.filter((x) => x.alive));
    m?.tick();
    return m?.id;
  }

  private purge(): string | void {
    const m = this.pick(this.members.filter((x) => x.live));
    if (!m) return;
    const n = m.purge();
    this.stats.purged += n;
    return `${m.id} ${n}`;
  }

  private ack(): string | void {
    return this.ackOrRequeue(true);
  }

  private requeue(): string | void {
    return this.ackOrRequeue(false);
  }

  private campaign(): string | void {
    const m = this.pick(this.members.filter((x) => x.alive));
    m?.raft?.campaign();
    return m?.id;
  }

  private deliverOne(): string | void {
    const net = this.network;
    if (net.inFlight.length === 0) return;
    // Mostly in order, sometimes any message: this reorders.
    const i = this.rand() < 0.7 ? 0 : Math.floor(this.rand() * net.inFlight.length);
    if (this.rand() < this.opts.duplicateRate) net.inFlight.push(net.inFlight[i]);
    if (this.rand() < this.opts.dropRate) {
      const [m] = net.inFlight.splice(i, 1);
      return `dropped ${m.type} ${m.from}>${m.to}`;
    }
    const m = net.inFlight[i];
    return `${net.deliver(i, this.rand() < this.opts.codecRate) ? '' : 'lost '}${m.type} ${m.from}>${m.to} t${m.term}`;
  }

  /** Disks complete some of their pending writes (a prefix, as a log is written in order). */
  private sync(): string | void {
    const m = this.pick(this.members.filter((x) => x.disk.pendingWrites > 0));
    if (m) m.disk.sync(1 + Math.floor(this.rand() * 3), this.rand() < 0.5 ? 1 : 0);
    return m?.id;
  }

  /** The client publishes a batch of 1–3 messages with confirms, usually to the leader. */
  private enqueue(): string | void {
    if (this.unconfirmed.size > 0 && this.rand() < 0.15) return this.resend();
    const leader = this.leader();
    const target = leader && this.rand() < 0.85 ? leader : this.pick(this.members.filter((m) => m.alive));
    if (!target) return;
    const tags = Array.from({ length: 1 + Math.floor(this.rand() * 3) }, () => `m${this.nextTag++}`);
    if (this.rand() < 0.7) {
      // With an origin: kept until confirmed, and sent again.
      for (const t of tags) this.unconfirmed.set(t, this.nextSeq++);
      this.stats.enqueued += tags.length;
      const sent = target.enqueue(this.nextBatch++, tags, () => undefined, this.origins(tags));
      return `${tags.join(',')} with origin ${sent ? 'at' : 'refused by'} ${target.id}`;
    }
    if (!target.enqueue(this.nextBatch++, tags, () => this.stats.nacked++)) {
      this.stats.nacked += tags.length;
      return `${tags.join(',')} refused by ${target.id}`;
    }
    this.stats.enqueued += tags.length;
    return `${tags.join(',')} at ${target.id}`;
  }

  /** The oldest unconfirmed publishes with an origin (up to nine), again, in order, to the leader (usually), three a batch. */
  private resend(): string | void {
    const leader = this.leader();
    const target = leader && this.rand() < 0.85 ? leader : this.pick(this.members.filter((m) => m.alive));
    if (!target) return;
    const all = [...this.unconfirmed.keys()].slice(0, 9);
    for (let i = 0; i < all.length; i += 3) {
      const tags = all.slice(i, i + 3);
      if (!target.enqueue(this.nextBatch++, tags, () => undefined, this.origins(tags))) return `resend refused by ${target.id}`;
      this.stats.resent += tags.length;
    }
    return `resent ${all.length} to ${target.id}`;
  }

  private origins(tags: string[]): EnqueueOrigin[] {
    const floor = (this.unconfirmed.values().next().value ?? this.nextSeq) - 1;
    return tags.map((t) => ({ enqueuer: 1, seq: this.unconfirmed.get(t)!, floor }));
  }

  /**
   * A consumer receives up to three messages from whichever server runs a live queue: one
   * of two consumers, each on a server (whose crash takes its deliveries with it).
   */
  private consume(): string | void {
    const sources = this.members.filter((m) => m.live);
    const m = this.pick(sources);
    if (!m) return;
    const on = this.pick(this.members.filter((x) => x.alive));
    if (!on) return;
    const consumer = `${on.id}/${1 + Math.floor(this.rand() * 2)}`;
    for (let k = 1 + Math.floor(this.rand() * 3); k > 0; k--) {
      const d = m.takeDelivery(consumer);
      if (!d) return m.id;
      this.trace?.(`  delivered ${d.id} (count ${d.count}) from ${m.id} to ${consumer}`);
      this.checker.onDelivery(m.id, d.live.term, d.id, d.count, consumer);
      this.deliveries.push({ member: m, live: d.live, id: d.id, consumer });
      this.stats.delivered++;
    }
  }

  private ackOrRequeue(ack: boolean): string | void {
    if (this.deliveries.length === 0) return;
    const i = Math.floor(this.rand() * this.deliveries.length);
    const [d] = this.deliveries.splice(i, 1);
    // From a live queue that is gone: by log id on the leader now, which may hold it for this consumer.
    const at = d.member.live === d.live ? d.member : this.leader();
    if (!at || !(ack ? at.ack(d.live, d.id, d.consumer) : at.requeue(d.live, d.id, d.consumer))) return `${d.id} at ${d.member.id} (gone)`;
    if (ack) {
      this.stats.acked++;
      this.recentAcks.push(d);
      if (this.recentAcks.length > 20) this.recentAcks.shift();
    }
    else this.stats.requeued++;
    return `${d.id} at ${d.member.id}`;
  }

  private crash(): string | void {
    const leader = this.leader();
    const victim = leader && this.rand() < 0.5 ? leader : this.pick(this.members.filter((m) => m.alive));
    if (!victim) return;
    victim.crash(this.rand);
    this.crashes++;
    // Its consumers' connections went with it: what they held is never acked.
    this.deliveries = this.deliveries.filter((d) => !d.consumer.startsWith(`${victim.id}/`));
    // Usually the mesh notices and tells the survivors that the node is down.
    if (victim === leader && this.rand() < 0.5) for (const m of this.members) m.raft?.leaderDown();
    // The mesh tells a leader that the node is down: its consumers' deliveries go back to the queue.
    for (const m of this.members) m.nodeDown(victim.id);
    return victim.id;
  }

  private restart(): string | void {
    const m = this.pick(this.members.filter((x) => !x.alive));
    if (m) this.commitChecked.delete(m.id);
    m?.start();
    return m?.id;
  }

  /** A symmetric cut: the leader alone, or a random split. */
  private partition(): string | void {
    const ids = this.members.map((m) => m.id);
    const leader = this.leader();
    let groups: string[][];
    if (leader && this.rand() < 0.5) groups = [[leader.id], ids.filter((x) => x !== leader.id)];
    else {
      const shuffled = ids.slice().sort(() => this.rand() - 0.5);
      const cut = 1 + Math.floor(this.rand() * (ids.length - 1));
      groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
    }
    this.network.partition(groups);
    this.partitions++;
    this.minorityCommit.clear();
    // A minority side may still commit an entry that the other side already stored before the
    // cut (with the minority's own copies it makes a majority), never one appended after it.
    for (const g of groups) {
      if (g.length * 2 > ids.length) continue;
      const others = this.members.filter((m) => !g.includes(m.id));
      let bound = Math.max(...g.map((id) => this.commitOf(id)));
      for (const id of g) {
        const log = this.member(id).disk.entries();
        for (let k = log.length - 1; k >= 0 && log[k].index > bound; k--) {
          const e = log[k];
          if ((g.length + others.filter((m) => m.disk.durablyHolds(e.index, e.term)).length) * 2 > ids.length) bound = e.index;
        }
      }
      for (const id of g) this.minorityCommit.set(id, bound);
    }
    return JSON.stringify(groups);
  }

  private oneWay(): string | void {
    const a = this.pick(this.members);
    const b = this.pick(this.members.filter((m) => m !== a));
    if (!a || !b) return;
    this.network.blockOneWay(a.id, b.id);
    this.minorityCommit.clear();
    return `${a.id}>${b.id}`;
  }

  private heal(): void {
    this.network.heal();
    this.minorityCommit.clear();
  }

  private transfer(): string | void {
    const leader = this.leader();
    const to = this.rand() < 0.5 ? this.pick(this.members.filter((m) => m !== leader))?.id : undefined;
    leader?.handOver(to);
    return leader && `${leader.id}>${to ?? 'any'}`;
  }

  private member(id: string): QueueMember {
    return this.members.find((x) => x.id === id)!;
  }

  /** Whether entry (index, term) is durable on a majority of the servers. */
  private onMajority(index: number, term: number): boolean {
    return this.members.filter((m) => m.disk.durablyHolds(index, term)).length * 2 > this.members.length;
  }

  /** Highest commit index `id` knows now or on its disk (hard state, snapshot: a restart starts there). */
  private commitOf(id: string): number {
    const m = this.member(id);
    const disk = m.disk.read();
    return Math.max(m.stats()?.commitIndex ?? 0, disk.hard.commit, disk.snapshots[0]?.meta.index ?? 0);
  }

  /** Invariants checked after every step (the checker checks the rest as servers apply). */
  private checkStep(): void {
    if (this.raftErrors.length > 0) fail('raft loop kept running', this.raftErrors.join('; '));
    for (const m of this.members) {
      const s = m.stats();
      if (s?.role === 'leader') this.checker.onLeader(m.id, s.term ?? 0);
    }
    // Committed means durable on a majority: checked whenever a server's commit index moves.
    // The entry is the one the server's Raft holds at that index (its memory), not what its
    // stores show: those lag, e.g. while an installed snapshot is being saved they still hold
    // the old, divergent log that the snapshot replaces (seeds 2214 and 1399 failed so).
    for (const m of this.members) {
      const c = m.stats()?.commitIndex ?? 0;
      if (c <= (this.commitChecked.get(m.id) ?? 0)) continue;
      const term = m.raft?.termAt(c);
      if (term === undefined) continue;
      this.commitChecked.set(m.id, c);
      if (!this.onMajority(c, term)) fail('committed means on a majority', `${m.id} has commit index ${c} (term ${term}), which is durable on fewer than a majority`);
    }
    // The minority side of a symmetric cut commits nothing new.
    for (const [id, commit] of this.minorityCommit) {
      const now = this.commitOf(id);
      if (now > commit) {
        const m = this.member(id);
        fail('minority commits nothing', `${id} moved its commit index to ${now}, past ${commit}, the last entry the other side stored before the cut, on the minority side of ${JSON.stringify(this.network.groups)} (now ${JSON.stringify({ ...m.stats(), configuration: undefined })})`);
      }
    }
  }

  /** Ticks everyone, completes every write and delivers everything in flight, without faults. */
  private async round(): Promise<void> {
    for (const m of this.members) m.tick();
    for (let k = 0; k < 50; k++) {
      for (const m of this.members) m.disk.sync();
      await settle();
      if (this.network.inFlight.length === 0 && this.members.every((m) => m.disk.pendingWrites === 0)) break;
      const batch = this.network.inFlight.length;
      for (let i = 0; i < batch; i++) this.network.deliver(0, false);
      await settle();
      this.checkStep();
    }
  }

  /**
   * Heals the network, restarts every server, then requires a live leader and every server
   * caught up; then the consumer drains the queue (ack everything) and the end state is
   * checked: nothing confirmed lost, every replica equal and empty.
   */
  async converge(maxRounds = 400): Promise<void> {
    this.heal();
    for (const m of this.members) if (!m.alive) m.start();
    let rounds = 0;
    const caughtUp = (): boolean => {
      const l = this.leader();
      const ls = l?.stats();
      if (!l?.live || !ls) return false;
      return this.members.every((m) => m.stats()?.appliedIndex === ls.lastIndex);
    };
    while (!caughtUp()) {
      if (++rounds > maxRounds) this.stuck('no live leader with every server caught up after healing');
      await this.round();
    }
    // The client's unconfirmed publishes go to the leader until every one is confirmed.
    while (this.unconfirmed.size > 0) {
      if (++rounds > maxRounds) this.stuck(`${this.unconfirmed.size} publishes with an origin never confirmed`);
      const l = this.leader();
      const all = [...this.unconfirmed.keys()];
      for (let i = 0; l && i < all.length; i += 3) l.enqueue(this.nextBatch++, all.slice(i, i + 3), () => undefined, this.origins(all.slice(i, i + 3)));
      for (let k = 0; k < 20 && this.unconfirmed.size > 0; k++) await this.round();
    }
    // Drain: the consumer takes and acks everything; settles must commit everywhere.
    while (this.checker.present.size > 0 || !caughtUp()) {
      if (++rounds > maxRounds) this.stuck(`queue not drained: ${this.checker.present.size} left`);
      // Outstanding deliveries are acked (those of live queues gone are void: redelivered).
      const l = this.leader();
      for (const d of this.deliveries.splice(0)) (d.member.live === d.live ? d.member : l)?.ack(d.live, d.id, d.consumer);
      for (let d = l?.takeDelivery('n1/9'); l && d; d = l.takeDelivery('n1/9')) {
        this.checker.onDelivery(l.id, d.live.term, d.id, d.count, 'n1/9');
        l.ack(d.live, d.id, 'n1/9');
      }
      await this.round();
    }
    this.checker.checkDrained();
    for (const m of this.members) {
      if (m.fsm.messages.size !== 0 || m.fsm.nextId !== this.members[0].fsm.nextId) {
        fail('replica state', `${m.id} ends with ${m.fsm.messages.size} messages, next id ${m.fsm.nextId}`);
      }
    }
  }

  /** One line of every server's state: role, term, commit, applied, last index, pending writes. */
  describe(): string {
    return this.members
      .map((m) => {
        const s = m.stats();
        if (!s) return `${m.id}:dead`;
        const role = s.role === 'leader' ? (m.live ? 'L' : 'l') : s.role === 'candidate' ? 'c' : s.role === 'follower' ? 'f' : 'p';
        return `${m.id}:${role}t${s.term}c${s.commitIndex}a${s.appliedIndex}i${s.lastIndex}w${m.disk.pendingWrites}`;
      })
      .join(' ');
  }

  private stuck(what: string): never {
    const states = this.members.map((m) => `${m.id} ${JSON.stringify({ ...m.stats(), configuration: undefined, live: !!m.live, pending: m.disk.pendingWrites })}`);
    const live = this.leader()?.live;
    const left = [...this.checker.present.values()].slice(0, 6).map((r) => `${r.tag}=${r.id}${live?.ready.includes(r.id) ? ' ready' : ''}${live?.out.has(r.id) ? ' out' : ''}${live?.held.has(r.id) ? ' held' : ''}`);
    fail('liveness', `${what} (${left.join(', ')})\n${states.join('\n')}`);
  }

  /** Stops every server (clears the facade's timers). */
  async close(): Promise<void> {
    for (const m of this.members) await m.stop();
  }
}
