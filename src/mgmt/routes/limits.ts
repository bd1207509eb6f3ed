/**
 * Vhost limits (max-connections, max-queues) and user limits (max-connections, max-channels),
 * as rabbit_mgmt_wm_limits / _limit / _user_limits answer them. The limits live in the
 * broker's access model (the same as warrenctl set_vhost_limits / set_user_limits); every
 * change goes through the MetadataStore.
 */
import type { FastifyInstance } from 'fastify';
import { USER_LIMIT_KEYS, VHOST_LIMIT_KEYS, type UserLimits, type VhostLimits } from '../../broker/access-model';
import { requireAdministrator } from '../auth';
import type { MgmtContext } from '../context';
import { ApiError, badRequest, notFound } from '../http-errors';
import { body, params, visibleVhosts } from './route-util';

/** The limit's new value from a PUT body `{"value": N}`: an integer (negative = no limit). */
function limitValue(b: Record<string, unknown>, name: string): number {
  if (b.value === undefined) throw badRequest("missing key 'value'");
  const v = typeof b.value === 'string' && b.value.trim() !== '' ? Number(b.value) : b.value;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${name} should be an integer, actually was ${JSON.stringify(b.value)}`);
  return v;
}

export function limitRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const { broker, metadata } = ctx;
  const vhostRows = (names: string[]) =>
    names.flatMap((vhost) => {
      const value = broker.access.vhostLimits.get(vhost);
      return value && Object.keys(value).length > 0 ? [{ vhost, value: { ...value } }] : [];
    });

  app.get('/api/vhost-limits', async (req) => vhostRows(visibleVhosts(ctx, req.apiUser).map((v) => v.name)));
  app.get('/api/vhost-limits/:vhost', async (req) => vhostRows(visibleVhosts(ctx, req.apiUser, params(req).vhost).map((v) => v.name)));
  app.put('/api/vhost-limits/:vhost/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, name } = params(req);
    if (!(VHOST_LIMIT_KEYS as readonly string[]).includes(name)) throw badRequest(`unknown vhost limit '${name}' (max-connections or max-queues)`);
    const value = limitValue(body(req), name);
    if (!broker.vhosts.has(vhost)) throw new ApiError(404, 'not_found', 'vhost_not_found');
    const limits: VhostLimits = { ...broker.access.vhostLimits.get(vhost), [name]: value };
    await metadata.apply({ op: 'vhost-limits.set', vhost, limits });
    return reply.code(204).send();
  });
  app.delete('/api/vhost-limits/:vhost/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { vhost, name } = params(req);
    if (!broker.vhosts.has(vhost)) throw notFound();
    const limits: Record<string, number> = { ...broker.access.vhostLimits.get(vhost) };
    if (name in limits) {
      delete limits[name];
      await metadata.apply({ op: 'vhost-limits.set', vhost, limits });
    }
    return reply.code(204).send();
  });

  const userRows = (names: string[]) =>
    names.flatMap((user) => {
      const value = broker.access.userLimits.get(user);
      return value && Object.keys(value).length > 0 ? [{ user, value: { ...value } }] : [];
    });
  app.get('/api/user-limits', async (req) => {
    requireAdministrator(req.apiUser);
    return userRows([...broker.users.keys()]);
  });
  app.get('/api/user-limits/:user', async (req) => {
    requireAdministrator(req.apiUser);
    const user = params(req).user;
    if (!broker.users.has(user)) throw notFound();
    return userRows([user]);
  });
  app.put('/api/user-limits/:user/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { user, name } = params(req);
    if (!(USER_LIMIT_KEYS as readonly string[]).includes(name)) throw badRequest(`unknown user limit '${name}' (max-connections or max-channels)`);
    const value = limitValue(body(req), name);
    if (!broker.users.has(user)) throw badRequest(`no_such_user: ${user}`);
    const limits: UserLimits = { ...broker.access.userLimits.get(user), [name]: value };
    await metadata.apply({ op: 'user-limits.set', user, limits });
    return reply.code(204).send();
  });
  app.delete('/api/user-limits/:user/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const { user, name } = params(req);
    if (!broker.users.has(user)) throw notFound();
    const limits: Record<string, number> = { ...broker.access.userLimits.get(user) };
    if (name in limits) {
      delete limits[name];
      await metadata.apply({ op: 'user-limits.set', user, limits });
    }
    return reply.code(204).send();
  });
}
