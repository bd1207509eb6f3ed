/**
 * Members of a new quorum queue, as RabbitMQ 4.x picks them: every cluster node when the
 * cluster has no more than x-quorum-initial-group-size (default 3) nodes; otherwise the
 * preferred leader plus the nodes holding the fewest quorum queue members, running nodes
 * first. Each incarnation of a queue gets a fresh Raft group id, so a queue deleted and
 * declared again never meets its predecessor's log.
 */
import { randomBytes } from 'node:crypto';
import type { Broker } from '../../src/broker/broker';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import { initialGroupSize } from '../../src/broker/queue/quorum-arguments';

export interface QuorumPlacementView {
  broker: Broker;
  /** Every member of the cluster, running or not. */
  allMembers(): string[];
  isRunning(node: string): boolean;
}

export function placeQuorum(view: QuorumPlacementView, def: QueueDefinition, leader: string): Pick<QueueDefinition, 'ownerNode' | 'members' | 'quorumGroup'> {
  const size = initialGroupSize(def.arguments);
  const all = [...new Set([leader, ...view.allMembers()])];
  let members: string[];
  if (all.length <= size) members = all;
  else {
    const replicas = replicaCounts(view.broker, all);
    const others = all
      .filter((n) => n !== leader)
      .sort((a, b) => Number(view.isRunning(b)) - Number(view.isRunning(a)) || replicas.get(a)! - replicas.get(b)! || (a < b ? -1 : 1));
    members = [leader, ...others.slice(0, size - 1)];
  }
  return { ownerNode: leader, members, quorumGroup: randomBytes(8).toString('hex') };
}

/** How many quorum queue members each of `nodes` holds (from the queues' definitions). */
export function replicaCounts(broker: Broker, nodes: string[]): Map<string, number> {
  const replicas = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const v of broker.vhosts.values()) {
    for (const q of v.queues.values()) for (const m of q.def.members ?? []) if (replicas.has(m)) replicas.set(m, replicas.get(m)! + 1);
  }
  return replicas;
}
