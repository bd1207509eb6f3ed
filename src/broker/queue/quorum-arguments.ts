/**
 * What RabbitMQ 4.x accepts and refuses when a quorum queue is declared, and the settings
 * only quorum queues have (delivery limit). Texts and codes as RabbitMQ's (406
 * PRECONDITION_FAILED), so clients see the same errors.
 */
import { fieldType, INTEGER_FIELD_TYPES, type FieldTable, type FieldValue } from '../../protocol/field-table';
import { PreconditionFailed } from '../errors';

/** Arguments RabbitMQ knows but refuses for quorum queues. */
const REFUSED = new Set([
  'x-max-priority', 'x-queue-mode', 'x-queue-version', 'x-queue-master-locator', 'x-max-age',
  'x-stream-max-segment-size-bytes', 'x-stream-filter-size-bytes', 'x-initial-cluster-size',
]);
const DEFAULT_DELIVERY_LIMIT = 20;
export const DEFAULT_QUORUM_GROUP_SIZE = 3;

export function isQuorum(args: FieldTable): boolean {
  return args['x-queue-type'] === 'quorum';
}

/** Checks the x-arguments specific to quorum queues (the common ones are checked by validateQueueArguments). */
export function validateQuorumArguments(args: FieldTable, where: string): void {
  for (const key of Object.keys(args)) {
    if (REFUSED.has(key)) throw new PreconditionFailed(`invalid arg '${key}' ${where} of queue type rabbit_quorum_queue`);
  }
  if ('x-quorum-initial-group-size' in args) {
    const v = args['x-quorum-initial-group-size'];
    if (!INTEGER_FIELD_TYPES.has(fieldType(args, 'x-quorum-initial-group-size'))) {
      throw new PreconditionFailed(`invalid arg 'x-quorum-initial-group-size' ${where}: "expected integer, got ${typeof v === 'string' ? 'longstr' : typeof v}"`);
    }
    const n = Number(v);
    if (n < 0) throw new PreconditionFailed(`invalid arg 'x-quorum-initial-group-size' ${where}: {value_negative,${n}}`);
    if (n === 0) throw new PreconditionFailed(`invalid arg 'x-quorum-initial-group-size' ${where}: {value_zero,${n}}`);
  }
  const strategy = args['x-dead-letter-strategy'];
  if (strategy !== undefined && strategy !== 'at-most-once' && strategy !== 'at-least-once') {
    throw new PreconditionFailed(`invalid arg 'x-dead-letter-strategy' ${where}: invalid_dlx_strategy`);
  }
}

/** The declare's properties RabbitMQ refuses for a quorum queue, checked after the arguments. */
export function validateQuorumProperties(p: { serverNamed: boolean; durable: boolean; exclusive: boolean; autoDelete: boolean }, queue: string, vhost: string): void {
  if (p.serverNamed) throw new PreconditionFailed('Cannot declare a server-named queue for type rabbit_quorum_queue');
  const q = `queue '${queue}' in vhost '${vhost}'`;
  if (p.autoDelete) throw new PreconditionFailed(`invalid property 'auto-delete' for ${q}`);
  if (p.exclusive) throw new PreconditionFailed(`invalid property 'exclusive-owner' for ${q}`);
  if (!p.durable) throw new PreconditionFailed(`invalid property 'non-durable' for ${q}`);
}

function int(v: FieldValue | unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

/**
 * Failed deliveries after which a message is dropped or dead-lettered: x-delivery-limit and
 * the delivery-limit policy key, the smaller winning, except that a negative value
 * (unlimited) wins only when both say so; default 20. Infinity for no limit.
 */
export function deliveryLimitOf(args: FieldTable, policy: Record<string, unknown> | undefined): number {
  const a = int(args['x-delivery-limit']);
  const p = int(policy?.['delivery-limit']);
  let limit: number;
  if (a === undefined && p === undefined) limit = DEFAULT_DELIVERY_LIMIT;
  else if (a === undefined || p === undefined) limit = (a ?? p)!;
  else if (a < 0 || p < 0) limit = Math.max(a, p);
  else limit = Math.min(a, p);
  return limit < 0 ? Infinity : limit;
}

/** Members a new quorum queue gets: x-quorum-initial-group-size, default 3. */
export function initialGroupSize(args: FieldTable): number {
  return int(args['x-quorum-initial-group-size']) ?? DEFAULT_QUORUM_GROUP_SIZE;
}

/**
 * The size membership reconciliation grows a queue to: the largest of x-quorum-target-group-size,
 * the target-group-size policy key and the node's setting (`configured`); 0 when none is set.
 * RabbitMQ does not validate the argument: a value that is not a positive integer counts as unset.
 */
export function targetGroupSize(args: FieldTable, policy: Record<string, unknown> | undefined, configured: number): number {
  const a = int(args['x-quorum-target-group-size']) ?? 0;
  const p = int(policy?.['target-group-size']) ?? 0;
  return Math.max(a, p, configured, 0);
}
