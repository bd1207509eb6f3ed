/** Connections (list, one, close with X-Reason), channels and consumers. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAdministrator, isMonitor, type ApiUser } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { notFound } from '../http-errors';
import { listAnswer } from '../paging';
import { mergeSamples } from '../samples-json';
import { params, query, sampleWindows, vhostOf } from './route-util';

/** Monitoring users and administrators see every connection; others only their own. */
function own(user: ApiUser) {
  return (r: Row) => isMonitor(user) || r.user === user.name;
}

const CLOSE_REASON = 'Closed via management plugin';

export function connectionRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const list = (req: FastifyRequest, rows: Row[]) => listAnswer(rows.filter(own(req.apiUser)), query(req), ['name']);

  app.get('/api/connections', async (req) => list(req, await ctx.view.connections()));
  app.get('/api/vhosts/:vhost/connections', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return list(req, (await ctx.view.connections()).filter((c) => c.vhost === v.name));
  });
  app.get('/api/connections/:name', async (req) => {
    const c = (await ctx.view.connections()).find((r) => r.name === params(req).name);
    if (!c || !own(req.apiUser)(c)) throw notFound();
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(c, await ctx.view.samples('connection', [String(c.name)], windows));
    return c;
  });
  app.delete('/api/connections/:name', async (req, reply) => {
    const c = (await ctx.view.connections()).find((r) => r.name === params(req).name);
    if (!c || !(isAdministrator(req.apiUser) || c.user === req.apiUser.name)) throw notFound();
    await ctx.view.closeConnection(String(c.name), reason(req));
    return reply.code(204).send();
  });
  app.get('/api/connections/:name/channels', async (req) => {
    const name = params(req).name;
    const c = (await ctx.view.connections()).find((r) => r.name === name);
    if (!c || !own(req.apiUser)(c)) throw notFound();
    return list(req, (await ctx.view.channels()).filter((ch) => (ch.connection_details as Row).name === name));
  });
  app.get('/api/connections/username/:username', async (req) => {
    if (!isMonitor(req.apiUser) && req.apiUser.name !== params(req).username) throw notFound();
    return (await ctx.view.connections()).filter((c) => c.user === params(req).username);
  });
  app.delete('/api/connections/username/:username', async (req, reply) => {
    const username = params(req).username;
    if (!isAdministrator(req.apiUser) && req.apiUser.name !== username) throw notFound();
    for (const c of await ctx.view.connections()) if (c.user === username) await ctx.view.closeConnection(String(c.name), reason(req));
    return reply.code(204).send();
  });

  app.get('/api/channels', async (req) => list(req, await ctx.view.channels()));
  app.get('/api/vhosts/:vhost/channels', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return list(req, (await ctx.view.channels()).filter((c) => c.vhost === v.name));
  });
  app.get('/api/channels/:channel', async (req) => {
    const ch = (await ctx.view.channels()).find((r) => r.name === params(req).channel);
    if (!ch || !own(req.apiUser)(ch)) throw notFound();
    const consumers = (await ctx.view.consumers()).filter((c) => (c.channel_details as Row).name === ch.name);
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(ch, await ctx.view.samples('channel', [String(ch.name)], windows));
    return { ...ch, consumer_details: consumers, publishes: [], deliveries: [] };
  });

  const consumerVisible = (user: ApiUser) => (c: Row) => isMonitor(user) || ctx.broker.permission(user.name, String((c.queue as Row).vhost)) !== undefined;
  app.get('/api/consumers', async (req) => (await ctx.view.consumers()).filter(consumerVisible(req.apiUser)));
  app.get('/api/consumers/:vhost', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    return (await ctx.view.consumers()).filter((c) => (c.queue as Row).vhost === v.name);
  });
}

/** The X-Reason header becomes the connection.close text, as RabbitMQ does. */
function reason(req: FastifyRequest): string {
  const h = req.headers['x-reason'];
  const text = Array.isArray(h) ? h[0] : h;
  return text && text !== '' ? text : CLOSE_REASON;
}
