/** GET/POST /api/definitions and /api/definitions/:vhost (administrators). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireAdministrator } from '../auth';
import type { MgmtContext } from '../context';
import { DefinitionsError, exportDefinitions, importDefinitions } from '../definitions-json';
import { badRequest } from '../http-errors';
import { params, query, vhostOf } from './route-util';

export function definitionRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const send = (reply: FastifyReply, doc: unknown, download: string | undefined) => {
    if (download) reply.header('content-disposition', `attachment; filename="${download.replace(/["\\\r\n]/g, '')}"`);
    return reply.send(doc);
  };
  const load = async (raw: unknown, vhost?: string) => {
    try {
      await importDefinitions(ctx.broker, ctx.metadata, raw, vhost);
    } catch (err) {
      if (err instanceof DefinitionsError) throw badRequest(err.message);
      throw err;
    }
  };
  app.get('/api/definitions', async (req, reply) => {
    requireAdministrator(req.apiUser);
    return send(reply, exportDefinitions(ctx.broker, ctx.version), query(req).download);
  });
  app.post('/api/definitions', async (req, reply) => {
    requireAdministrator(req.apiUser);
    await load(req.body);
    return reply.code(204).send();
  });
  app.get('/api/definitions/:vhost', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return send(reply, exportDefinitions(ctx.broker, ctx.version, v.name), query(req).download);
  });
  app.post('/api/definitions/:vhost', async (req, reply) => {
    requireAdministrator(req.apiUser);
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    await load(req.body, v.name);
    return reply.code(204).send();
  });
}
