/**
 * Runtime and global parameters: /api/cluster-name and /api/global-parameters (replicated
 * through the MetadataStore, so they survive restarts and reach every node), /api/parameters
 * (vhost-limits as RabbitMQ lists them, and shovels), and the status list /api/shovels.
 */
import type { FastifyInstance } from 'fastify';
import { requireAdministrator, requirePolicymaker, requireVhostAccess } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { badRequest, notFound } from '../http-errors';
import { ShovelError } from '../shovels';
import { body, createdOrUpdated, params, stringField, vhostOf, visibleVhosts } from './route-util';

export function parameterRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const { broker, metadata, shovels } = ctx;

  app.get('/api/cluster-name', async () => ({ name: ctx.clusterName.value }));
  app.put('/api/cluster-name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = stringField(body(req), 'name');
    if (name === '') throw badRequest('name must not be empty');
    await metadata.apply({ op: 'global-parameter.set', name: 'cluster_name', value: name });
    return reply.code(204).send();
  });

  app.get('/api/global-parameters', async (req) => {
    requireAdministrator(req.apiUser);
    return [...broker.globalParameters].map(([name, value]) => ({ name, value }));
  });
  app.get('/api/global-parameters/:name', async (req) => {
    requireAdministrator(req.apiUser);
    const name = params(req).name;
    if (!broker.globalParameters.has(name)) throw notFound();
    return { value: broker.globalParameters.get(name), name };
  });
  app.put('/api/global-parameters/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).name;
    const b = body(req);
    if (b.value === undefined) throw badRequest("missing key 'value'");
    if (name === 'cluster_name' && (typeof b.value !== 'string' || b.value === '')) throw badRequest('cluster_name must be a non-empty string');
    const existed = broker.globalParameters.has(name);
    await metadata.apply({ op: 'global-parameter.set', name, value: b.value });
    return createdOrUpdated(reply, !existed);
  });
  app.delete('/api/global-parameters/:name', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const name = params(req).name;
    if (!broker.globalParameters.has(name)) throw notFound();
    await metadata.apply({ op: 'global-parameter.set', name });
    return reply.code(204).send();
  });

  /** Runtime parameters of the vhosts the user may see: vhost-limits, then running shovels. */
  const parameterRows = (req: Parameters<typeof visibleVhosts>[1], component?: string, vhost?: string): Row[] => {
    const names = new Set(visibleVhosts(ctx, req, vhost).map((v) => v.name));
    const rows: Row[] = [];
    if (component === undefined || component === 'vhost-limits') {
      for (const [v, limits] of broker.access.vhostLimits) if (names.has(v) && Object.keys(limits).length > 0) rows.push({ value: { ...limits }, vhost: v, component: 'vhost-limits', name: 'limits' });
    }
    if (component === undefined || component === 'shovel') {
      for (const s of shovels.list()) if (names.has(s.vhost)) rows.push({ value: s.value, vhost: s.vhost, component: 'shovel', name: s.name });
    }
    return rows;
  };
  app.get('/api/parameters', async (req) => {
    requirePolicymaker(req.apiUser, true);
    return parameterRows(req.apiUser);
  });
  app.get('/api/parameters/:component', async (req) => {
    requirePolicymaker(req.apiUser, true);
    return parameterRows(req.apiUser, params(req).component);
  });
  app.get('/api/parameters/:component/:vhost', async (req) => {
    requirePolicymaker(req.apiUser, true);
    return parameterRows(req.apiUser, params(req).component, params(req).vhost);
  });
  app.get('/api/parameters/:component/:vhost/:name', async (req) => {
    requirePolicymaker(req.apiUser, true);
    const { component, vhost, name } = params(req);
    const row = parameterRows(req.apiUser, component, vhost).find((r) => r.name === name);
    if (!row) throw notFound();
    return row;
  });
  app.put('/api/parameters/:component/:vhost/:name', async (req, reply) => {
    requirePolicymaker(req.apiUser);
    const { component, vhost, name } = params(req);
    vhostOf(ctx, req.apiUser, vhost);
    requireVhostAccess(broker, req.apiUser, vhost);
    if (component !== 'shovel') throw badRequest(`component '${component}' is not supported here (shovel; vhost limits have /api/vhost-limits)`);
    const value = body(req).value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest("missing key 'value' (an object)");
    try {
      const { created } = await shovels.start({ vhost, name, value: value as Row });
      return createdOrUpdated(reply, created);
    } catch (err) {
      if (err instanceof ShovelError) throw badRequest(`Validation failed\n\n${err.message}\n`);
      throw err;
    }
  });
  app.delete('/api/parameters/:component/:vhost/:name', async (req, reply) => {
    requirePolicymaker(req.apiUser);
    const { component, vhost, name } = params(req);
    vhostOf(ctx, req.apiUser, vhost);
    if (component !== 'shovel' || !shovels.delete(vhost, name)) throw notFound();
    return reply.code(204).send();
  });

  app.get('/api/shovels', async (req) => {
    const names = new Set(visibleVhosts(ctx, req.apiUser).map((v) => v.name));
    return shovels.list().filter((s) => names.has(s.vhost)).map((s) => shovels.statusRow(s));
  });
  app.get('/api/shovels/:vhost', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return shovels.list(v.name).map((s) => shovels.statusRow(s));
  });
}
