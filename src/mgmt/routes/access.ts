/** Virtual hosts, users and permissions (administrators change them; users see their own). */
import type { FastifyInstance } from 'fastify';
import type { UserRecord } from '../../broker/definitions';
import { isAdministrator, isMonitor, requireAdministrator } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { badRequest, notFound } from '../http-errors';
import { listAnswer } from '../paging';
import { credentialsOf, userJson, type Credentials } from '../user-json';
import { mergeSamples } from '../samples-json';
import { regexField } from './topic-permissions';
import { body, createdOrUpdated, params, query, sampleWindows, stringField, sumStats, vhostOf, visibleVhosts } from './route-util';

export function userRow(ctx: MgmtContext, u: UserRecord): Row {
  return userJson(u, ctx.broker.access.userLimits.get(u.name));
}

/** Tags as RabbitMQ accepts them: a comma-separated string or an array of strings. */
export function parseTags(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
  if (!list || !list.every((t) => typeof t === 'string')) throw badRequest('tags must be a comma-separated string or a list of strings');
  return list.map((t: string) => t.trim()).filter((t: string) => t !== '');
}

export function accessRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const { broker, metadata } = ctx;

  const vhostRows = async (names: string[]) => {
    const [queues, stats] = await Promise.all([ctx.view.queues(), ctx.view.messageStats()]);
    return names.map((name) => {
      let ready = 0;
      let unacked = 0;
      for (const q of queues) {
        if (q.vhost !== name) continue;
        ready += q.messages_ready as number;
        unacked += q.messages_unacknowledged as number;
      }
      return {
        name,
        description: name === '/' ? 'Default virtual host' : '',
        tags: [],
        metadata: { description: name === '/' ? 'Default virtual host' : '', tags: [] },
        default_queue_type: 'undefined',
        tracing: false,
        cluster_state: Object.fromEntries(ctx.view.sources.map((s) => [s.nodeName, 'running'])),
        messages: ready + unacked,
        messages_details: { rate: 0 },
        messages_ready: ready,
        messages_ready_details: { rate: 0 },
        messages_unacknowledged: unacked,
        messages_unacknowledged_details: { rate: 0 },
        message_stats: sumStats(stats.map((s) => s.byVhost[name] ?? {})),
      } as Row;
    });
  };

  app.get('/api/vhosts', async (req) => listAnswer(await vhostRows(visibleVhosts(ctx, req.apiUser).map((v) => v.name)), query(req), ['name']));
  app.get('/api/vhosts/:vhost', async (req) => {
    const row = (await vhostRows([vhostOf(ctx, req.apiUser, params(req).vhost).name]))[0];
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(row, await ctx.view.samples('vhost', [String(row.name)], windows));
    return row;
  });
  app.put('/api/vhosts/:vhost', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).vhost;
    const existed = broker.vhosts.has(name);
    if (!existed) {
      await metadata.apply({ op: 'vhost.add', vhost: name });
      // As RabbitMQ's API does: whoever creates a vhost gets full permissions in it.
      await metadata.apply({ op: 'permission.set', permission: { user: req.apiUser.name, vhost: name, configure: '.*', write: '.*', read: '.*' } });
    }
    return createdOrUpdated(reply, !existed);
  });
  app.delete('/api/vhosts/:vhost', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).vhost;
    if (!broker.vhosts.has(name)) throw notFound();
    await metadata.apply({ op: 'vhost.delete', vhost: name });
    return reply.code(204).send();
  });
  app.get('/api/vhosts/:vhost/permissions', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return [...broker.permissions.values()].filter((p) => p.vhost === v.name && (isMonitor(req.apiUser) || p.user === req.apiUser.name)).map((p) => ({ ...p }));
  });

  app.get('/api/users', async (req) => {
    requireAdministrator(req.apiUser);
    return listAnswer([...broker.users.values()].map((u) => userRow(ctx, u)), query(req), ['name']);
  });
  app.get('/api/users/without-permissions', async (req) => {
    requireAdministrator(req.apiUser);
    const withPermissions = new Set([...broker.permissions.values()].map((p) => p.user));
    return [...broker.users.values()].filter((u) => !withPermissions.has(u.name)).map((u) => userRow(ctx, u));
  });
  app.post('/api/users/bulk-delete', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const users = body(req).users;
    if (!Array.isArray(users)) throw badRequest("'users' must be a list of user names");
    for (const name of users) if (typeof name === 'string' && broker.users.has(name)) await metadata.apply({ op: 'user.delete', name });
    return reply.code(204).send();
  });
  app.get('/api/users/:user', async (req) => {
    requireAdministrator(req.apiUser);
    const u = broker.users.get(params(req).user);
    if (!u) throw notFound();
    return userRow(ctx, u);
  });
  app.put('/api/users/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).user;
    if (name === '') throw badRequest('user name must not be empty');
    const b = body(req);
    const existing = broker.users.get(name);
    if (b.password === undefined && b.password_hash === undefined && !existing && b.tags === undefined) throw badRequest("missing key 'tags'");
    let credentials: Credentials;
    try {
      credentials = credentialsOf(b, existing);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    await metadata.apply({ op: 'user.put', user: { name, ...credentials, tags: b.tags === undefined ? (existing?.tags ?? []) : parseTags(b.tags) } });
    return createdOrUpdated(reply, !existing);
  });
  app.delete('/api/users/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).user;
    if (!broker.users.has(name)) throw notFound();
    await metadata.apply({ op: 'user.delete', name });
    return reply.code(204).send();
  });
  app.get('/api/users/:user/permissions', async (req) => {
    requireAdministrator(req.apiUser);
    const name = params(req).user;
    if (!broker.users.has(name)) throw notFound();
    return [...broker.permissions.values()].filter((p) => p.user === name).map((p) => ({ ...p }));
  });

  app.get('/api/permissions', async (req) => {
    requireAdministrator(req.apiUser);
    return [...broker.permissions.values()].map((p) => ({ ...p }));
  });
  app.get('/api/permissions/:vhost/:user', async (req) => {
    requireAdministrator(req.apiUser);
    const p = broker.permission(params(req).user, params(req).vhost);
    if (!p) throw notFound();
    return { ...p };
  });
  app.put('/api/permissions/:vhost/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, user } = params(req);
    if (!broker.vhosts.has(vhost) || !broker.users.has(user)) throw notFound();
    const b = body(req);
    const [configure, write, read] = ['configure', 'write', 'read'].map((k) => regexField(stringField(b, k), k));
    const existed = broker.permission(user, vhost) !== undefined;
    await metadata.apply({ op: 'permission.set', permission: { user, vhost, configure, write, read } });
    return createdOrUpdated(reply, !existed);
  });
  app.delete('/api/permissions/:vhost/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, user } = params(req);
    if (!broker.permission(user, vhost)) throw notFound();
    await metadata.apply({ op: 'permission.clear', user, vhost });
    return reply.code(204).send();
  });
  void isAdministrator;
}

