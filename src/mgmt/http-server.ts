/**
 * The management listener: fastify with RabbitMQ's conventions — JSON bodies (an empty body
 * is no body), basic auth on /api, `{error, reason}` answers — and the route modules.
 */
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../log/logger';
import { authenticateRequest } from './auth';
import type { MgmtContext } from './context';
import { ApiError, fromDomainError } from './http-errors';
import { clusterRoutes } from './routes/cluster';
import { connectionRoutes } from './routes/connections';
import { exchangeRoutes } from './routes/exchanges';
import { queueRoutes } from './routes/queues';
import { bindingRoutes } from './routes/bindings';
import { accessRoutes } from './routes/access';
import { policyRoutes } from './routes/policies';
import { definitionRoutes } from './routes/definitions';
import { healthRoutes } from './routes/health';
import { limitRoutes } from './routes/limits';
import { topicPermissionRoutes } from './routes/topic-permissions';
import { parameterRoutes } from './routes/parameters';
import { staticRoutes } from './routes/static';

export interface MgmtServerOptions {
  host: string;
  port: number;
  bodyMaxBytes: number;
  log: Logger;
}

/** Builds the app (not listening yet), so tests and the node share one definition. */
export function buildMgmtApp(ctx: MgmtContext, o: MgmtServerOptions): FastifyInstance {
  const app = fastify({ logger: false, bodyLimit: o.bodyMaxBytes, routerOptions: { maxParamLength: 4096 }, return503OnClosing: true });
  const log = o.log.child({ module: 'mgmt' });
  app.removeAllContentTypeParsers();
  // RabbitMQ reads every body as JSON whatever its content type; clients send DELETE with a
  // JSON content type and no body, which is no body at all.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    if (body.length === 0 || body.toString('utf8').trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      done(new ApiError(400, 'bad_request', 'not_json'), undefined);
    }
  });
  app.decorateRequest('apiUser', null as unknown as never);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/') && req.url !== '/api') return;
    // The UI's first request checks the login without the browser's own Basic dialog.
    if (req.headers['x-warren-ui'] === undefined) reply.header('www-authenticate', 'Basic realm="RabbitMQ Management"');
    req.apiUser = authenticateRequest(ctx.broker, ctx.auth, req);
  });
  app.setErrorHandler((err, _req, reply) => {
    const api = fromDomainError(err) ?? fromFastifyError(err);
    if (!api) {
      log.error({ err }, 'management request failed');
      return reply.code(500).send({ error: 'internal_server_error', reason: (err as Error)?.message ?? String(err) });
    }
    if (api.statusCode !== 401) reply.removeHeader('www-authenticate');
    return reply.code(api.statusCode).send({ error: api.error, reason: api.reason });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'Object Not Found', reason: 'Not Found' }));
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode < 400) reply.removeHeader('www-authenticate');
    return payload;
  });
  for (const routes of [clusterRoutes, connectionRoutes, exchangeRoutes, queueRoutes, bindingRoutes, accessRoutes, topicPermissionRoutes, limitRoutes, parameterRoutes, policyRoutes, definitionRoutes, healthRoutes, staticRoutes]) {
    routes(app, ctx);
  }
  return app;
}

function fromFastifyError(err: unknown): ApiError | undefined {
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, e.statusCode === 413 ? 'bad_request' : 'bad_request', e.message ?? 'bad request');
  }
  return undefined;
}

/** Starts the management listener. */
export async function startMgmtServer(ctx: MgmtContext, o: MgmtServerOptions): Promise<FastifyInstance> {
  const app = buildMgmtApp(ctx, o);
  await app.listen({ host: o.host, port: o.port });
  return app;
}
