/**
 * The queue leader locator, as RabbitMQ 4.x: `client-local` (default) homes a queue on the
 * node of the declaring connection; `balanced` on the running member with the fewest
 * queues (ties go to the declaring node). Exclusive queues are always client-local: they
 * belong to their connection. Set by the `x-queue-leader-locator` argument or the
 * `queue-leader-locator` policy key (the argument wins); RabbitMQ 3.x's
 * `x-queue-master-locator: min-masters` counts as balanced.
 */
import type { Broker } from '../../src/broker/broker';
import { matchingPolicy, queuePolicyKind } from '../../src/broker/policy';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';

export interface PlacementView {
  self: string;
  broker: Broker;
  /** Cluster members that are running (this node included). */
  runningMembers(): string[];
}

export function placeQueue(view: PlacementView, vhost: string, def: QueueDefinition): string {
  if (def.exclusive || locatorOf(view.broker, vhost, def) !== 'balanced') return view.self;
  const counts = new Map<string, number>();
  for (const m of view.runningMembers()) counts.set(m, 0);
  if (!counts.has(view.self)) counts.set(view.self, 0);
  for (const v of view.broker.vhosts.values()) {
    for (const q of v.queues.values()) {
      const home = q.def.ownerNode;
      if (home !== undefined && counts.has(home)) counts.set(home, counts.get(home)! + 1);
    }
  }
  let best = view.self;
  let fewest = counts.get(view.self)!;
  for (const [node, n] of counts) {
    if (n < fewest) {
      best = node;
      fewest = n;
    }
  }
  return best;
}

function locatorOf(broker: Broker, vhost: string, def: QueueDefinition): string {
  const arg = def.arguments['x-queue-leader-locator'] ?? def.arguments['x-queue-master-locator'];
  const value = arg !== undefined ? String(arg) : policyLocator(broker, vhost, def);
  return value === 'balanced' || value === 'min-masters' ? 'balanced' : 'client-local';
}

function policyLocator(broker: Broker, vhost: string, def: QueueDefinition): string | undefined {
  const v = broker.vhost(vhost);
  if (!v) return undefined;
  const policy = matchingPolicy(v.policies.values(), queuePolicyKind(def.arguments), def.name);
  const value = policy?.definition['queue-leader-locator'] ?? policy?.definition['queue-master-locator'];
  return value === undefined ? undefined : String(value);
}
