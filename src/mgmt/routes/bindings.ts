/** Bindings in all four shapes: by vhost, exchange -> queue, exchange -> exchange, one by properties key. */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Binding, DestinationKind } from '../../broker/binding';
import type { VirtualHost } from '../../broker/vhost';
import { requirePermission } from '../auth';
import type { Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { ApiError, notFound } from '../http-errors';
import { jsonToTable, tableToJson } from '../json-values';
import { listAnswer } from '../paging';
import { body, exchangeName, params, query, stringField, vhostOf, visibleVhosts } from './route-util';

/**
 * RabbitMQ's id of a binding within its source and destination: `~` for an empty key without
 * arguments, the quoted routing key without arguments, else the quoted key, `~` and a hash of
 * the arguments (our own stable hash: RabbitMQ's is of Erlang terms, and the id is opaque).
 */
export function propertiesKey(routingKey: string, args: Record<string, unknown>): string {
  const quoted = encodeURIComponent(routingKey).replace(/~/g, '%7E');
  if (Object.keys(args).length === 0) return routingKey === '' ? '~' : quoted;
  const digest = createHash('sha256').update(canonical(args)).digest().subarray(0, 4);
  return `${quoted}~${digest.toString('base64url')}`;
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Row)[k])}`).join(',')}}`;
}

export function bindingRow(vhost: string, b: Binding): Row {
  const args = tableToJson(b.args);
  return {
    source: b.source,
    vhost,
    destination: b.destination,
    destination_type: b.destinationKind,
    routing_key: b.routingKey,
    arguments: args,
    properties_key: propertiesKey(b.routingKey, args),
  };
}

/** Every binding of a vhost: each queue's implicit default-exchange binding first, as RabbitMQ lists them. */
export function vhostBindings(v: VirtualHost): Row[] {
  const rows: Row[] = [];
  for (const q of v.queues.keys()) rows.push(bindingRow(v.name, { source: '', destination: q, destinationKind: 'queue', routingKey: q, args: {} }));
  for (const e of v.exchanges.values()) for (const b of e.allBindings()) rows.push(bindingRow(v.name, b));
  return rows;
}

export function bindingRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  app.get('/api/bindings', async (req) => listAnswer(visibleVhosts(ctx, req.apiUser).flatMap(vhostBindings), query(req), []));
  app.get('/api/bindings/:vhost', async (req) => listAnswer(vhostBindings(vhostOf(ctx, req.apiUser, params(req).vhost)), query(req), []));

  for (const [kind, letter] of [['queue', 'q'], ['exchange', 'e']] as [DestinationKind, string][]) {
    const base = `/api/bindings/:vhost/e/:source/${letter}/:destination`;
    const between = (req: FastifyRequest) => {
      const v = vhostOf(ctx, req.apiUser, params(req).vhost);
      const source = exchangeName(params(req).source);
      const destination = kind === 'exchange' ? exchangeName(params(req).destination) : params(req).destination;
      if (!v.exchanges.has(source)) throw notFound();
      if (kind === 'queue' ? !v.queues.has(destination) : !v.exchanges.has(destination)) throw notFound();
      const rows = source === ''
        ? kind === 'queue' ? [bindingRow(v.name, { source: '', destination, destinationKind: 'queue', routingKey: destination, args: {} })] : []
        : [...v.exchanges.get(source)!.allBindings()].filter((b) => b.destination === destination && b.destinationKind === kind).map((b) => bindingRow(v.name, b));
      return { v, source, destination, rows };
    };
    app.get(base, async (req) => between(req).rows);
    app.post(base, async (req, reply) => {
      const { v, source, destination } = between(req);
      const b = body(req);
      const routingKey = stringField(b, 'routing_key', '');
      const args = jsonToTable(b.arguments);
      if (source === '' || destination === '') throw new ApiError(403, 'access_refused', 'operation not permitted on the default exchange');
      requirePermission(ctx.broker, req.apiUser, v.name, 'write', destination);
      requirePermission(ctx.broker, req.apiUser, v.name, 'read', source);
      await ctx.metadata.apply({ op: 'binding.add', vhost: v.name, binding: { source, destination, destinationKind: kind, routingKey, args } });
      const props = propertiesKey(routingKey, tableToJson(args));
      const enc = encodeURIComponent;
      return reply
        .code(201)
        .header('location', `/api/bindings/${enc(v.name)}/e/${enc(params(req).source)}/${letter}/${enc(params(req).destination)}/${enc(props)}`)
        .send();
    });
    app.get(`${base}/:props`, async (req) => {
      const found = between(req).rows.find((r) => r.properties_key === params(req).props);
      if (!found) throw notFound();
      return found;
    });
    app.delete(`${base}/:props`, async (req, reply) => {
      const { v, source, destination, rows } = between(req);
      const found = rows.find((r) => r.properties_key === params(req).props);
      if (!found) throw notFound();
      if (source === '') throw new ApiError(403, 'access_refused', 'operation not permitted on the default exchange');
      requirePermission(ctx.broker, req.apiUser, v.name, 'write', destination);
      const binding = [...v.exchanges.get(source)!.allBindings()].find((b) => b.destination === destination && b.destinationKind === kind && bindingRow(v.name, b).properties_key === params(req).props)!;
      await ctx.metadata.apply({ op: 'binding.remove', vhost: v.name, binding });
      return reply.code(204).send();
    });
  }
}
