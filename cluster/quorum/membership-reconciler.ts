/**
 * Continuous membership reconciliation (RabbitMQ 3.13+): each node looks at the quorum
 * queues it leads and grows those below their target size, x-quorum-target-group-size /
 * the target-group-size policy key / the node's setting, the largest winning. One member
 * per queue per round, on the running non-member node holding the fewest quorum queue
 * members, and only when every member is running and the size moves toward an odd one
 * (from an odd size, two spare nodes are needed, so the next round can make it odd again).
 * Leaders never move and a failed member is not replaced. With `autoRemove`
 * (quorum_queue.continuous_membership_reconciliation.auto_remove, off by default as in
 * RabbitMQ), a queue with members on nodes that are no longer cluster members (up or down)
 * has those members removed instead of being grown that round, as RabbitMQ's reconciler does.
 *
 * Rounds run every `intervalMs`, sooner (`triggerMs` later) after a node comes up or goes
 * down, a queue gets a leader (it was created, or failed over) or a policy changes, and
 * again `triggerMs` after a round that added members, until nothing is left to do.
 */
import type { Mesh } from '../mesh';
import type { Broker } from '../../src/broker/broker';
import type { Logger } from '../../src/log/logger';
import { targetGroupSize } from '../../src/broker/queue/quorum-arguments';
import type { QuorumQueue } from './quorum-queue';
import { replicaCounts } from './quorum-placement';

export interface ReconcilerOptions {
  nodeName: string;
  mesh: Mesh;
  broker: Broker;
  log: Logger;
  /** Quorum queues of this node. */
  queues(): Iterable<QuorumQueue>;
  /** Every node of the cluster. */
  clusterMembers(): string[];
  /** Adds `node` as a member of the queue (the definition and the Raft configuration). */
  addMember(vhost: string, name: string, node: string): Promise<void>;
  /** Removes `node`'s member of the queue (the Raft configuration and the definition). */
  deleteMember(vhost: string, name: string, node: string): Promise<void>;
  /** Remove members on nodes that left the cluster. */
  autoRemove: boolean;
  /** The node's own target (0 = none). */
  targetGroupSize: number;
  intervalMs: number;
  triggerMs: number;
}

export class MembershipReconciler {
  private timer: NodeJS.Timeout | undefined;
  private dueAtMs = Infinity;
  private running = false;
  private stopped = false;

  constructor(private readonly o: ReconcilerOptions) {
    this.schedule(o.intervalMs);
  }

  /** Something changed: a round `triggerMs` from now, unless one is due sooner. */
  trigger(): void {
    this.schedule(this.o.triggerMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(inMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + inMs;
    if (this.timer !== undefined && at >= this.dueAtMs) return;
    clearTimeout(this.timer);
    this.dueAtMs = at;
    this.timer = setTimeout(() => void this.round(), inMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    this.timer = undefined;
    this.dueAtMs = Infinity;
    if (this.running || this.stopped) return;
    this.running = true;
    let grown = 0;
    try {
      for (const q of [...this.o.queues()]) {
        if (this.stopped) return;
        const gone = this.danglingMembers(q);
        if (gone.length > 0) {
          grown += await this.removeMembers(q, gone);
          continue;
        }
        const node = this.nextMember(q);
        if (node === undefined) continue;
        try {
          await this.o.addMember(q.vhost, q.name, node);
          grown++;
          this.o.log.info({ queue: q.name, vhost: q.vhost, node, members: q.members.length }, 'quorum queue grown towards its target group size');
        } catch (err) {
          this.o.log.warn({ err, queue: q.name, vhost: q.vhost, node }, 'quorum queue member could not be added towards its target group size');
        }
      }
    } finally {
      this.running = false;
      this.schedule(grown > 0 ? this.o.triggerMs : this.o.intervalMs);
    }
  }

  /** With auto_remove: members of `q` (which this node leads) on nodes no longer in the cluster. */
  private danglingMembers(q: QuorumQueue): string[] {
    if (!this.o.autoRemove || !q.leading || q.deleted) return [];
    const cluster = new Set(this.o.clusterMembers());
    return q.members.filter((n) => !cluster.has(n));
  }

  /** Removes `nodes`' members of `q`; returns how many went. */
  private async removeMembers(q: QuorumQueue, nodes: string[]): Promise<number> {
    let removed = 0;
    for (const node of nodes) {
      try {
        await this.o.deleteMember(q.vhost, q.name, node);
        removed++;
        this.o.log.info({ queue: q.name, vhost: q.vhost, node, members: q.members.length }, 'quorum queue member on a node that left the cluster removed');
      } catch (err) {
        this.o.log.warn({ err, queue: q.name, vhost: q.vhost, node }, 'quorum queue member on a node that left the cluster could not be removed');
      }
    }
    return removed;
  }

  /** The node to add to `q` this round, if it should grow. */
  private nextMember(q: QuorumQueue): string | undefined {
    if (!q.leading || q.deleted) return undefined;
    const members = q.members;
    const target = targetGroupSize(q.def.arguments, q.policyDefinition, this.o.targetGroupSize);
    if (members.length >= target) return undefined;
    const running = (n: string) => n === this.o.nodeName || this.o.mesh.isUp(n);
    if (!members.every(running)) return undefined;
    const spare = this.o.clusterMembers().filter((n) => running(n) && !members.includes(n));
    if (spare.length === 0 || (members.length % 2 === 1 && spare.length < 2)) return undefined;
    const replicas = replicaCounts(this.o.broker, spare);
    return spare.sort((a, b) => replicas.get(a)! - replicas.get(b)! || (a < b ? -1 : 1))[0];
  }
}
