/** The web UI: static files from src/mgmt/www, and uPlot from node_modules. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { MgmtContext } from '../context';

/** The www folder: beside the sources (dist/src/mgmt → ../../../src/mgmt/www). */
function wwwRoot(): string | undefined {
  for (const candidate of [join(__dirname, '../www'), join(__dirname, '../../../../src/mgmt/www')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

export function staticRoutes(app: FastifyInstance, _ctx: MgmtContext): void {
  const root = wwwRoot();
  if (root) app.register(fastifyStatic, { root, prefix: '/', index: ['index.html'], decorateReply: false });
  const uplot = dirname(require.resolve('uplot/package.json'));
  app.register(fastifyStatic, { root: join(uplot, 'dist'), prefix: '/vendor/uplot/', decorateReply: false });
}
