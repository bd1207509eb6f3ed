import { fieldType, FIELD_TYPE_NAMES, INTEGER_FIELD_TYPES, type FieldTable, type FieldValue } from '../../protocol/field-table';
import { PreconditionFailed } from '../errors';
import { validateQuorumArguments } from './quorum-arguments';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** A queue's effective settings: its x-arguments, with policy values where arguments are silent. */
export interface QueueConfig {
  messageTtlMs: number | undefined;
  expiresMs: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  maxPriority: number | undefined;
  singleActiveConsumer: boolean;
}

const MAX_TTL_MS = 315_360_000_000;
const OVERFLOWS: Overflow[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
/** x-arguments a classic queue understands; other x- keys that belong to other queue types are refused. */
const CLASSIC_ARGS = new Set([
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
  'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode', 'x-queue-version',
  'x-single-active-consumer', 'x-queue-type', 'x-queue-master-locator', 'x-queue-leader-locator',
  'x-consumer-timeout',
]);
const OTHER_TYPES_ARGS = new Set([
  'x-dead-letter-strategy', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-quorum-initial-group-size',
  'x-member-placement-tag', 'x-delivery-limit', 'x-max-age', 'x-stream-max-segment-size-bytes',
  'x-stream-filter-size-bytes', 'x-initial-cluster-size',
]);

function describe(table: FieldTable, key: string): string {
  return FIELD_TYPE_NAMES[fieldType(table, key)] ?? 'unknown';
}

/**
 * Validates the x-arguments of queue.declare as RabbitMQ does; an invalid one is a 406
 * naming the argument, what was expected and what was received.
 */
export function validateQueueArguments(args: FieldTable, queue: string, vhost: string): void {
  const where = `for queue '${queue}' in vhost '${vhost}'`;
  const fail = (key: string, why: string): never => {
    throw new PreconditionFailed(`invalid arg '${key}' ${where}: ${why}`);
  };
  const integer = (key: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!(key in args)) return;
    const v = args[key];
    if (!INTEGER_FIELD_TYPES.has(fieldType(args, key))) fail(key, `{unacceptable_type,${describe(args, key)}} (expected an integer)`);
    const n = Number(v);
    if (n < min) fail(key, `{value_${min === 0 ? 'negative' : 'zero'},${n}} (expected an integer >= ${min})`);
    if (n > max) fail(key, `{value_too_large,${n},${max}}`);
  };
  const queueType = args['x-queue-type'];
  if (queueType !== undefined && queueType !== 'classic' && queueType !== 'quorum' && queueType !== 'stream') {
    fail('x-queue-type', `{unacceptable_type,${JSON.stringify(String(queueType))}} (expected classic, quorum or stream)`);
  }
  if (queueType === 'quorum') validateQuorumArguments(args, where);
  if (queueType === undefined || queueType === 'classic') {
    for (const key of Object.keys(args)) {
      if (OTHER_TYPES_ARGS.has(key) && !CLASSIC_ARGS.has(key)) {
        throw new PreconditionFailed(`invalid arg '${key}' ${where} of queue type rabbit_classic_queue`);
      }
    }
  }
  integer('x-message-ttl', 0, MAX_TTL_MS);
  integer('x-expires', 1, MAX_TTL_MS);
  integer('x-max-length', 0);
  integer('x-max-length-bytes', 0);
  integer('x-max-priority', 0, 255);
  integer('x-consumer-timeout', 0);
  for (const key of ['x-dead-letter-exchange', 'x-dead-letter-routing-key']) {
    if (key in args && typeof args[key] !== 'string') fail(key, `{unacceptable_type,${describe(args, key)}} (expected a string)`);
  }
  if ('x-dead-letter-routing-key' in args && !('x-dead-letter-exchange' in args)) {
    throw new PreconditionFailed(`invalid arg 'x-dead-letter-routing-key' ${where}: Key x-dead-letter-exchange not found in arguments`);
  }
  if ('x-overflow' in args && !OVERFLOWS.includes(args['x-overflow'] as Overflow)) {
    fail('x-overflow', `{unknown_overflow_value,${JSON.stringify(String(args['x-overflow']))}} (expected drop-head, reject-publish or reject-publish-dlx)`);
  }
  if ('x-queue-version' in args && args['x-queue-version'] !== 1 && args['x-queue-version'] !== 2) {
    fail('x-queue-version', `"unsupported queue version '${String(args['x-queue-version'])}'"`);
  }
  if ('x-queue-mode' in args && args['x-queue-mode'] !== 'default' && args['x-queue-mode'] !== 'lazy') {
    fail('x-queue-mode', `"unsupported queue mode '${String(args['x-queue-mode'])}'"`);
  }
  if ('x-single-active-consumer' in args && typeof args['x-single-active-consumer'] !== 'boolean') {
    fail('x-single-active-consumer', `{unacceptable_type,${describe(args, 'x-single-active-consumer')}} (expected a boolean)`);
  }
  for (const [key, allowed] of LOCATORS) {
    if (!(key in args)) continue;
    const value = str(args[key]);
    if (value === undefined) fail(key, `{unacceptable_type,${describe(args, key)}} (expected a string)`);
    else if (!allowed.includes(value)) fail(key, `{invalid_value,${JSON.stringify(value)}} (expected ${allowed.join(' or ')})`);
  }
}

/** Queue leader (home) locators and their values, as RabbitMQ 4.x and 3.x accept them. */
const LOCATORS: [string, string[]][] = [
  ['x-queue-leader-locator', ['client-local', 'balanced']],
  ['x-queue-master-locator', ['client-local', 'min-masters', 'random']],
];

function num(v: FieldValue | undefined): number | undefined {
  return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined;
}

function str(v: FieldValue | undefined): string | undefined {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
}

const lower = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/**
 * Combines arguments and a policy definition. Arguments win, except for the limits where
 * RabbitMQ applies the lower of the two (max-length, max-length-bytes, message-ttl, expires).
 */
export function effectiveQueueConfig(args: FieldTable, policy: Record<string, unknown> | undefined): QueueConfig {
  const p = (policy ?? {}) as Record<string, FieldValue>;
  const overflow = str(args['x-overflow']) ?? str(p['overflow']);
  return {
    messageTtlMs: lower(num(args['x-message-ttl']), num(p['message-ttl'])),
    expiresMs: lower(num(args['x-expires']), num(p['expires'])),
    maxLength: lower(num(args['x-max-length']), num(p['max-length'])),
    maxLengthBytes: lower(num(args['x-max-length-bytes']), num(p['max-length-bytes'])),
    overflow: OVERFLOWS.includes(overflow as Overflow) ? (overflow as Overflow) : 'drop-head',
    deadLetterExchange: str(args['x-dead-letter-exchange']) ?? str(p['dead-letter-exchange']),
    deadLetterRoutingKey: str(args['x-dead-letter-routing-key']) ?? str(p['dead-letter-routing-key']),
    maxPriority: num(args['x-max-priority']),
    singleActiveConsumer: args['x-single-active-consumer'] === true,
  };
}
