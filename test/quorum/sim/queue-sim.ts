import { seededRandom } from '../../../cluster/raft/prng';
import { Raft } from '../../../cluster/raft/raft';
import type { Configuration } from '../../../cluster/raft/types';
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

interface Delivery {
  member: QueueMember;
  live: LiveQueue;
  id: number;
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
  private raftErrors: string[] = [];
  /** Commit index of each server on the minority side of the partition in force, when it began. */
  private minorityCommit = new Map<string, number>();
  stats = { enqueued: 0, nacked: 0, delivered: 0, acked: 0, requeued: 0, purged: 0 };

  constructor(readonly opts: QueueSimOptions) {
    this.rand = seededRandom(opts.seed);
    const settings: MemberSettings = {
      electionTimeoutTicks: opts.electionTimeoutTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 2,
      snapshotEvery: opts.snapshotEvery ?? 6,
      trailingEntries: opts.trailingEntries ?? 2,
      maxEntriesPerAppend: opts.maxEntriesPerAppend ?? 4,
      maxInflightAppends: opts.maxInflightAppends ?? 4,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
    };
    const events = {
      enqueueConfirmed: (m: QueueMember, tags: string[]) => this.checker.onEnqueueConfirmed(m.id, tags),
      settleConfirmed: (ids: number[]) => this.checker.onSettleConfirmed(ids),
      raftError: (m: QueueMember, err: Error) => this.raftErrors.push(`${m.id}: ${err.message}`),
    };
    for (let i = 1; i <= opts.nodes; i++) {
      const seed = Math.floor(this.rand() * 2 ** 32);
      this.members.push(new QueueMember(`n${i}`, new SimDisk(), this.network, this.checker, events, settings, seed));
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
    const r = this.rand();
    const alive = this.members.filter((m) => m.alive);
    if (r < 0.4) this.deliverOne();
    else if (r < 0.48) for (const m of alive) m.tick();
    else if (r < 0.53) this.pick(alive)?.tick();
    else if (r < 0.65) this.enqueue();
    else if (r < 0.73) this.consume();
    else if (r < 0.81) this.ackOrRequeue(this.rand() < 0.8);
    else if (r < 0.814) this.pick(alive.filter((m) => m.live))?.purge();
    else if (r < 0.818) this.crash();
    else if (r < 0.828) this.restart();
    else if (r < 0.831) this.partition();
    else if (r < 0.833) this.oneWay();
    else if (r < 0.841) this.heal();
    else if (r < 0.844) this.transferLeadership();
    else if (r < 0.846) this.pick(alive)?.raft?.campaign();
    else this.syncSome();
    for (const m of this.members) if (m.disk.pendingWrites > 0 && this.rand() < this.opts.syncRate) m.disk.sync();
    await settle();
    this.checkStep();
    if (this.members.some((m) => m.live)) this.liveSteps++;
  }

  private deliverOne(): void {
    const net = this.network;
    if (net.inFlight.length === 0) return;
    // Mostly in order, sometimes any message: this reorders.
    const i = this.rand() < 0.7 ? 0 : Math.floor(this.rand() * net.inFlight.length);
    if (this.rand() < this.opts.duplicateRate) net.inFlight.push(net.inFlight[i]);
    if (this.rand() < this.opts.dropRate) {
      net.inFlight.splice(i, 1);
      return;
    }
    net.deliver(i, this.rand() < this.opts.codecRate);
  }

  /** Disks complete some of their pending writes (a prefix, as a log is written in order). */
  private syncSome(): void {
    const m = this.pick(this.members.filter((x) => x.disk.pendingWrites > 0));
    if (m) m.disk.sync(1 + Math.floor(this.rand() * 3), this.rand() < 0.5 ? 1 : 0);
  }

  /** The client publishes a batch of 1–3 messages with confirms, usually to the leader. */
  private enqueue(): void {
    const leader = this.leader();
    const target = leader && this.rand() < 0.85 ? leader : this.pick(this.members.filter((m) => m.alive));
    if (!target) return;
    const tags = Array.from({ length: 1 + Math.floor(this.rand() * 3) }, () => `m${this.nextTag++}`);
    if (target.enqueue(this.nextBatch++, tags, () => this.stats.nacked++)) this.stats.enqueued += tags.length;
    else this.stats.nacked += tags.length;
  }

  /** The consumer receives up to three messages from whichever server runs a live queue. */
  private consume(): void {
    const sources = this.members.filter((m) => m.live);
    const m = this.pick(sources);
    if (!m) return;
    for (let k = 1 + Math.floor(this.rand() * 3); k > 0; k--) {
      const d = m.takeDelivery();
      if (!d) return;
      this.checker.onDelivery(m.id, d.live.term, d.id, d.count);
      this.deliveries.push({ member: m, live: d.live, id: d.id });
      this.stats.delivered++;
    }
  }

  private ackOrRequeue(ack: boolean): void {
    if (this.deliveries.length === 0) return;
    const i = Math.floor(this.rand() * this.deliveries.length);
    const [d] = this.deliveries.splice(i, 1);
    // A delivery from a live queue that is gone cannot be acked: the next leader redelivers.
    if (ack ? d.member.ack(d.live, d.id) : d.member.requeue(d.live, d.id)) {
      if (ack) this.stats.acked++;
      else this.stats.requeued++;
    }
  }

  private crash(): void {
    const leader = this.leader();
    const victim = leader && this.rand() < 0.5 ? leader : this.pick(this.members.filter((m) => m.alive));
    if (!victim) return;
    victim.crash(this.rand);
    this.crashes++;
    // Usually the mesh notices and tells the survivors that the leader's node is down.
    if (victim === leader && this.rand() < 0.5) for (const m of this.members) m.raft?.leaderDown();
  }

  private restart(): void {
    const dead = this.members.filter((m) => !m.alive);
    this.pick(dead)?.start();
  }

  /** A symmetric cut: the leader alone, or a random split. */
  private partition(): void {
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
    for (const g of groups) {
      if (g.length * 2 > ids.length) continue;
      for (const id of g) this.minorityCommit.set(id, this.commitOf(id));
    }
  }

  private oneWay(): void {
    const a = this.pick(this.members);
    const b = this.pick(this.members.filter((m) => m !== a));
    if (!a || !b) return;
    this.network.blockOneWay(a.id, b.id);
    this.minorityCommit.clear();
  }

  private heal(): void {
    this.network.heal();
    this.minorityCommit.clear();
  }

  private transferLeadership(): void {
    const leader = this.leader();
    const to = this.pick(this.members.filter((m) => m !== leader));
    leader?.raft?.leadershipTransfer(this.rand() < 0.5 ? to?.id : undefined).catch(() => undefined);
  }

  /** Highest commit index `id` knows now, and on its disk (a dead server's restart starts there). */
  private commitOf(id: string): number {
    const m = this.members.find((x) => x.id === id)!;
    return Math.max(m.stats()?.commitIndex ?? 0, m.disk.read().hard.commit);
  }

  /** Invariants checked after every step (the checker checks the rest as servers apply). */
  private checkStep(): void {
    if (this.raftErrors.length > 0) fail('raft loop kept running', this.raftErrors.join('; '));
    for (const m of this.members) {
      const s = m.stats();
      if (s?.role === 'leader') this.checker.onLeader(m.id, s.term ?? 0);
    }
    // The minority side of a symmetric cut commits nothing new.
    for (const [id, commit] of this.minorityCommit) {
      const now = this.commitOf(id);
      if (now > commit) fail('minority commits nothing', `${id} moved its commit index from ${commit} to ${now} on the minority side of ${JSON.stringify(this.network.groups)}`);
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
    // Drain: the consumer takes and acks everything; settles must commit everywhere.
    while (this.checker.present.size > 0 || !caughtUp()) {
      if (++rounds > maxRounds) this.stuck(`queue not drained: ${this.checker.present.size} left`);
      // Outstanding deliveries are acked (those of live queues gone are void: redelivered).
      for (const d of this.deliveries.splice(0)) d.member.ack(d.live, d.id);
      const l = this.leader();
      for (let d = l?.takeDelivery(); l && d; d = l.takeDelivery()) {
        this.checker.onDelivery(l.id, d.live.term, d.id, d.count);
        l.ack(d.live, d.id);
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

  private stuck(what: string): never {
    const states = this.members.map((m) => `${m.id} ${JSON.stringify({ ...m.stats(), configuration: undefined, live: !!m.live, pending: m.disk.pendingWrites })}`);
    const live = this.leader()?.live;
    const left = [...this.checker.present.values()].slice(0, 6).map((r) => `${r.tag}=${r.id}${live?.ready.includes(r.id) ? ' ready' : ''}${live?.out.has(r.id) ? ' out' : ''}`);
    fail('liveness', `${what} (${left.join(', ')})\n${states.join('\n')}`);
  }

  /** Stops every server (clears the facade's timers). */
  async close(): Promise<void> {
    for (const m of this.members) await m.stop();
  }
}
