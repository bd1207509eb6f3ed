/** The Prometheus listener (filled in with the metrics renderer). */
import fastify, { type FastifyInstance } from 'fastify';
import type { MgmtContext } from './context';

export async function startPrometheusServer(_ctx: MgmtContext, o: { host: string; port: number }): Promise<FastifyInstance> {
  const app = fastify({ logger: false });
  await app.listen({ host: o.host, port: o.port });
  return app;
}
