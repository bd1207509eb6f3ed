import { PreconditionFailed } from './errors';
import type { FieldTable } from '../protocol/field-table';

/** What a policy is matched against: an exchange, a classic queue or a quorum queue (apply-to classic_queues / quorum_queues). */
export type PolicyKind = 'queue' | 'quorum_queue' | 'exchange';

/** The policy kind of a queue with these arguments. */
export function queuePolicyKind(args: FieldTable): PolicyKind {
  return args['x-queue-type'] === 'quorum' ? 'quorum_queue' : 'queue';
}

export type PolicyTarget = 'all' | 'queues' | 'classic_queues' | 'quorum_queues' | 'streams' | 'exchanges';

export interface Policy {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: PolicyTarget;
  priority: number;
  definition: Record<string, unknown>;
}

const QUEUE_KEYS = new Set(['message-ttl', 'expires', 'max-length', 'max-length-bytes', 'overflow', 'dead-letter-exchange', 'dead-letter-routing-key', 'delivery-limit', 'queue-mode', 'queue-version', 'ha-mode', 'ha-params', 'ha-sync-mode', 'consumer-timeout', 'target-group-size', 'queue-leader-locator', 'queue-master-locator']);
const EXCHANGE_KEYS = new Set(['alternate-exchange', 'federation-upstream', 'federation-upstream-set']);

/** Checks a policy as RabbitMQ does before accepting it: a valid regex, known target and keys of the right types. */
export function validatePolicy(p: Policy): void {
  try {
    new RegExp(p.pattern);
  } catch {
    throw new PreconditionFailed(`invalid policy pattern '${p.pattern}'`);
  }
  if (!['all', 'queues', 'classic_queues', 'quorum_queues', 'streams', 'exchanges'].includes(p.applyTo)) {
    throw new PreconditionFailed(`invalid apply-to '${p.applyTo}'`);
  }
  if (!Number.isInteger(p.priority)) throw new PreconditionFailed(`invalid priority '${p.priority}'`);
  for (const [key, value] of Object.entries(p.definition)) {
    if (!QUEUE_KEYS.has(key) && !EXCHANGE_KEYS.has(key)) throw new PreconditionFailed(`unrecognised policy key '${key}'`);
    const wantsInteger = ['message-ttl', 'expires', 'max-length', 'max-length-bytes', 'delivery-limit', 'consumer-timeout', 'target-group-size'].includes(key);
    if (wantsInteger && (!Number.isInteger(value) || (value as number) < 0)) {
      throw new PreconditionFailed(`policy key '${key}' must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
    if (key === 'queue-leader-locator' && !['client-local', 'balanced'].includes(value as string)) {
      throw new PreconditionFailed(`policy key 'queue-leader-locator' must be client-local or balanced, got ${JSON.stringify(value)}`);
    }
    if (key === 'overflow' && !['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(value as string)) {
      throw new PreconditionFailed(`policy key 'overflow' must be drop-head, reject-publish or reject-publish-dlx, got ${JSON.stringify(value)}`);
    }
  }
}

/** The definition of the highest-priority policy matching an object, or undefined. */
export function matchingPolicy(policies: Iterable<Policy>, kind: PolicyKind, name: string): Policy | undefined {
  let best: Policy | undefined;
  const queueTarget = kind === 'quorum_queue' ? 'quorum_queues' : 'classic_queues';
  for (const p of policies) {
    const applies = kind === 'exchange' ? p.applyTo === 'all' || p.applyTo === 'exchanges' : p.applyTo === 'all' || p.applyTo === 'queues' || p.applyTo === queueTarget;
    if (!applies || !new RegExp(p.pattern).test(name)) continue;
    if (!best || p.priority > best.priority) best = p;
  }
  return best;
}
