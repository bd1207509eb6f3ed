/** The Prometheus listener: /metrics (aggregated) and /metrics/per-object, no authentication (as RabbitMQ). */
import fastify, { type FastifyInstance } from 'fastify';
import type { Row } from './broker-view';
import type { MgmtContext } from './context';
import { renderMetrics } from './prometheus-metrics';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startPrometheusServer(ctx: MgmtContext, o: { host: string; port: number }): Promise<FastifyInstance> {
  const app = fastify({ logger: false });
  const local = ctx.view.sources[0];
  const exchanges = async (): Promise<Row[]> => {
    const stats = await local.exchangeStats();
    const rows: Row[] = [];
    for (const v of ctx.broker.vhosts.values()) {
      for (const e of v.exchanges.values()) rows.push({ vhost: v.name, name: e.name, message_stats: stats[`${v.name}\u0000${e.name}`] ?? {} });
    }
    return rows;
  };
  const metrics = async (perObject: boolean) => renderMetrics(local, { version: ctx.version, clusterName: ctx.clusterName.value, exchanges: await exchanges() }, perObject);
  app.get('/metrics', async (_req, reply) => reply.type(CONTENT_TYPE).send(await metrics(false)));
  app.get('/metrics/per-object', async (_req, reply) => reply.type(CONTENT_TYPE).send(await metrics(true)));
  app.get('/metrics/detailed', async (_req, reply) => reply.type(CONTENT_TYPE).send(await metrics(true)));
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain').send('Not Found\n'));
  await app.listen({ host: o.host, port: o.port });
  return app;
}
