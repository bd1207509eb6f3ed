/** Topic permissions (rabbit_mgmt_wm_topic_permissions*): per user, vhost and exchange, write and read regexes. */
import type { FastifyInstance } from 'fastify';
import type { TopicPermissionRecord } from '../../broker/access-model';
import { isMonitor, requireAdministrator } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { badRequest, notFound } from '../http-errors';
import { body, createdOrUpdated, params, stringField, vhostOf } from './route-util';

function row(p: TopicPermissionRecord): Row {
  return { user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read };
}

export function topicPermissionRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const { broker, metadata } = ctx;
  const all = () => [...broker.access.topicPermissions.values()];
  const of = (user: string, vhost: string) => all().filter((p) => p.user === user && p.vhost === vhost);

  app.get('/api/topic-permissions', async (req) => {
    requireAdministrator(req.apiUser);
    return all().map(row);
  });
  app.get('/api/topic-permissions/:vhost/:user', async (req) => {
    requireAdministrator(req.apiUser);
    const { vhost, user } = params(req);
    const list = of(user, vhost);
    // As RabbitMQ: a user without topic permissions in the vhost is 404.
    if (list.length === 0) throw notFound();
    return list.map(row);
  });
  app.put('/api/topic-permissions/:vhost/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, user } = params(req);
    const b = body(req);
    const missing = ['exchange', 'write', 'read'].filter((k) => b[k] === undefined);
    if (missing.length > 0) throw badRequest(`missing key ${missing.map((k) => `'${k}'`).join(', ')}`);
    const exchange = stringField(b, 'exchange');
    const [write, read] = ['write', 'read'].map((k) => regexField(stringField(b, k), k));
    if (!broker.vhosts.has(vhost) || !broker.users.has(user)) throw badRequest('vhost_or_user_not_found');
    const created = of(user, vhost).length === 0;
    await metadata.apply({ op: 'topic-permission.set', permission: { user, vhost, exchange, write, read } });
    return createdOrUpdated(reply, created);
  });
  app.delete('/api/topic-permissions/:vhost/:user', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, user } = params(req);
    const exchange = (req.query as Record<string, unknown>).exchange;
    const matching = of(user, vhost).filter((p) => typeof exchange !== 'string' || p.exchange === exchange);
    if (matching.length === 0) throw notFound();
    await metadata.apply({ op: 'topic-permission.clear', user, vhost, ...(typeof exchange === 'string' ? { exchange } : {}) });
    return reply.code(204).send();
  });
  app.get('/api/users/:user/topic-permissions', async (req) => {
    requireAdministrator(req.apiUser);
    const name = params(req).user;
    if (!broker.users.has(name)) throw notFound();
    return all().filter((p) => p.user === name).map(row);
  });
  app.get('/api/vhosts/:vhost/topic-permissions', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return all().filter((p) => p.vhost === v.name && (isMonitor(req.apiUser) || p.user === req.apiUser.name)).map((p) => ({ vhost: p.vhost, user: p.user, exchange: p.exchange, write: p.write, read: p.read }));
  });
}

export function regexField(v: string, key: string): string {
  try {
    new RegExp(v);
  } catch {
    throw badRequest(`invalid regular expression for ${key}: '${v}'`);
  }
  return v;
}
