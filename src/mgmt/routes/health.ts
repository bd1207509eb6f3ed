/** Health checks: 200 {"status":"ok"} when healthy, 503 {"status":"failed","reason"} when not. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MgmtContext } from '../context';
import { params, vhostOf } from './route-util';

function verdict(reply: FastifyReply, reason: string | undefined) {
  if (reason === undefined) return reply.send({ status: 'ok' });
  return reply.code(503).send({ status: 'failed', reason });
}

export function healthRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const alarms = async (localOnly: boolean) => {
    const nodes = localOnly ? [await ctx.view.sources[0].node()] : await ctx.view.nodes();
    const on: string[] = [];
    for (const n of nodes) {
      if (n.mem_alarm) on.push(`memory alarm on ${String(n.name)}`);
      if (n.disk_free_alarm) on.push(`disk alarm on ${String(n.name)}`);
    }
    return on.length > 0 ? `resource alarm(s) in effect: ${on.join(', ')}` : undefined;
  };
  app.get('/api/health/checks/alarms', async (_req, reply) => verdict(reply, await alarms(false)));
  app.get('/api/health/checks/local-alarms', async (_req, reply) => verdict(reply, await alarms(true)));
  app.get('/api/healthchecks/node', async (_req, reply) => verdict(reply, await alarms(true)));
  app.get('/api/healthchecks/node/:node', async (req, reply) => verdict(reply, params(req).node === ctx.nodeName ? await alarms(true) : `node ${params(req).node} is not this node`));
  app.get('/api/aliveness-test/:vhost', async (req, reply) => {
    vhostOf(ctx, req.apiUser, params(req).vhost);
    return verdict(reply, undefined);
  });
  app.get('/api/health/checks/port-listener/:port', async (req, reply) => {
    const port = Number(params(req).port);
    const found = ctx.listeners.some((l) => Number(l.port) === port);
    return verdict(reply, found ? undefined : `No active listener on port ${params(req).port}`);
  });
  app.get('/api/health/checks/protocol-listener/:protocols', async (req, reply) => {
    const missing = params(req).protocols.split(',').filter((p) => !ctx.listeners.some((l) => l.protocol === p.trim()));
    return verdict(reply, missing.length === 0 ? undefined : `No active listener for protocol(s) ${missing.join(', ')}`);
  });
  for (const path of ['virtual-hosts', 'node-is-quorum-critical', 'is-in-service', 'ready-to-serve-clients', 'below-node-connection-limit', 'metadata-store/initialized', 'reached-target-cluster-size', 'node-is-mirror-sync-critical']) {
    app.get(`/api/health/checks/${path}`, async (_req, reply) => verdict(reply, undefined));
  }
  app.get('/api/health/checks/certificate-expiration/:within/:unit', async (_req, reply) => verdict(reply, undefined));
}
