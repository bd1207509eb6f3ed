/** Exchanges: list, one, declare, delete, their bindings, and publish. */
import type { FastifyInstance } from 'fastify';
import { isExchangeType, type Exchange } from '../../broker/exchange/exchange';
import type { VirtualHost } from '../../broker/vhost';
import { requirePermission } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { ApiError, badRequest, notFound } from '../http-errors';
import { jsonToTable, tableToJson } from '../json-values';
import { listAnswer } from '../paging';
import { mergeSamples } from '../samples-json';
import { bindingRow } from './bindings';
import { body, boolField, createdOrUpdated, exchangeName, params, query, sampleWindows, stringField, sumStats, vhostOf, visibleVhosts } from './route-util';

export function exchangeRow(v: VirtualHost, e: Exchange, stats: Row[] | undefined): Row {
  const row: Row = {
    name: e.name,
    vhost: v.name,
    type: e.def.type,
    durable: e.def.durable,
    auto_delete: e.def.autoDelete,
    internal: e.def.internal,
    arguments: tableToJson(e.def.arguments),
    user_who_performed_action: 'rmq-internal',
  };
  if (e.policy) row.policy = e.policy.name;
  if (stats) row.message_stats = sumStats(stats);
  return row;
}

export function exchangeRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const list = async (vhosts: VirtualHost[]) => {
    const stats = await ctx.view.exchangeStats();
    const rows: Row[] = [];
    for (const v of vhosts) for (const e of v.exchanges.values()) rows.push(exchangeRow(v, e, stats[`${v.name}\u0000${e.name}`]));
    return rows;
  };
  app.get('/api/exchanges', async (req) => listAnswer(await list(visibleVhosts(ctx, req.apiUser)), query(req)));
  app.get('/api/exchanges/:vhost', async (req) => listAnswer(await list(visibleVhosts(ctx, req.apiUser, params(req).vhost)), query(req)));

  app.get('/api/exchanges/:vhost/:name', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const e = v.exchanges.get(exchangeName(params(req).name));
    if (!e) throw notFound();
    const stats = await ctx.view.exchangeStats();
    const row = exchangeRow(v, e, stats[`${v.name}\u0000${e.name}`]);
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(row, await ctx.view.samples('exchange', [v.name, e.name], windows));
    return { ...row, incoming: [], outgoing: [] };
  });

  app.put('/api/exchanges/:vhost/:name', async (req, reply) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = exchangeName(params(req).name);
    const b = body(req);
    const type = stringField(b, 'type');
    if (!isExchangeType(type)) throw badRequest(`invalid type '${type}'`);
    requirePermission(ctx.broker, req.apiUser, v.name, 'configure', name);
    const existed = v.exchanges.has(name);
    if (name === '' || (name.startsWith('amq.') && !existed)) throw new ApiError(403, 'access_refused', `exchange name '${name}' contains reserved prefix 'amq.*'`);
    await ctx.metadata.apply({
      op: 'exchange.declare',
      vhost: v.name,
      exchange: { name, type, durable: boolField(b, 'durable', true), autoDelete: boolField(b, 'auto_delete', false), internal: boolField(b, 'internal', false), arguments: jsonToTable(b.arguments) },
    });
    return createdOrUpdated(reply, !existed);
  });

  app.delete('/api/exchanges/:vhost/:name', async (req, reply) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = exchangeName(params(req).name);
    if (!v.exchanges.has(name)) throw notFound();
    requirePermission(ctx.broker, req.apiUser, v.name, 'configure', name);
    if (name === '' || name.startsWith('amq.')) throw new ApiError(403, 'access_refused', `exchange '${name}' in vhost '${v.name}' is a built-in exchange and cannot be deleted`);
    await ctx.metadata.apply({ op: 'exchange.delete', vhost: v.name, name, ifUnused: query(req)['if-unused'] === 'true' });
    return reply.code(204).send();
  });

  app.get('/api/exchanges/:vhost/:name/bindings/source', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const e = v.exchanges.get(exchangeName(params(req).name));
    if (!e) throw notFound();
    if (e.name === '') return [...v.queues.keys()].map((q) => bindingRow(v.name, { source: '', destination: q, destinationKind: 'queue', routingKey: q, args: {} }));
    return [...e.allBindings()].map((b) => bindingRow(v.name, b));
  });
  app.get('/api/exchanges/:vhost/:name/bindings/destination', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = exchangeName(params(req).name);
    if (!v.exchanges.has(name)) throw notFound();
    return v.bindingsToDestination('exchange', name).map((b) => bindingRow(v.name, b));
  });

  app.post('/api/exchanges/:vhost/:name/publish', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = exchangeName(params(req).name);
    const e = v.exchanges.get(name);
    if (!e) throw notFound();
    requirePermission(ctx.broker, req.apiUser, v.name, 'write', name);
    const b = body(req);
    for (const key of ['properties', 'routing_key', 'payload', 'payload_encoding']) if (b[key] === undefined) throw badRequest(`missing key '${key}'`);
    const encoding = stringField(b, 'payload_encoding');
    if (encoding !== 'string' && encoding !== 'base64') throw badRequest(`payload_encoding must be 'string' or 'base64', got '${encoding}'`);
    const payload = stringField(b, 'payload');
    const properties = b.properties;
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) throw badRequest('properties must be an object');
    if (e.def.internal) throw new ApiError(403, 'access_refused', `cannot publish to internal exchange '${name}' in vhost '${v.name}'`);
    let routed: boolean;
    try {
      routed = await ctx.view.publish({
        vhost: v.name,
        exchange: name,
        routingKey: stringField(b, 'routing_key'),
        properties: properties as Row,
        body: Buffer.from(payload, encoding === 'base64' ? 'base64' : 'utf8'),
      });
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('property ')) throw badRequest(err.message);
      throw err;
    }
    return { routed };
  });
}
