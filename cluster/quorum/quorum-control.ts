/**
 * Operations on quorum queues in the shape of rabbitmq-queues: quorum_status (every
 * member's Raft figures), add_member / delete_member, grow / shrink, rebalance. A node asks
 * the queue's leader to change the Raft configuration and each member for its figures over
 * the mesh ('qq.ctl', small JSON requests: control traffic, never per message). Membership
 * is also recorded in the queue's definition, so a node added starts its member (empty; the
 * leader sends it the log or a snapshot) and a node removed stops and deletes its own.
 */
import type { Mesh } from '../mesh';
import type { Broker } from '../../src/broker/broker';
import type { MetadataStore } from '../../src/broker/ports';
import type { QuorumMemberStatus, QuorumService } from './quorum-service';
import type { QuorumQueue } from './quorum-queue';

const CHANNEL = 'qq.ctl';
const TIMEOUT_MS = 5000;

type Request = { op: 'status'; group: string } | { op: 'add' | 'remove' | 'transfer'; group: string; node: string };

export interface QuorumControlOptions {
  nodeName: string;
  mesh: Mesh;
  broker: Broker;
  metadata: () => MetadataStore;
  service: QuorumService;
  /** Every node of the cluster. */
  clusterMembers(): string[];
}

export interface Table {
  columns: string[];
  rows: unknown[][];
}

export class QuorumControl {
  private readonly off: () => void;

  constructor(private readonly o: QuorumControlOptions) {
    this.off = o.mesh.handle(CHANNEL, (_from, payload) => this.answer(JSON.parse(payload.toString('utf8')) as Request));
  }

  close(): void {
    this.off();
  }

  /** rabbitmq-queues quorum_status: one row per member. */
  async status(vhost: string, name: string): Promise<Table> {
    const q = this.queue(vhost, name);
    const rows = await Promise.all(
      q.members.map(async (node) => {
        let s: QuorumMemberStatus | { error: string };
        try {
          s = node === this.o.nodeName ? this.localStatus(q) : (JSON.parse((await this.o.mesh.request(node, CHANNEL, json({ op: 'status', group: q.def.quorumGroup! }), TIMEOUT_MS)).toString('utf8')) as QuorumMemberStatus);
        } catch (err) {
          s = { error: (err as Error).message };
        }
        if ('error' in s) return [node, 'noproc', 'voter', '', '', '', '', '', ''];
        return [node, s.raftState, 'voter', s.lastLogIndex, s.appliedIndex, s.commitIndex, s.snapshotIndex, s.term, 1];
      }),
    );
    return { columns: ['Node Name', 'Raft State', 'Membership', 'Last Log Index', 'Last Applied', 'Commit Index', 'Snapshot Index', 'Term', 'Machine Version'], rows };
  }

  /** rabbitmq-queues add_member: idempotent; the node must be a running cluster node. */
  async addMember(vhost: string, name: string, node: string): Promise<void> {
    const q = this.queue(vhost, name);
    if (!this.o.clusterMembers().includes(node)) throw new Error(`${node} is not a member of this cluster`);
    if (node !== this.o.nodeName && !this.o.mesh.isUp(node)) throw new Error(`${node} is not running`);
    if (q.members.includes(node)) return;
    await this.o.metadata().apply({ op: 'queue.members', vhost, name, members: [...q.members, node] });
    await this.atLeader(q, { op: 'add', group: q.def.quorumGroup!, node });
  }

  /** rabbitmq-queues delete_member: idempotent; the last member cannot be removed. */
  async deleteMember(vhost: string, name: string, node: string): Promise<void> {
    const q = this.queue(vhost, name);
    if (!q.members.includes(node)) return;
    if (q.members.length === 1) throw new Error('the last node cannot be removed');
    // A leader does not remove itself: it hands leadership to another member first.
    for (let attempt = 0; attempt < 3 && q.leaderNode === node; attempt++) {
      const to = q.members.find((m) => m !== node && (m === this.o.nodeName || this.o.mesh.isUp(m)));
      if (!to) throw new Error(`no other member of queue '${name}' in vhost '${vhost}' is running`);
      await this.atLeader(q, { op: 'transfer', group: q.def.quorumGroup!, node: to });
      const deadline = Date.now() + TIMEOUT_MS;
      while (q.leaderNode === node && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    await this.atLeader(q, { op: 'remove', group: q.def.quorumGroup!, node });
    await this.o.metadata().apply({ op: 'queue.members', vhost, name, members: q.members.filter((m) => m !== node) });
  }

  /** rabbitmq-queues grow NODE all|even: a member on `node` for every matching quorum queue. */
  async grow(node: string, which: 'all' | 'even', vhostPattern = '.*', queuePattern = '.*'): Promise<Table> {
    const rows: unknown[][] = [];
    for (const q of this.matching(vhostPattern, queuePattern)) {
      if (q.members.includes(node) || (which === 'even' && q.members.length % 2 !== 0)) continue;
      const result = await this.outcome(() => this.addMember(q.vhost, q.name, node));
      rows.push([q.vhost, q.name, q.members.length, result]);
    }
    return { columns: ['vhost', 'name', 'size', 'result'], rows };
  }

  /** rabbitmq-queues shrink NODE: removes `node`'s member from every quorum queue. */
  async shrink(node: string): Promise<Table> {
    const rows: unknown[][] = [];
    for (const q of this.matching('.*', '.*')) {
      if (!q.members.includes(node)) continue;
      const result = q.members.length === 1 ? 'error: the last node cannot be removed' : await this.outcome(() => this.deleteMember(q.vhost, q.name, node));
      rows.push([q.vhost, q.name, q.members.length, result]);
    }
    return { columns: ['vhost', 'name', 'size', 'result'], rows };
  }

  /**
   * rabbitmq-queues rebalance quorum: leadership moves from nodes leading more than their
   * share (⌈queues / running nodes⌉) to the member node leading fewest.
   */
  async rebalance(): Promise<Table> {
    const running = this.o.clusterMembers().filter((n) => n === this.o.nodeName || this.o.mesh.isUp(n));
    const queues = [...this.o.service.all()].filter((q) => !q.deleted);
    const leads = new Map<string, number>(running.map((n) => [n, 0]));
    for (const q of queues) if (leads.has(q.leaderNode)) leads.set(q.leaderNode, leads.get(q.leaderNode)! + 1);
    const share = Math.ceil(queues.length / Math.max(1, running.length));
    for (const q of queues) {
      const from = q.leaderNode;
      if ((leads.get(from) ?? 0) <= share) continue;
      const to = q.members.filter((m) => leads.has(m) && m !== from).sort((a, b) => leads.get(a)! - leads.get(b)!)[0];
      if (to === undefined || leads.get(to)! + 1 > share) continue;
      try {
        await this.atLeader(q, { op: 'transfer', group: q.def.quorumGroup!, node: to });
        leads.set(from, leads.get(from)! - 1);
        leads.set(to, leads.get(to)! + 1);
      } catch {
        // Left where it is; the next rebalance tries again.
      }
    }
    return { columns: ['Node name', 'Number of quorum queues'], rows: [...leads].map(([n, c]) => [n, c]) };
  }

  // ---- helpers ----

  private queue(vhost: string, name: string): QuorumQueue {
    const h = this.o.broker.vhost(vhost)?.queues.get(name);
    if (!h) throw new Error(`queue '${name}' in vhost '${vhost}' not found`);
    const q = h.def.quorumGroup !== undefined ? this.o.service.byGroup(h.def.quorumGroup) : undefined;
    if (!q) throw new Error(`queue '${name}' in vhost '${vhost}' is not a quorum queue (classic_queue_not_supported)`);
    return q;
  }

  private matching(vhostPattern: string, queuePattern: string): QuorumQueue[] {
    const v = new RegExp(vhostPattern);
    const n = new RegExp(queuePattern);
    return [...this.o.service.all()].filter((q) => !q.deleted && v.test(q.vhost) && n.test(q.name));
  }

  private async outcome(op: () => Promise<void>): Promise<string> {
    try {
      await op();
      return 'ok';
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  }

  private localStatus(q: QuorumQueue): QuorumMemberStatus {
    const s = this.o.service.status(q);
    if (!s) throw new Error('no member here');
    return s;
  }

  private async atLeader(q: QuorumQueue, req: Request): Promise<void> {
    await q.counts().catch(() => undefined); // waits (bounded) until a leader is known
    const leader = q.leaderNode;
    if (leader === '') throw new Error(`quorum queue '${q.name}' in vhost '${q.vhost}' has no leader now`);
    const reply = leader === this.o.nodeName ? await this.answer(req) : await this.o.mesh.request(leader, CHANNEL, json(req), TIMEOUT_MS);
    const r = JSON.parse(Buffer.from(reply).toString('utf8')) as { error?: string };
    if (r.error) throw new Error(r.error);
  }

  private async answer(req: Request): Promise<Buffer> {
    try {
      const q = this.o.service.byGroup(req.group);
      if (!q) throw new Error('no such quorum queue here');
      if (req.op === 'status') return json(this.localStatus(q));
      const raft = q.group?.raft;
      if (!raft || raft.state() !== 'leader') throw new Error('not the leader');
      if (req.op === 'add') await raft.addVoter(req.node, '');
      else if (req.op === 'remove') await raft.removeServer(req.node);
      else await q.group!.handOver(req.node);
      return json({});
    } catch (err) {
      return json({ error: (err as Error).message });
    }
  }
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}
