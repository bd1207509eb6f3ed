/** Policies: list, one, set, clear (policymakers and administrators). */
import type { FastifyInstance } from 'fastify';
import { validatePolicy, type Policy, type PolicyTarget } from '../../broker/policy';
import { isMonitor, isPolicymaker, type ApiUser } from '../auth';
import type { MgmtContext } from '../context';
import { ApiError, badRequest, notFound } from '../http-errors';
import { listAnswer } from '../paging';
import { body, createdOrUpdated, params, query, stringField, vhostOf, visibleVhosts } from './route-util';

export function policyRow(p: Policy) {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority };
}

/** A policy from RabbitMQ's JSON; throws 400 with the reason when it is invalid. */
export function parsePolicy(vhost: string, name: string, b: Record<string, unknown>): Policy {
  const definition = b.definition;
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw badRequest("'definition' must be a JSON object");
  const priority = b.priority === undefined ? 0 : Number(b.priority);
  const policy: Policy = { vhost, name, pattern: stringField(b, 'pattern'), applyTo: stringField(b, 'apply-to', 'all') as PolicyTarget, priority, definition: definition as Record<string, unknown> };
  try {
    validatePolicy(policy);
  } catch (err) {
    throw badRequest(`Validation failed\n\n${(err as Error).message}`);
  }
  return policy;
}

function requirePolicyRead(u: ApiUser): void {
  if (!isPolicymaker(u) && !isMonitor(u)) throw new ApiError(401, 'not_authorised', 'Not policymaker user');
}

export function policyRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  app.get('/api/policies', async (req) => {
    requirePolicyRead(req.apiUser);
    return listAnswer(visibleVhosts(ctx, req.apiUser).flatMap((v) => [...v.policies.values()].map(policyRow)), query(req), ['vhost', 'name']);
  });
  app.get('/api/policies/:vhost', async (req) => {
    requirePolicyRead(req.apiUser);
    return [...vhostOf(ctx, req.apiUser, params(req).vhost).policies.values()].map(policyRow);
  });
  app.get('/api/policies/:vhost/:name', async (req) => {
    requirePolicyRead(req.apiUser);
    const p = vhostOf(ctx, req.apiUser, params(req).vhost).policies.get(params(req).name);
    if (!p) throw notFound();
    return policyRow(p);
  });
  app.put('/api/policies/:vhost/:name', async (req, reply) => {
    if (!isPolicymaker(req.apiUser)) throw new ApiError(401, 'not_authorised', 'Not policymaker user');
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    const policy = parsePolicy(v.name, params(req).name, body(req));
    const existed = v.policies.has(policy.name);
    await ctx.metadata.apply({ op: 'policy.set', policy });
    return createdOrUpdated(reply, !existed);
  });
  app.delete('/api/policies/:vhost/:name', async (req, reply) => {
    if (!isPolicymaker(req.apiUser)) throw new ApiError(401, 'not_authorised', 'Not policymaker user');
    const v = vhostOf(ctx, req.apiUser, params(req).vhost);
    if (!v.policies.has(params(req).name)) throw notFound();
    await ctx.metadata.apply({ op: 'policy.delete', vhost: v.name, name: params(req).name });
    return reply.code(204).send();
  });
}
