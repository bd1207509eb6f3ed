/** Queues: list, one, declare, delete, bindings, purge (contents), get. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validateQueueArguments } from '../../broker/queue/queue-config';
import { AmqpError } from '../../broker/errors';
import { requirePermission } from '../auth';
import type { AckMode, Row } from '../broker-view';
import type { MgmtContext } from '../context';
import { ApiError, badRequest, notFound } from '../http-errors';
import { jsonToTable } from '../json-values';
import { listAnswer, selectColumns } from '../paging';
import { mergeSamples } from '../samples-json';
import { bindingRow } from './bindings';
import { body, boolField, createdOrUpdated, params, query, sampleWindows, stringField, vhostOf, visibleVhosts } from './route-util';

const ACK_MODES: AckMode[] = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'];

/** Fields kept with disable_stats=true&enable_queue_totals=true (RabbitMQ's reduced queue object). */
const TOTALS_FIELDS = ['name', 'vhost', 'type', 'node', 'state', 'arguments', 'auto_delete', 'durable', 'exclusive', 'messages', 'messages_ready', 'messages_unacknowledged'];
const NO_STATS_FIELDS = ['name', 'vhost', 'type', 'node', 'state', 'arguments', 'auto_delete', 'durable', 'exclusive', 'policy', 'effective_policy_definition'];

function reduce(rows: Row[], q: Record<string, string | undefined>): Row[] {
  if (q.disable_stats !== 'true') return rows;
  const keep = q.enable_queue_totals === 'true' ? TOTALS_FIELDS : NO_STATS_FIELDS;
  return rows.map((r) => Object.fromEntries(keep.filter((k) => k in r).map((k) => [k, r[k]])));
}

export function queueRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  const visible = async (user: Parameters<typeof visibleVhosts>[1], vhost?: string) => {
    const names = new Set(visibleVhosts(ctx, user, vhost).map((v) => v.name));
    return (await ctx.view.queues(vhost)).filter((r) => names.has(String(r.vhost)));
  };
  /**
   * A page sorted by name (the default) is chosen from the names in the model, and only its
   * rows are built: a page of 100 out of 10,000 queues asks for 100 queues' figures.
   */
  const list = async (req: FastifyRequest, vhost: string | undefined, detailed: boolean) => {
    const q = query(req);
    const user = req.apiUser;
    const paged = q.page !== undefined || q.pagination === 'true';
    if (!paged || !(q.sort === undefined || q.sort === 'name' || q.sort === 'vhost')) {
      const rows = await visible(user, vhost);
      return listAnswer(detailed ? rows : reduce(rows, q), q);
    }
    const skeleton = visibleVhosts(ctx, user, vhost).flatMap((v) => [...v.queues.keys()].map((name): Row => ({ name, vhost: v.name })));
    const page = listAnswer(skeleton, { ...q, columns: undefined }) as Row & { items: Row[] };
    const key = (r: Row) => `${String(r.vhost)}\u0000${String(r.name)}`;
    const rows = new Map((await ctx.view.queues(vhost, new Set(page.items.map(key)))).map((r) => [key(r), r]));
    const items = page.items.map((i) => rows.get(key(i))).filter((r): r is Row => r !== undefined);
    page.items = selectColumns(detailed ? items : reduce(items, q), q.columns);
    page.item_count = page.items.length;
    return page;
  };
  app.get('/api/queues', async (req) => list(req, undefined, false));
  app.get('/api/queues/detailed', async (req) => list(req, undefined, true));
  app.get('/api/queues/:vhost', async (req) => list(req, params(req).vhost, false));

  const one = async (vhost: string, name: string) => {
    const row = await ctx.view.queue(vhost, name);
    if (!row) throw notFound();
    return row;
  };
  app.get('/api/queues/:vhost/:name', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const row = await one(v.name, params(req).name);
    const consumers = (await ctx.view.consumers()).filter((c) => (c.queue as Row).vhost === v.name && (c.queue as Row).name === row.name);
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(row, await ctx.view.samples('queue', [v.name, String(row.name)], windows));
    return { ...row, consumer_details: consumers, incoming: [], deliveries: [] };
  });

  app.put('/api/queues/:vhost/:name', async (req, reply) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = params(req).name;
    const b = body(req);
    requirePermission(ctx.broker, req.apiUser, v.name, 'configure', name);
    if (name.startsWith('amq.')) throw new ApiError(403, 'access_refused', `queue name '${name}' contains reserved prefix 'amq.*'`);
    const args = jsonToTable(b.arguments);
    validateQueueArguments(args, name, v.name);
    const result = await ctx.metadata.apply({
      op: 'queue.declare',
      vhost: v.name,
      queue: { name, durable: boolField(b, 'durable', true), exclusive: false, autoDelete: boolField(b, 'auto_delete', false), arguments: args },
    });
    return createdOrUpdated(reply, result.created === true);
  });

  app.delete('/api/queues/:vhost/:name', async (req, reply) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = params(req).name;
    if (!v.queues.has(name)) throw notFound();
    requirePermission(ctx.broker, req.apiUser, v.name, 'configure', name);
    const q = query(req);
    await ctx.metadata.apply({ op: 'queue.delete', vhost: v.name, name, ifUnused: q['if-unused'] === 'true', ifEmpty: q['if-empty'] === 'true' });
    return reply.code(204).send();
  });

  app.get('/api/queues/:vhost/:name/bindings', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = params(req).name;
    if (!v.queues.has(name)) throw notFound();
    return [bindingRow(v.name, { source: '', destination: name, destinationKind: 'queue', routingKey: name, args: {} }), ...v.bindingsToDestination('queue', name).map((b) => bindingRow(v.name, b))];
  });

  app.delete('/api/queues/:vhost/:name/contents', async (req, reply) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = params(req).name;
    const home = await ctx.view.home(v.name, name);
    if (!home) throw notFound();
    requirePermission(ctx.broker, req.apiUser, v.name, 'read', name);
    await home.purge(v.name, name);
    return reply.code(204).send();
  });

  app.post('/api/queues/:vhost/:name/get', async (req) => {
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const name = params(req).name;
    const home = await ctx.view.home(v.name, name);
    if (!home) throw notFound();
    requirePermission(ctx.broker, req.apiUser, v.name, 'read', name);
    const b = body(req);
    const count = b.count === undefined ? undefined : Number(b.count);
    if (count === undefined || !Number.isInteger(count) || count < 0) throw badRequest("'count' must be a non-negative integer");
    const ackMode = stringField(b, 'ackmode') as AckMode;
    if (!ACK_MODES.includes(ackMode)) throw badRequest(`ackmode must be one of ${ACK_MODES.join(', ')}`);
    const encoding = stringField(b, 'encoding');
    if (encoding !== 'auto' && encoding !== 'base64') throw badRequest("encoding must be 'auto' or 'base64'");
    const truncate = b.truncate === undefined || b.truncate === null || b.truncate === '' ? undefined : Number(b.truncate);
    if (truncate !== undefined && (!Number.isInteger(truncate) || truncate < 0)) throw badRequest("'truncate' must be a non-negative integer");
    const queue = v.queues.get(name)!;
    if (queue.def.exclusive) throw new ApiError(400, 'bad_request', `cannot obtain exclusive access to locked queue '${name}' in vhost '${v.name}'`);
    return home.get(v.name, name, { count, ackMode, encoding, truncate });
  });

  app.post('/api/queues/:vhost/:name/actions', async (req, reply) => {
    vhostOf(ctx, req.apiUser, params(req).vhost);
    const action = body(req).action;
    if (action !== 'sync' && action !== 'cancel_sync') throw badRequest(`unknown action '${String(action)}'`);
    return reply.code(204).send();
  });
  void AmqpError;
}
