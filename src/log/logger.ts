import pino from 'pino';
import { prettyDestination } from './pretty-line';

/**
 * The root logger; modules take child loggers with `logger.child({ module: '...' })`.
 * JSON lines, except on a terminal, where they are written as readable lines.
 */
export const logger = pino(
  {
    level: process.env.WARREN_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
  },
  process.stdout.isTTY ? prettyDestination(process.stdout) : undefined,
);

export type Logger = pino.Logger;
