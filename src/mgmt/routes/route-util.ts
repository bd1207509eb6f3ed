/** Small helpers shared by the route modules. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VirtualHost } from '../../broker/vhost';
import type { ApiUser } from '../auth';
import { canSeeVhost } from '../auth';
import type { MgmtContext } from '../context';
import { badRequest, notFound } from '../http-errors';
import type { Query } from '../paging';
import type { Row } from '../broker-view';
import { SAMPLE_RANGES, type SampleWindows } from '../object-history';

export type Params = Record<string, string>;

export function params(req: FastifyRequest): Params {
  return req.params as Params;
}

export function query(req: FastifyRequest): Query {
  const q = req.query as Record<string, unknown>;
  const out: Query = {};
  for (const [k, v] of Object.entries(q ?? {})) out[k] = Array.isArray(v) ? String(v[v.length - 1]) : v === undefined ? undefined : String(v);
  return out;
}

/** The request body as an object (an absent body is an empty one); 400 for anything else. */
export function body(req: FastifyRequest): Row {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('body must be a JSON object');
  return b as Row;
}

/** In exchange path segments, amq.default names the default exchange "". */
export function exchangeName(segment: string): string {
  return segment === 'amq.default' ? '' : segment;
}

/** The vhost named in the path, or 404; also 404 when the user may not see it. */
export function vhostOf(ctx: MgmtContext, user: ApiUser, name: string): VirtualHost {
  const v = ctx.broker.vhost(name);
  if (!v || !canSeeVhost(ctx.broker, user, name)) throw notFound();
  return v;
}

/** Vhosts the user may see, optionally only the one named. */
export function visibleVhosts(ctx: MgmtContext, user: ApiUser, only?: string): VirtualHost[] {
  if (only !== undefined) return [vhostOf(ctx, user, only)];
  return [...ctx.broker.vhosts.values()].filter((v) => canSeeVhost(ctx.broker, user, v.name));
}

/** A JSON boolean field with a default; 400 when it has another type. */
export function boolField(b: Row, key: string, fallback: boolean): boolean {
  const v = b[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw badRequest(`${key} must be a boolean`);
}

export function stringField(b: Row, key: string, fallback?: string): string {
  const v = b[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw badRequest(`missing key '${key}'`);
    return fallback;
  }
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

/** 201 for a created object, 204 for an updated one (cowboy_rest's answers). */
export function createdOrUpdated(reply: FastifyReply, created: boolean): FastifyReply {
  return reply.code(created ? 201 : 204).send();
}

/** Sums message_stats objects (counters and their rates), for totals over several nodes. */
export function sumStats(stats: Row[]): Row {
  const out: Row = {};
  for (const s of stats) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number') out[k] = ((out[k] as number | undefined) ?? 0) + v;
      else if (v && typeof v === 'object' && 'rate' in v) {
        const prev = (out[k] as { rate: number } | undefined)?.rate ?? 0;
        out[k] = { rate: prev + (v as { rate: number }).rate };
      }
    }
  }
  return out;
}

/**
 * The sample windows a request asks for (`msg_rates_age` / `msg_rates_incr`, `lengths_*`,
 * `data_rates_*`, `node_stats_*`, in seconds; incr 5 when absent); undefined when it asks for none; 400 when
 * one is not a positive number.
 */
export function sampleWindows(q: Query): SampleWindows | undefined {
  let out: SampleWindows | undefined;
  for (const range of SAMPLE_RANGES) {
    const age = q[`${range}_age`];
    if (age === undefined) continue;
    const ageSec = Number(age);
    const incrSec = Number(q[`${range}_incr`] ?? 5);
    if (!(ageSec > 0) || !(incrSec > 0)) throw badRequest(`${range}_age and ${range}_incr must be positive numbers`);
    (out ??= {})[range] = { ageSec, incrSec };
  }
  return out;
}
