/**
 * RabbitMQ's internal authorisation backend: configure / write / read regular expressions
 * per (user, vhost), and topic permissions per (user, vhost, exchange). A pattern is an
 * unanchored search in the resource name, as Erlang's `re:run`; the empty pattern means `^$`;
 * a pattern that does not compile denies. Refusals are AccessRefused with RabbitMQ's texts.
 */
import type { Broker } from '../broker/broker';
import { AccessRefused } from '../broker/errors';

export type Permission = 'configure' | 'write' | 'read';
export type ResourceKind = 'queue' | 'exchange';

/** Longest pattern accepted when set (RabbitMQ 4.2.x/4.3.x). */
export const MAX_PATTERN_BYTES = 1024;

const compiled = new Map<string, RegExp | null>();
const COMPILED_LIMIT = 10_000;

/** The pattern compiled once; null when it is not a valid expression. */
export function compilePattern(pattern: string): RegExp | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern === '' ? '^$' : pattern);
    } catch {
      re = null;
    }
    if (compiled.size >= COMPILED_LIMIT) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** Why a pattern cannot be stored, or undefined when it can. */
export function patternError(pattern: string): string | undefined {
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) return `pattern is longer than ${MAX_PATTERN_BYTES} bytes`;
  return compilePattern(pattern) === null ? `invalid regular expression '${pattern}'` : undefined;
}

export function patternMatches(pattern: string, name: string): boolean {
  const re = compilePattern(pattern);
  return re !== null && re.test(name);
}

/** The name a resource is checked and reported by: the default exchange is `amq.default`. */
export function resourceName(kind: ResourceKind, name: string): string {
  return kind === 'exchange' && name === '' ? 'amq.default' : name;
}

export function refusal(perm: Permission, kind: ResourceKind, name: string, vhost: string, user: string): InstanceType<typeof AccessRefused> {
  return new AccessRefused(`${perm} access to ${kind} '${resourceName(kind, name)}' in vhost '${vhost}' refused for user '${user}'`);
}

/** True when `user` holds `perm` on the resource. */
export function isPermitted(broker: Broker, user: string, vhost: string, perm: Permission, kind: ResourceKind, name: string): boolean {
  const record = broker.permission(user, vhost);
  return record !== undefined && patternMatches(record[perm], resourceName(kind, name));
}

/** Throws 403 ACCESS_REFUSED unless `user` holds `perm` on the resource. */
export function checkResource(broker: Broker, user: string, vhost: string, perm: Permission, kind: ResourceKind, name: string): void {
  if (!isPermitted(broker, user, vhost, perm, kind, name)) throw refusal(perm, kind, name, vhost, user);
}

/** A topic permission's pattern with RabbitMQ 4.2.4+'s variable expansion (values regex-escaped). */
export function expandTopicPattern(pattern: string, user: string, vhost: string): string {
  if (!pattern.includes('{')) return pattern;
  return pattern.split('{username}').join(escapeRegex(user)).split('{vhost}').join(escapeRegex(vhost));
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&');
}

/**
 * The compiled topic pattern `user` must satisfy for `perm` on a topic exchange, undefined
 * when no topic permission applies (topic permissions are opt-in), null when it cannot match.
 */
export function topicMatcher(broker: Broker, user: string, vhost: string, exchange: string, perm: 'write' | 'read'): RegExp | null | undefined {
  const record = broker.access.topicPermission(user, vhost, exchange);
  if (record === undefined) return undefined;
  return compilePattern(expandTopicPattern(record[perm], user, vhost));
}

export function topicRefusal(perm: 'write' | 'read', routingKey: string, exchange: string, vhost: string, user: string): InstanceType<typeof AccessRefused> {
  return new AccessRefused(`${perm} access to topic '${routingKey}' in exchange '${resourceName('exchange', exchange)}' in vhost '${vhost}' refused for user '${user}'`);
}

/** Throws 403 unless the routing key is allowed by the user's topic permission on the (topic) exchange. */
export function checkTopic(broker: Broker, user: string, vhost: string, exchange: string, perm: 'write' | 'read', routingKey: string): void {
  const re = topicMatcher(broker, user, vhost, exchange, perm);
  if (re === undefined) return;
  if (re === null || !re.test(routingKey)) throw topicRefusal(perm, routingKey, exchange, vhost, user);
}
