#!/usr/bin/env node
import { loadConfig } from '../config/config';
import { logger } from '../log/logger';
import { keepGcHeadroom } from '../util/gc-headroom';
import { startNode } from './node';

async function main(): Promise<void> {
  const config = loadConfig();
  keepGcHeadroom(config.gcHeadroomMb * 1024 * 1024, (percent, liveBytes) =>
    logger.debug({ heapGrowingPercent: percent, liveMb: Math.round(liveBytes / 1e5) / 10 }, 'gc headroom: heap growing factor set'),
  );
  const node = await startNode(config);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    node.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'warren-server failed to start');
  process.exit(1);
});
