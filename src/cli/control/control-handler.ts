/**
 * The node side of warrenctl's local commands. Every change goes through the node's
 * MetadataStore (so it is logged on a single node and replicated through Raft in a
 * cluster); reads come from the local broker model. A request that cannot be done is a
 * reply `{ok: false, error}` with a sentence in rabbitmqctl's spirit; nothing a client
 * sends can throw out of handle().
 */
import { hashPassword } from '../../auth/password';
import { patternError } from '../../auth/permissions';
import { LimitsError, parseLimits } from './limits-request';
import { AmqpError } from '../../broker/errors';
import type { MetadataStore } from '../../broker/ports';
import { validatePolicy, type Policy, type PolicyTarget } from '../../broker/policy';
import type { ResourceAlarms } from '../../broker/alarms';
import type { ClusterStatus } from '../../../cluster/node/control-protocol';
import { listTable } from './control-lists';
import type { ControlContext, QuorumOperations } from './control-context';

export type { ControlContext, QuorumOperations };
import type { CtlReply, CtlRequest, CtlTable } from './control-protocol';
import { nodeStatus, warrenVersion } from './node-status';
import { DefinitionsError, exportDefinitions, importDefinitions } from '../../mgmt/definitions-json';



/** Keys whose policy values must be strings (the broker checks the numeric ones). */
const STRING_POLICY_KEYS = ['dead-letter-exchange', 'dead-letter-routing-key', 'alternate-exchange', 'overflow', 'queue-mode', 'ha-mode', 'ha-sync-mode'];

class CtlError extends Error {}

/** Answers one request (already JSON-decoded, not yet trusted). */
export async function handleControlRequest(ctx: ControlContext, raw: unknown): Promise<CtlReply> {
  try {
    if (raw === null || typeof raw !== 'object' || typeof (raw as { op?: unknown }).op !== 'string') throw new CtlError('malformed request');
    const req = raw as CtlRequest;
    if (req.node !== undefined && req.node !== ctx.nodeName) {
      throw new CtlError(`the control socket in ${ctx.dataDir} belongs to node ${ctx.nodeName}, not ${req.node}`);
    }
    return await dispatch(ctx, req);
  } catch (err) {
    if (err instanceof CtlError || err instanceof AmqpError || err instanceof LimitsError) return { ok: false, error: err.message };
    return { ok: false, error: `internal error: ${(err as Error)?.message ?? String(err)}` };
  }
}

async function dispatch(ctx: ControlContext, req: CtlRequest): Promise<CtlReply> {
  const { broker, metadata } = ctx;
  switch (req.op) {
    case 'status':
      return { ok: true, status: await nodeStatus(ctx) };
    case 'quorum_status':
    case 'add_member':
    case 'delete_member':
    case 'grow':
    case 'shrink':
    case 'rebalance':
      return quorumOperation(ctx, req);
    case 'cluster_status':
      return { ok: true, cluster: ctx.clusterStatus ? ctx.clusterStatus() : singleNodeStatus(ctx.nodeName) };
    case 'list':
      try {
        return { ok: true, table: await listTable(ctx, req.kind, str(req.vhost, 'vhost'), req.user, strings(req.columns ?? [], 'columns')) };
      } catch (err) {
        throw new CtlError((err as Error).message);
      }
    case 'add_vhost': {
      const vhost = nonEmpty(req.vhost, 'virtual host name');
      if (broker.vhosts.has(vhost)) throw new CtlError(`Virtual host '${vhost}' already exists`);
      await metadata.apply({ op: 'vhost.add', vhost });
      return { ok: true };
    }
    case 'delete_vhost': {
      const vhost = str(req.vhost, 'virtual host name');
      requireVhost(ctx, vhost);
      await metadata.apply({ op: 'vhost.delete', vhost });
      return { ok: true };
    }
    case 'add_user': {
      const user = nonEmpty(req.user, 'user name');
      const password = nonEmpty(req.password, 'password');
      if (broker.users.has(user)) throw new CtlError(`User '${user}' already exists`);
      await metadata.apply({ op: 'user.put', user: { name: user, passwordHash: hashPassword(password), tags: [] } });
      return { ok: true };
    }
    case 'delete_user': {
      const user = requireUser(ctx, req.user);
      await metadata.apply({ op: 'user.delete', name: user.name });
      return { ok: true };
    }
    case 'change_password': {
      const user = requireUser(ctx, req.user);
      const password = nonEmpty(req.password, 'password');
      await metadata.apply({ op: 'user.put', user: { name: user.name, tags: user.tags, passwordHash: hashPassword(password) } });
      return { ok: true };
    }
    case 'set_user_tags': {
      const user = requireUser(ctx, req.user);
      const tags = strings(req.tags, 'tags').filter((t) => t !== '');
      await metadata.apply({ op: 'user.put', user: { ...user, tags } });
      return { ok: true };
    }
    case 'set_permissions': {
      const user = requireUser(ctx, req.user);
      const vhost = requireVhost(ctx, req.vhost);
      const [configure, write, read] = [req.configure, req.write, req.read].map((p, i) => regex(p, ['configure', 'write', 'read'][i]));
      await metadata.apply({ op: 'permission.set', permission: { user: user.name, vhost, configure, write, read } });
      return { ok: true };
    }
    case 'clear_permissions': {
      const user = requireUser(ctx, req.user);
      const vhost = requireVhost(ctx, req.vhost);
      await metadata.apply({ op: 'permission.clear', user: user.name, vhost });
      return { ok: true };
    }
    case 'set_topic_permissions': {
      const user = requireUser(ctx, req.user);
      const vhost = requireVhost(ctx, req.vhost);
      const exchange = str(req.exchange, 'exchange');
      if (!broker.vhost(vhost)!.exchanges.has(exchange)) throw new CtlError(`Exchange '${exchange}' in vhost '${vhost}' does not exist`);
      const [write, read] = [req.write, req.read].map((p, i) => regex(p, ['write', 'read'][i]));
      await metadata.apply({ op: 'topic-permission.set', permission: { user: user.name, vhost, exchange, write, read } });
      return { ok: true };
    }
    case 'clear_topic_permissions': {
      const user = requireUser(ctx, req.user);
      const vhost = requireVhost(ctx, req.vhost);
      const exchange = req.exchange === undefined ? undefined : str(req.exchange, 'exchange');
      await metadata.apply({ op: 'topic-permission.clear', user: user.name, vhost, exchange });
      return { ok: true };
    }
    case 'set_vhost_limits': {
      const vhost = requireVhost(ctx, req.vhost);
      await metadata.apply({ op: 'vhost-limits.set', vhost, limits: parseLimits(str(req.definition, 'definition'), 'vhost') });
      return { ok: true };
    }
    case 'clear_vhost_limits': {
      const vhost = requireVhost(ctx, req.vhost);
      await metadata.apply({ op: 'vhost-limits.set', vhost, limits: {} });
      return { ok: true };
    }
    case 'set_user_limits': {
      const user = requireUser(ctx, req.user);
      // set_user_limits merges into the limits the user has.
      const limits = { ...broker.access.userLimits.get(user.name), ...parseLimits(str(req.definition, 'definition'), 'user') };
      await metadata.apply({ op: 'user-limits.set', user: user.name, limits });
      return { ok: true };
    }
    case 'clear_user_limits': {
      const user = requireUser(ctx, req.user);
      const which = str(req.limit, 'limit');
      if (!['all', 'max-connections', 'max-channels'].includes(which)) throw new CtlError(`limit must be max-connections, max-channels or all, got '${which}'`);
      const limits: Record<string, number> = which === 'all' ? {} : { ...broker.access.userLimits.get(user.name) };
      delete limits[which];
      await metadata.apply({ op: 'user-limits.set', user: user.name, limits });
      return { ok: true };
    }
    case 'purge_queue': {
      const vhost = broker.vhost(requireVhost(ctx, req.vhost))!;
      const queue = vhost.queues.get(str(req.queue, 'queue name'));
      if (!queue) throw new CtlError(`Queue '${req.queue}' in vhost '${vhost.name}' does not exist`);
      // Not a definition change: the messages are the owner's, as with AMQP's queue.purge.
      return { ok: true, message: `purged ${queue.purge()} messages` };
    }
    case 'delete_queue': {
      const vhost = requireVhost(ctx, req.vhost);
      const name = str(req.queue, 'queue name');
      if (!broker.vhost(vhost)!.queues.has(name)) throw new CtlError(`Queue '${name}' in vhost '${vhost}' does not exist`);
      const result = await metadata.apply({ op: 'queue.delete', vhost, name, ifUnused: req.ifUnused === true, ifEmpty: req.ifEmpty === true });
      return { ok: true, message: `Queue was successfully deleted with ${result.messageCount ?? 0} ready messages` };
    }
    case 'set_policy': {
      const policy = parsePolicy(ctx, req);
      await metadata.apply({ op: 'policy.set', policy });
      return { ok: true };
    }
    case 'clear_policy': {
      const vhost = requireVhost(ctx, req.vhost);
      const name = str(req.name, 'policy name');
      if (!broker.vhost(vhost)!.policies.has(name)) throw new CtlError(`Policy '${name}' in vhost '${vhost}' does not exist`);
      await metadata.apply({ op: 'policy.delete', vhost, name });
      return { ok: true };
    }
    case 'export_definitions':
      return { ok: true, definitions: exportDefinitions(broker, warrenVersion()) };
    case 'import_definitions':
      try {
        await importDefinitions(broker, metadata, req.definitions);
      } catch (err) {
        if (err instanceof DefinitionsError) throw new CtlError(err.message);
        throw err;
      }
      return { ok: true };
    default:
      throw new CtlError(`unknown request '${String((req as { op: unknown }).op)}'`);
  }
}

function parsePolicy(ctx: ControlContext, req: Extract<CtlRequest, { op: 'set_policy' }>): Policy {
  const vhost = requireVhost(ctx, req.vhost);
  const name = nonEmpty(req.name, 'policy name');
  const pattern = regex(req.pattern, 'pattern');
  let definition: unknown;
  try {
    definition = JSON.parse(str(req.definition, 'definition'));
  } catch (err) {
    throw new CtlError(`Validation failed\n\ndefinition is not valid JSON: ${(err as Error).message}`);
  }
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw new CtlError('Validation failed\n\ndefinition must be a JSON object, e.g. {"max-length": 1000}');
  }
  if (Object.keys(definition).length === 0) throw new CtlError('Validation failed\n\ndefinition must not be empty');
  for (const key of STRING_POLICY_KEYS) {
    const v = (definition as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'string') throw new CtlError(`Validation failed\n\n${key} must be a string, got ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(req.priority)) throw new CtlError(`priority must be an integer, got ${JSON.stringify(req.priority)}`);
  const policy: Policy = { vhost, name, pattern, applyTo: req.applyTo as PolicyTarget, priority: req.priority, definition: definition as Record<string, unknown> };
  try {
    validatePolicy(policy);
  } catch (err) {
    throw new CtlError(`Validation failed\n\n${(err as Error).message}`);
  }
  return policy;
}

/** A single node is a cluster of one, as `rabbitmqctl cluster_status` shows it. */
function singleNodeStatus(node: string): ClusterStatus {
  return {
    node,
    leader: node,
    term: 0,
    state: 'single',
    commitIndex: 0,
    appliedIndex: 0,
    members: [{ node, suffrage: 'voter', up: true, leader: true }],
    otherPeers: [],
  };
}

function requireVhost(ctx: ControlContext, vhost: unknown): string {
  const name = str(vhost, 'virtual host name');
  if (!ctx.broker.vhosts.has(name)) throw new CtlError(`Virtual host '${name}' does not exist`);
  return name;
}

function requireUser(ctx: ControlContext, user: unknown) {
  const name = str(user, 'user name');
  const record = ctx.broker.users.get(name);
  if (!record) throw new CtlError(`User '${name}' does not exist`);
  return record;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new CtlError(`${what} must be a string`);
  return v;
}

function nonEmpty(v: unknown, what: string): string {
  const s = str(v, what);
  if (s === '') throw new CtlError(`${what} must not be empty`);
  return s;
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new CtlError(`${what} must be a list of strings`);
  return v;
}

function regex(v: unknown, what: string): string {
  const s = str(v, what);
  const error = patternError(s);
  if (error !== undefined) throw new CtlError(`invalid regular expression for ${what}: ${error}`);
  return s;
}

/** rabbitmq-queues commands; a single node has no quorum queues to operate on. */
async function quorumOperation(ctx: ControlContext, req: CtlRequest): Promise<CtlReply> {
  const q = ctx.quorum;
  if (!q) throw new CtlError('quorum queue operations need a clustered node');
  try {
    switch (req.op) {
      case 'quorum_status':
        return { ok: true, table: await q.status(str(req.vhost, 'vhost'), nonEmpty(req.queue, 'queue name')) };
      case 'add_member':
        await q.addMember(str(req.vhost, 'vhost'), nonEmpty(req.queue, 'queue name'), nonEmpty(req.member, 'node'));
        return { ok: true };
      case 'delete_member':
        await q.deleteMember(str(req.vhost, 'vhost'), nonEmpty(req.queue, 'queue name'), nonEmpty(req.member, 'node'));
        return { ok: true };
      case 'grow': {
        if (req.which !== 'all' && req.which !== 'even') throw new CtlError(`grow: the second argument must be all or even, got '${req.which}'`);
        return { ok: true, table: await q.grow(nonEmpty(req.member, 'node'), req.which, req.vhostPattern, req.queuePattern) };
      }
      case 'shrink':
        return { ok: true, table: await q.shrink(nonEmpty(req.member, 'node')) };
      case 'rebalance':
        if (req.which !== 'all' && req.which !== 'quorum') throw new CtlError(`rebalance: the argument must be all or quorum, got '${req.which}'`);
        return { ok: true, table: await q.rebalance() };
    }
  } catch (err) {
    throw new CtlError((err as Error).message);
  }
  throw new CtlError('unknown quorum operation');
}
