/**
 * RabbitMQ's definitions document: export of the broker model (users, vhosts, permissions,
 * policies, exchanges, queues, bindings) and import by merging, every change through the
 * MetadataStore. Used by GET/POST /api/definitions and warrenctl export/import_definitions.
 */
import type { Broker } from '../broker/broker';
import { isBuiltInExchange } from '../broker/definition-commands';
import { isExchangeType } from '../broker/exchange/exchange';
import type { MetadataStore } from '../broker/ports';
import { validatePolicy, type Policy, type PolicyTarget } from '../broker/policy';
import { validateQueueArguments } from '../broker/queue/queue-config';
import { USER_LIMIT_KEYS, VHOST_LIMIT_KEYS } from '../broker/access-model';
import { jsonToTable, tableToJson } from './json-values';
import { credentialsOf, userJson } from './user-json';

type Doc = Record<string, unknown>;
type Item = Record<string, unknown>;

/** An error in the document itself (400 for the API, a message for warrenctl). */
export class DefinitionsError extends Error {}

function policyJson(p: Policy, withVhost: boolean): Item {
  return { ...(withVhost ? { vhost: p.vhost } : {}), name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority };
}

/** The cluster-wide document, or one vhost's (no vhost keys) when `vhost` is given. */
export function exportDefinitions(broker: Broker, version: string, vhost?: string): Doc {
  const withVhost = vhost === undefined;
  const vhosts = [...broker.vhosts.values()].filter((v) => vhost === undefined || v.name === vhost);
  const tag = (o: Item, v: string): Item => (withVhost ? { ...o, vhost: v } : o);
  const doc: Doc = { rabbit_version: version, rabbitmq_version: version, product_name: 'Warren', product_version: version };
  if (withVhost) {
    doc.users = [...broker.users.values()].map((u) => userJson(u, broker.access.userLimits.get(u.name)));
    doc.vhosts = vhosts.map((v) => ({ name: v.name, limits: [], metadata: { description: v.name === '/' ? 'Default virtual host' : '', tags: [] } }));
    doc.permissions = [...broker.permissions.values()].map((p) => ({ ...p }));
    doc.topic_permissions = [...broker.access.topicPermissions.values()].map((p) => ({ user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read }));
    doc.global_parameters = [...broker.globalParameters].map(([name, value]) => ({ name, value }));
  }
  // As RabbitMQ: vhost limits are the runtime parameter vhost-limits/limits of each vhost.
  doc.parameters = vhosts.flatMap((v) => {
    const limits = broker.access.vhostLimits.get(v.name);
    return limits && Object.keys(limits).length > 0 ? [{ value: { ...limits }, ...(withVhost ? { vhost: v.name } : {}), component: 'vhost-limits', name: 'limits' }] : [];
  });
  doc.policies = vhosts.flatMap((v) => [...v.policies.values()].map((p) => policyJson(p, withVhost)));
  doc.queues = vhosts.flatMap((v) =>
    [...v.queues.values()]
      .filter((q) => !q.def.exclusive)
      .map((q) => tag({ name: q.name, durable: q.def.durable, auto_delete: q.def.autoDelete, arguments: tableToJson(q.def.arguments) }, v.name)),
  );
  doc.exchanges = vhosts.flatMap((v) =>
    [...v.exchanges.values()]
      .filter((e) => !isBuiltInExchange(e.name))
      .map((e) => tag({ name: e.name, type: e.def.type, durable: e.def.durable, auto_delete: e.def.autoDelete, internal: e.def.internal, arguments: tableToJson(e.def.arguments) }, v.name)),
  );
  doc.bindings = vhosts.flatMap((v) =>
    [...v.exchanges.values()].flatMap((e) =>
      [...e.allBindings()]
        .filter((b) => b.destinationKind === 'exchange' || !v.queues.get(b.destination)?.def.exclusive)
        .map((b) => tag({ source: b.source, destination: b.destination, destination_type: b.destinationKind, routing_key: b.routingKey, arguments: tableToJson(b.args) }, v.name)),
    ),
  );
  return doc;
}

function list(doc: Doc, key: string): Item[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) throw new DefinitionsError(`'${key}' must be a list of objects`);
  return v as Item[];
}

function str(item: Item, key: string, what: string, fallback?: string): string {
  const v = item[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new DefinitionsError(`${what} lacks '${key}'`);
  }
  if (typeof v !== 'string') throw new DefinitionsError(`${what}: '${key}' must be a string`);
  return v;
}

function bool(item: Item, key: string, fallback: boolean): boolean {
  const v = item[key];
  return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : fallback;
}

function tags(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((t): t is string => typeof t === 'string' && t !== '');
  if (typeof v === 'string') return v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  return [];
}

/**
 * Merges a definitions document into the broker, in RabbitMQ's order. Existing queues,
 * exchanges and bindings are left as they are; users, permissions and policies are
 * overwritten. With `vhost`, the document is of one vhost and is imported into it.
 * Throws DefinitionsError for a malformed document (before changing anything it can check).
 */
export async function importDefinitions(broker: Broker, metadata: MetadataStore, raw: unknown, vhost?: string): Promise<void> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DefinitionsError('definitions must be a JSON object');
  const doc = raw as Doc;
  const vhostOf = (item: Item, what: string) => vhost ?? str(item, 'vhost', what);
  const users = vhost ? [] : list(doc, 'users');
  const vhosts = vhost ? [] : list(doc, 'vhosts');
  const permissions = vhost ? [] : list(doc, 'permissions');
  const topicPermissions = vhost ? [] : list(doc, 'topic_permissions');
  const globalParameters = vhost ? [] : list(doc, 'global_parameters');
  const parameters = list(doc, 'parameters');
  const policies = list(doc, 'policies');
  const queues = list(doc, 'queues');
  const exchanges = list(doc, 'exchanges');
  const bindings = list(doc, 'bindings');
  if (!vhost) for (const [key, items] of [['queues', queues], ['exchanges', exchanges], ['bindings', bindings]] as const) for (const i of items) if (typeof i.vhost !== 'string') throw new DefinitionsError(`${key}: an object without 'vhost' (orphaned object) was found`);
  for (const u of users) {
    const name = str(u, 'name', 'a user');
    if (u.tags === undefined && u.administrator === undefined) throw new DefinitionsError(`user '${name}' lacks 'tags'`);
    try {
      credentialsOf(u, undefined);
    } catch (err) {
      throw new DefinitionsError(`user '${name}': ${(err as Error).message}`);
    }
    limitsOf(u.limits, USER_LIMIT_KEYS, `user '${name}'`);
  }
  for (const p of parameters) if (p.component === 'vhost-limits') limitsOf(p.value, VHOST_LIMIT_KEYS, `vhost-limits of '${vhostOf(p, 'a parameter')}'`);
  if (vhost !== undefined && !broker.vhosts.has(vhost)) throw new DefinitionsError(`vhost '${vhost}' does not exist`);

  for (const u of users) {
    const name = str(u, 'name', 'a user');
    const userTags = u.tags !== undefined ? tags(u.tags) : u.administrator === true || u.administrator === 'true' ? ['administrator'] : [];
    await metadata.apply({ op: 'user.put', user: { name, ...credentialsOf(u, undefined), tags: userTags } });
    const limits = limitsOf(u.limits, USER_LIMIT_KEYS, `user '${name}'`);
    if (limits) await metadata.apply({ op: 'user-limits.set', user: name, limits });
  }
  for (const g of globalParameters) {
    const name = str(g, 'name', 'a global parameter');
    // RabbitMQ's internal cluster id names the cluster it was exported from, not this one.
    if (name !== 'internal_cluster_id' && g.value !== undefined) await metadata.apply({ op: 'global-parameter.set', name, value: g.value });
  }
  for (const v of vhosts) {
    const name = str(v, 'name', 'a vhost');
    if (!broker.vhosts.has(name)) await metadata.apply({ op: 'vhost.add', vhost: name });
  }
  for (const p of permissions) {
    const user = str(p, 'user', 'a permission');
    const v = str(p, 'vhost', 'a permission');
    await metadata.apply({ op: 'permission.set', permission: { user, vhost: v, configure: str(p, 'configure', 'a permission', ''), write: str(p, 'write', 'a permission', ''), read: str(p, 'read', 'a permission', '') } });
  }
  for (const p of topicPermissions) {
    const what = 'a topic permission';
    await metadata.apply({ op: 'topic-permission.set', permission: { user: str(p, 'user', what), vhost: str(p, 'vhost', what), exchange: str(p, 'exchange', what, ''), write: str(p, 'write', what, ''), read: str(p, 'read', what, '') } });
  }
  for (const p of parameters) {
    const limits = p.component === 'vhost-limits' ? limitsOf(p.value, VHOST_LIMIT_KEYS, 'vhost-limits') : undefined;
    if (limits) await metadata.apply({ op: 'vhost-limits.set', vhost: vhostOf(p, 'a parameter'), limits });
  }
  for (const e of exchanges) {
    const name = str(e, 'name', 'an exchange');
    const v = vhostOf(e, `exchange '${name}'`);
    if (isBuiltInExchange(name) || broker.vhost(v)?.exchanges.has(name)) continue;
    const type = str(e, 'type', `exchange '${name}'`);
    if (!isExchangeType(type)) throw new DefinitionsError(`exchange '${name}': unsupported type '${type}'`);
    await metadata.apply({ op: 'exchange.declare', vhost: v, exchange: { name, type, durable: bool(e, 'durable', true), autoDelete: bool(e, 'auto_delete', false), internal: bool(e, 'internal', false), arguments: jsonToTable(e.arguments) } });
  }
  for (const p of policies) {
    const name = str(p, 'name', 'a policy');
    const definition = p.definition;
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw new DefinitionsError(`policy '${name}': 'definition' must be an object`);
    const policy: Policy = { vhost: vhostOf(p, `policy '${name}'`), name, pattern: str(p, 'pattern', `policy '${name}'`), applyTo: str(p, 'apply-to', `policy '${name}'`, 'all') as PolicyTarget, priority: Number(p.priority ?? 0), definition: definition as Record<string, unknown> };
    try {
      validatePolicy(policy);
    } catch (err) {
      throw new DefinitionsError(`policy '${name}': ${(err as Error).message}`);
    }
    await metadata.apply({ op: 'policy.set', policy });
  }
  for (const q of queues) {
    const name = str(q, 'name', 'a queue');
    const v = vhostOf(q, `queue '${name}'`);
    if (name.startsWith('amq.') || broker.vhost(v)?.queues.has(name)) continue;
    const args = jsonToTable(q.arguments);
    validateQueueArguments(args, name, v);
    await metadata.apply({ op: 'queue.declare', vhost: v, queue: { name, durable: bool(q, 'durable', true), exclusive: false, autoDelete: bool(q, 'auto_delete', false), arguments: args } });
  }
  for (const b of bindings) {
    const source = str(b, 'source', 'a binding');
    const destination = str(b, 'destination', 'a binding');
    const kind = str(b, 'destination_type', 'a binding', 'queue');
    if (kind !== 'queue' && kind !== 'exchange') throw new DefinitionsError(`binding ${source} -> ${destination}: destination_type must be 'queue' or 'exchange'`);
    if (source === '') continue;
    await metadata.apply({ op: 'binding.add', vhost: vhostOf(b, 'a binding'), binding: { source, destination, destinationKind: kind, routingKey: str(b, 'routing_key', 'a binding', ''), args: jsonToTable(b.arguments) } });
  }
}

/** Limits `{name: integer}` of the known names; undefined when absent or empty; DefinitionsError otherwise. */
function limitsOf(v: unknown, keys: readonly string[], what: string): Record<string, number> | undefined {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new DefinitionsError(`${what}: limits must be an object`);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) {
    if (!keys.includes(k)) throw new DefinitionsError(`${what}: unknown limit '${k}'`);
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new DefinitionsError(`${what}: limit ${k} must be an integer`);
    out[k] = n;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
