import { seededRandom } from '../../../cluster/raft/prng';
import { EntryType, encodeConfiguration, type Configuration } from '../../../cluster/raft/types';
import type { RaftMessage } from '../../../cluster/raft/messages';
import type { CoreOptions } from '../../../cluster/raft/raft-core';
import { encodeMessage, decodeMessage } from '../../../cluster/raft/message-codec';
import { SimNode } from './sim-node';
import { InvariantChecker } from './invariants';

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Servers created but not in the bootstrap configuration (to be added later). */
  spareNodes?: number;
  dropRate?: number;
  duplicateRate?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  snapshotEvery?: number;
  trailingEntries?: number;
  maxEntriesPerAppend?: number;
  maxInflightAppends?: number;
  electionTimeoutTicks?: number;
  /** The leader's idle heartbeat pace (0: off), as quorum queues use it. */
  idleHeartbeatTicks?: number;
  /** Followers learn a new commit index with the next append or heartbeat (as quorum queues). */
  lazyCommitNotice?: boolean;
  /** Probability that a delivered message goes through encodeMessage/decodeMessage. */
  codecRate?: number;
}

/**
 * A deterministic world of Raft cores: one seeded PRNG decides everything (delivery
 * order, loss, duplication, ticks, crashes, partitions), so a seed replays a run.
 */
export class SimCluster {
  readonly rand: () => number;
  readonly nodes: SimNode[] = [];
  readonly checker = new InvariantChecker();
  network: RaftMessage[] = [];
  /** Pairs "a|b" that cannot talk (both directions are listed). */
  private blocked = new Set<string>();
  private proposals = 0;
  steps = 0;

  constructor(readonly opts: SimOptions) {
    this.rand = seededRandom(opts.seed);
    const ids = Array.from({ length: opts.nodes + (opts.spareNodes ?? 0) }, (_, i) => `n${i + 1}`);
    const config: Configuration = {
      servers: ids.slice(0, opts.nodes).map((id) => ({ id, address: `addr-${id}`, suffrage: 'voter' })),
    };
    for (const id of ids) {
      const coreRand = seededRandom(Math.floor(this.rand() * 2 ** 32));
      const options: CoreOptions = {
        id,
        electionTimeoutTicks: opts.electionTimeoutTicks ?? 10,
        heartbeatTicks: 2,
        preVote: opts.preVote ?? true,
        checkQuorum: opts.checkQuorum ?? true,
        maxEntriesPerAppend: opts.maxEntriesPerAppend ?? 4,
        maxInflightAppends: opts.maxInflightAppends ?? 4,
        random: coreRand,
        idleHeartbeatTicks: opts.idleHeartbeatTicks ?? 0,
        lazyCommitNotice: opts.lazyCommitNotice ?? false,
      };
      const bootstrap = config.servers.some((s) => s.id === id);
      const initial = bootstrap
        ? {
            hardState: { term: 1, vote: '', commit: 0 },
            entries: [{ index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(config) }],
          }
        : { hardState: { term: 0, vote: '', commit: 0 }, entries: [] };
      this.nodes.push(new SimNode(id, options, initial, this.checker, opts.snapshotEvery ?? 0, opts.trailingEntries ?? 0));
    }
  }

  node(id: string): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  leaders(): SimNode[] {
    return this.nodes.filter((n) => n.core?.stats().role === 'leader');
  }

  /** The leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.leaders()) if (!best || n.core!.stats().term > best.core!.stats().term) best = n;
    return best;
  }

  partition(groups: string[][]): void {
    this.blocked.clear();
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        const ga = groups.findIndex((g) => g.includes(a.id));
        const gb = groups.findIndex((g) => g.includes(b.id));
        if (ga !== gb) this.blocked.add(`${a.id}|${b.id}`);
      }
    }
  }

  isolate(id: string): void {
    this.partition([[id], this.nodes.map((n) => n.id).filter((x) => x !== id)]);
  }

  /** Blocks one direction only: messages from `from` to `to` are lost. */
  block(from: string, to: string): void {
    this.blocked.add(`${from}|${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  propose(on?: SimNode): number {
    const target = on ?? this.leader();
    if (!target?.core) return 0;
    const payload = Buffer.from(`p${++this.proposals}`);
    const index = target.core.propose([payload]);
    this.flush();
    return index;
  }

  /** Runs every node's pending Ready until there is none, then checks the cheap invariants. */
  flush(): void {
    for (let rounds = 0; rounds < 100; rounds++) {
      let any = false;
      for (const n of this.nodes) {
        const msgs = n.processReady();
        if (msgs.length > 0 || n.core?.hasReady()) any = true;
        for (const m of msgs) this.network.push(m);
      }
      if (!any) break;
    }
    this.checker.checkStep(this.nodes);
  }

  /** Delivers message `i` of the network (removing it), honouring partitions, loss and crashes. */
  deliver(i: number, faults = true): void {
    const [m] = this.network.splice(i, 1);
    if (faults && this.rand() < (this.opts.duplicateRate ?? 0)) this.network.push(m);
    if (faults && this.rand() < (this.opts.dropRate ?? 0)) return;
    if (this.blocked.has(`${m.from}|${m.to}`)) return;
    const target = this.nodes.find((n) => n.id === m.to);
    if (!target?.core) return;
    const msg = this.rand() < (this.opts.codecRate ?? 0) ? decodeMessage(encodeMessage(m)) : m;
    target.core.step(msg);
    this.flush();
  }

  tick(node: SimNode): void {
    node.core?.tick();
    this.flush();
  }

  tickAll(): void {
    for (const n of this.nodes) n.core?.tick();
    this.flush();
  }

  crash(node: SimNode): void {
    node.crash();
    this.network = this.network.filter((m) => m.to !== node.id);
  }

  restart(node: SimNode): void {
    if (node.alive) return;
    node.start();
    this.flush();
  }

  /** Delivers everything in flight (and what it causes), without faults, up to a bound. */
  deliverAll(maxMessages = 10_000): void {
    for (let k = 0; k < maxMessages && this.network.length > 0; k++) this.deliver(0, false);
  }

  /** Ticks everyone and drains the network until `done` holds or `maxTicks` pass. */
  runUntil(done: () => boolean, maxTicks = 500): boolean {
    for (let t = 0; t < maxTicks; t++) {
      if (done()) return true;
      this.tickAll();
      this.deliverAll();
    }
    return done();
  }

  /** One random action: the heart of the randomized schedules. */
  randomStep(faults: { crash: boolean; partition: boolean }): void {
    this.steps++;
    const r = this.rand();
    const alive = this.nodes.filter((n) => n.alive);
    if (r < 0.45) {
      if (this.network.length === 0) return;
      // Mostly in order, sometimes any message: this reorders.
      const i = this.rand() < 0.7 ? 0 : Math.floor(this.rand() * this.network.length);
      this.deliver(i);
    } else if (r < 0.75) {
      if (alive.length > 0) this.tick(alive[Math.floor(this.rand() * alive.length)]);
    } else if (r < 0.9) {
      // Usually at the leader; sometimes at a random server, which must refuse unless leader.
      const leader = this.leader();
      const n = leader && this.rand() < 0.8 ? leader : alive[Math.floor(this.rand() * Math.max(1, alive.length))];
      if (n) this.propose(n);
    } else if (r < 0.92) {
      // Leaders are the interesting victims: half of the crashes hit the current one.
      const victim = this.rand() < 0.5 ? this.leader() : alive[Math.floor(this.rand() * Math.max(1, alive.length))];
      if (faults.crash && victim?.alive) this.crash(victim);
    } else if (r < 0.95) {
      const dead = this.nodes.filter((n) => !n.alive);
      if (dead.length > 0) this.restart(dead[Math.floor(this.rand() * dead.length)]);
    } else if (r < 0.965) {
      if (faults.partition) {
        const leader = this.leader();
        if (leader && this.rand() < 0.5) this.isolate(leader.id);
        else {
          const ids = this.nodes.map((n) => n.id);
          const cut = 1 + Math.floor(this.rand() * (ids.length - 1));
          const shuffled = ids.slice().sort(() => this.rand() - 0.5);
          this.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        }
      }
    } else if (r < 0.99 || !this.opts.spareNodes) {
      this.heal();
    } else {
      this.randomConfChange();
    }
    if (this.steps % 25 === 0) this.checker.checkLogMatching(this.nodes);
  }

  /** Proposes a random single-server change at the leader, keeping at least three voters. */
  randomConfChange(): void {
    const leader = this.leader();
    if (!leader?.core) return;
    const config = leader.core.getConfiguration();
    const inConfig = new Set(config.servers.map((s) => s.id));
    const voterCount = config.servers.filter((s) => s.suffrage === 'voter').length;
    const outside = this.nodes.filter((n) => !inConfig.has(n.id));
    const pick = <T>(xs: T[]): T => xs[Math.floor(this.rand() * xs.length)];
    const r = this.rand();
    if (r < 0.4 && outside.length > 0) {
      const id = pick(outside).id;
      leader.core.proposeConfChange({ type: 'addVoter', id, address: `addr-${id}` });
    } else if (r < 0.55 && outside.length > 0) {
      const id = pick(outside).id;
      leader.core.proposeConfChange({ type: 'addNonVoter', id, address: `addr-${id}` });
    } else if (r < 0.7) {
      const nonvoters = config.servers.filter((s) => s.suffrage === 'nonvoter');
      if (nonvoters.length > 0) {
        const id = pick(nonvoters).id;
        leader.core.proposeConfChange({ type: 'addVoter', id, address: `addr-${id}` });
      }
    } else if (voterCount > 3) {
      leader.core.proposeConfChange({ type: 'removeServer', id: pick(config.servers).id });
    }
    this.flush();
  }

  /** Heals and restarts everything, then requires a new proposal to be applied everywhere. */
  converge(maxTicks = 400): void {
    this.heal();
    for (const n of this.nodes) this.restart(n);
    let index = 0;
    let term = 0;
    const ok = this.runUntil(() => {
      const l = this.leader();
      if (!l?.core) return false;
      if (index === 0 || l.core.stats().term !== term) {
        term = l.core.stats().term;
        index = this.propose(l);
        return false;
      }
      const members = l.core.getConfiguration().servers.map((s) => this.node(s.id));
      return index > 0 && members.every((n) => n.fsm.index >= index);
    }, maxTicks);
    if (!ok) {
      const states = this.nodes.map((n) => JSON.stringify(n.core?.stats() ?? { id: n.id, dead: true })).join('\n');
      throw new Error(`liveness: no convergence after healing within ${maxTicks} ticks\n${states}`);
    }
    this.checker.checkLogMatching(this.nodes);
  }
}
